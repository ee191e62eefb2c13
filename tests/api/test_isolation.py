"""Tokens reach only their own accounts: every endpoint of the OpenAPI document, tried on
another account's objects, answers 404 and neither shows nor changes anything of theirs.

The endpoints come from the document itself, so an endpoint added later is tried too; one
that names no account (an ``account`` parameter or body field) fails here until it says
how it is scoped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from fencun.accounts.models import Account
from fencun.api.models import ApiToken
from fencun.audience.models import Segment, Store
from fencun.audience.services import record_event
from fencun.campaigns.models import Journey
from fencun.campaigns.segments import forget_states
from fencun.campaigns.services import create_campaign, update_rules
from fencun.catalog.models import Category, Product
from fencun.operations.models import Menu, QrChannel

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
THEIR_OPENID = "o-theirs-1"
# What a path parameter names, among their objects: an endpoint whose path names anything
# else fails the test until it is taught here.
THEIRS: dict[str, str] = {"openid": THEIR_OPENID}
# In every row of theirs that could be shown: an answer holding it shows their data.
MARKER = "乙方机密-marker"
# Reads answered by WeChat itself: an account that is not connected gets a 400 saying so.
ASK_WECHAT = frozenset({"/api/menus/preview", "/api/notices/templates"})
# A saved segment's filter (and any `text` the document asks for).
FILTER = "subscribed"


@pytest.fixture
def two(make_account):
    ours = make_account(app_id="wx-ours-000000000001", name="甲方家具")
    theirs = make_account(app_id="wx-theirs-00000000001", name=f"{MARKER} 账号")
    record_event(ours, kind="subscribe", openid="o-ours-1", occurred_at=T0, payload={},
                 source="test", dedup_key="ours-1")
    record_event(theirs, kind="subscribe", openid=THEIR_OPENID, occurred_at=T0,
                 payload={"scene": MARKER}, source="test", dedup_key="theirs-1")
    record_event(theirs, kind="text", openid=THEIR_OPENID, occurred_at=T0,
                 payload={"content": MARKER}, source="test", dedup_key="theirs-2")
    update_rules(theirs, weekly_cap=7, quiet_start="21:37")
    category = Category.objects.create(account=theirs, key="sofa", name=f"{MARKER}沙发")
    product = Product.objects.create(account=theirs, category=category, sku="SOFA-1", name=f"{MARKER}沙发", price=999)
    THEIRS["campaign_id"] = str(create_campaign(theirs, name=f"{MARKER}活动", category=category,
                                                products=[product]).pk)
    THEIRS["segment_id"] = str(Segment.objects.create(account=theirs, name=f"{MARKER}人群", text=FILTER).pk)
    THEIRS["product_id"] = str(Product.objects.create(account=theirs, sku="LAMP-1", name=f"{MARKER}灯", price=9).pk)
    THEIRS["store_id"] = str(Store.objects.create(account=theirs, name=f"{MARKER}店", lat=23.1, lng=114.4).pk)
    THEIRS["channel_id"] = str(QrChannel.objects.create(
        account=theirs, name=f"{MARKER}海报", scene="theirs42", ticket="t", url="http://weixin.qq.com/q/x",
        welcome=MARKER,
    ).pk)
    THEIRS["menu_id"] = str(Menu.objects.create(
        account=theirs, buttons=[{"type": "click", "name": "乙方", "key": "k", "reply": MARKER}],
    ).pk)
    THEIRS["journey_id"] = str(Journey.objects.create(
        account=theirs, name=f"{MARKER}旅程",
        definition={"trigger": {"kind": "subscribe"}, "steps": [{"send": {"title": MARKER, "category": "sofa",
                                                                         "products": []}}]},
    ).pk)
    forget_states()
    return ours, theirs


def auth(token: str, lang: str | None = None) -> dict[str, str]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if lang:
        headers["HTTP_ACCEPT_LANGUAGE"] = lang
    return headers


#: Caches rebuilt from the account's own data, which a read may bring up to date.
DERIVED = frozenset({"audience.FollowerStateSnapshot"})


def rows_of(account: Account) -> dict[str, list[dict]]:
    """Every row of every model that belongs to ``account`` (an ``account`` foreign key),
    caches of derived data aside."""
    out = {}
    for model in apps.get_models():
        if model._meta.label in DERIVED:
            continue
        try:
            field = model._meta.get_field("account")
        except Exception:  # noqa: S112 - models without an account
            continue
        if isinstance(field, models.ForeignKey | models.OneToOneField) and field.related_model is Account:
            out[model._meta.label] = list(model.objects.filter(account=account).order_by("pk").values())
    return out


# --- requests built from the OpenAPI document ------------------------------------------

def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _value(doc: dict, name: str, schema: dict, theirs: Account) -> Any:
    """A valid value for a field, aimed at their account and their follower."""
    schema = _resolve(doc, schema)
    if name == "account":
        return theirs.app_id
    if name == "openid":
        return THEIR_OPENID
    if name == "text":  # a filter in the segment language: a made-up string does not parse
        return FILTER
    if "anyOf" in schema:
        options = [_resolve(doc, s) for s in schema["anyOf"] if s.get("type") != "null"]
        numeric = [s for s in options if s.get("type") in ("number", "integer")]
        return _value(doc, name, (numeric or options)[0], theirs)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        wanted = set(schema.get("required", [])) | ({"account", "openid"} & props.keys())
        return {k: _value(doc, k, props[k], theirs) for k in props if k in wanted}
    if kind == "array":
        return [_value(doc, name, schema.get("items", {}), theirs) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2026-11-01T08:00:00+08:00"
    return f"{name}-1"


def _operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def _request(doc: dict, path: str, op: dict, theirs: Account, *, name_account: bool) -> tuple[str, dict, Any]:
    """(url, query, body) of ``op`` on their objects; ``name_account`` False leaves out
    the account, so the token's own account is meant."""
    url = path
    query: dict[str, Any] = {}
    for param in op.get("parameters", []):
        name = param["name"]
        if param["in"] == "path":
            assert name in THEIRS, f"{path}: teach this test whose object {{{name}}} names (THEIRS)"
            url = url.replace(f"{{{name}}}", THEIRS[name])
        elif (param["in"] == "query" and (param.get("required") or name in ("account", "openid"))
              and (name != "account" or name_account)):
            query[name] = _value(doc, name, param.get("schema", {}), theirs)
    body = None
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = _value(doc, "body", schema, theirs)
        if not name_account:
            body.pop("account", None)
    return url, query, body


