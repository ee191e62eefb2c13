"""What the WeChat, WeCom and Weibo clients share: the httpx client, secrets kept out of
sight, and, for the two ``errcode`` APIs, the access token and the retry loop.

Each platform's client subclasses :class:`PlatformClient` (Weibo) or
:class:`TokenClient` (WeChat, WeCom) and keeps its own endpoints, limits and error
families; this module only holds the request mechanics that are the same for all.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Self

import httpx

from fencun import clock
from fencun.channels.wechat.errors import (
    ApiTimeout,
    BadResponse,
    ChannelError,
    NotConnected,
    TransportError,
)
from fencun.channels.wechat.tokens import AccessToken, MemoryTokenStore, TokenStore
from fencun.logredact import RedactSecrets

# httpx logs every request URL at INFO, access_token (or a secret in a token request's
# query) included; clean its records at the source, whatever handlers are attached.
logging.getLogger("httpx").addFilter(RedactSecrets())


def _at(error: ChannelError, path: str) -> ChannelError:
    """``error`` with the API path of the request it is about."""
    error.path = path
    return error


class Secret:
    """Holds a secret or token so no repr, traceback local or f-string can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


class PlatformClient:
    """An httpx client for one platform's API base, closed with the client."""

    def __init__(
        self,
        api_base: str,
        *,
        timeout: float,
        connect_timeout: float,
        transport: httpx.BaseTransport | None,
        max_connections: int | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        options: dict[str, Any] = {}
        if max_connections is not None:
            options["limits"] = httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            )
        self._http = httpx.Client(
            base_url=self.api_base,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"User-Agent": "fencun"},
            **options,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TokenClient(PlatformClient):
    """A client of an API that answers ``{"errcode", "errmsg", ...}`` and takes an
    ``access_token`` in the query: WeChat's and WeCom's.

    Subclasses implement ``_fetcher`` (how to get a new token) and set ``_error_for`` and
    ``_token_invalid`` (their errcode families); ``token_key`` is where the token store
    keeps the token.
    """

    #: The platform's "refresh the token and repeat" error class.
    _token_invalid: type[ChannelError]
    #: Put before "access_token rejected" in the log, to tell the platforms apart.
    _log_platform = ""

    def __init__(
        self,
        account_id: str,
        api_base: str,
        *,
        token_store: TokenStore | None,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
        backoff: float,
        transport: httpx.BaseTransport | None,
        max_connections: int | None = None,
    ) -> None:
        super().__init__(
            api_base,
            timeout=timeout,
            connect_timeout=connect_timeout,
            transport=transport,
            max_connections=max_connections,
        )
        self._account_id = account_id
        self.token_store: TokenStore = token_store or MemoryTokenStore()
        self.max_retries = max_retries
        self.backoff = backoff
        self._token: AccessToken | None = None
        self._token_lock = threading.Lock()

    @property
    def token_key(self) -> str:
        """The token store's key for this account."""
        return self._account_id

    def _fetcher(self, reject: str | None) -> Callable[[], AccessToken]:
        """A function fetching a new token; ``reject`` is the one the platform refused."""
        raise NotImplementedError

    @staticmethod
    def _error_for(
        errcode: int, errmsg: str, path: str, body: dict[str, Any]
    ) -> ChannelError:
        raise NotImplementedError

    # -- access token -------------------------------------------------------------

    def access_token(self) -> str:
        """A usable access_token, fetched (by one holder across processes) when needed."""
        token = self._token
        if token is not None and token.usable(clock.time()):
            return token.value
        with self._token_lock:
            token = self._token
            if token is not None and token.usable(clock.time()):
                return token.value
            shared = self.token_store.current(self.token_key)
            if shared is not None and shared.usable(clock.time()):
                self._token = shared
            else:
                self._token = self.token_store.refresh(self.token_key, self._fetcher(reject=None))
            return self._token.value

    def _replace_rejected_token(self, rejected: str) -> None:
        with self._token_lock:
            if (
                self._token is not None
                and self._token.value != rejected
                and self._token.usable(clock.time())
            ):
                return  # another thread already replaced it
            self._token = self.token_store.refresh(
                self.token_key, self._fetcher(reject=rejected), reject=rejected
            )

    def _request_token(self, request: Callable[[], dict[str, Any]], what: str) -> AccessToken:
        """Call a token endpoint (retrying retryable failures) and read its answer."""
        attempt = 0
        while True:
            started = clock.time()
            try:
                body = request()
            except ChannelError as exc:
                attempt += 1
                if not exc.retryable or attempt > self.max_retries:
                    raise
                self._sleep_backoff(attempt)
                continue
            try:
                return AccessToken(
                    str(body["access_token"]), started + int(body["expires_in"]), started
                )
            except (KeyError, TypeError, ValueError):
                raise BadResponse(f"{what} answer without access_token/expires_in") from None

    # -- transport ----------------------------------------------------------------

    def _sleep_backoff(self, attempt: int) -> None:
        delay = min(self.backoff * (2 ** (attempt - 1)), 8.0)
        time.sleep(delay * (0.5 + random.random() / 2))  # jitter: retries must not align

    def _send_once(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Any = None,
        ok_codes: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        content = None
        headers = None
        if json_body is not None:
            # WeChat stores \\u escapes literally in some APIs: send UTF-8 as is.
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = self._http.request(
                method, path, params=query, content=content, files=files, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Before a connection: the request never left (told apart for sends that carry
            # no idempotency key, see ``ChannelError.may_have_acted``).
            # ``from None``: httpx's own exception repeats the URL, query and secrets included.
            raise _at(NotConnected(f"{method} {path}: {type(exc).__name__}"), path) from None
        except httpx.TimeoutException:
            raise _at(ApiTimeout(f"{method} {path}: no answer within {self.timeout:g} s"), path) from None
        except httpx.HTTPError as exc:
            raise _at(TransportError(f"{method} {path}: {type(exc).__name__}"), path) from None
        if response.status_code != 200:
            error = BadResponse(f"{method} {path}: HTTP {response.status_code}")
            # A gateway's 5xx may come after the platform acted; a 4xx is a refusal.
            error.retryable = error.may_have_acted = response.status_code >= 500
            raise _at(error, path)
        try:
            data = response.json()
        except ValueError:
            raise _at(BadResponse(f"{method} {path}: answer is not JSON"), path) from None
        if not isinstance(data, dict):
            raise _at(BadResponse(f"{method} {path}: answer is not a JSON object"), path)
        errcode = int(data.get("errcode") or 0)
        if errcode and errcode not in ok_codes:
            raise self._error_for(errcode, str(data.get("errmsg", "")), path, data)
        return data

    def _call(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Any = None,
        ok_codes: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """One API call with the token, one refresh-and-repeat on a rejected token, and
        (when ``retry``) bounded retries with backoff on retryable failures."""
        # Logged under the platform client's own module, as before the split.
        log = logging.getLogger(type(self).__module__)
        attempt = 0
        token_replaced = False
        while True:
            token = self.access_token()
            try:
                return self._send_once(
                    method,
                    path,
                    token=token,
                    params=params,
                    json_body=json_body,
                    files=files,
                    ok_codes=ok_codes,
                )
            except self._token_invalid:
                if token_replaced:
                    raise
                token_replaced = True
                log.info(
                    "%saccess_token rejected for %s on %s; refreshing once",
                    self._log_platform,
                    self._account_id,
                    path,
                )
                self._replace_rejected_token(token)
            except ChannelError as exc:
                attempt += 1
                if not (retry and exc.retryable) or attempt > self.max_retries:
                    raise
                log.info("retrying %s after %s (attempt %d)", path, type(exc).__name__, attempt)
                self._sleep_backoff(attempt)
