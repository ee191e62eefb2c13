"""Products and their categories, per account. Prices are in yuan (Decimal)."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fencun.accounts.models import Account


class Category(models.Model):
    """A product category; ``key`` is the stable slug campaigns and the engine refer to."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="categories")
    key = models.SlugField(_("标识"), max_length=64, allow_unicode=True)
    name = models.CharField(_("名称"), max_length=100)
    # Large items (sofas, beds) are bought near a store: the engine weighs distance for them.
    large_item = models.BooleanField(_("大件商品"), default=False)
    # Words that signal interest in this category in followers' replies and clicks.
    keywords = models.JSONField(_("兴趣关键词"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("商品类目")
        verbose_name_plural = _("商品类目")
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="catalog_category_account_key"),
        ]
        ordering = ["account_id", "key"]

    def __str__(self) -> str:
        return self.name or self.key


class Product(models.Model):
    """A product the merchant sells; ``sku`` is unique per account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="products")
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", null=True, blank=True
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("名称"), max_length=200)
    price = models.DecimalField(
        _("价格（元）"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    image_url = models.URLField(_("图片链接"), max_length=500, blank=True)
    link_url = models.URLField(_("商品链接"), max_length=500, blank=True)
    active = models.BooleanField(_("在售"), default=True)
    # Whether it ships free; None: not said (the lint then cannot check a 包邮 claim).
    free_shipping = models.BooleanField(_("包邮"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("商品")
        verbose_name_plural = _("商品")
        constraints = [
            models.UniqueConstraint(fields=["account", "sku"], name="catalog_product_account_sku"),
        ]
        ordering = ["account_id", "sku"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"
