"""Articles the way today's platform takes them, through the sandbox over HTTP: permanent
material, body images, the draft box, mass sends and previews of a draft, publishing
without a push, and the retired article APIs. Each refusal is the platform's code from
the article table or the sandbox's own, never a number written here."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fencun.channels.wechat import errors as E
from fencun.channels.wechat import messages
from fencun.channels.wechat.articles import DraftArticle
from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.content.limits import ArticleLimits, article_limits_table, load_article_limits
from fencun.sandbox.wechat.limits import api_errcode

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
GIF = b"GIF89a" + b"\0" * 16
LIMITS = load_article_limits()


def draft_code(name: str) -> int:
    code = ArticleLimits.errcode("draft", name)
    assert code is not None
    return code


def client_for(box, **options) -> WeChatClient:
    return WeChatClient(
        box.config.app_id,
        box.config.app_secret,
        account_type=box.config.account_type,
        api_base=box.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryMassLedger(),
        backoff=0.0,
        timeout=5.0,
        **options,
    )


class Raw:
    """Calls the sandbox without the client's checks, as a careless client would."""

    def __init__(self, client: WeChatClient) -> None:
        self.client = client
        self.http = httpx.Client(base_url=client.api_base)

    def post(self, path: str, body: dict | None = None, **files) -> dict:
        params = {"access_token": self.client.access_token()}
        if files:
            params.update(files.pop("params", {}))
            return self.http.post(path, params=params, files=files).json()
        return self.http.post(path, params=params, content=json.dumps(body or {}).encode()).json()


def article(client: WeChatClient, **fields) -> DraftArticle:
    cover = (
        fields.pop("thumb_media_id", None) or client.add_material("thumb", "c.jpg", JPEG).media_id
    )
    return DraftArticle(
        **{"title": "周末到店价 1999 元沙发", "content": "<p>头层牛皮三人位</p>", **fields},
        thumb_media_id=cover,
    )


@pytest.fixture
def box(make_sandbox):
    return make_sandbox(followers=20, retry_too_fast_seconds=0)


@pytest.fixture
def client(box):
    with client_for(box) as c:
        yield c


# --- permanent material and body images ------------------------------------------------


def test_covers_are_added_counted_listed_and_deleted(client):
    thumb = client.add_material("thumb", "cover.jpg", JPEG)
    image = client.add_material("image", "big.png", PNG)
    assert thumb.url.startswith("http") and image.url.startswith("http")
    assert client.material_count().image == 2  # thumbs are counted with images
    listed = client.list_materials("image")
    assert listed.total == 2 and {i["media_id"] for i in listed.items} == {
        thumb.media_id,
        image.media_id,
    }
    client.delete_material(thumb.media_id)
    assert client.material_count().image == 1
    with pytest.raises(E.ContentRejected) as gone:
        client.delete_material(thumb.media_id)
    assert gone.value.errcode == ArticleLimits.errcode("material", "unknown_media_id")


def test_a_cover_the_platform_would_refuse_is_refused_before_the_upload(box, client):
    calls = box.state()["calls"].get("/cgi-bin/material/add_material", 0)
    with pytest.raises(E.LimitRefused):
        client.add_material("thumb", "c.png", PNG)  # thumbs are JPEG
    with pytest.raises(E.LimitRefused):
        client.add_material("thumb", "c.jpg", JPEG + b"\0" * LIMITS.material_max_bytes["thumb"])
    assert box.state()["calls"].get("/cgi-bin/material/add_material", 0) == calls


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(min_size=1, max_size=64).filter(lambda b: not b.startswith(b"\xff\xd8\xff")))
def test_a_cover_that_is_not_a_jpeg_is_refused_by_the_platform(client, data):
    answer = Raw(client).post(
        "/cgi-bin/material/add_material", params={"type": "thumb"}, media=("c.jpg", data)
    )
    assert answer["errcode"] == ArticleLimits.errcode("material", "formats")


