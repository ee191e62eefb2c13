"""The production recipe (docs/production.md, deploy/) as an agency follows it, on
PostgreSQL and Redis.

The commands are the shipped units' own ExecStart lines, with the venv this run installed
fencun into for /opt/fencun/venv and a free port for 8000, and their environment is the
shipped example environment file with this machine's values put in: the recipe and this
test cannot drift apart. On a bare database (the run's test database is migrated
already), ``fencun migrate`` applies everything, then again finds nothing to do; the web
process and two worker instances start as the units say, against a local WeChat
(``fencun sandbox``); one campaign goes through the JSON API (rules, create, lint, plan,
approve) and the workers send it; every follower the plan chose gets it exactly once and
nobody else gets anything; everything stops with the units' stop signals.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dj_database_url
import httpx
import psutil
import psycopg
import pytest
import redis
from django.utils import translation
from django.utils.translation import gettext
from huey import RedisExpireHuey
from tests import live
from tests.conftest import AES_KEY, APP_ID, TOKEN, is_postgres

from fencun.cli.migrate import describe
from fencun.testing.environment import forget_queue

QUEUE_URL = os.environ.get("FENCUN_QUEUE_URL", "")

needs_postgres = pytest.mark.skipif(
    not is_postgres(), reason="the production recipe runs on PostgreSQL: set DATABASE_URL=postgresql://…"
)
needs_redis = pytest.mark.skipif(
    not QUEUE_URL.startswith("redis"), reason="the production recipe's queue is Redis: set FENCUN_QUEUE_URL=redis://…"
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED_VENV = "/opt/fencun/venv"
FOLLOWERS = 300
WAIT_S = 45.0


# ----- the shipped files ------------------------------------------------------------------
def unit(name: str) -> dict[str, list[str]]:
    """A unit file's ``[Service]`` and ``[Unit]`` settings, each key with all its values."""
    settings: dict[str, list[str]] = {}
    text = (UNITS / name).read_text("utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def command(name: str, *, instance: str = "", port: int | None = None) -> list[str]:
    """The unit's one ExecStart as argv, run from this run's venv (and on ``port``)."""
    (line,) = unit(name)["ExecStart"]
    argv = [word.replace("%i", instance) for word in shlex.split(line)]
    assert argv[0].startswith(f"{INSTALLED_VENV}/"), argv[0]
    argv[0] = str(Path(sys.prefix) / argv[0].removeprefix(f"{INSTALLED_VENV}/"))
    assert os.access(argv[0], os.X_OK), f"{argv[0]}: the unit's program is not in this venv"
    if port is not None:
        argv[argv.index("--port") + 1] = str(port)
    return argv


def stop_signal(name: str) -> signal.Signals:
    """The unit's KillSignal (systemd's default: SIGTERM)."""
    return signal.Signals[unit(name).get("KillSignal", ["SIGTERM"])[-1]]


def example_environment() -> dict[str, str]:
    """The variables of deploy/fencun.env.example, as systemd's EnvironmentFile reads them."""
    env = {}
    for line in (DEPLOY / "fencun.env.example").read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=value: {line!r}"
            env[key] = value
    return env


# ----- processes --------------------------------------------------------------------------
@contextmanager
def running(argv: list[str], env: dict[str, str], log: Path, stop: signal.Signals) -> Iterator[subprocess.Popen]:
    """``argv`` in a session of its own, output to ``log``; stopped with ``stop`` at the end
    if still running (and killed, with all it started, if that does not end it)."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_for(what: str, ready, processes: list[subprocess.Popen], logs: list[Path], timeout: float = WAIT_S):  # type: ignore[no-untyped-def]
    """Poll ``ready()`` until it returns something true; fail with the logs if a process
    ends or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = ready()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        ended = [p.args for p in processes if p.poll() is not None]
        if ended or time.monotonic() > deadline:
            output = "\n".join(f"== {log.name}\n{log.read_text('utf-8', errors='replace')[-3000:]}" for log in logs)
            raise AssertionError(f"waiting for {what}: {'ended: ' + str(ended) if ended else 'timed out'}\n{output}")
        time.sleep(0.2)


def fencun(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """An operator's ``fencun`` command, from the same venv and environment as the units."""
    program = command("fencun-migrate.service")[0]
    return subprocess.run([program, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def applied_migrations(database_url: str) -> list[tuple]:
    with psycopg.connect(database_url) as db:
        return db.execute("SELECT app, name, applied FROM django_migrations ORDER BY id").fetchall()


# ----- the recipe -------------------------------------------------------------------------
@pytest.mark.slow(seconds=30)
@needs_postgres
@needs_redis
def test_the_recipe_migrates_a_bare_database_serves_and_sends_a_campaign_once(tmp_path):
    web_unit, worker_unit, migrate_unit = "fencun-web.service", "fencun-worker@.service", "fencun-migrate.service"
    for name in (web_unit, worker_unit):
        assert migrate_unit in unit(name)["Requires"][0].split(), f"{name} must require the migrations"
    example = example_environment()
    queue = f"fencun-recipe-{secrets.token_hex(4)}"  # this test's own queue, tokens and locks
    sandbox_port, web_port = live.free_port(), live.free_port()
    # The proxy's side of the recipe: it serves the allowed host name over HTTPS.
    public_host = example["FENCUN_ALLOWED_HOSTS"].split(",")[0]
    proxy_headers = {"Host": public_host, "X-Forwarded-Proto": "https"}

    with ExitStack() as stack:
        database_url = stack.enter_context(live.empty_postgres_database())
        stack.callback(forget_queue, QUEUE_URL, queue)
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        env |= example | {
            "HOME": str(tmp_path),
            "DATABASE_URL": database_url,
            "FENCUN_QUEUE_URL": QUEUE_URL,
            "FENCUN_QUEUE_NAME": queue,
            "FENCUN_DATA_DIR": str(tmp_path / "data"),
            "FENCUN_SECRET_KEY": secrets.token_urlsafe(50),
            "FENCUN_ADMIN_PASSWORD": secrets.token_urlsafe(16),
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": "recipe-app-secret",
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_AES_KEY": AES_KEY,
            "WECHAT_ACCOUNT_TYPE": "subscription",
            "WECHAT_API_BASE": f"http://127.0.0.1:{sandbox_port}",
        }

        # fencun migrate: everything on a bare database, then nothing.
        migrate = command(migrate_unit)
        first = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert first.returncode == 0, first.stdout + first.stderr
        applied = applied_migrations(database_url)
        where = describe(dj_database_url.parse(database_url))
        headline = first.stdout.splitlines()[0]
        assert where in headline and re.search(rf"\b{len(applied)}\b", headline), first.stdout
        second = subprocess.run(migrate, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert second.returncode == 0, second.stdout + second.stderr
        lang = migrate[migrate.index("--lang") + 1] if "--lang" in migrate else "zh-hans"
        with translation.override(lang):
            up_to_date = gettext("The database %(database)s is up to date: no migration was pending.")
        assert second.stdout.strip() == up_to_date % {"database": where}
        assert applied_migrations(database_url) == applied

        # The local WeChat the account points at.
        logs = tmp_path / "logs"
        logs.mkdir()
        sandbox = stack.enter_context(running(
            [command(migrate_unit)[0], "sandbox", "--port", str(sandbox_port), "--followers", str(FOLLOWERS)],
            env, logs / "sandbox.log", signal.SIGINT,
        ))
        wechat = stack.enter_context(httpx.Client(base_url=env["WECHAT_API_BASE"], timeout=30))
        wait_for("the sandbox", lambda: wechat.get("/sandbox/state").is_success, [sandbox], [logs / "sandbox.log"])

        # The web unit: serving behind the proxy, with no embedded worker.
        web = stack.enter_context(running(
            command(web_unit, port=web_port), env, logs / "web.log", stop_signal(web_unit)
        ))
        api = stack.enter_context(httpx.Client(
            base_url=f"http://127.0.0.1:{web_port}", headers=proxy_headers, timeout=30
        ))
        wait_for("the web process", lambda: api.get("/api/openapi.json").status_code == 200,
                 [web, sandbox], [logs / "web.log"])
        children = [" ".join(c.cmdline()) for c in psutil.Process(web.pid).children(recursive=True)]
        assert not [c for c in children if " worker" in c], children

        # What the operator does once: followers in, a product and its category, a token.
        synced = fencun(env, "sync")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        products = tmp_path / "products.csv"
        products.write_text("sku,name,price,category,category_name\nS1,布艺沙发,2999,sofa,沙发\n", "utf-8")
        imported = fencun(env, "import-products", str(products))
        assert imported.returncode == 0, imported.stdout + imported.stderr
        issued = fencun(env, "api-token", "create", "--name", "recipe")
        assert issued.returncode == 0, issued.stdout + issued.stderr
        api.headers["Authorization"] = f"Bearer {issued.stdout.strip()}"

        # One campaign through the API, approved to send now; the engine chooses whom.
        rules = api.patch("/api/rules", json={"quiet_start": "00:00", "quiet_end": "00:00"})
        assert rules.status_code == 200, rules.text
        created = api.post("/api/campaigns", json={
            "name": "新品沙发", "category": "sofa", "title": "新品沙发", "body": "新款布艺沙发到店，欢迎来看看。",
            "products": ["S1"],
        })
        assert created.status_code == 201, created.text
        campaign = created.json()["campaign"]["id"]
        linted = api.post(f"/api/campaigns/{campaign}/lint", json={"acknowledge_warnings": True})
        assert linted.json()["campaign"]["status"] == "linted", linted.text
        plan = api.post(f"/api/campaigns/{campaign}/plan").json()
        assert 0 < plan["reach"] < FOLLOWERS, plan  # some chosen, some held back (holdout, control group)
        approved = api.post(f"/api/campaigns/{campaign}/approve", json={"plan": plan["id"]})
        assert approved.status_code == 200, approved.text

        # Two worker instances: their first periodic pass starts the due campaign (the
        # passes run at a worker's start and every minute after), and they send it.
        workers = [
            stack.enter_context(running(
                command(worker_unit, instance=str(n)), env, logs / f"worker-{n}.log", stop_signal(worker_unit)
            ))
            for n in (1, 2)
        ]
        everyone = [web, sandbox, *workers]

        def finished() -> dict | None:
            delivery = api.get(f"/api/campaigns/{campaign}/delivery").json()
            return delivery if delivery["status"] == "done" else None

        done = wait_for("the campaign to be sent", finished, everyone, sorted(logs.iterdir()))

        # Every follower the plan chose got it exactly once; nobody else got anything.
        assert wechat.post("/sandbox/flush").is_success
        received = Counter(d["openid"] for d in wechat.get("/sandbox/deliveries").json()["deliveries"])
        with psycopg.connect(database_url) as db:
            rows = db.execute(
                "SELECT openids, status FROM campaigns_outboxitem WHERE campaign_id = %s", [campaign]
            ).fetchall()
        chosen = [openid for openids, _status in rows for openid in openids]
        assert len(chosen) == len(set(chosen)) == plan["reach"]
        assert received == Counter(chosen)
        assert {status for _openids, status in rows} == {"sent"}
        assert done["recipients_sent"] == plan["reach"]
        assert done["recipients_failed"] == done["recipients_unknown"] == 0

        # Both workers running their queue (one may have sent everything while the other
        # was still starting): a stop now is the ordinary one, not one during start-up.
        for n in (1, 2):
            log = logs / f"worker-{n}.log"
            wait_for(f"worker {n} to run its queue", lambda log=log: "consumer started" in log.read_text("utf-8"),
                     everyone, [log])

        # Stopped as systemd stops them: each ends by itself, the workers holding no lock.
        for process, name in [(web, web_unit), *((w, worker_unit) for w in workers)]:
            process.send_signal(stop_signal(name))
        for process in (web, *workers):
            assert process.wait(timeout=30) == 0, process.args
        # The queue's locks are keys of their own, with an expiry (fencun.tasklocks).
        prefix = RedisExpireHuey(queue, url=QUEUE_URL).storage.result_prefix
        locks = [key for key in redis.Redis.from_url(QUEUE_URL).scan_iter(match=prefix + b"*") if b".lock." in key]
        assert not locks, locks


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (package systemd)")
def test_the_units_are_valid_for_systemd(tmp_path):
    """``systemd-analyze verify`` finds nothing to say about the units (unknown keys,
    bad values, missing dependencies), with this run's venv in place of /opt/fencun/venv."""
    for path in UNITS.iterdir():
        (tmp_path / path.name).write_text(path.read_text("utf-8").replace(INSTALLED_VENV, sys.prefix), "utf-8")
    names = [p.name.replace("@.", "@1.") for p in sorted(tmp_path.iterdir())]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{tmp_path}:"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
