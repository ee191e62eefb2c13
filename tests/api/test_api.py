"""The JSON API: bearer tokens, followers, events, the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from fencun.api.models import ApiToken
from fencun.audience.services import record_event

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def token(db):
    return ApiToken.issue("tests")[1]


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_follower_contract_fields(client, make_account, token):
    account = make_account()
    record_event(
        account,
        kind="subscribe",
        openid="o1",
        occurred_at=T0,
        payload={"scene": "ADD_SCENE_QR_CODE", "scene_value": "7"},
        source="test",
        dedup_key="a",
    )
    record_event(
        account,
        kind="location",
        openid="o1",
        occurred_at=T0 + timedelta(minutes=1),
        payload={"lat": 23.11, "lng": 114.41},
        source="test",
        dedup_key="b",
    )
    body = client.get("/api/followers/o1", **auth(token)).json()
    assert body["openid"] == "o1"
    assert body["subscribed"] is True
    assert body["subscribe_scene"] == "ADD_SCENE_QR_CODE"
    assert body["tags"] == []
    assert body["location"] == {"lat": 23.11, "lng": 114.41}
    assert body["last_interaction_at"].startswith("2026-11-01T08:00:00")


@pytest.mark.django_db
def test_unknown_follower_is_404(client, make_account, token):
    make_account()
    response = client.get("/api/followers/nobody", **auth(token))
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


@pytest.mark.django_db
def test_events_oldest_first_with_kind_and_at(client, make_account, token):
    account = make_account()
    for i, kind in enumerate(["text", "subscribe", "click"]):
        record_event(
            account,
            kind=kind,
            openid="o2",
            occurred_at=T0 + timedelta(minutes=10 - i),
            payload={},
            source="test",
            dedup_key=f"e{i}",
        )
    record_event(
        account,
        kind="text",
        openid="other",
        occurred_at=T0,
        payload={},
        source="test",
        dedup_key="x",
    )
    events = client.get("/api/events?openid=o2", **auth(token)).json()
    assert [e["kind"] for e in events] == ["click", "subscribe", "text"]
    assert all({"kind", "at"} <= e.keys() for e in events)
    page = client.get("/api/events?openid=o2&offset=1&limit=1", **auth(token)).json()
    assert [e["kind"] for e in page] == ["subscribe"]


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer fc_00000000_nope", "Basic abc"])
def test_requests_without_a_valid_token_are_401(client, make_account, header):
    make_account()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/api/followers/o1", **extra).status_code == 401
    assert client.get("/api/events?openid=o1", **extra).status_code == 401


@pytest.mark.django_db
def test_revoked_token_is_refused(client, make_account):
    make_account()
    row, plaintext = ApiToken.issue("temp")
    row.revoked = True
    row.save()
    assert client.get("/api/events?openid=o1", **auth(plaintext)).status_code == 401


@pytest.mark.django_db
def test_openapi_document_lists_the_contract(client):
    doc = client.get("/api/openapi.json").json()
    assert "/api/followers/{openid}" in doc["paths"]
    assert "/api/events" in doc["paths"]


@pytest.mark.django_db
def test_cli_creates_a_token_stored_hashed(transactional_db):
    from fencun.cli.main import app

    result = CliRunner().invoke(app, ["api-token", "create", "--name", "crm export"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip()
    row = ApiToken.authenticate(plaintext)
    assert row is not None and row.name == "crm export"
    assert plaintext not in (row.digest, row.prefix)


@pytest.mark.django_db
def test_cli_refuses_blank_name(transactional_db):
    from fencun.cli.main import app

    result = CliRunner().invoke(app, ["api-token", "create", "--name", "  "])
    assert result.exit_code != 0
    assert ApiToken.objects.count() == 0