def _names_an_account(doc: dict, op: dict) -> bool:
    """Whether the operation takes an account, or names an object (of one account) in its path."""
    if any(p["name"] == "account" or p["in"] == "path" for p in op.get("parameters", [])):
        return True
    if "requestBody" in op:
        schema = _resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
        return "account" in schema.get("properties", {})
    return False


def _send(client, method: str, url: str, query: dict, body: Any, headers: dict):
    if query:
        from urllib.parse import urlencode

        url = f"{url}?{urlencode(query)}"
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def doc(client):
    document = client.get("/api/openapi.json").json()
    assert len(list(_operations(document))) >= 5  # the document lists the API
    return document


@pytest.mark.django_db
def test_no_endpoint_reads_or_changes_another_accounts_objects(client, two, doc):
    ours, theirs = two
    our_token = ApiToken.issue("ours", [ours])[1]
    their_token = ApiToken.issue("theirs", [theirs])[1]
    before = rows_of(theirs)
    tried = []
    for path, method, op in _operations(doc):
        assert _names_an_account(doc, op), f"{method.upper()} {path} names no account nor object: how is it scoped?"
        for name_account in (True, False):
            url, query, body = _request(doc, path, op, theirs, name_account=name_account)
            r = _send(client, method, url, query, body, auth(our_token))
            where = f"{method.upper()} {url} {query} {body}"
            assert r.status_code != 500, where
            assert MARKER not in r.content.decode(), f"{where} shows their data"
            if name_account or "{" in path:
                assert r.status_code == 404, (where, r.status_code, r.content)
            assert rows_of(theirs) == before, f"{where} changed their rows"
        tried.append((path, method))
    # The same requests with their own token do reach their objects: the 404s above are
    # the scoping, not broken requests. Deletions last: the objects they remove are the
    # ones the other requests name.
    for path, method, op in sorted(_operations(doc), key=lambda operation: operation[1] == "delete"):
        url, query, body = _request(doc, path, op, theirs, name_account=True)
        r = _send(client, method, url, query, body, auth(their_token))
        assert r.status_code not in (404, 500), (method, url, r.status_code, r.content)
    assert {("/api/followers/{openid}", "get"), ("/api/orders", "post"), ("/api/rules", "patch"),
            ("/api/campaigns", "post"), ("/api/campaigns/{campaign_id}/approve", "post"),
            ("/api/segments/{segment_id}", "delete"), ("/api/products/{product_id}", "patch"),
            ("/api/stores/{store_id}", "delete")} <= set(tried)


