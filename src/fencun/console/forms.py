"""The console's forms for the account's own records, one per model. Each takes the
account first, so that what it offers to choose (a product's category) is the account's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account
from fencun.audience.models import Store
from fencun.catalog.models import Category, Product
from fencun.catalog.services import PRODUCT_FIELDS, STORE_FIELDS
from fencun.engine import geo
from fencun.gateway.models import AutoReply
from fencun.gateway.reply_rules import RULE_FIELDS


class AccountForm(forms.ModelForm):
    """A form for one of ``account``'s records."""

    def __init__(self, account: Account | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account


class StoreForm(AccountForm):
    class Meta:
        model = Store
        fields = list(STORE_FIELDS)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        lat, lng = data.get("lat"), data.get("lng")
        if lat is not None and lng is not None and not geo.valid_point(lat, lng):
            raise forms.ValidationError(_("Latitude must be within ±90 and longitude within ±180."))
        return data


class ProductForm(AccountForm):
    class Meta:
        model = Product
        fields = list(PRODUCT_FIELDS)

    def __init__(self, account: Account | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(account, *args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(account=account)  # type: ignore[attr-defined]


class AutoReplyForm(AccountForm):
    class Meta:
        model = AutoReply
        fields = list(RULE_FIELDS)
