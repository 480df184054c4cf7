"""Servers for benchmarks: embedded ones (the default) or CRM_BENCH_DATABASE_URL/NATS_URL."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from crmkit.embedded import EmbeddedNats, EmbeddedPostgres


@contextlib.contextmanager
def bench_servers() -> Iterator[tuple[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    database_url = os.environ.get("CRM_BENCH_DATABASE_URL")
    nats_url = os.environ.get("CRM_BENCH_NATS_URL")
    postgres = None if database_url else EmbeddedPostgres(work / "postgres")
    nats = None if nats_url else EmbeddedNats(work / "nats")
    try:
        if postgres:
            postgres.start()
            database_url = postgres.url
        if nats:
            nats.start()
            nats_url = nats.url
        assert database_url and nats_url
        yield database_url, nats_url
    finally:
        if nats:
            nats.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
