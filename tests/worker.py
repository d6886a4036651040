"""A real `storefront worker` child process that tests can stop, kill and restart."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from storefront import processes


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = processes.spawn(["worker"], self.env, self.log_path)
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
            processes.stop(self.process)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()
