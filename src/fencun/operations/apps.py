from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "fencun.operations"
    label = "operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What a follower's erasure removes here (audience/erasure.py).
        from fencun.audience.erasure import register
        from fencun.operations.erasure import erase_follower

        register("operations", erase_follower)
