"""Catalog CSV imports: every row validated first, one transaction, upsert by SKU."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation
from typer.testing import CliRunner

from fencun.audience.models import Store
from fencun.catalog import services
from fencun.catalog.models import Category, Product
from fencun.engine import geo

GOOD = (
    "sku,name,price,category,category_name,large_item,image_url,link_url,active\n"
    "SOFA-1,头层牛皮三人位沙发,1999,sofa,沙发,是,https://img.example.com/s1.jpg,https://shop.example.com/s1,1\n"
    "BED-1,实木双人床,2999.50,bed,床,1,,https://shop.example.com/b1,\n"
    "PILLOW-1,乳胶枕,99,,,,,,否\n"
)


@pytest.fixture
def account(make_account):
    return make_account()


def test_products_and_categories_are_created(account):
    result = services.import_products(account, GOOD.encode("utf-8"))
    assert (result.created, result.updated, result.unchanged, result.categories_created) == (
        3,
        0,
        0,
        2,
    )
    sofa = Product.objects.get(account=account, sku="SOFA-1")
    assert sofa.price == Decimal("1999.00") and sofa.category.key == "sofa" and sofa.active
    assert sofa.category.name == "沙发" and sofa.category.large_item
    assert Product.objects.get(sku="BED-1").price == Decimal("2999.50")
    pillow = Product.objects.get(sku="PILLOW-1")
    assert pillow.category is None and not pillow.active


def test_reimporting_the_same_file_changes_nothing(account):
    services.import_products(account, GOOD)
    before = list(Product.objects.order_by("sku").values("sku", "price", "updated_at"))
    result = services.import_products(account, GOOD)
    assert (result.created, result.updated, result.unchanged, result.categories_created) == (
        0,
        0,
        3,
        0,
    )
    assert list(Product.objects.order_by("sku").values("sku", "price", "updated_at")) == before
    assert Category.objects.count() == 2


def test_a_changed_row_updates_its_product_by_sku(account):
    services.import_products(account, GOOD)
    result = services.import_products(account, "sku,name,price\nSOFA-1,头层牛皮三人位沙发,1899\n")
    assert (result.created, result.updated) == (0, 1)
    sofa = Product.objects.get(sku="SOFA-1")
    assert sofa.price == Decimal("1899.00") and sofa.category is None
    assert Product.objects.count() == 3


def test_bad_rows_are_all_reported_with_row_and_column_and_nothing_is_written(account):
    csv = (
        "sku,name,price,category,link_url,active\n"
        "OK-1,好沙发,100,sofa,,\n"
        ",无编码,100,,,\n"  # row 3: sku empty
        "OK-2,,abc,,,\n"  # row 4: name empty, price not a number
        "OK-3,床,-5,,ftp://x,maybe\n"  # row 5: price negative, bad link, bad flag
        "OK-1,重复,100,,,\n"  # row 6: duplicate sku
        "bad sku,床,1.234,,,\n"  # row 7: sku charset, three decimals
    )
    with pytest.raises(services.CatalogImportError) as caught:
        services.import_products(account, csv)
    found = {(e.row, e.column) for e in caught.value.errors}
    assert found == {
        (3, "sku"),
        (4, "name"),
        (4, "price"),
        (5, "price"),
        (5, "link_url"),
        (5, "active"),
        (6, "sku"),
        (7, "sku"),
        (7, "price"),
    }
    assert not Product.objects.exists() and not Category.objects.exists()
    message = str(next(e for e in caught.value.errors if e.row == 6))
    assert message == "第 6 行，sku 列：SKU OK-1 与第 2 行重复"
    # Messages are rendered in the language active during the import (the console's).
    with translation.override("en"):
        with pytest.raises(services.CatalogImportError) as caught:
            services.import_products(account, csv)
        english = [str(e) for e in caught.value.errors]
    assert "row 6, column sku: SKU OK-1 repeats row 2" in english
    assert english[0] == "row 3, column sku: the SKU is empty"


def test_a_bad_row_leaves_earlier_imports_untouched(account):
    services.import_products(account, GOOD)
    with pytest.raises(services.CatalogImportError):
        services.import_products(account, "sku,name,price\nSOFA-1,改名,1\nBED-1,床,x\n")
    assert Product.objects.get(sku="SOFA-1").name == "头层牛皮三人位沙发"


def test_missing_required_columns_are_named(account):
    with pytest.raises(services.CatalogImportError) as caught:
        services.import_products(account, "sku,title\nA,b\n")
    assert {(e.row, e.column) for e in caught.value.errors} == {(1, "name"), (1, "price")}


def test_gbk_export_from_chinese_excel_with_chinese_headers(account):
    raw = "商品编码,商品名称,售价,类目\nS1,布艺沙发,￥1299,沙发\n".encode("gbk")
    result = services.import_products(account, io.BytesIO(raw))
    assert result.created == 1
    product = Product.objects.get(sku="S1")
    assert product.name == "布艺沙发" and product.price == Decimal("1299")
    assert product.category.key == "沙发"


def test_utf8_with_bom(account):
    raw = "\ufeffsku,name,price\nS1,餐桌,899\n".encode()
    services.import_products(account, raw)
    assert Product.objects.get(sku="S1").name == "餐桌"


def test_undecodable_oversized_and_empty_files_are_refused(account, monkeypatch):
    with pytest.raises(services.CatalogImportError, match="编码"):
        services.import_products(account, b"sku,name,price\n\xff\xff\xff\xfe,x,1\n")
    monkeypatch.setattr(services, "MAX_BYTES", 100)
    with pytest.raises(services.CatalogImportError, match="MB"):
        services.import_products(account, b"sku,name,price\n" + b"A,b,1\n" * 50)
    monkeypatch.undo()
    with pytest.raises(services.CatalogImportError):
        services.import_products(account, b"")
    with pytest.raises(services.CatalogImportError):
        services.import_products(account, b"sku,name,price\n")
    assert not Product.objects.exists()


def test_skus_are_per_account(make_account):
    first = make_account(app_id="wx_first")
    second = make_account(app_id="wx_second")
    services.import_products(first, GOOD)
    services.import_products(second, GOOD)
    assert Product.objects.filter(sku="SOFA-1").count() == 2


def test_catalog_for_lint_feeds_the_price_check(account):
    from fencun.content import Message, lint

    services.import_products(account, GOOD)
    catalog = services.catalog_for_lint(account)
    assert set(catalog) == {"SOFA-1", "BED-1"}  # the inactive pillow is not offered
    codes = [f.code for f in lint(Message(kind="text", body="[[SOFA-1 ¥1899]]"), catalog)]
    assert codes == ["price-mismatch"]


# --- stores -------------------------------------------------------------------------


def test_stores_in_wgs84_are_stored_in_gcj02(account):
    csv = "name,address,lat,lng,datum\n惠城店,惠州市惠城区,23.1115,114.4162,wgs84\n仲恺店,,23.05,114.38,gcj02\n"
    result = services.import_stores(account, csv)
    assert (result.created, result.updated) == (2, 0)
    huicheng = Store.objects.get(name="惠城店")
    assert (huicheng.lat, huicheng.lng) == pytest.approx(geo.to_gcj02(23.1115, 114.4162, "wgs84"))
    assert (
        geo.haversine_km(huicheng.lat, huicheng.lng, 23.1115, 114.4162) > 0.2
    )  # converted, not copied
    assert (Store.objects.get(name="仲恺店").lat, Store.objects.get(name="仲恺店").lng) == (
        23.05,
        114.38,
    )
    again = services.import_stores(account, csv)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_bad_store_rows_write_nothing(account):
    csv = "name,lat,lng,datum\n好店,23.1,114.4,gcj02\n坏店,abc,114.4,gcj02\n远店,123,114,wgs84\n无坐标系店,23,114,bd09\n"
    with pytest.raises(services.CatalogImportError) as caught:
        services.import_stores(account, csv)
    assert {(e.row, e.column) for e in caught.value.errors} == {
        (3, "lat"),
        (4, "lat"),
        (5, "datum"),
    }
    assert not Store.objects.exists()


def test_store_datum_defaults_from_the_option(account):
    services.import_stores(account, "name,lat,lng\nA,23.1,114.4\n", default_datum="gcj02")
    assert Store.objects.get(name="A").lat == 23.1
    with pytest.raises(services.CatalogImportError):
        services.import_stores(account, "name,lat,lng\nB,23.1,114.4\n")


# --- command line ---------------------------------------------------------------------


def test_cli_import_products(account, tmp_path: Path, monkeypatch):
    from fencun.cli.main import app

    monkeypatch.setattr("fencun.cli.import_cmd.setup_django", lambda: None)
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_bytes("sku,name,price\nA,沙发,1\nB,床,贵\n".encode("gbk"))
    result = runner.invoke(app, ["import-products", str(bad)])
    assert result.exit_code == 1
    assert "第 3 行，price 列" in result.output and "未导入任何商品" in result.output
    assert not Product.objects.exists()
    result = runner.invoke(app, ["import-products", "--lang", "en", str(bad)])
    assert "row 3, column price" in result.output and "nothing imported" in result.output

    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8-sig")
    result = runner.invoke(app, ["import-products", "--account", account.app_id, str(good)])
    assert result.exit_code == 0, result.output
    assert "新增 3 件商品" in result.output
    result = runner.invoke(app, ["import-products", "--lang", "en", str(good)])
    assert "0 products created, 0 updated, 3 unchanged" in result.output

    assert (
        runner.invoke(app, ["import-products", "--account", "wx_nobody", str(good)]).exit_code == 2
    )
    assert runner.invoke(app, ["import-products", str(tmp_path / "missing.csv")]).exit_code == 2


def test_cli_import_stores(account, tmp_path: Path, monkeypatch):
    from fencun.cli.main import app

    monkeypatch.setattr("fencun.cli.import_cmd.setup_django", lambda: None)
    file = tmp_path / "stores.csv"
    file.write_text("门店名称,地址,纬度,经度\n惠城店,惠州,23.1115,114.4162\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["import-stores", "--datum", "wgs84", str(file)])
    assert result.exit_code == 0, result.output
    assert "新增 1 家门店" in result.output
    assert Store.objects.get(name="惠城店").account == account


def test_cli_lint_checks_prices_against_an_accounts_catalog(account, tmp_path: Path, monkeypatch):
    from fencun.cli.main import app

    monkeypatch.setattr("fencun.datadir.setup_django", lambda: None)
    services.import_products(account, GOOD)
    message = tmp_path / "push.txt"
    message.write_text("周末沙发 1999 元\n[[SOFA-1 ¥1899]] [[NOPE-9]]", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["lint", "--json", "--account", account.app_id, str(message)])
    assert result.exit_code == 1, result.output
    assert {f["code"] for f in json.loads(result.output)} >= {"price-mismatch", "product-unknown"}
    assert runner.invoke(app, ["lint", "--account", "wx_nobody", str(message)]).exit_code == 2
