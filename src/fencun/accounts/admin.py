from typing import Any

from django import forms
from django.contrib import admin

from fencun.accounts.models import Account, Membership


class AccountForm(forms.ModelForm):
    # Secrets are write-only: the form never renders the stored value back.
    app_secret = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)
    token = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, max_length=64)
    aes_key = forms.CharField(
        widget=forms.PasswordInput(render_value=False), required=False, max_length=43, min_length=43
    )

    class Meta:
        model = Account
        fields = (
            "app_id",
            "name",
            "account_type",
            "app_secret",
            "token",
            "aes_key",
            "mode",
            "is_default",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for field in ("app_secret", "token", "aes_key"):
            if not data.get(field) and self.instance.pk:
                data[field] = getattr(self.instance, field)  # blank means "keep"
        if not data.get("token"):
            self.add_error("token", forms.Field.default_error_messages["required"])
        return data


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountForm
    list_display = ("app_id", "name", "account_type", "mode", "is_default")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role", "account")
