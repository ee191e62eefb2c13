"""``fencun serve`` (console, API, callback, embedded worker) and ``fencun worker``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable

import typer

from fencun import language
from fencun.cli.children import Kept, child_environment, die_with_parent
from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.gateway.sizing import default_workers
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.


# Two paragraphs: the list of commands shows the first.
SERVE_HELP = (
    _("Serve the console, the API and the WeChat callback (plus an embedded worker).")
    + "\n\n"
    + _(
        "On a data dir where nobody can log in yet, it first asks for the administrator's "
        "password (or takes FENCUN_ADMIN_PASSWORD), and refuses to start without one."
    )
)
WORKER_HELP = _("Run a task worker (for FENCUN_QUEUE_URL=redis://…, run any number of these).")
WRITER_HELP = _(
    "Run the callback writer: the one process that stores the WeChat callbacks of every "
    "server process on this machine (fencun serve starts one itself)."
)


def stop_on_interrupt() -> None:
    """Make SIGINT (Ctrl-C, ``kill -INT``) stop this process even when it was started
    with SIGINT ignored, as a shell starts a script's background jobs: Python then keeps
    ignoring it, and gunicorn and huey take it back only once they are running, so a
    SIGINT before that was lost and the server ran on."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def ensure_admin() -> tuple[str, str] | None:
    """For ``fencun demo``: create the first admin with a random password if there is
    none; return (username, password) once, to be printed."""
    import secrets

    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser("admin", "", password)
    return "admin", password


PASSWORD_ENV = "FENCUN_ADMIN_PASSWORD"  # noqa: S105 - the variable's name, not a password
USERNAME_ENV = "FENCUN_ADMIN_USERNAME"


class NoPassword(Exception):
    """The first start needs the owner's password, and none was given."""


def has_login() -> bool:
    """Whether some active user can log in with a password."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(password="")
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .exists()
    )


def set_owner_password(password: str, username: str = "admin") -> str:
    """Make ``username`` (or the superuser already there without a password) the
    installation's administrator, owner of every account, with ``password``; return the
    username. Raises ``django.core.exceptions.ValidationError`` for a weak password."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password

    user_model = get_user_model()
    user = (
        user_model.objects.filter(is_superuser=True).order_by("id").first()
        or user_model.objects.filter(username=username).first()
        or user_model(username=username)
    )
    validate_password(password, user)
    user.is_superuser = user.is_staff = user.is_active = True
    user.set_password(password)
    user.save()
    return user.get_username()