def test_oversized_material_gets_its_types_size_code(client):
    sizes = LIMITS.material_max_bytes
    codes = article_limits_table()["material"]["size_errcodes"]["value"]
    for kind, data in (("thumb", JPEG), ("image", PNG)):
        answer = Raw(client).post(
            "/cgi-bin/material/add_material",
            params={"type": kind},
            media=("x", data + b"\0" * sizes[kind]),
        )
        assert answer["errcode"] == codes[kind]


def test_body_images_go_to_the_image_host_jpeg_or_png_under_the_limit(client):
    url = client.upload_article_image("a.png", PNG)
    assert httpx.URL(url).host in LIMITS.body_image_hosts
    raw = Raw(client)
    wrong = raw.post("/cgi-bin/media/uploadimg", media=("a.gif", GIF))
    assert wrong["errcode"] == ArticleLimits.errcode("uploadimg", "formats")
    big = raw.post(
        "/cgi-bin/media/uploadimg", media=("a.jpg", JPEG + b"\0" * LIMITS.uploadimg_max_bytes)
    )
    assert big["errcode"] == ArticleLimits.errcode("uploadimg", "max_bytes")
    with pytest.raises(E.LimitRefused):
        client.upload_article_image("a.gif", GIF)


# --- the draft box ----------------------------------------------------------------------


def test_a_draft_is_added_read_listed_updated_and_deleted(client):
    first, second = article(client), article(client, title="新品床垫 2999 元", author="惠州店")
    media_id = client.add_draft([first, second])
    assert client.draft_count() == 1
    items = client.get_draft(media_id)
    assert [i["title"] for i in items] == [first.title, second.title]
    assert all(i["url"] and i["thumb_url"] for i in items)
    page = client.list_drafts(no_content=True)
    assert page.total == 1 and page.items[0]["media_id"] == media_id
    assert "content" not in page.items[0]["content"]["news_item"][0]
    client.update_draft(media_id, 1, article(client, title="新品床垫 2799 元"))
    assert client.get_draft(media_id)[1]["title"] == "新品床垫 2799 元"
    with pytest.raises(E.InvalidRequest) as past_the_end:
        client.update_draft(media_id, 2, first)
    assert past_the_end.value.errcode == draft_code("update_index")
    client.delete_draft(media_id)
    assert client.draft_count() == 0
    with pytest.raises(E.ContentRejected) as gone:
        client.get_draft(media_id)
    assert gone.value.errcode == draft_code("unknown_media_id")


def test_external_images_are_dropped_from_a_draft_and_the_platforms_kept(client):
    hosted = client.upload_article_image("a.jpg", JPEG)
    content = f'<p>沙发</p><img src="https://cdn.example.com/a.jpg"><img src="{hosted}">'
    media_id = client.add_draft([article(client, content=content)])
    kept = client.get_draft(media_id)[0]["content"]
    assert hosted in kept and "cdn.example.com" not in kept


def test_an_over_long_field_is_refused_by_the_client_before_calling(box, client):
    calls = box.state()["calls"].get("/cgi-bin/draft/add", 0)
    for field, most in (
        ("title", LIMITS.title_max_chars),
        ("author", LIMITS.author_max_chars),
        ("digest", LIMITS.digest_max_chars),
    ):
        with pytest.raises(E.LimitRefused):
            client.add_draft([article(client, **{field: "长" * (most + 1)})])
    with pytest.raises(E.LimitRefused):
        client.add_draft([article(client)] * (LIMITS.articles_max + 1))
    assert box.state()["calls"].get("/cgi-bin/draft/add", 0) == calls


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=3 * LIMITS.title_max_chars).filter(lambda t: t.strip()))
def test_the_platform_refuses_a_title_exactly_when_it_is_over_the_limit(client, title):
    cover = client.add_material("thumb", "c.jpg", JPEG).media_id
    answer = Raw(client).post(
        "/cgi-bin/draft/add",
        {"articles": [{"title": title, "content": "<p>x</p>", "thumb_media_id": cover}]},
    )
    if len(title) > LIMITS.title_max_chars:
        assert answer["errcode"] == draft_code("title_max_chars")
    else:
        assert answer.get("media_id")


