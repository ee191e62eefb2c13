"""Products and stores through the API, as on the console's pages: each change goes
through ``fencun.catalog.services`` (``save_product``, ``delete_product``, ``save_store``,
``delete_store``), which checks it as the console's form does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from fencun import inputs
from fencun.accounts.models import Account
from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut, FieldErrorOut, Text64, Text100, Text200, Text500
from fencun.audience.models import Store
from fencun.catalog.models import Category, Product
from fencun.catalog.services import (
    CatalogError,
    delete_product,
    delete_store,
    save_product,
    save_store,
)

products = Router(tags=["products"])
stores = Router(tags=["stores"])

Price = Field(ge=0, max_digits=12, decimal_places=2, description="yuan")


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str | None = Field(description="the category's key; null: none")
    price: Decimal = Field(description="yuan")
    image_url: str
    link_url: str
    active: bool = Field(description="on sale")
    free_shipping: bool | None = Field(description="ships free; null: not said (a 包邮 claim is then not checked)")


class ProductIn(Schema):
    account: AppId | None = Field(None, description="the account (AppID); default: the token's only account")
    sku: Text64 = Field(description="unique in the account")
    name: Text200
    price: Decimal = Price
    category: Text64 | None = Field(None, description="a category's key in the account")
    image_url: Text500 = ""
    link_url: Text500 = ""
    active: bool = True
    free_shipping: bool | None = None


class ProductPatch(Schema):
    """Only the fields given change; ``category: null`` takes the product out of its category."""

    sku: Text64 | None = None
    name: Text200 | None = None
    price: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2, description="yuan")
    category: Text64 | None = None
    image_url: Text500 | None = None
    link_url: Text500 | None = None
    active: bool | None = None
    free_shipping: bool | None = None


class StoreOut(Schema):
    id: int
    name: str
    address: str
    lat: float = Field(description="latitude, degrees (GCJ-02)")
    lng: float = Field(description="longitude, degrees (GCJ-02)")


class StoreIn(Schema):
    account: AppId | None = Field(None, description="the account (AppID); default: the token's only account")
    name: Text100
    address: Text200 = ""
    lat: float = Field(ge=-90, le=90, description="latitude, degrees (GCJ-02)")
    lng: float = Field(ge=-180, le=180, description="longitude, degrees (GCJ-02)")


class StorePatch(Schema):
    """Only the fields given change."""

    name: Text100 | None = None
    address: Text200 | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


def _refused(exc: CatalogError) -> Status:
    return Status(400, {"detail": _("Refused: nothing was saved."), "errors": exc.errors})


def _product_fields(account: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """The body's category key as the account's category; :class:`CatalogError` if it has none."""
    if fields.get("category") is not None:
        category = Category.objects.filter(account=account, key=fields["category"]).first()
        if category is None:
            raise CatalogError({"category": [_("No category %(key)s in this account.") % {"key": fields["category"]}]})
        fields["category"] = category
    return fields


def _product(p: Product) -> dict[str, Any]:
    return {
        "id": p.pk, "sku": p.sku, "name": p.name, "category": p.category.key if p.category else None,
        "price": p.price, "image_url": p.image_url, "link_url": p.link_url, "active": p.active,
        "free_shipping": p.free_shipping,
    }


def _store(s: Store) -> dict[str, Any]:
    return {"id": s.pk, "name": s.name, "address": s.address, "lat": s.lat, "lng": s.lng}


def _products_of(request: HttpRequest) -> QuerySet[Product]:
    token = request.auth  # type: ignore[attr-defined]
    return Product.objects.filter(account__in=token.accounts.all()).select_related("account", "category")


def _stores_of(request: HttpRequest) -> QuerySet[Store]:
    token = request.auth  # type: ignore[attr-defined]
    return Store.objects.filter(account__in=token.accounts.all()).select_related("account")


def _no_product() -> dict[str, str]:
    return {"detail": _("No such product for this token.")}


def _no_store() -> dict[str, str]:
    return {"detail": _("No such store for this token.")}


def _null_refused(changes: dict[str, Any], nullable: set[str]) -> Status | None:
    for name, value in changes.items():
        if value is None and name not in nullable:
            return Status(400, {"detail": _("Refused: nothing was saved."),
                                "errors": {name: [_("%(name)s must not be null") % {"name": name}]}})
    return None


# ----- products ---------------------------------------------------------------------------
@products.get("/products", response={200: list[ProductOut], 404: ErrorOut}, summary="The account's products, by SKU")
def list_products(
    request: HttpRequest,
    account: AppId | None = None,
    offset: int = Query(0, ge=0, le=inputs.MAX_OFFSET),
    limit: int = Query(500, ge=1, le=5000),
):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    rows = Product.objects.filter(account=acct).select_related("category").order_by("sku")
    return Status(200, [_product(p) for p in rows[offset : offset + limit]])


@products.post("/products", response={201: ProductOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Add a product")
def post_product(request: HttpRequest, body: ProductIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    try:
        product = save_product(acct, None, **_product_fields(acct, body.model_dump(exclude={"account"})))
    except CatalogError as exc:
        return _refused(exc)
    return Status(201, _product(product))


@products.get("/products/{product_id}", response={200: ProductOut, 404: ErrorOut}, summary="One product")
def get_product(request: HttpRequest, product_id: int):
    product = _products_of(request).filter(pk=product_id).first()
    if product is None:
        return Status(404, _no_product())
    return Status(200, _product(product))


@products.patch(
    "/products/{product_id}", response={200: ProductOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Change a product"
)
def patch_product(request: HttpRequest, product_id: int, body: ProductPatch):
    product = _products_of(request).filter(pk=product_id).first()
    if product is None:
        return Status(404, _no_product())
    changes = body.model_dump(exclude_unset=True)
    refused = _null_refused(changes, {"category", "free_shipping"})
    if refused is not None:
        return refused
    try:
        save_product(product.account, product, **_product_fields(product.account, changes))
    except CatalogError as exc:
        return _refused(exc)
    return Status(200, _product(product))


@products.delete(
    "/products/{product_id}",
    response={204: None, 400: FieldErrorOut, 404: ErrorOut},
    summary="Delete a product no campaign names (else take it off sale)",
)
def delete_product_(request: HttpRequest, product_id: int):
    product = _products_of(request).filter(pk=product_id).first()
    if product is None:
        return Status(404, _no_product())
    try:
        delete_product(product)
    except CatalogError as exc:
        return _refused(exc)
    return Status(204, None)


# ----- stores -----------------------------------------------------------------------------
@stores.get("/stores", response={200: list[StoreOut], 404: ErrorOut}, summary="The account's stores, by name")
def list_stores(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    return Status(200, [_store(s) for s in Store.objects.filter(account=acct).order_by("name", "pk")[:5000]])


@stores.post("/stores", response={201: StoreOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Add a store")
def post_store(request: HttpRequest, body: StoreIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    try:
        store = save_store(acct, None, **body.model_dump(exclude={"account"}))
    except CatalogError as exc:
        return _refused(exc)
    return Status(201, _store(store))


@stores.get("/stores/{store_id}", response={200: StoreOut, 404: ErrorOut}, summary="One store")
def get_store(request: HttpRequest, store_id: int):
    store = _stores_of(request).filter(pk=store_id).first()
    if store is None:
        return Status(404, _no_store())
    return Status(200, _store(store))


@stores.patch("/stores/{store_id}", response={200: StoreOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Change a store")
def patch_store(request: HttpRequest, store_id: int, body: StorePatch):
    store = _stores_of(request).filter(pk=store_id).first()
    if store is None:
        return Status(404, _no_store())
    changes = body.model_dump(exclude_unset=True)
    refused = _null_refused(changes, set())
    if refused is not None:
        return refused
    try:
        save_store(store.account, store, **changes)
    except CatalogError as exc:
        return _refused(exc)
    return Status(200, _store(store))


@stores.delete("/stores/{store_id}", response={204: None, 404: ErrorOut}, summary="Delete a store")
def delete_store_(request: HttpRequest, store_id: int):
    store = _stores_of(request).filter(pk=store_id).first()
    if store is None:
        return Status(404, _no_store())
    delete_store(store)
    return Status(204, None)
