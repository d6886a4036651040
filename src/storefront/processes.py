"""Child processes of `storefront up`: the worker and the API, with the stack's environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def spawn(
    command: list[str], env: dict[str, str], log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    """Run `storefront <command>` in a new session with `env` added to ours."""
    output = log_path.open("ab") if log_path else None
    return subprocess.Popen(
        [sys.executable, "-m", "storefront.cli", *command],
        env={**os.environ, **env},
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


class WorkerProcess:
    """A `storefront worker` child that can be stopped, killed (as in a crash) and restarted."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn(["worker"], self.env, self.log_path)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        """Ready when Faust says so in its log (the worker has no HTTP endpoint)."""
        assert self.process is not None
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited; see {self.log_path}")
            if self.log_path.exists():
                with self.log_path.open("rb") as log:
                    log.seek(start)
                    if b"[^Worker]: Ready" in log.read():
                        return
            time.sleep(0.05)
        raise RuntimeError(f"worker not ready after {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()