@pytest.mark.parametrize(
    ("change", "limit"),
    [
        ({"author": "作" * (LIMITS.author_max_chars + 1)}, "author_max_chars"),
        ({"digest": "摘" * (LIMITS.digest_max_chars + 1)}, "digest_max_chars"),
        ({"content": "字" * (LIMITS.content_max_chars + 1)}, "content_max_chars"),
        ({"content_source_url": "ftp://shop.example.com/a"}, "content_source_url_max_bytes"),
        ({"need_open_comment": 2}, "comment_flags"),
        ({"thumb_media_id": "not-material"}, "cover"),
    ],
)
def test_each_field_the_platform_refuses_answers_its_code(client, change, limit):
    cover = client.add_material("thumb", "c.jpg", JPEG).media_id
    body = {"title": "沙发", "content": "<p>x</p>", "thumb_media_id": cover, **change}
    assert Raw(client).post("/cgi-bin/draft/add", {"articles": [body]})["errcode"] == draft_code(
        limit
    )


def test_a_temporary_cover_and_too_many_articles_are_refused(client):
    temporary = client.upload_media("thumb", "c.jpg", JPEG).media_id
    one = {"title": "沙发", "content": "<p>x</p>", "thumb_media_id": temporary}
    raw = Raw(client)
    assert raw.post("/cgi-bin/draft/add", {"articles": [one]})["errcode"] == draft_code("cover")
    one["thumb_media_id"] = client.add_material("thumb", "c.jpg", JPEG).media_id
    many = {"articles": [one] * (LIMITS.articles_max + 1)}
    assert raw.post("/cgi-bin/draft/add", many)["errcode"] == draft_code("articles_max")


def test_comments_need_the_privilege(make_sandbox):
    box = make_sandbox(followers=1, comments=False)
    with client_for(box) as client, pytest.raises(E.Unauthorized) as refused:
        client.add_draft([article(client, need_open_comment=True)])
    assert refused.value.errcode == draft_code("comment_privilege")


# --- mass sends and previews of a draft -------------------------------------------------


def test_a_draft_mass_sent_to_all_reaches_everyone_and_leaves_the_box(box, client):
    media_id = client.add_draft([article(client)])
    follower = client.get_followers().openids[0]
    assert client.preview(follower, messages.news(media_id))
    assert client.draft_count() == 1  # a preview leaves the draft in the box
    sent = client.sendall(messages.news(media_id), clientmsgid="draft-1", send_ignore_reprint=True)
    box.flush()
    reached = box.deliveries(msg_id=str(sent.msg_id))
    assert {d["openid"] for d in reached} == set(client.get_followers().openids)
    assert {(d["msgtype"], d["title"]) for d in reached} == {("mpnews", "周末到店价 1999 元沙发")}
    assert client.draft_count() == 0
    with pytest.raises(E.ContentRejected):
        client.get_draft(media_id)
    # A retry whose first answer was lost (a new process, nothing in its ledger): the
    # platform answers the earlier msg_id although the draft has left the box.
    with client_for(box) as retrying:
        again = retrying.sendall(messages.news(media_id), clientmsgid="draft-1")
    assert again.already_sent and again.msg_id == sent.msg_id
    assert [j["status"] for j in box.state()["mass_jobs"].values()] == ["SEND_SUCCESS"]


def test_a_sent_draft_cannot_be_sent_again_under_a_new_clientmsgid(make_sandbox):
    box = make_sandbox(account_type="service", followers=10, retry_too_fast_seconds=0)
    with client_for(box) as client:
        media_id = client.add_draft([article(client)])
        openids = client.get_followers().openids
        client.send_to_openids(openids[:3], messages.news(media_id), clientmsgid="d-1")
        with pytest.raises(E.ContentRejected) as gone:
            client.send_to_openids(openids[3:6], messages.news(media_id), clientmsgid="d-2")
    assert gone.value.errcode == api_errcode("mass", "draft_media_id")


