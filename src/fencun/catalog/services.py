"""Catalog imports: products and stores from CSV, all rows or none.

Every row is validated before anything is written; the write is one transaction, so
a bad row (or a failure half-way) leaves the database as it was. Products are upserted
by SKU within the account, so importing the same file twice changes nothing.
Spreadsheet exports from Chinese Excel are often GBK: the file's bytes are decoded as
UTF-8 (with or without BOM) and, failing that, as GB18030 (a superset of GBK).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from fencun import inputs
from fencun.accounts.models import Account
from fencun.audience.models import Store
from fencun.catalog.models import Category, Product
from fencun.content import ProductInfo
from fencun.engine import geo

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
MAX_PRICE = Decimal("10000000000")  # yuan; the column holds 12 digits with 2 decimals
SKU = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")  # the content lint's product cards use this set

# Column names as merchants write them (English or the Chinese headers of shop exports).
PRODUCT_COLUMNS = {
    "sku": ("sku", "商品编码", "货号", "编码"),
    "name": ("name", "名称", "商品名称"),
    "price": ("price", "价格", "售价"),
    "category": ("category", "类目", "分类"),
    "category_name": ("category_name", "类目名称", "分类名称"),
    "large_item": ("large_item", "大件"),
    "image_url": ("image_url", "图片", "图片链接"),
    "link_url": ("link_url", "链接", "商品链接"),
    "active": ("active", "在售", "上架"),
}
STORE_COLUMNS = {
    "name": ("name", "名称", "门店", "门店名称"),
    "address": ("address", "地址"),
    "lat": ("lat", "纬度"),
    "lng": ("lng", "经度"),
    "datum": ("datum", "坐标系"),
}
TRUE = {"1", "true", "yes", "y", "是", "在售", "上架"}
FALSE = {"0", "false", "no", "n", "否", "下架", "停售"}


@dataclass(frozen=True)
class RowError:
    """A problem in one row: ``row`` is the spreadsheet row (the header is row 1)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("第 %(row)d 行，%(column)s 列：%(message)s") % {
            "row": self.row,
            "column": self.column or "-",
            "message": self.message,
        }


