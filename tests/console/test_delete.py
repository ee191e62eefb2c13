"""Deleting stores, products and auto-replies from the console: POST only, the account's
own rows only, and a product campaigns name is kept (deactivate it instead)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from fencun.accounts.models import Account
from fencun.accounts.roles import grant
from fencun.audience.models import Store
from fencun.campaigns.services import create_campaign
from fencun.catalog.models import Category, Product
from fencun.gateway.models import AutoReply


@pytest.fixture
def shop(db, client, make_account):
    account = make_account()
    user = User.objects.create_user("owner", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    return account, sofa


def test_a_store_and_an_auto_reply_are_deleted_by_post_only(client, shop):
    account, _ = shop
    store = Store.objects.create(account=account, name="黄山路店", lat=23.1, lng=114.4)
    reply = AutoReply.objects.create(account=account, keyword="地址", content="黄山路 1 号")
    assert "删除" in client.get(f"/stores/{store.pk}/").content.decode()
    assert client.get(f"/stores/{store.pk}/delete/").status_code == 405
    assert Store.objects.filter(pk=store.pk).exists()
    assert client.post(f"/stores/{store.pk}/delete/").status_code == 302
    assert client.post(f"/auto-replies/{reply.pk}/delete/").status_code == 302
    assert not Store.objects.exists() and not AutoReply.objects.exists()


def test_a_product_campaigns_name_is_kept_and_another_accounts_rows_are_out_of_reach(client, shop):
    account, sofa = shop
    used = Product.objects.create(account=account, category=sofa, sku="S1", name="三人沙发", price=4299)
    spare = Product.objects.create(account=account, category=sofa, sku="S2", name="单人沙发", price=1999)
    create_campaign(account, name="周末", category=sofa, title="周末沙发", body="到店看看。", products=[used])
    r = client.post(f"/products/{used.pk}/delete/")
    assert r.status_code == 409 and "取消勾选“在售”" in r.content.decode()
    assert Product.objects.filter(pk=used.pk).exists()
    assert client.post(f"/products/{spare.pk}/delete/").status_code == 302
    assert not Product.objects.filter(pk=spare.pk).exists()
    other = Account.objects.create(app_id="wx-other-000000001", token="t")
    theirs = Store.objects.create(account=other, name="别家", lat=23.0, lng=114.0)
    assert client.post(f"/stores/{theirs.pk}/delete/").status_code == 404
    assert Store.objects.filter(pk=theirs.pk).exists()
