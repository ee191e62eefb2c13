from django.contrib import admin

from fencun.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scope", "created_at", "last_used_at", "revoked")
    filter_horizontal = ("accounts",)
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