def test_an_unverified_account_may_not_mass_send(make_sandbox):
    box = make_sandbox(followers=3, verified=False)
    with client_for(box) as client:
        media_id = client.add_draft([article(client)])  # drafts are any account's
        with pytest.raises(E.Unauthorized) as refused:
            client.sendall(messages.news(media_id), clientmsgid="u-1")
        assert client.draft_count() == 1
    assert refused.value.errcode == api_errcode("mass", "verified_only")


# --- publishing without a push ----------------------------------------------------------


def test_a_published_draft_reaches_no_one_and_leaves_the_box(box, client):
    media_id = client.add_draft([article(client), article(client, title="新品床垫")])
    publish_id = client.publish(media_id)
    box.flush()
    status = client.publish_status(publish_id)
    assert status.status == 0 and status.article_id and len(status.article_urls) == 2
    assert not box.deliveries()  # nobody was notified
    assert client.draft_count() == 0
    published = client.get_published_article(status.article_id)
    assert [a["title"] for a in published] == ["周末到店价 1999 元沙发", "新品床垫"]
    assert client.list_published().total == 1
    client.delete_published(status.article_id, 2)
    kept = client.get_published_article(status.article_id)
    assert [a["is_deleted"] for a in kept] == [False, True]
    client.delete_published(status.article_id)
    assert client.list_published().total == 0
    with pytest.raises(E.InvalidRequest) as unknown:
        client.get_published_article("nope")
    assert unknown.value.errcode == api_errcode("freepublish", "unknown_article_id")
    with pytest.raises(E.InvalidRequest) as no_job:
        client.publish_status("12345")
    assert no_job.value.errcode == api_errcode("freepublish", "unknown_publish_id")


def test_a_draft_failing_review_stays_in_the_box_with_the_failed_article(box, client):
    banned = box.config.banned_words[0]
    media_id = client.add_draft([article(client), article(client, content=f"<p>{banned}</p>")])
    publish_id = client.publish(media_id)
    box.flush()
    status = client.publish_status(publish_id)
    assert status.status != 0 and status.fail_idx == [2] and not status.article_id
    assert client.draft_count() == 1


def test_a_draft_whose_cover_was_deleted_fails_the_publish_check(client):
    draft = article(client)
    media_id = client.add_draft([draft])
    client.delete_material(draft.thumb_media_id)
    with pytest.raises(E.ContentRejected) as refused:
        client.publish(media_id)
    assert refused.value.errcode == api_errcode("freepublish", "draft_failed_checks")


def test_only_verified_subscription_accounts_publish(make_sandbox):
    unverified = make_sandbox(followers=1, verified=False)
    with client_for(unverified) as trusting:  # believes it is verified: the platform says no
        media_id = trusting.add_draft([article(trusting)])
        with pytest.raises(E.Unauthorized) as refused:
            trusting.publish(media_id)
        assert refused.value.errcode == api_errcode("freepublish", "accounts")
    with client_for(unverified, verified=False) as told, pytest.raises(E.LimitRefused):
        told.publish(media_id)  # said before trying
    service = make_sandbox(account_type="service", followers=1, verified=False)
    with client_for(service, verified=False) as client:
        assert client.publish(client.add_draft([article(client)]))


# --- retired article APIs ---------------------------------------------------------------


def test_permanent_news_material_is_retired(client):
    with pytest.raises(E.ApiRetired) as retired:
        client._call("POST", "/cgi-bin/material/add_news", retry=False, json_body={"articles": []})
    assert retired.value.errcode == api_errcode("retired", "material_add_news")


def test_uploadnews_answers_as_retired(make_sandbox):
    box = make_sandbox(followers=1)
    with client_for(box) as client:
        thumb = client.upload_media("thumb", "c.jpg", JPEG).media_id
        with pytest.raises(E.ApiRetired) as retired:
            client._call("POST", "/cgi-bin/media/uploadnews", retry=False,
                         json_body={"articles": [{"thumb_media_id": thumb, "title": "t", "content": "c"}]})
    assert retired.value.errcode == api_errcode("retired", "media_uploadnews")