@pytest.mark.django_db
def test_a_token_of_two_accounts_reaches_both_and_must_say_which(client, two):
    ours, theirs = two
    token = ApiToken.issue("agency", [ours, theirs])[1]
    assert client.get(f"/api/followers/{THEIR_OPENID}?account={theirs.app_id}", **auth(token)).status_code == 200
    assert client.get("/api/followers/o-ours-1?account=wx-ours-000000000001", **auth(token)).status_code == 200
    Account.objects.update(is_default=False)
    r = client.get("/api/rules", **auth(token, "en"))
    assert r.status_code == 404 and "account=<AppID>" in r.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "words"), [("zh-hans", "只读"), ("en", "read-only")])
def test_a_read_only_token_reads_and_is_refused_every_change(client, two, doc, lang, words):
    ours, theirs = two
    token = ApiToken.issue("reader", [theirs], scope="read")[1]
    before = rows_of(theirs)
    changes = 0
    for path, method, op in _operations(doc):
        url, query, body = _request(doc, path, op, theirs, name_account=True)
        r = _send(client, method, url, query, body, auth(token, lang))
        if method == "get" and path in ASK_WECHAT:  # their account has no AppSecret
            assert r.status_code in (200, 400), (path, r.status_code, r.content)
        elif method == "get":
            assert r.status_code == 200, (path, r.status_code, r.content)
        else:
            assert r.status_code == 403, (method, path, r.status_code)
            assert words in r.json()["detail"]
            changes += 1
    assert changes >= 2 and rows_of(theirs) == before


@pytest.mark.django_db
def test_a_token_withdrawn_from_one_account_keeps_the_other_and_from_both_is_revoked(client, two):
    ours, theirs = two
    row, token = ApiToken.issue("agency", [ours, theirs])
    row.withdraw(theirs)
    assert client.get(f"/api/followers/{THEIR_OPENID}?account={theirs.app_id}", **auth(token)).status_code == 404
    assert client.get("/api/followers/o-ours-1?account=wx-ours-000000000001", **auth(token)).status_code == 200
    row.withdraw(ours)
    row.refresh_from_db()
    assert row.revoked
    assert client.get("/api/followers/o-ours-1?account=wx-ours-000000000001", **auth(token)).status_code == 401


@pytest.mark.django_db
def test_a_token_whose_only_account_is_gone_reaches_nothing(client, two):
    ours, theirs = two
    token = ApiToken.issue("ours", [ours])[1]
    ours.delete()
    assert client.get("/api/rules", **auth(token)).status_code == 404
    assert client.get(f"/api/followers/{THEIR_OPENID}", **auth(token)).status_code == 404


# --- `fencun api-token create` -----------------------------------------------------------

def _cli(*args: str):
    from typer.testing import CliRunner

    from fencun.cli.main import app

    return CliRunner().invoke(app, ["api-token", "create", *args])


def test_the_cli_scopes_a_token_to_the_accounts_and_scope_given(transactional_db, make_account):
    ours = make_account(app_id="wx-ours-000000000001")
    theirs = make_account(app_id="wx-theirs-00000000001")
    result = _cli("--name", "report", "--account", theirs.app_id, "--scope", "read")
    assert result.exit_code == 0, result.output
    row = ApiToken.authenticate(result.output.strip())
    assert list(row.accounts.all()) == [theirs] and row.scope == "read"
    both = ApiToken.authenticate(
        _cli("--name", "agency", "--account", ours.app_id, "--account", theirs.app_id).output.strip()
    )
    assert set(both.accounts.all()) == {ours, theirs} and both.scope == "write"


@pytest.mark.parametrize(("args", "words"), [
    (["--scope", "admin"], "read"),
    (["--account", "wx-nobody"], "wx-nobody"),
    ([], "--account APPID"),  # several accounts: which one is not guessed
])
def test_the_cli_refuses_a_bad_choice_and_creates_nothing(transactional_db, make_account, args, words):
    make_account(app_id="wx-ours-000000000001")
    make_account(app_id="wx-theirs-00000000001")
    result = _cli("--name", "n", "--lang", "en", *args)
    assert result.exit_code == 2 and words in result.output
    assert not ApiToken.objects.exists()


def test_the_cli_says_there_is_no_account_yet(transactional_db):
    result = _cli("--name", "n")
    assert result.exit_code == 2 and "WECHAT_APP_ID" in result.output
    assert not ApiToken.objects.exists()
