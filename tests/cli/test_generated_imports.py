"""Generated bad rows through the three CSV imports of the command line
(``import-orders``, ``import-products``, ``import-stores``): every file is imported or
refused with an exit code and a message, never a traceback, and a refused file changes
nothing."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import sized
from typer.testing import CliRunner

from fencun.audience.models import Event, Follower, Store
from fencun.catalog.models import Category, Product

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=sized(150, 25), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

COLUMNS = {
    "import-orders": ["order_id", "amount", "ordered_at", "openid", "unionid", "product", "coupon", "scene"],
    "import-products": ["sku", "name", "price", "category", "category_name", "large_item", "image_url",
                        "link_url", "active"],
    "import-stores": ["name", "lat", "lng", "address", "datum"],
}
GOOD = {
    "import-orders": {"order_id": "A-1", "amount": "99.00", "ordered_at": "2026-11-01T10:00:00+08:00",
                      "openid": "o1"},
    "import-products": {"sku": "SOFA-1", "name": "沙发", "price": "1999"},
    "import-stores": {"name": "惠州店", "lat": "23.11", "lng": "114.41", "datum": "gcj02"},
}

# What a spreadsheet, a careless export or a hostile file puts in a cell.
bad_value = st.one_of(
    st.sampled_from(["", " ", "NaN", "nan", "inf", "-inf", "1e400", "-1", "-0", "0x10", "9" * 400,
                     "1,999", "¥-5", "2026-02-30", "0001-01-01T00:00:00", "9999-12-31T23:59:59-14:00",
                     "=cmd|' /C calc'!A0", "是否", "true", "http://", "javascript:alert(1)",
                     "23.1,114.4", "91", "-181", "wgs-84", "bd09"]),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=8), st.text(max_size=8)),
    st.text(min_size=101, max_size=400),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
)


@st.composite
def csv_file(draw, command: str) -> str:
    """A header of known (and sometimes unknown or missing) columns, then rows: a valid
    one, and rows with generated values in generated columns."""
    columns = list(COLUMNS[command])
    header = draw(st.lists(st.sampled_from(columns), min_size=1, unique=True))
    if draw(st.booleans()):
        header += [c for c in GOOD[command] if c not in header]
    if draw(st.integers(0, 9)) == 0:
        header.append(draw(st.text(min_size=1, max_size=10)))
    rows = [dict(GOOD[command])]
    for _ in range(draw(st.integers(1, 4))):
        row = dict(GOOD[command])
        for column in draw(st.lists(st.sampled_from(header), min_size=1, max_size=3)):
            row[column] = draw(bad_value)
        rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def snapshot() -> tuple:
    return (
        list(Event.objects.order_by("id").values_list("id", "kind", "dedup_key")),
        list(Follower.objects.order_by("id").values_list("id", "openid")),
        list(Product.objects.order_by("id").values_list("id", "sku", "name", "price", "active")),
        list(Category.objects.order_by("id").values_list("id", "key", "name")),
        list(Store.objects.order_by("id").values_list("id", "name", "lat", "lng")),
    )


@pytest.fixture
def run(make_account, tmp_path, monkeypatch):
    from fencun.cli.main import app

    make_account()
    # The test database is set up already: the commands skip their own setup.
    monkeypatch.setattr("fencun.cli.import_cmd.setup_django", lambda: None)
    monkeypatch.setattr("fencun.cli.orders.setup_django", lambda: None)
    runner = CliRunner()
    path = tmp_path / "rows.csv"

    def invoke(command: str, text: str, lang: str):
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        return runner.invoke(app, [command, str(path), "--lang", lang])

    return invoke


@pytest.mark.django_db
@pytest.mark.parametrize("command", list(COLUMNS))
@FUZZ
@given(data=st.data(), lang=st.sampled_from(["zh-hans", "en"]))
def test_generated_rows_are_imported_or_refused_cleanly_and_a_refusal_changes_nothing(
    run, command, data, lang
):
    text = data.draw(csv_file(command))
    before = snapshot()
    result = run(command, text, lang)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return  # merely odd values, all valid: imported (and so not compared)
    assert result.exit_code in (1, 2), (result.exit_code, result.output)
    assert result.output.strip(), "a refusal says why"
    assert snapshot() == before
