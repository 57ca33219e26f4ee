"""Shared fixtures: a fresh project per test and the real PostgreSQL / Redis services.

Service-backed tests run against real servers. When a server is unreachable they skip with the
reason, except when ``FTI_REQUIRE_SERVICES=1`` (set by ``.ci/run``): then they fail, so CI can
never pass without having exercised them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get(
    "FTI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("FTI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _require(url: str, default_port: int, what: str) -> None:
    if _reachable(url, default_port):
        return
    message = f"{what} is not reachable at {url} (set FTI_TEST_{what.upper()}_URL)"
    if os.environ.get("FTI_REQUIRE_SERVICES") == "1":
        pytest.fail(f"FTI_REQUIRE_SERVICES=1 but {message}")
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    _require(REDIS_URL, 6379, "redis")
    return REDIS_URL


_NO_DISK = ("--save", "", "--appendonly", "no")


class PrivateRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk: stopping and
    starting it again gives an empty store, as a restart without persistence does. The shared
    service is never stopped or flushed."""

    def __init__(self, executable: str, port: int) -> None:
        self.executable, self.port = executable, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [*(self.executable, "--port", str(self.port), "--bind", "127.0.0.1"), *_NO_DISK],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:  # its own word that it listens, not a sleep
            if b"Ready to accept connections" in line:
                return
        pytest.fail(f"redis-server did not start on port {self.port}")

    def pause(self) -> None:
        """Stall the server (SIGSTOP): connections stay open and nothing answers, as with a
        server stuck in a long command or a frozen machine."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server answer again (SIGCONT); a stopped one has nothing to resume."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()  # a paused process is killed too
            self._process.communicate(timeout=30)  # reaps it and closes its pipe
            self._process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("FTI_REQUIRE_SERVICES") == "1":
            pytest.fail("FTI_REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = PrivateRedis(executable, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose catalog lives in a fresh schema-isolated database."""
    _require(POSTGRES_URL, 5432, "postgres")
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"fti_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def project(tmp_path):  # type: ignore[no-untyped-def]
    import fti

    with fti.connect(tmp_path / "home") as p:
        yield p


@pytest.fixture
def fs(project):  # type: ignore[no-untyped-def]
    return project.get_feature_store()