class CatalogImportError(ValueError):
    """The file was refused; ``errors`` lists every problem found; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors[:20]))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    categories_created: int = 0
    skus: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return _(
            "新增 %(created)d 件商品，更新 %(updated)d 件，未变 %(unchanged)d 件；新建类目 %(categories)d 个"
        ) % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "categories": self.categories_created,
        }


def nothing_imported(what: str) -> str:
    """The closing line when a file is refused; ``what`` is ``products`` or ``stores``."""
    return _("未导入任何商品") if what == "products" else _("未导入任何门店")


def read_csv(fileobj: IO[bytes] | IO[str] | bytes | str) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts keyed by its header; raises ``CatalogImportError``."""
    raw: Any = fileobj if isinstance(fileobj, bytes | str) else fileobj.read(MAX_BYTES + 1)
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise CatalogImportError(
                [RowError(0, "", _("文件超过 %(mb)d MB 上限") % {"mb": MAX_BYTES // 2**20})]
            )
        text = _decode(raw)
    else:
        if len(raw.encode("utf-8")) > MAX_BYTES:
            raise CatalogImportError(
                [RowError(0, "", _("文件超过 %(mb)d MB 上限") % {"mb": MAX_BYTES // 2**20})]
            )
        text = raw.removeprefix("\ufeff")
    if "\x00" in text:
        raise CatalogImportError([RowError(0, "", _("文件不是文本 CSV"))])
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames
        if not header:
            raise CatalogImportError([RowError(1, "", _("文件为空或缺少表头"))])
        rows: list[dict[str, str]] = []
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise CatalogImportError(
                    [RowError(0, "", _("超过 %(n)d 行上限") % {"n": MAX_ROWS})]
                )
            rows.append(
                {(k or "").strip(): (v if isinstance(v, str) else "") for k, v in row.items()}
            )
    except csv.Error as exc:
        raise CatalogImportError(
            [RowError(0, "", _("CSV 格式错误：%(error)s") % {"error": exc})]
        ) from None
    return rows


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise CatalogImportError(
            [RowError(0, "", _("无法识别文件编码：请另存为 UTF-8 或 GBK"))]
        ) from None


def _columns(
    rows: list[dict[str, str]], spec: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> dict[str, str]:
    """Map canonical names to the file's header names; refuse missing required ones."""
    header = {h.strip().lower(): h for h in (rows[0].keys() if rows else ())}
    found: dict[str, str] = {}
    for name, aliases in spec.items():
        for alias in aliases:
            if alias.lower() in header:
                found[name] = header[alias.lower()]
                break
    missing = [name for name in required if name not in found]
    if missing:
        raise CatalogImportError(
            [
                RowError(
                    1,
                    name,
                    _("缺少必需的列（可用列名：%(aliases)s）")
                    % {"aliases": " / ".join(spec[name])},
                )
                for name in missing
            ]
        )
    return found


def _cell(row: dict[str, str], columns: dict[str, str], name: str) -> str:
    key = columns.get(name)
    return (row.get(key) or "").strip() if key else ""


def _bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    return None


_url = URLValidator(schemes=["http", "https"])


def _check_url(value: str) -> bool:
    try:
        _url(value)
    except ValidationError:
        return False
    return len(value) <= 500


@dataclass
class _ProductRow:
    row: int
    sku: str
    name: str
    price: Decimal
    category: str
    category_name: str
    large_item: bool | None
    image_url: str
    link_url: str
    active: bool


def _parse_product(
    n: int, row: dict[str, str], columns: dict[str, str], errors: list[RowError]
) -> _ProductRow | None:
    before = len(errors)

    def err(column: str, message: str) -> None:
        errors.append(RowError(n, column, message))

    sku = _cell(row, columns, "sku")
    if not sku:
        err("sku", _("SKU 不能为空"))
    elif not SKU.match(sku):
        err("sku", _("SKU 只能包含字母、数字、点、下划线和连字符，最长 64 个字符"))
    name = _cell(row, columns, "name")
    if not name:
        err("name", _("名称不能为空"))
    elif len(name) > 200:
        err("name", _("名称最长 200 个字符"))
    raw_price = (
        _cell(row, columns, "price").lstrip("¥￥").replace(",", "").removesuffix("元").strip()
    )
    price = Decimal(0)
    try:
        price = Decimal(raw_price)
        if not price.is_finite() or price < 0 or price >= MAX_PRICE:
            err("price", _("价格必须是 0 到 10000000000 元之间的数"))
        elif price != price.quantize(Decimal("0.01")):
            err("price", _("价格最多两位小数（单位：元）"))
    except InvalidOperation:
        err("price", _("价格“%(value)s”不是数字（单位：元）") % {"value": raw_price[:40]})
    category = _cell(row, columns, "category")
    category_name = _cell(row, columns, "category_name")
    if category:
        key = slugify(category, allow_unicode=True)
        if not key or len(key) > 64:
            err(
                "category",
                _("类目“%(value)s”无法作为标识（最长 64 个字符）") % {"value": category[:40]},
            )
        else:
            if not category_name:
                category_name = category
            category = key
    if len(category_name) > 100:
        err("category_name", _("类目名称最长 100 个字符"))
    large_raw = _cell(row, columns, "large_item")
    large_item = _bool(large_raw) if large_raw else None
    if large_raw and large_item is None:
        err("large_item", _("应为 是/否（1/0、true/false）"))
    urls = {}
    for col in ("image_url", "link_url"):
        value = _cell(row, columns, col)
        if value and not _check_url(value):
            err(col, _("链接格式错误（需要 http:// 或 https:// 开头的完整链接）"))
        urls[col] = value
    active_raw = _cell(row, columns, "active")
    active = _bool(active_raw) if active_raw else True
    if active is None:
        err("active", _("应为 是/否（1/0、true/false）"))
    if len(errors) > before:
        return None
    return _ProductRow(
        n,
        sku,
        name,
        price.quantize(Decimal("0.01")),
        category,
        category_name,
        large_item,
        urls["image_url"],
        urls["link_url"],
        bool(active),
    )


def import_products(account: Account, fileobj: IO[bytes] | IO[str] | bytes | str) -> ImportResult:
    """Import products from CSV for ``account``: all rows or none.

    Columns: ``sku``, ``name``, ``price`` (yuan) required; ``category`` (key; created
    when new), ``category_name``, ``large_item``, ``image_url``, ``link_url``,
    ``active`` optional. Raises ``CatalogImportError`` listing every bad row.
    """
    rows = read_csv(fileobj)
    if not rows:
        raise CatalogImportError([RowError(1, "", _("没有数据行"))])
    columns = _columns(rows, PRODUCT_COLUMNS, ("sku", "name", "price"))
    errors: list[RowError] = []
    parsed: list[_ProductRow] = []
    first_row: dict[str, int] = {}
    for i, row in enumerate(rows):
        n = i + 2
        item = _parse_product(n, row, columns, errors)
        if item is None:
            continue
        if item.sku in first_row:
            errors.append(
                RowError(
                    n,
                    "sku",
                    _("SKU %(sku)s 与第 %(row)d 行重复")
                    % {"sku": item.sku, "row": first_row[item.sku]},
                )
            )
            continue
        first_row[item.sku] = n
        parsed.append(item)
    if errors:
        raise CatalogImportError(errors)
    return _write_products(account, parsed)


def _write_products(account: Account, items: list[_ProductRow]) -> ImportResult:
    result = ImportResult(skus=[i.sku for i in items])
    with transaction.atomic():
        categories = {
            c.key: c for c in Category.objects.select_for_update().filter(account=account)
        }
        for item in items:
            if not item.category:
                continue
            cat = categories.get(item.category)
            if cat is None:
                cat = Category.objects.create(
                    account=account,
                    key=item.category,
                    name=item.category_name,
                    large_item=bool(item.large_item),
                )
                categories[cat.key] = cat
                result.categories_created += 1
            elif item.large_item is not None and cat.large_item != item.large_item:
                cat.large_item = item.large_item
                cat.save(update_fields=["large_item"])
        existing = {
            p.sku: p
            for p in Product.objects.select_for_update().filter(
                account=account, sku__in=[i.sku for i in items]
            )
        }
        new: list[Product] = []
        changed: list[Product] = []
        fields = ("name", "price", "category_id", "image_url", "link_url", "active")
        for item in items:
            values = {
                "name": item.name,
                "price": item.price,
                "category_id": categories[item.category].pk if item.category else None,
                "image_url": item.image_url,
                "link_url": item.link_url,
                "active": item.active,
            }
            product = existing.get(item.sku)
            if product is None:
                new.append(Product(account=account, sku=item.sku, **values))
                continue
            if all(getattr(product, k) == v for k, v in values.items()):
                result.unchanged += 1
                continue
            for k, v in values.items():
                setattr(product, k, v)
            changed.append(product)
        Product.objects.bulk_create(new, batch_size=1000)
        if changed:
            now = timezone.now()
            for product in changed:
                product.updated_at = now  # bulk_update does not apply auto_now
            Product.objects.bulk_update(changed, [*fields, "updated_at"], batch_size=1000)
        result.created, result.updated = len(new), len(changed)
    return result


@dataclass
class StoreImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        return _("新增 %(created)d 家门店，更新 %(updated)d 家，未变 %(unchanged)d 家") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def import_stores(
    account: Account, fileobj: IO[bytes] | IO[str] | bytes | str, default_datum: str | None = None
) -> StoreImportResult:
    """Import stores (name, address, lat, lng, datum) for ``account``: all rows or none.

    Each row's ``datum`` (``gcj02`` or ``wgs84``; ``default_datum`` when the column is
    absent or empty) says what its coordinates are in; they are stored in GCJ-02.
    Stores are matched by name within the account.
    """
    rows = read_csv(fileobj)
    if not rows:
        raise CatalogImportError([RowError(1, "", _("没有数据行"))])
    columns = _columns(rows, STORE_COLUMNS, ("name", "lat", "lng"))
    errors: list[RowError] = []
    parsed: list[tuple[str, str, float, float]] = []
    first_row: dict[str, int] = {}
    for i, row in enumerate(rows):
        n = i + 2
        before = len(errors)
        name = _cell(row, columns, "name")
        if not name or len(name) > 100:
            errors.append(RowError(n, "name", _("门店名称不能为空，最长 100 个字符")))
        address = _cell(row, columns, "address")
        if len(address) > 200:
            errors.append(RowError(n, "address", _("地址最长 200 个字符")))
        coords: list[float] = []
        for col in ("lat", "lng"):
            try:
                coords.append(float(_cell(row, columns, col)))
            except ValueError:
                errors.append(RowError(n, col, _("坐标必须是十进制度数")))
        datum = (_cell(row, columns, "datum") or default_datum or "").lower().replace("-", "")
        if datum not in geo.DATUMS:
            errors.append(
                RowError(n, "datum", _("坐标系必须是 gcj02 或 wgs84（避免约 500 米偏移）"))
            )
        if len(coords) == 2 and not geo.valid_point(*coords):
            errors.append(RowError(n, "lat", _("坐标超出范围")))
        if name in first_row:
            errors.append(
                RowError(
                    n,
                    "name",
                    _("门店 %(name)s 与第 %(row)d 行重复") % {"name": name, "row": first_row[name]},
                )
            )
        if len(errors) > before:
            continue
        first_row[name] = n
        lat, lng = geo.to_gcj02(coords[0], coords[1], datum)
        parsed.append((name, address, lat, lng))
    if errors:
        raise CatalogImportError(errors)
    result = StoreImportResult()
    with transaction.atomic():
        existing = {s.name: s for s in Store.objects.select_for_update().filter(account=account)}
        for name, address, lat, lng in parsed:
            store = existing.get(name)
            if store is None:
                Store.objects.create(account=account, name=name, address=address, lat=lat, lng=lng)
                result.created += 1
            elif (store.address, store.lat, store.lng) == (address, lat, lng):
                result.unchanged += 1
            else:
                store.address, store.lat, store.lng = address, lat, lng
                store.save(update_fields=["address", "lat", "lng"])
                result.updated += 1
    return result


def catalog_for_lint(account: Account) -> dict[str, Any]:
    """The account's products as the content lint's ``ProductInfo`` mapping, by SKU."""

    return {
        p.sku: ProductInfo(p.sku, p.name, p.price, p.link_url, p.free_shipping)
        for p in Product.objects.filter(account=account, active=True).only(
            "sku", "name", "price", "link_url", "free_shipping"
        )
    }


__all__: list[str] = [
    "CatalogImportError",
    "ImportResult",
    "RowError",
    "StoreImportResult",
    "catalog_for_lint",
    "import_products",
    "import_stores",
    "nothing_imported",
    "read_csv",
]


# ----- one product, one store: what the console's forms and the API save -------------------
class CatalogError(inputs.FieldErrors):
    """A refused product or store: ``errors`` maps each bad field to why (``__all__`` for
    the whole); nothing was saved."""


def _check_nul(**fields: object) -> None:
    bad = {name: [_("must not contain a NUL character")] for name, v in fields.items() if isinstance(v, str) and "\x00" in v}
    if bad:
        raise CatalogError(bad)


def _validated(row: Product | Store, exclude: list[str] | None = None) -> None:
    """The model's own checks (lengths, URLs, bounds, a SKU unique in the account)."""
    try:
        row.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise CatalogError({k: [str(m) for m in v] for k, v in exc.message_dict.items()}) from None


PRODUCT_FIELDS = ("category", "sku", "name", "price", "image_url", "link_url", "active", "free_shipping")


def save_product(account: Account, product: Product | None = None, **fields: Any) -> Product:
    """Create a product of ``account`` (``product`` None) or change ``product``: the fields
    given among :data:`PRODUCT_FIELDS` (``price`` in yuan, ``category`` a Category of the
    account or None). Checked as the console's form checks it; :class:`CatalogError`
    names each bad field and nothing is saved."""
    unknown = sorted(set(fields) - set(PRODUCT_FIELDS))
    if unknown:
        raise CatalogError({name: [_("not a product field")] for name in unknown})
    _check_nul(**fields)
    category = fields.get("category")
    if category is not None and category.account != account:
        raise CatalogError({"category": [_("the category belongs to another account")]})
    row = product if product is not None else Product(account=account)
    if row.account != account:
        raise CatalogError({"__all__": [_("the product belongs to another account")]})
    for name, value in fields.items():
        setattr(row, name, value)
    _validated(row)
    with transaction.atomic():
        row.save()
    return row


def product_in_use(product: Product) -> str:
    """Why ``product`` may not be deleted, in the active language; empty when it may."""
    # A campaign's products are part of what was planned and sent: keep them.
    if Product.objects.filter(pk=product.pk, campaigns__isnull=False).exists():
        return _("Campaigns name this product: untick “on sale” instead of deleting it.")
    return ""


def delete_product(product: Product) -> None:
    """Delete ``product``; :class:`CatalogError` when a campaign names it (see :func:`product_in_use`)."""
    reason = product_in_use(product)
    if reason:
        raise CatalogError({"__all__": [reason]})
    product.delete()


STORE_FIELDS = ("name", "address", "lat", "lng")


def save_store(account: Account | None, store: Store | None = None, **fields: Any) -> Store:
    """Create a store of ``account`` (``store`` None; an account of None makes a store of
    the whole installation) or change ``store``: the fields given among
    :data:`STORE_FIELDS` (``lat``/``lng`` in degrees, GCJ-02 as the console takes them).
    :class:`CatalogError` names each bad field and nothing is saved."""
    unknown = sorted(set(fields) - set(STORE_FIELDS))
    if unknown:
        raise CatalogError({name: [_("not a store field")] for name in unknown})
    _check_nul(**fields)
    row = store if store is not None else Store(account=account)
    if row.account != account:
        raise CatalogError({"__all__": [_("the store belongs to another account")]})
    for name, value in fields.items():
        setattr(row, name, value)
    _validated(row, exclude=["account"])
    if not geo.valid_point(row.lat, row.lng):
        raise CatalogError({"__all__": [_("Latitude must be within ±90 and longitude within ±180.")]})
    with transaction.atomic():
        row.save()
    return row


def delete_store(store: Store) -> None:
    """Delete ``store``; followers' distances are measured to the stores left."""
    store.delete()
