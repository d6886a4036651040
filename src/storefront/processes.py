"""Child processes of `storefront up`: the worker and the API, with the stack's environment.

Every child is tied to its parent's life (Linux `PR_SET_PDEATHSIG`): when the launcher dies,
however it dies (SIGKILL included), the kernel signals its children, so nothing is orphaned.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from storefront.polling import poll_until

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel send `sig` to the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None  # elsewhere the launcher's own clean-up is all there is
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), sig)

    return arm


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
        start_new_session=True,  # Ctrl-C in the terminal must not reach it before we stop it
        # SIGKILL: with the launcher gone nobody would escalate a shutdown that hangs (a Faust
        # worker whose broker died with the launcher does), and both children are crash-safe.
        preexec_fn=die_with_parent(signal.SIGKILL),
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


def wait_for_log_line(
    process: subprocess.Popen[bytes], log_path: Path, marker: bytes, *, offset: int, timeout: float
) -> None:
    """Wait until `marker` appears in the log after `offset`; fail if the process exits."""

    def logged() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited; see {log_path}")
        if not log_path.exists():
            return False
        with log_path.open("rb") as log:
            log.seek(offset)
            return marker in log.read()

    if not poll_until(logged, timeout=timeout, interval=0.05):
        raise RuntimeError(f"not ready after {timeout}s; see {log_path}")


#: What the worker logs once Faust has started its agents.
WORKER_READY = b"[^Worker]: Ready"


class WorkerProcess:
    """A `storefront worker` child that can be stopped, killed (as in a crash) and restarted."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start it and wait until Faust says it is ready (the worker has no HTTP endpoint)."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = spawn(["worker"], self.env, self.log_path)
        wait_for_log_line(self.process, self.log_path, WORKER_READY, offset=offset, timeout=timeout)

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
