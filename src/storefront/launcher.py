"""`storefront up`: the whole embedded stack in one supervised process tree.

The launcher starts PostgreSQL, Redis and Tansu from their wheels, migrates, loads the demo,
then runs the worker and the API. It supervises all five (storefront.supervisor), records
what runs in `<data_dir>/stack.json` for `storefront status`, and takes every child with
it when it stops, however it stops.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bootstrap.settings import Settings
from storefront import processes
from storefront.embedded import EmbeddedStack, free_port
from storefront.supervisor import Component, Supervisor

STATE_FILE = "stack.json"
SECRET_FILE = "jwt-secret"


class LaunchRefused(RuntimeError):
    """Something stops the stack from starting; the message says what and how to fix it."""


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(settings: Settings) -> None:
    """Refuse to start when a fixed port is taken, naming it and the setting that moves it."""
    fixed = [
        ("the API", settings.api_host, settings.api_port, "STOREFRONT_API_PORT"),
        (
            "the payment sandbox",
            "127.0.0.1",
            0 if settings.payments_url else settings.payments_sandbox_port,
            "STOREFRONT_PAYMENTS_SANDBOX_PORT",
        ),
        (
            "the mail catcher",
            "127.0.0.1",
            0 if settings.smtp_host else settings.smtp_port,
            "STOREFRONT_SMTP_PORT",
        ),
        (
            "the API's metrics",
            settings.api_metrics_host,
            settings.api_metrics_port,
            "STOREFRONT_API_METRICS_PORT",
        ),
        (
            "the worker's metrics",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            "STOREFRONT_WORKER_METRICS_PORT",
        ),
        (
            "the saga worker's metrics",
            settings.worker_metrics_host,
            settings.saga_metrics_port,
            "STOREFRONT_SAGA_METRICS_PORT",
        ),
    ]
    for what, host, port, setting in fixed:
        if port and port_in_use(host, port):
            raise LaunchRefused(
                f"Port {port} on {host} ({what}) is already in use. Stop what listens there "
                f"(`ss -ltnp 'sport = :{port}'` shows it) or choose another port with {setting}."
            )


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (dead, waiting for its parent to reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): existing is all we can tell
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def read_state(data_dir: Path) -> dict[str, object] | None:
    """What the running (or last) `storefront up` recorded, if anything."""
    try:
        state: dict[str, object] = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state


def with_running_stack(settings: Settings) -> Settings:
    """`settings`, the URLs of the stack `up` runs on its data folder filling in what the
    environment leaves unset: one-off commands (import, migrate, create-admin) work beside it."""
    urls = (read_state(settings.data_dir) or {}).get("urls")
    if not isinstance(urls, dict):
        return settings
    unset = {name: url for name, url in urls.items() if not getattr(settings, name, "x")}
    return settings.model_copy(update=unset)


def _is_storefront(pid: int) -> bool:
    """Whether `pid` runs storefront (a stale stack.json may name a pid reused since)."""
    try:
        return b"storefront" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: assume it may be ours, and say so


def check_not_running(data_dir: Path) -> None:
    state = read_state(data_dir)
    pid = state.get("launcher_pid") if state else None
    if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid) and _is_storefront(pid):
        raise LaunchRefused(
            f"storefront up already runs on {data_dir} (pid {pid}). Stop it first (Ctrl-C in "
            f"its terminal, or kill {pid}); its children stop with it."
        )


def signing_key(data_dir: Path) -> str:
    """The embedded stack's own random JWT signing key, made once per data directory."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as key_file:
            key_file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


#: The `storefront <command>` children `up` runs: each name's command, and its own settings
#: (see `child_settings`). The relay has a process of its own: publishing and projecting then
#: each have a core (bench/worker). The checkout saga's steps run in a worker of their own
#: ("saga"), so a charge or a confirmation never waits behind the projections' CPU work on
#: one event loop (bench/checkout).
CHILDREN: dict[str, str] = {
    "payment-sandbox": "payment-sandbox",
    "mail-catcher": "mail-catcher",
    "relay": "relay",
    "saga": "worker",
    "worker": "worker",
    "api": "api",
}


def metrics_url(settings: Settings, port: int) -> str:
    """Where a worker on `port` serves its metrics (both workers share the host setting)."""
    return f"http://{settings.worker_metrics_host}:{port}"


