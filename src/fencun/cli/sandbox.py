"""``fencun sandbox``: run the local WeChat platform (see :mod:`fencun.sandbox.server`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from fencun import inputs
from fencun.cli.serving import serve_until_stopped
from fencun.sandbox.platform import Config

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.


def _parse_fault(spec: str) -> dict[str, Any]:
    """``PATH=ERRCODE[xTIMES]`` (e.g. ``/cgi-bin/user/get=-1x2``) or ``PATH=timeout:SECONDS``."""
    path, sep, what = spec.partition("=")
    if not sep or not path or not what:
        raise typer.BadParameter(f"{spec!r}: 应为 PATH=ERRCODE[xTIMES] 或 PATH=timeout:SECONDS")
    try:
        if what.startswith("timeout:"):
            return {"path": path, "action": "timeout", "seconds": float(what[8:])}
        code, _, times = what.partition("x")
        return {"path": path, "action": "error", "errcode": int(code),
                "times": int(times) if times else None}
    except ValueError:
        raise typer.BadParameter(f"{spec!r}: 错误码、次数或秒数不是数字") from None


def sandbox(
    port: int = typer.Option(8900, "--port", help="监听端口（0 表示任选一个空闲端口）。"),
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址。"),
    callback: str | None = typer.Option(
        None, "--callback", help="产品的回调地址，如 http://127.0.0.1:8000/wechat/callback"
    ),
    world: str | None = typer.Option(
        None, "--world", help="从世界模型载入粉丝：MODULE:FACTORY（如 fencun.worlds.furniture:world）"
    ),
    scenario: str = typer.Option(
        "subscription-90d", "--scenario", help="世界使用的场景：内置名称或 JSON 文件路径。"
    ),
    followers: int = typer.Option(1000, "--followers", help="未指定 --world 时生成的粉丝数。"),
    seed: int = typer.Option(1, "--seed", help="随机种子。"),
    account_type: str = typer.Option(
        "subscription", "--account-type", help="subscription（订阅号）或 service（服务号）。"
    ),
    mode: str = typer.Option("safe", "--mode", help="消息加解密方式：plaintext、compatible 或 safe。"),
    app_id: str | None = typer.Option(None, "--app-id", envvar="WECHAT_APP_ID", help="AppID。"),
    app_secret: str | None = typer.Option(
        None, "--app-secret", envvar="WECHAT_APP_SECRET", help="AppSecret。", show_default=False
    ),
    token: str | None = typer.Option(None, "--token", envvar="WECHAT_TOKEN", help="回调 Token。"),
    aes_key: str | None = typer.Option(
        None, "--aes-key", envvar="WECHAT_AES_KEY", help="EncodingAESKey（43 位）。", show_default=False
    ),
    latency_ms: float = typer.Option(0.0, "--latency-ms", help="每次 API 调用增加的延迟（毫秒）。"),
    fault: list[str] | None = typer.Option(  # noqa: B008 - typer declares options so
        None, "--fault", help="注入故障：PATH=ERRCODE[xTIMES] 或 PATH=timeout:SECONDS，可重复。"
    ),
    drop_callbacks: float = typer.Option(0.0, "--drop-callbacks", help="丢弃回调的比例（0–1）。"),
    duplicate_callbacks: float = typer.Option(
        0.0, "--duplicate-callbacks", help="重复投递回调的比例（0–1）。"
    ),
    activity: float = typer.Option(
        0.0, "--activity", help="每分钟模拟的粉丝行为数（关注、位置、文本、菜单点击……）。"
    ),
) -> None:
    """本地模拟的微信公众平台：与真实接口相同的路径、JSON 与错误码，并向产品回调推送签名（及加密）的事件。"""
    if account_type not in ("subscription", "service"):
        raise typer.BadParameter("应为 subscription 或 service", param_hint="--account-type")
    if mode not in ("plaintext", "compatible", "safe"):
        raise typer.BadParameter("应为 plaintext、compatible 或 safe", param_hint="--mode")
    if aes_key is not None and len(aes_key) != 43:
        raise typer.BadParameter("EncodingAESKey 必须是 43 个字符", param_hint="--aes-key")
    if followers < 0:
        raise typer.BadParameter("不能为负数", param_hint="--followers")
    if not 0 <= drop_callbacks <= 1 or not 0 <= duplicate_callbacks <= 1:
        raise typer.BadParameter("比例应在 0 与 1 之间", param_hint="--drop-callbacks")
    rules = [_parse_fault(spec) for spec in fault or []]
    scenario_data: dict[str, Any] = {}
    if world:
        if ":" not in world:
            raise typer.BadParameter("应为 MODULE:FACTORY", param_hint="--world")
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
            "app_id": app_id, "app_secret": app_secret, "token": token, "aes_key": aes_key
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
        typer.echo(f"无法监听 {host}:{port}：{exc.strerror}", err=True)
        raise typer.Exit(1) from None
    if world:
        try:
            count = box.load_world(world, scenario_data, seed)
        except (ImportError, AttributeError) as exc:
            box.stop()
            raise typer.BadParameter(f"无法载入世界 {world}：{exc}", param_hint="--world") from None
        typer.echo(f"世界 {world} 载入了 {count} 个事件")
    if rules or drop_callbacks or duplicate_callbacks:
        box.set_faults(
            rules,
            callbacks={"drop_rate": drop_callbacks, "duplicate_rate": duplicate_callbacks},
        )
    box.start()
    box.start_activity(activity)
    state = box.state()
    typer.echo(
        f"沙盒已启动：{box.api_base}  （设置 WECHAT_API_BASE={box.api_base}）\n"
        f"  AppID {config.app_id}  账号类型 {account_type}  模式 {mode}  粉丝 {state['followers']}\n"
        f"  回调 {callback or '（未设置）'}\n"
        f"  管理接口 {box.api_base}/sandbox/state 、/sandbox/deliveries 、/sandbox/faults\n"
        "按 Ctrl+C 停止。"
    )
    serve_until_stopped(box)
