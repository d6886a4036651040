"""The supervisor with real child processes: restarts, dependents, backoff, giving up."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storefront.polling import poll_until
from storefront.processes import stop
from storefront.supervisor import Component, GaveUp, Supervisor


@dataclass
class PythonChild:
    """A real child process running a Python snippet, logging to a file."""

    code: str
    log_path: Path
    starts: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", self.code], stdout=log, stderr=subprocess.STDOUT
            )

    def poll(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


SLEEPER = "import time; time.sleep(600)"


def supervise_until(supervisor: Supervisor, done: object, timeout: float = 30) -> None:
    def checked() -> bool:
        supervisor.check()
        return bool(done())  # type: ignore[operator]

    assert poll_until(checked, timeout=timeout), "condition not met"


@pytest.fixture
def children(tmp_path: Path) -> Iterator[dict[str, PythonChild]]:
    made: dict[str, PythonChild] = {}
    yield made
    for child in made.values():
        if child.process is not None:
            stop(child.process, timeout=5)


def test_a_killed_child_is_restarted_and_takes_its_dependents_with_it(
    tmp_path: Path, children: dict[str, PythonChild]
) -> None:
    children["broker"] = PythonChild(SLEEPER, tmp_path / "broker.log")
    children["worker"] = PythonChild(SLEEPER, tmp_path / "worker.log")
    children["api"] = PythonChild(SLEEPER, tmp_path / "api.log")
    for child in children.values():
        child.start()
    components = {name: Component(name, child) for name, child in children.items()}
    components["broker"].restart_with = ("worker",)
    reports: list[str] = []
    supervisor = Supervisor(components, report=reports.append)
    old_worker = children["worker"].process
    assert old_worker is not None

    assert children["broker"].process is not None
    children["broker"].process.send_signal(signal.SIGKILL)
    supervise_until(supervisor, lambda: children["broker"].starts == 2)

    assert children["worker"].starts == 2, "the worker restarts with the broker"
    assert old_worker.poll() is not None
    assert children["api"].starts == 1, "the API is left alone"
    assert children["broker"].poll() is None and children["worker"].poll() is None
    assert any("broker exited with code -9" in line for line in reports)


def test_restarts_back_off(tmp_path: Path, children: dict[str, PythonChild]) -> None:
    children["api"] = PythonChild("raise SystemExit(3)", tmp_path / "api.log")
    children["api"].start()
    reports: list[str] = []
    supervisor = Supervisor(
        {"api": Component("api", children["api"])},
        report=reports.append,
        first_delay=0.1,
        max_crashes=10,
    )
    supervise_until(supervisor, lambda: children["api"].starts == 5)
    delays = [line for line in reports if "restarting in" in line]
    assert delays[:4] == [
        "api exited with code 3; restarting in 0.0 s",
        "api exited with code 3; restarting in 0.1 s",
        "api exited with code 3; restarting in 0.2 s",
        "api exited with code 3; restarting in 0.4 s",
    ]


def test_a_crash_loop_is_given_up_on_with_the_reason(
    tmp_path: Path, children: dict[str, PythonChild]
) -> None:
    code = "import sys; print('port 8000 is already in use', flush=True); sys.exit(7)"
    children["api"] = PythonChild(code, tmp_path / "api.log")
    children["api"].start()
    supervisor = Supervisor(
        {"api": Component("api", children["api"])},
        report=lambda _: None,
        first_delay=0.01,
        max_crashes=3,
    )
    with pytest.raises(GaveUp) as gave_up:
        supervise_until(supervisor, lambda: False)
    message = str(gave_up.value)
    assert "api exited 4 times" in message
    assert "last exit code 7" in message
    assert "port 8000 is already in use" in message