def child_settings(name: str, settings: Settings) -> dict[str, str]:
    """The settings one child of `up` runs with, on top of `child_environment`'s."""
    if name not in ("saga", "worker"):
        return {}
    # Imported here: every other command of the CLI starts without the worker's modules.
    from streams.handlers import consumer_names
    from streams.steps import SAGA_CONSUMERS

    saga = list(SAGA_CONSUMERS)
    others = [c for c in consumer_names() if c not in saga]
    port = settings.saga_metrics_port if name == "saga" else settings.worker_metrics_port
    return {
        "STOREFRONT_WORKER_RUNS_RELAY": "false",
        "STOREFRONT_WORKER_CONSUMERS": json.dumps(saga if name == "saga" else others),
        "STOREFRONT_WORKER_METRICS_PORT": str(port),
    }


@dataclass
class Child:
    """The relay, the worker or the API: a `storefront <command>` child process."""

    command: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.process = processes.spawn([self.command], self.env, self.log_path)

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)


@dataclass
class ServiceSlot:
    """One of the embedded servers; a restart replaces its Service on the same port."""

    stack: EmbeddedStack
    name: str

    @property
    def log_path(self) -> Path:
        return self.stack.services[self.name].log_path

    def start(self) -> None:
        self.stack.restart(self.name)

    def poll(self) -> int | None:
        return self.stack.services[self.name].poll()

    def kill(self) -> None:
        self.stack.services[self.name].kill()


@dataclass
class Launch:
    """A running embedded stack with its worker and API."""

    settings: Settings
    stack: EmbeddedStack
    children: dict[str, Child]
    report: Callable[[str], None]

    def components(self) -> dict[str, Component]:
        """Every child, servers first, as the supervisor sees them."""
        components = {
            name: Component(name, ServiceSlot(self.stack, name)) for name in self.stack.services
        }
        if not self.stack.production:
            # Tansu comes back empty: the worker must rejoin from scratch (FACTS.md). Kafka
            # keeps its topics and offsets, and its consumers ride a restart out.
            components["tansu"].restart_with = ("saga", "worker")
        components |= {name: Component(name, child) for name, child in self.children.items()}
        return components

    def supervisor(self) -> Supervisor:
        return Supervisor(
            self.components(), report=self.report, on_restart=lambda _: self.write_state()
        )

    def write_state(self) -> None:
        """Record what runs where, for `storefront status` (replaced atomically)."""
        pids = {
            name: service.process.pid
            for name, service in self.stack.services.items()
            if service.process
        }
        pids |= {name: child.process.pid for name, child in self.children.items() if child.process}
        state = {
            "launcher_pid": os.getpid(),
            "api_url": f"http://{self.settings.api_host}:{self.settings.api_port}",
            "worker_metrics_url": metrics_url(self.settings, self.settings.worker_metrics_port),
            "saga_metrics_url": metrics_url(self.settings, self.settings.saga_metrics_port),
            "urls": self.stack.urls,
            "pids": pids,
            "logs": str(self.settings.data_dir / "logs"),
        }
        path = self.settings.data_dir / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, path)

    def stop(self) -> None:
        for child in reversed(self.children.values()):
            child.stop()
        self.stack.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.settings.data_dir / STATE_FILE).unlink()


def child_environment(settings: Settings, stack_env: dict[str, str]) -> dict[str, str]:
    """What the worker and the API need on top of the launcher's own environment.

    A sandbox port of 0 means any free one: it is chosen here, so the sandbox listens where
    the API and the worker send payments (each child resolving 0 alone would not agree)."""
    port = settings.payments_sandbox_port or free_port()
    return {
        **stack_env,
        "STOREFRONT_DATA_DIR": str(settings.data_dir.resolve()),
        "STOREFRONT_JWT_SECRET": signing_key(settings.data_dir),
        "STOREFRONT_PAYMENTS_SANDBOX_PORT": str(port),
        "STOREFRONT_PAYMENTS_URL": settings.payments_url or f"http://127.0.0.1:{port}",
        **_mail_server(settings),
    }


def _mail_server(settings: Settings) -> dict[str, str]:
    """The configured mail server, else the local catcher `up` runs (0: any free port)."""
    if settings.smtp_host:
        return {}
    return {
        "STOREFRONT_SMTP_HOST": "127.0.0.1",
        "STOREFRONT_SMTP_PORT": str(settings.smtp_port or free_port()),
    }


def handle_sigterm_like_ctrl_c() -> None:
    """SIGTERM (systemd, `timeout`, an IDE's stop button) cleans up as Ctrl-C does.

    SIGINT too, explicitly: a shell starts background jobs with SIGINT ignored, and Python
    then leaves it ignored.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
