"""The outbound Weibo client: ``statuses/share`` on httpx, small and ours.

``statuses/share`` (https://open.weibo.com/wiki/2/statuses/share) is the endpoint Weibo
leaves open to third parties for posting: a POST of ``access_token``, ``status`` (at most
140 Chinese characters, holding a URL of the app's safe domain, no ``#topic#``) and
``rip`` (the operator's real IP). The answer is the new status (``id``, ``idstr``,
``created_at``, ``text``...).

- The token travels in the form body, never in a URL, and the client never lets a request
  reach an exception or a log line: errors are re-raised ``from None`` with the path only,
  and any echo of the token in Weibo's text is masked.
- Text rules of the data file are checked *before* calling (:class:`LimitRefused`).
- A post is never retried here: Weibo takes no idempotency key, so a lost answer may mean
  the post is out. The caller decides (see ``services.post_due``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from fencun.channels.broadcast.errors import (
    ApiTimeout,
    BadResponse,
    LimitRefused,
    NotSent,
    TransportError,
    error_for,
)
from fencun.channels.broadcast.limits import TOPIC, WeiboLimits, load_limits, weibo_length
from fencun.channels.http import PlatformClient, Secret
from fencun.content.urls import URL

DEFAULT_API_BASE = "https://api.weibo.com"
SHARE_PATH = "/2/statuses/share.json"


@dataclass(frozen=True)
class PostedStatus:
    """The status Weibo created: ``idstr`` is the id to keep (``id`` overflows doubles)."""

    id: int
    idstr: str
    created_at: str
    text: str


class WeiboClient(PlatformClient):
    """Posts public statuses for one authorised Weibo user (one access token)."""

    def __init__(
        self,
        access_token: str,
        *,
        api_base: str | None = None,
        safe_domain: str = "",
        rip: str = "127.0.0.1",
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not access_token:
            raise ValueError("access_token is required")
        super().__init__(
            api_base or DEFAULT_API_BASE,
            timeout=timeout,
            connect_timeout=connect_timeout,
            transport=transport,
        )
        self._token = Secret(access_token)
        self.limits: WeiboLimits = load_limits()
        self.safe_domain = safe_domain.lower()
        self.rip = rip

    def __repr__(self) -> str:
        return f"<WeiboClient {self.api_base}>"

    def check_status(self, status: str) -> None:
        """Raise :class:`LimitRefused` if Weibo would refuse ``status`` for its text."""
        if not status.strip():
            raise LimitRefused("status_empty", "the post has no text")
        length = weibo_length(status)
        if length > self.limits.status_max_chars:
            raise LimitRefused(
                "status_max_chars", f"{length} characters; at most {self.limits.status_max_chars}"
            )
        if TOPIC.search(status):
            raise LimitRefused("status_no_topic_words", "statuses/share takes no #topic# words")
        if self.safe_domain and not any(
            _on_domain(m.group(0), self.safe_domain) for m in URL.finditer(status)
        ):
            raise LimitRefused(
                "status_needs_safe_domain_url", f"the text needs a URL under {self.safe_domain}"
            )

    def share(self, status: str) -> PostedStatus:
        """Post ``status`` publicly (``statuses/share``). Not retried (see module doc)."""
        self.check_status(status)
        body = self._post(SHARE_PATH, {"status": status, "rip": self.rip})
        try:
            return PostedStatus(
                int(body["id"]),
                str(body.get("idstr") or body["id"]),
                str(body.get("created_at", "")),
                str(body.get("text", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise BadResponse(f"POST {SHARE_PATH}: answer without id") from None

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        data = {"access_token": self._token.reveal(), **form}
        try:
            response = self._http.post(path, data=data)
        except httpx.TimeoutException:
            # ``from None``: httpx's exception holds the request, token included.
            raise ApiTimeout(f"POST {path}: no answer within {self.timeout:g} s") from None
        except httpx.ConnectError:
            raise NotSent(f"POST {path}: could not connect") from None
        except httpx.HTTPError as exc:
            # The request may have been sent: the caller cannot know whether it was posted.
            raise TransportError(f"POST {path}: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("error_code"):
            try:
                code = int(answer["error_code"])
            except (TypeError, ValueError):
                code = 0
            text = self._mask(str(answer.get("error", "")))
            raise error_for(code, text, path, {"error_code": code, "error": text})
        if response.status_code != 200 or not isinstance(answer, dict):
            error = BadResponse(f"POST {path}: HTTP {response.status_code}")
            error.retryable = response.status_code >= 500
            raise error
        return answer

    def _mask(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "***") if token else text


def _on_domain(url: str, domain: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == domain or host.endswith("." + domain)
