from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fencun.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from fencun.accounts import checks  # noqa: F401 - registers the system checks
