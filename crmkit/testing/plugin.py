"""pytest plugin: session servers (embedded, or ``CRM_TEST_DATABASE_URL`` /
``CRM_TEST_NATS_URL``), per-service test databases, tokens.

Isolation: every test database is new for the session, and tests work in orgs of their own
(``org_id`` is random per test), so no test sees another's rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from crmkit.auth import mint_dev_token
from crmkit.db import drop_database, ensure_database, with_database
from crmkit.embedded import EmbeddedNats, EmbeddedPgBouncer, EmbeddedPostgres, pgbouncer_binary
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET, Settings


@dataclass(frozen=True)
class Servers:
    database_url: str
    nats_url: str
    work_dir: Path


@pytest.fixture(scope="session")
def crm_servers() -> Iterator[Servers]:
    work_dir = Path(tempfile.mkdtemp(prefix="crm-test-"))
    database_url = os.environ.get("CRM_TEST_DATABASE_URL")
    nats_url = os.environ.get("CRM_TEST_NATS_URL")
    postgres = None if database_url else EmbeddedPostgres(work_dir / "postgres")
    nats = None if nats_url else EmbeddedNats(work_dir / "nats")
    try:
        if postgres is not None:
            postgres.start()
            database_url = postgres.url
        if nats is not None:
            nats.start()
            nats_url = nats.url
        assert database_url is not None and nats_url is not None
        yield Servers(database_url=database_url, nats_url=nats_url, work_dir=work_dir)
    finally:
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def ensure_pgbouncer() -> None:
    """Install Debian's ``pgbouncer`` when it is missing (as root; else skip the test)."""
    if pgbouncer_binary() is not None:
        return
    if os.geteuid() != 0:
        pytest.skip("pgbouncer is not installed and installing it needs root")
    install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600", "pgbouncer"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # The system's package manager with fixed arguments.
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:  # noqa: S603
        # A fresh machine may not have read the package lists yet.
        update = ["apt-get", "update", "-q"]
        subprocess.run(update, env=env, capture_output=True, check=True)  # noqa: S603
        subprocess.run(install, env=env, capture_output=True, check=True)  # noqa: S603


@pytest.fixture(scope="session")
def crm_pgbouncer(crm_servers: Servers) -> Iterator[EmbeddedPgBouncer]:
    """PgBouncer in transaction mode in front of the session's PostgreSQL, with a small server
    pool so that clients' transactions really move between server connections."""
    ensure_pgbouncer()
    port = make_url(crm_servers.database_url).port or 5432
    bouncer = EmbeddedPgBouncer(crm_servers.work_dir / "pgbouncer", port, pool_size=4)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture(scope="session")
async def migrated_database(crm_servers: Servers) -> AsyncIterator[Callable[..., object]]:
    """``await migrated_database(service, script_location)`` -> URL of a fresh, migrated
    database for this session (made once per service). ``copy="name"`` gives a separate
    database of the same service, for tests whose relays must not share an outbox with
    another test's long-lived runtime."""
    made: dict[str, str] = {}
    suffix = uuid.uuid4().hex[:8]

    async def make(service: str, script_location: Path, copy: str = "") -> str:
        key = f"{service}_{copy}" if copy else service
        if key not in made:
            name = f"crm_{key}_test_{suffix}"
            await ensure_database(crm_servers.database_url, name)
            url = with_database(crm_servers.database_url, name)
            await upgrade(script_location, url)
            made[key] = url
        return made[key]

    yield make
    for url in made.values():
        name = url.rsplit("/", 1)[-1]
        await drop_database(crm_servers.database_url, name)


@pytest.fixture
def test_settings(crm_servers: Servers) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "environment": "test",
            "database_url": crm_servers.database_url,
            "nats_url": crm_servers.nats_url,
            "jwt_secret": DEV_JWT_SECRET,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@dataclass(frozen=True)
class Org:
    """A fresh tenant for one test, with a token maker for its members."""

    id: uuid.UUID

    def token(
        self,
        role: str = "rep",
        *,
        member_id: uuid.UUID | None = None,
        team: str | None = "alpha",
        groups: tuple[str, ...] = (),
        name: str = "Test Member",
    ) -> str:
        return mint_dev_token(
            secret=DEV_JWT_SECRET,
            member_id=member_id or uuid.uuid4(),
            org_id=self.id,
            roles=[role],
            team=team,
            groups=groups,
            name=name,
        )


@pytest.fixture
def org() -> Org:
    return Org(uuid.uuid4())


@pytest.fixture
def other_org() -> Org:
    return Org(uuid.uuid4())
