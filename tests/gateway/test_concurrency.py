"""WeChat's retries can arrive at the same moment: exactly one event must be stored."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from tests.conftest import message, requires_postgres

from fencun.audience.models import Event, Follower


def _hammer(signer, fields, threads=8):
    query, body = signer.plain(fields)
    barrier = threading.Barrier(threads)
    statuses: list[int] = []

    def send():
        barrier.wait()
        try:
            statuses.append(
                Client()
                .post(f"/wechat/callback?{urlencode(query)}", data=body, content_type="text/xml")
                .status_code
            )
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_store_one_event(make_account, signer):
    make_account()
    statuses = _hammer(signer, message("o_race", MsgType="text", Content="在吗", MsgId=777))
    assert statuses == [200] * 8
    assert Event.objects.filter(openid="o_race").count() == 1
    assert Follower.objects.filter(openid="o_race").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_events_of_one_new_follower_create_it_once(make_account, signer):
    make_account()
    query_sets = [
        signer.plain(message("o_new", MsgType="text", Content=str(i), MsgId=i)) for i in range(6)
    ]
    barrier = threading.Barrier(len(query_sets))

    def send(query, body):
        barrier.wait()
        try:
            assert (
                Client()
                .post(f"/wechat/callback?{urlencode(query)}", data=body, content_type="text/xml")
                .status_code
                == 200
            )
        finally:
            connection.close()

    workers = [threading.Thread(target=send, args=qs) for qs in query_sets]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert Event.objects.filter(openid="o_new").count() == 6
    assert Follower.objects.filter(openid="o_new").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_on_postgres(make_account, signer):
    assert connection.vendor == "postgresql"
    make_account()
    assert (
        _hammer(signer, message("o_pg", MsgType="event", Event="subscribe"), threads=12)
        == [200] * 12
    )
    assert Event.objects.filter(openid="o_pg").count() == 1