def first_login(password: str | None, interactive: bool) -> str | None:
    """On a data dir where nobody can log in, the owner chooses the administrator's
    password: from ``password`` (``FENCUN_ADMIN_PASSWORD``), else at a prompt when
    ``interactive``; never a default one. Returns the username set up, or None when a
    login already existed. Raises ``NoPassword`` when no password can be had."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if has_login():
        return None
    username = os.environ.get(USERNAME_ENV, "").strip() or "admin"
    if password:
        return set_owner_password(password, username)
    if not interactive:
        raise NoPassword
    typer.echo(
        _(
            "Nobody can log in to the console yet: choose the password of the administrator %(username)s."
        )
        % {"username": username}
    )
    for _attempt in range(3):
        chosen = typer.prompt(
            _("Password"), hide_input=True, confirmation_prompt=_("Repeat the password")
        )
        try:
            return set_owner_password(chosen, username)
        except ValidationError as exc:
            typer.echo(" ".join(exc.messages), err=True)
    raise NoPassword


def run_server(
    host: str,
    port: int,
    workers: int,
    on_ready: Callable[[], object] | None = None,
) -> None:
    """Run the ASGI application (:mod:`fencun.asgi`) in uvicorn workers under gunicorn in
    this process (blocks); ``on_ready`` is called once gunicorn handles signals and
    listens."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "uvicorn_worker.UvicornWorker")
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)
            self.cfg.set("errorlog", "-")
            self.cfg.set("loglevel", "warning")
            if on_ready is not None:
                self.cfg.set("when_ready", lambda _arbiter: on_ready())

        def load(self):
            from fencun.asgi import application

            return application

    _App().run()


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help=_("Address to listen on.")),
    port: int = typer.Option(8000, "--port", help=_("Port to listen on.")),
    workers: int = typer.Option(
        0, "--workers", help=_("Server processes (0: one per core, at least two).")
    ),
    lang: str = command_option(),
) -> None:
    """Serve the console, the API and the WeChat callback (plus an embedded worker).

    On a data dir where nobody can log in yet, it first asks for the administrator's
    password (or takes FENCUN_ADMIN_PASSWORD), and refuses to start without one."""
    stop_on_interrupt()
    setup_django()
    from django.core.exceptions import ValidationError
    from django.utils import translation
    from django.utils.translation import gettext as _

    with translation.override(lang):
        try:
            username = first_login(os.environ.get(PASSWORD_ENV), interactive=sys.stdin.isatty())
        except NoPassword:
            typer.echo(
                _(
                    "Nobody can log in to the console yet, and fencun will not run with a default password: "
                    "start it once in a terminal to choose one, or set %(env)s."
                )
                % {"env": PASSWORD_ENV},
                err=True,
            )
            raise typer.Exit(2) from None
        except ValidationError as exc:
            typer.echo(
                _("%(env)s is refused: %(why)s")
                % {"env": PASSWORD_ENV, "why": " ".join(exc.messages)},
                err=True,
            )
            raise typer.Exit(2) from None
        if username:
            typer.echo(
                _("The administrator %(username)s can now log in with the chosen password.")
                % {"username": username}
            )
    from django.conf import settings

    # From here until gunicorn has its own handlers, a Ctrl-C is noted and handed to
    # gunicorn once it is ready (below), rather than raised wherever the start-up happens
    # to be: an interrupt half-way through starting the worker or gunicorn's logging
    # could leave a process behind or a lock held.
    interrupted: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: interrupted.append(signum))
    # The callbacks' writer process (fencun.gateway.writer): the server processes find
    # it through the environment they inherit.
    from fencun.gateway.writer import SOCKET_ENV as WRITER_SOCKET_ENV

    socket_dir = tempfile.mkdtemp(prefix="fencun-writer-")
    writer_socket = os.path.join(socket_dir, "writer.sock")
    os.environ[WRITER_SOCKET_ENV] = writer_socket
    writer = Kept(
        [sys.executable, "-m", "fencun.cli.main", "--lang", language.active(), "writer",
         "--socket", writer_socket],
        child_environment(),
        # Said from the watching thread, where Django's active language is not the run's.
        on_restart=lambda code: typer.echo(
            language.gettext("The callback writer stopped (exit status %(code)s); starting it again.")
            % {"code": code},
            err=True,
        ),
    )
    worker = None
    if not settings.QUEUE_URL:
        # Embedded queue: a worker process beside the server, ended with it, even when
        # the server is killed outright (fencun.cli.children).
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "fencun.cli.main", "--lang", language.active(), "worker"],
            env=child_environment(),
        )
    typer.echo(
        _("fencun is serving on %(url)s  (callback: /wechat/callback)")
        % {"url": f"http://{host}:{port}/"}
    )

    def hand_on_interrupt() -> None:
        if interrupted:
            os.kill(os.getpid(), signal.SIGINT)

    try:
        if not interrupted:
            run_server(host, port, workers or default_workers(), on_ready=hand_on_interrupt)
    finally:
        writer.stop()
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
        shutil.rmtree(socket_dir, ignore_errors=True)


def writer(
    socket_path: str = typer.Option(..., "--socket", help=_("The Unix socket to listen on.")),
) -> None:
    """Run the callback writer (fencun.gateway.writer) until stopped."""
    stop_on_interrupt()
    die_with_parent()
    setup_django()
    from fencun.gateway.writer import Writer

    box = Writer(socket_path)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: box.stopping.set())
    try:
        box.serve_forever()
    except KeyboardInterrupt:
        return


def worker(
    processes: int = typer.Option(2, "--workers", help=_("Worker threads in this process.")),
) -> None:
    """Run a task worker (for FENCUN_QUEUE_URL=redis://…, run any number of these)."""
    stop_on_interrupt()
    die_with_parent()
    try:
        setup_django()
        from django.conf import settings
        from django.core.management import call_command

        # The embedded queue has this one worker: a lock still set now was left by a
        # worker killed inside its task (fencun.tasklocks). Redis's locks expire instead.
        call_command(
            "run_huey", workers=processes, worker_type="thread", flush_locks=not settings.QUEUE_URL
        )
    except KeyboardInterrupt:
        # A stop (Ctrl-C, systemd's SIGINT) before huey had its handlers: nothing had
        # started, so it is a clean stop. Once running, huey takes SIGINT itself and
        # lets its tasks finish first.
        return
