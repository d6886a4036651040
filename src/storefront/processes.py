"""Child processes of `storefront up`: the worker and the API, with the stack's environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
