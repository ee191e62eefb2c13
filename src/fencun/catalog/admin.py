from django.contrib import admin

from fencun.catalog.models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "large_item", "account")
    list_filter = ("account", "large_item")
    search_fields = ("key", "name")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "price", "active", "account")
    list_filter = ("account", "active", "category")
    search_fields = ("sku", "name")
