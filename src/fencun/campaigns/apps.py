from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "fencun.campaigns"
    label = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What a follower's erasure removes here (audience/erasure.py).
        from fencun.audience.erasure import register
        from fencun.campaigns.erasure import erase_follower

        register("campaigns", erase_follower)
