"""`fencun serve` as a user runs it: a real server process, real HTTP, signed callbacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import httpx
import pytest
from tests.conftest import AES_KEY, APP_ID, TOKEN, WeChatSigner, message

SECRET = "s3cr3t-never-logged"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        FENCUN_DATA_DIR=str(tmp_path),
        WECHAT_APP_ID=APP_ID,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_APP_SECRET=SECRET,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "fencun.cli.main", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/api/openapi.json", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.stdout.read()) from None
            time.sleep(0.2)
    yield base, proc, env
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_served_callback_stores_once_and_the_api_shows_it(served):
    base, proc, env = served
    query, body = WeChatSigner().safe(message("o_live", MsgType="text", Content="你好", MsgId=42))
    for _ in range(3):  # WeChat's retries
        response = httpx.post(f"{base}/wechat/callback?{urlencode(query)}", content=body)
        assert (response.status_code, response.text) == (200, "success")
    forged = dict(query, msg_signature="0" * 40)
    assert (
        httpx.post(f"{base}/wechat/callback?{urlencode(forged)}", content=body).status_code == 403
    )
    plain_query, plain_body = WeChatSigner().plain(
        message("o_live", MsgType="text", Content="x", MsgId=43)
    )
    assert (
        httpx.post(
            f"{base}/wechat/callback?{urlencode(plain_query)}", content=plain_body
        ).status_code
        == 403
    )

    token = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "api-token", "create", "--name", "live"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    events = httpx.get(
        f"{base}/api/events",
        params={"openid": "o_live"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert [(e["kind"], e["payload"]["content"]) for e in events] == [("text", "你好")]
    follower = httpx.get(
        f"{base}/api/followers/o_live", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert follower["last_interaction_at"] is not None

    proc.terminate()
    output, _ = proc.communicate(timeout=20)
    # The first start set up the administrator with the password it was given, and
    # printed neither that password nor any other.
    assert "admin" in output and env["FENCUN_ADMIN_PASSWORD"] not in output
    assert "password:" not in output.lower()
    assert SECRET not in output


def _events(base: str, env: dict, openid: str) -> list[dict]:
    token = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "api-token", "create", "--name", "chunks"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return httpx.get(
        f"{base}/api/events", params={"openid": openid}, headers={"Authorization": f"Bearer {token}"}
    ).json()


@pytest.mark.slow
def test_served_callback_sent_in_chunks_is_stored_once(served):
    base, _, env = served
    query, body = WeChatSigner().safe(message("o_chunked", MsgType="text", Content="分块", MsgId=44))
    for _ in range(2):  # a retry, chunked too
        # A generator has no length: httpx sends it with Transfer-Encoding: chunked.
        parts = (body[i : i + 50] for i in range(0, len(body), 50))
        response = httpx.post(f"{base}/wechat/callback?{urlencode(query)}", content=parts)
        assert response.request.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.request.headers
        assert (response.status_code, response.text) == (200, "success")
    events = _events(base, env, "o_chunked")
    assert [(e["kind"], e["payload"]["content"]) for e in events] == [("text", "分块")]


@pytest.mark.slow
def test_served_oversized_chunked_body_is_refused_before_its_end(served):
    base, _, _ = served
    query, _ = WeChatSigner().safe(message("o_big", MsgType="text", Content="x", MsgId=45))
    port = int(base.rsplit(":", 1)[1])
    chunk = b"x" * 16384
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"POST /wechat/callback?{urlencode(query)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        # Past the limit (64 KiB), and no last chunk: a server that read to the end would
        # still be waiting when the timeout ends this test.
        for _ in range(6):
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        while b"PayloadTooLarge" not in answer and (part := conn.recv(4096)):
            answer += part  # the head and the body may come in separate segments
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"PayloadTooLarge" in answer


@pytest.mark.slow
def test_a_killed_callback_writer_is_started_again_and_no_callback_is_lost_meanwhile(served):
    import psutil

    base, proc, env = served

    def writers():
        return [p for p in psutil.Process(proc.pid).children(recursive=True) if "writer" in p.cmdline()]

    first = writers()
    assert len(first) == 1
    first[0].kill()
    signer = WeChatSigner()
    for i in range(5):  # while it is gone, and after: each acknowledged and stored once
        query, body = signer.safe(message("o_writer", MsgType="text", Content=f"w{i}", MsgId=900 + i))
        answer = httpx.post(f"{base}/wechat/callback?{urlencode(query)}", content=body)
        assert (answer.status_code, answer.text) == (200, "success")
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while not (again := writers()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert again and again[0].pid != first[0].pid
    contents = sorted(e["payload"]["content"] for e in _events(base, env, "o_writer"))
    assert contents == [f"w{i}" for i in range(5)]
