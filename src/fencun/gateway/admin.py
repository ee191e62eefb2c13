from django.contrib import admin

from fencun.gateway.models import AutoReply


@admin.register(AutoReply)
class AutoReplyAdmin(admin.ModelAdmin):
    list_display = ("account", "match", "keyword", "priority", "reply_type", "active")
    list_filter = ("account", "match", "active")
    search_fields = ("keyword", "content")
