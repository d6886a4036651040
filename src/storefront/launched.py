"""`storefront up` run as a user runs it: a child process on its own data folder and ports.

Shared by the supervision tests and the benchmarks that run a whole stack.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from storefront.embedded import free_port
from storefront.launcher import STATE_FILE, pid_alive
from storefront.polling import poll_until

DEMO_ADMIN = ("admin@demo.storefront.dev", "ada-lovelace-demo-2026")


class LaunchedStack:
    def __init__(
        self,
        data_dir: Path,
        *,
        demo_products: int = 0,
        engines: str = "embedded",
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """`settings`: more STOREFRONT_* variables for the stack (a bench's limits)."""
        self.data_dir = data_dir
        self.api_port = free_port()
        self.metrics_port = free_port()
        self.saga_metrics_port = free_port()
        self.api_metrics_port = free_port()
        self.sandbox_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")},
            "STOREFRONT_DATA_DIR": str(data_dir),
            "STOREFRONT_API_PORT": str(self.api_port),
            "STOREFRONT_WORKER_METRICS_PORT": str(self.metrics_port),
            "STOREFRONT_SAGA_METRICS_PORT": str(self.saga_metrics_port),
            "STOREFRONT_API_METRICS_PORT": str(self.api_metrics_port),
            "STOREFRONT_PAYMENTS_SANDBOX_PORT": str(self.sandbox_port),
            "STOREFRONT_SMTP_PORT": "0",
            "STOREFRONT_DEMO_PRODUCTS": str(demo_products),
            "STOREFRONT_ENGINES": engines,
            **(settings or {}),
        }
        self.output = data_dir.parent / f"{data_dir.name}-up.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def command(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `storefront <args>` with this stack's settings."""
        return subprocess.run(
            [sys.executable, "-m", "storefront.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, timeout: float = 180) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "storefront.cli", "up"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.wait_for(self._up, timeout, "storefront up to say it is up")

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"storefront up exited:\n{self.output.read_text()}")
        return b"storefront is up" in self.output.read_bytes() and self.healthy()

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @staticmethod
    def wait_for(condition: Any, timeout: float, what: str, interval: float = 0.1) -> None:
        if not poll_until(condition, timeout=timeout, interval=interval):
            raise AssertionError(f"{what}: not within {timeout} s")

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads((self.data_dir / STATE_FILE).read_text())
        return state

    def pid(self, name: str) -> int:
        return int(self.state()["pids"][name])

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Kill one child as a crash would; returns its pid."""
        pid = self.pid(name)
        os.kill(pid, sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> None:
        def restarted() -> bool:
            try:
                return self.pid(name) != old_pid
            except (OSError, KeyError, ValueError):
                return False

        self.wait_for(restarted, timeout, f"{name} restarted")

    def all_pids(self) -> list[int]:
        return [int(self.state()["launcher_pid"]), *map(int, self.state()["pids"].values())]

    def token(self) -> str:
        email, password = DEMO_ADMIN
        response = httpx.post(
            f"{self.api_url}/api/auth/login", json={"email": email, "password": password}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def gone(pids: list[int]) -> bool:
    return not any(pid_alive(pid) for pid in pids)
