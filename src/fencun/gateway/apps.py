from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "fencun.gateway"
    label = "gateway"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What a follower's erasure removes here (audience/erasure.py).
        from fencun.audience.erasure import register
        from fencun.gateway.erasure import erase_follower

        register("gateway inbox", erase_follower)
