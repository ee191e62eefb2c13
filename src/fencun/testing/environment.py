"""A pytest plugin (``-p fencun.testing.environment``) that isolates a test run.

It is imported before Django is configured, so the settings module sees a private data
directory instead of the user's real one. Every test process gets its own (each
pytest-xdist worker imports this plugin itself), and with it its own SQLite files and
embedded queue; the processes a test starts inherit them through the environment.

On a Redis queue the process also gets a queue name of its own: the queue's and the
access_token's keys are named after it, so parallel workers, and other runs sharing the
Redis database, never take each other's tasks or tokens.
"""

import os
import secrets
import tempfile

if not os.environ.get("FENCUN_TEST_KEEP_ENV"):
    os.environ["FENCUN_DATA_DIR"] = tempfile.mkdtemp(prefix="fencun-test-")
    os.environ["FENCUN_QUEUE_NAME"] = os.path.basename(os.environ["FENCUN_DATA_DIR"])
    # In the environment, not the data dir: processes a test starts with a data dir of
    # their own on the same database must open the secrets this one sealed.
    os.environ.setdefault("FENCUN_SECRET_KEY", secrets.token_urlsafe(50))
    for _name in ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_TOKEN", "WECHAT_AES_KEY"):
        os.environ.pop(_name, None)
    # `fencun serve` started by a test takes the first login's password from here
    # instead of asking for it.
    os.environ.setdefault("FENCUN_ADMIN_PASSWORD", secrets.token_urlsafe(16))


def pytest_sessionfinish(session, exitstatus):
    """Drop what this process left in a shared Redis: its queue, schedule and results, and
    the access_tokens and locks under its name."""
    url = os.environ.get("FENCUN_QUEUE_URL", "")
    if os.environ.get("FENCUN_TEST_KEEP_ENV") or not url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        return
    name = os.environ["FENCUN_QUEUE_NAME"]
    try:
        forget_queue(url, name)
    except Exception as exc:  # tidying up must not fail the run (nor hide its result)
        print(f"fencun: could not clear the test queue {name} from Redis: {exc}")


def forget_queue(url: str, name: str) -> None:
    """Drop the Redis queue ``name`` at ``url``: its tasks, schedule, results and locks,
    and the access_tokens and locks kept under its name."""
    import redis
    from huey import RedisExpireHuey

    RedisExpireHuey(name, url=url).flush()  # the queue's kind (settings.HUEY)
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{name}:*"):
        client.delete(key)
