"""A small HTTP/1.1 load generator for the callback benchmark (run as its own process).

Requests are signed and encrypted before the clock starts, so the measured window holds
only sending and receiving. Keep-alive connections, one coroutine each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from urllib.parse import urlencode

from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign


def build_requests(
    count: int, token: str, aes_key: str, app_id: str, seed: int
) -> list[tuple[bytes, str]]:
    """``count`` raw requests (bytes, dedup identity): texts and events, both modes, 10% repeats."""
    rnd = random.Random(seed)
    crypto = MessageCrypto(aes_key, app_id)
    now = int(time.time())
    out: list[tuple[bytes, str]] = []
    for i in range(count):
        if out and rnd.random() < 0.10:
            out.append(out[rnd.randrange(len(out))])  # a WeChat retry of an earlier message
            continue
        openid = f"o_bench_{rnd.randrange(20000):05d}"
        fields: dict = {
            "ToUserName": "gh_bench",
            "FromUserName": openid,
            "CreateTime": now - rnd.randrange(60),
        }
        roll = rnd.random()
        if roll < 0.6:
            fields |= {"MsgType": "text", "Content": f"沙发还有货吗 {i}", "MsgId": 10**12 + i}
            identity = f"{openid}:{10**12 + i}"
        elif roll < 0.8:
            fields |= {"MsgType": "event", "Event": "CLICK", "EventKey": f"MENU_{i % 7}"}
            fields["CreateTime"] = now - 100 - i  # events de-duplicate by sender+time+event
            identity = f"{openid}:{fields['CreateTime']}:CLICK"
        else:
            fields |= {
                "MsgType": "event",
                "Event": "LOCATION",
                "Latitude": f"{23 + rnd.random() / 10:.6f}",
                "Longitude": f"{114.4 + rnd.random() / 10:.6f}",
                "Precision": "30",
            }
            fields["CreateTime"] = now - 100 - i
            identity = f"{openid}:{fields['CreateTime']}:LOCATION"
        ts, nonce = str(now), str(rnd.randrange(10**9))
        query = {
            "signature": sign(token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": openid,
        }
        if i % 2:  # half in safe mode
            encrypt = crypto.encrypt(xmlmsg.build(fields), random_prefix=secrets.token_bytes(16))
            query |= {"encrypt_type": "aes", "msg_signature": sign(token, ts, nonce, encrypt)}
            body = xmlmsg.build({"ToUserName": "gh_bench", "Encrypt": encrypt}).encode()
        else:
            body = xmlmsg.build(fields).encode()
        head = (
            f"POST /wechat/callback?{urlencode(query)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append((head + body, identity))
    return out


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _drive(
    host: str, port: int, requests: list[tuple[bytes, str]], connections: int, seconds: float
) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acked: set[str] = set()
    errors = 0
    cursor = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal cursor, errors
        reader = writer = None
        while time.perf_counter() < deadline and cursor < len(requests):
            raw, identity = requests[cursor]
            cursor += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                started = time.perf_counter()
                writer.write(raw)
                status = await _read_response(reader)  # type: ignore[arg-type]
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    acked.add(identity)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return (
            round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)
            if latencies
            else 0.0
        )

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "distinct_acked": len(acked),
        "exhausted": cursor >= len(requests),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=120_000)
    parser.add_argument("--token", required=True)
    parser.add_argument("--aes-key", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    requests = build_requests(args.requests, args.token, args.aes_key, args.app_id, args.seed)
    sys.stdout.write(
        json.dumps(
            asyncio.run(_drive("127.0.0.1", args.port, requests, args.connections, args.seconds))
        )
    )


if __name__ == "__main__":
    main()
