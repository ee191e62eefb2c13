"""``fencun sandbox``: run the local WeChat platform (see :mod:`fencun.sandbox.server`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fencun import inputs
from fencun.cli.serving import serve_until_stopped
from fencun.language import gettext as _
from fencun.sandbox.platform import Config

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.


HELP = _(
    "A local simulated WeChat Official Accounts Platform: the real API's paths, JSON and "
    "error codes, and signed (and encrypted) events pushed to the product's callback."
)
FAULT_HELP = _("Inject a fault: PATH=ERRCODE[xTIMES] or PATH=timeout:SECONDS; repeatable.")


def _parse_fault(spec: str) -> dict[str, Any]:
    """``PATH=ERRCODE[xTIMES]`` (e.g. ``/cgi-bin/user/get=-1x2``) or ``PATH=timeout:SECONDS``."""
    path, sep, what = spec.partition("=")
    if not sep or not path or not what:
        raise typer.BadParameter(
            _("%(spec)s: expected PATH=ERRCODE[xTIMES] or PATH=timeout:SECONDS")
            % {"spec": repr(spec)}
        )
    try:
        if what.startswith("timeout:"):
            return {"path": path, "action": "timeout", "seconds": float(what[8:])}
        code, _x, times = what.partition("x")
        return {
            "path": path,
            "action": "error",
            "errcode": int(code),
            "times": int(times) if times else None,
        }
    except ValueError:
        raise typer.BadParameter(
            _("%(spec)s: the error code, count or seconds is not a number") % {"spec": repr(spec)}
        ) from None


def sandbox(
    port: int = typer.Option(8900, "--port", help=_("Port to listen on (0: any free port).")),
    host: str = typer.Option("127.0.0.1", "--host", help=_("Address to listen on.")),
    callback: str | None = typer.Option(
        None,
        "--callback",
        help=_("The product's callback URL, e.g. http://127.0.0.1:8000/wechat/callback"),
    ),
    world: str | None = typer.Option(
        None,
        "--world",
        help=_(
            "Load followers from a world model: MODULE:FACTORY (e.g. fencun.worlds.furniture:world)"
        ),
    ),
    scenario: str = typer.Option(
        "subscription-90d",
        "--scenario",
        help=_("The world's scenario: a built-in name or a JSON file's path."),
    ),
    followers: int = typer.Option(
        1000, "--followers", help=_("Followers generated when no --world is given.")
    ),
    seed: int = typer.Option(1, "--seed", help=_("Random seed.")),
    account_type: str = typer.Option(
        "subscription",
        "--account-type",
        help=_("subscription (subscription account) or service (service account)."),
    ),
    mode: str = typer.Option(
        "safe", "--mode", help=_("Message encryption mode: plaintext, compatible or safe.")
    ),
    app_id: str | None = typer.Option(
        None, "--app-id", envvar="WECHAT_APP_ID", help=_("The AppID.")
    ),
    app_secret: str | None = typer.Option(
        None,
        "--app-secret",
        envvar="WECHAT_APP_SECRET",
        help=_("The AppSecret."),
        show_default=False,
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="WECHAT_TOKEN", help=_("The callback Token.")
    ),
    aes_key: str | None = typer.Option(
        None,
        "--aes-key",
        envvar="WECHAT_AES_KEY",
        help=_("The EncodingAESKey (43 characters)."),
        show_default=False,
    ),
    latency_ms: float = typer.Option(
        0.0, "--latency-ms", help=_("Delay added to each API call (milliseconds).")
    ),
    fault: list[str] | None = typer.Option(None, "--fault", help=FAULT_HELP),  # noqa: B008 - typer declares options so
    drop_callbacks: float = typer.Option(
        0.0, "--drop-callbacks", help=_("Share of callbacks dropped (0–1).")
    ),
    duplicate_callbacks: float = typer.Option(
        0.0, "--duplicate-callbacks", help=_("Share of callbacks delivered twice (0–1).")
    ),
    activity: float = typer.Option(
        0.0,
        "--activity",
        help=_("Simulated follower actions per minute (follows, locations, texts, menu clicks…)."),
    ),
) -> None:
    """A local simulated WeChat Official Accounts Platform."""
    if account_type not in ("subscription", "service"):
        raise typer.BadParameter(_("subscription or service"), param_hint="--account-type")
    if mode not in ("plaintext", "compatible", "safe"):
        raise typer.BadParameter(_("plaintext, compatible or safe"), param_hint="--mode")
    if aes_key is not None and len(aes_key) != 43:
        raise typer.BadParameter(_("the EncodingAESKey is 43 characters"), param_hint="--aes-key")
    if followers < 0:
        raise typer.BadParameter(_("cannot be negative"), param_hint="--followers")
    if not 0 <= drop_callbacks <= 1 or not 0 <= duplicate_callbacks <= 1:
        raise typer.BadParameter(_("a share is between 0 and 1"), param_hint="--drop-callbacks")
    rules = [_parse_fault(spec) for spec in fault or []]
    scenario_data: dict[str, Any] = {}
    if world:
        if ":" not in world:
            raise typer.BadParameter(_("expected MODULE:FACTORY"), param_hint="--world")
        if Path(scenario).is_file():
            try:
                scenario_data = json.loads(inputs.read_file(Path(scenario)).decode("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, inputs.FileTooLarge) as exc:
                raise typer.BadParameter(str(exc), param_hint="--scenario") from None
        else:
            from fencun.worlds import scenarios

            try:
                scenario_data = scenarios.load(scenario)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--scenario") from None

    from fencun.sandbox.server import Sandbox

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "app_id": app_id,
            "app_secret": app_secret,
            "token": token,
            "aes_key": aes_key,
        }.items()
        if value
    }
    config = Config(
        account_type=account_type,
        mode=mode,
        callback_url=callback,
        followers=0 if world else followers,
        seed=seed,
        latency_ms=latency_ms,
        **overrides,
    )
    try:
        box = Sandbox(config, host=host, port=port)
    except OSError as exc:
        typer.echo(
            _("cannot listen on %(address)s: %(reason)s")
            % {"address": f"{host}:{port}", "reason": exc.strerror},
            err=True,
        )
        raise typer.Exit(1) from None
    if world:
        try:
            count = box.load_world(world, scenario_data, seed)
        except (ImportError, AttributeError) as exc:
            box.stop()
            raise typer.BadParameter(
                _("cannot load the world %(world)s: %(reason)s") % {"world": world, "reason": exc},
                param_hint="--world",
            ) from None
        typer.echo(
            _("The world %(world)s loaded %(count)s events") % {"world": world, "count": count}
        )
    if rules or drop_callbacks or duplicate_callbacks:
        box.set_faults(
            rules,
            callbacks={"drop_rate": drop_callbacks, "duplicate_rate": duplicate_callbacks},
        )
    box.start()
    box.start_activity(activity)
    state = box.state()
    typer.echo(
        _("The sandbox is running: %(base)s  (set WECHAT_API_BASE=%(base)s)")
        % {"base": box.api_base}
        + "\n  "
        + _("AppID %(app_id)s  account type %(type)s  mode %(mode)s  followers %(followers)s")
        % {
            "app_id": config.app_id,
            "type": account_type,
            "mode": mode,
            "followers": state["followers"],
        }
        + "\n  "
        + _("callback %(url)s") % {"url": callback or _("(not set)")}
        + "\n  "
        + _("admin endpoints %(urls)s")
        % {"urls": f"{box.api_base}/sandbox/state, /sandbox/deliveries, /sandbox/faults"}
        + "\n"
        + _("Press Ctrl+C to stop.")
    )
    serve_until_stopped(box)
