"""Servers for benchmarks: embedded ones (the default) or CRM_BENCH_DATABASE_URL/NATS_URL."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

from crmkit.embedded import EmbeddedNats, EmbeddedPostgres
from crmkit.settings import DEV_JWT_SECRET


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


class ServiceCpu:
    """CPU seconds used by a service's processes (uvicorn's supervisor and workers)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self._seen: dict[int, psutil.Process] = {}

    def seconds(self) -> float:
        total = 0.0
        for process in [self.root, *self.root.children(recursive=True)]:
            process = self._seen.setdefault(process.pid, process)
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total


@contextlib.contextmanager
def service_process(module: str, port: int, nats_url: str,
                    settings: Mapping[str, str]) -> Iterator[tuple[str, ServiceCpu]]:
    """``python -m <module>`` as deployed (test settings, as prod refuses the dev token key;
    warnings only, plus ``settings``), once its /readyz answers: (base URL, its CPU)."""
    environment = {
        **os.environ,
        "CRM_ENVIRONMENT": "test",  # prod refuses the dev token key the benchmarks sign with
        "CRM_NATS_URL": nats_url,
        "CRM_JWT_SECRET": DEV_JWT_SECRET,
        "CRM_LOG_LEVEL": "WARNING",
        **settings,
    }
    child = subprocess.Popen([sys.executable, "-m", module], env=environment)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError(f"{module} did not become ready")
            time.sleep(0.2)
        yield base, ServiceCpu(child.pid)
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
