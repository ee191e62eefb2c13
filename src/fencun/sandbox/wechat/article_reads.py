"""How the sandbox's followers read the articles they were mass sent: the activity the
article analytics (``datacube.py``) count.

The sandbox records what it delivered (one :class:`~fencun.sandbox.wechat.state.Delivery`
per recipient of a mass job) but no reads: WeChat tells an account nothing of them except
through these analytics. So each recipient's reading of each article of an ``mpnews``
mass send is derived from the delivery alone, deterministically: a hash of the sandbox's
seed, the send's ``msg_data_id``, the article's position and the openid gives the draws
that decide whether and when they read (the first read comes a while after delivery, with
a mean of ``MEAN_DELAY_HOURS``; some read twice), from where (``SOURCES``), whether they
open the original page (阅读原文, only where the article has one), share it (to a friend or
to Moments) and add it to favourites. The rates are the sandbox's own choice (Config:
``article_read_rate`` for the first article, divided by its position for the later ones;
``article_share_rate``, ``article_favourite_rate`` and ``article_original_rate`` among
readers), not the platform's. The same deliveries always give the same figures, whichever
API asks and whenever, and an activity timed after the sandbox's clock has not happened
yet (the analytics answer up to yesterday only).
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from fencun.sandbox.wechat.limits import api_limit
from fencun.sandbox.wechat.state import SHANGHAI

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform

#: Mean hours from delivery to the first read (an exponential delay: most read the same
#: day, some the next days).
MEAN_DELAY_HOURS = 8.0
#: Share of readers who read the article a second time.
REREAD_RATE = 0.2


def _sources() -> list[tuple[int, float]]:
    """Where a read comes from (``user_source``) and how often: mostly the chat the send
    arrived in, some from the account's history page, Moments or elsewhere."""
    source = api_limit("datacube", "read_user_source")
    return [
        (int(source["session"]), 0.8),
        (int(source["history"]), 0.1),
        (int(source["moments"]), 0.05),
        (int(source["other"]), 0.05),
    ]


@dataclass(frozen=True)
class Reading:
    """One recipient's activity on one article of one mass send (epoch seconds)."""

    msgid: str  # "{msg_data_id}_{index}", as the analytics name the article
    title: str
    sent_on: date  # the Beijing day the send was accepted
    openid: str
    source: int  # user_source of their reads
    reads: tuple[float, ...]
    original_read: float | None  # opened the original page (阅读原文)
    shares: tuple[tuple[float, int], ...]  # (when, share_scene)
    favourite: float | None


@dataclass(frozen=True)
class SentArticle:
    """One article of an accepted ``mpnews`` mass send and how many it reached."""

    msgid: str
    title: str
    sent_on: date
    recipients: int


def day_of(epoch: float) -> date:
    """The Beijing calendar day of ``epoch``."""
    return datetime.fromtimestamp(epoch, SHANGHAI).date()


def _draws(platform: Platform, key: str) -> Iterator[float]:
    """Uniform draws in [0, 1) from the sandbox's seed and ``key``: the same every time."""
    block = 0
    while True:
        digest = hashlib.blake2b(
            f"{platform.config.seed}:{key}:{block}".encode(), digest_size=64
        ).digest()
        for (word,) in struct.iter_unpack(">Q", digest):
            yield word / 2**64
        block += 1


def _pick(u: float, weighted: list[tuple[int, float]]) -> int:
    for value, weight in weighted:
        if u < weight:
            return value
        u -= weight
    return weighted[-1][0]


def _articles(job_message: dict) -> list[dict]:
    # A draft sent by media_id carries its articles; a legacy uploadnews one only a title.
    return list(job_message.get("articles") or [{"title": job_message.get("title", "")}])


def sent_articles(platform: Platform) -> list[SentArticle]:
    """Every article of every finished ``mpnews`` mass send, with its recipients."""
    with platform.lock:
        jobs = [j for j in platform.jobs.values() if j.message.get("msgtype") == "mpnews"]
        out = []
        for job in jobs:
            if job.status != "SEND_SUCCESS":
                continue
            for index, article in enumerate(_articles(job.message), start=1):
                out.append(
                    SentArticle(
                        f"{job.msg_data_id}_{index}",
                        str(article.get("title", "")),
                        day_of(job.accepted_at),
                        int(job.counts.get("SentCount", 0)),
                    )
                )
    return out


def readings(platform: Platform) -> list[Reading]:
    """Every recipient's activity on every article they were mass sent, up to now."""
    config = platform.config
    share_scene = api_limit("datacube", "share_scene")
    scenes = [(int(share_scene["friends"]), 0.7), (int(share_scene["moments"]), 0.3)]
    sources = _sources()
    now = platform.now()
    with platform.lock:
        jobs = {
            j.msg_id: j
            for j in platform.jobs.values()
            if j.message.get("msgtype") == "mpnews" and j.status == "SEND_SUCCESS"
        }
        delivered = [
            (d, jobs[d.msg_id])
            for d in platform.deliveries
            if d.kind == "mass" and d.msg_id is not None and d.msg_id in jobs
        ]
    out: list[Reading] = []
    for delivery, job in delivered:
        for index, article in enumerate(_articles(job.message), start=1):
            msgid = f"{job.msg_data_id}_{index}"
            u = _draws(platform, f"{msgid}:{delivery.openid}")
            if next(u) >= config.article_read_rate / index:
                continue
            first = delivery.at - math.log(1.0 - next(u)) * MEAN_DELAY_HOURS * 3600
            reads = [first]
            if next(u) < REREAD_RATE:
                reads.append(first - math.log(1.0 - next(u)) * MEAN_DELAY_HOURS * 3600)
            else:
                next(u)
            source = _pick(next(u), sources)
            after = first + next(u) * 3600  # what a reader does next, within the hour
            original = (
                after
                if article.get("content_source_url") and next(u) < config.article_original_rate
                else None
            )
            u_share, u_scene, u_fav = next(u), next(u), next(u)
            shares = (
                ((after, _pick(u_scene, scenes)),) if u_share < config.article_share_rate else ()
            )
            favourite = after if u_fav < config.article_favourite_rate else None
            out.append(
                Reading(
                    msgid,
                    str(article.get("title", "")),
                    day_of(job.accepted_at),
                    delivery.openid,
                    source,
                    tuple(t for t in reads if t <= now),
                    original if original is not None and original <= now else None,
                    tuple(s for s in shares if s[0] <= now),
                    favourite if favourite is not None and favourite <= now else None,
                )
            )
    return out
