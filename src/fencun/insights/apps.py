from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "fencun.insights"
    label = "insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What a follower's erasure removes here (audience/erasure.py).
        from fencun.audience.erasure import register
        from fencun.insights.erasure import erase_follower

        register("insights", erase_follower)
