"""The campaign's lint checks what the text claims against the products it names, and
asks for the label of content the merchant marks as made by AI."""

from __future__ import annotations

import pytest

from fencun.api.models import ApiToken
from fencun.catalog.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, make_account):
    account = make_account()
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    Product.objects.create(account=account, category=sofa, sku="SOFA-1", name="北欧布艺沙发", price=4299,
                           free_shipping=False)
    token = ApiToken.issue("tests", [account])[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def post(path, body):
        return client.post(f"/api{path}", body, content_type="application/json", **auth)

    return post


def _codes(answer):
    return {f["code"] for f in answer.json()["findings"]}


def test_a_price_and_free_shipping_the_named_product_contradicts_are_errors(api):
    made = api("/campaigns", {"name": "周末", "category": "sofa", "title": "北欧布艺沙发",
                              "body": "北欧布艺沙发到手价 ¥299，全国包邮", "products": ["SOFA-1"]})
    assert made.status_code == 201
    codes = _codes(made)
    # The price is the catalog check's (price-mismatch) or the claims' (claim-price).
    assert "claim-free-shipping" in codes and codes & {"claim-price", "price-mismatch"}
    linted = api(f"/campaigns/{made.json()['campaign']['id']}/lint", {"acknowledge_warnings": True})
    assert linted.json()["campaign"]["status"] == "draft"  # errors keep it a draft


def test_ai_content_needs_its_label(api):
    unlabelled = api("/campaigns", {"name": "AI 文案", "category": "sofa", "title": "新品",
                                    "body": "周末到店看看新沙发", "ai_generated": True})
    assert "ai-unlabelled" in _codes(unlabelled) and unlabelled.json()["campaign"]["ai_generated"] is True
    labelled = api("/campaigns", {"name": "AI 文案", "category": "sofa", "title": "新品",
                                  "body": "周末到店看看新沙发（本内容由AI生成）", "ai_generated": True})
    assert "ai-unlabelled" not in _codes(labelled)
