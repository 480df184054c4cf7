"""Files over /files/ through the public origin (not a test): the documents service and the
gateway each run as deployed (``python -m services.documents``, ``python -m gateway``) on
embedded servers; a 50 MB PDF is PUT through the gateway to a signed URL and GET back, a few
times, with the local store. Reports MB/s each way, the documents process's CPU per MB, and its
peak resident memory while the bytes flow (streamed: it must not grow by the file's size).

Run: .venv/bin/python -m bench.documents.bench_files [--rounds 5] [--megabytes 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

import services.documents
from bench.servers import bench_servers, machine, service_process, today
from crmkit.auth import mint_dev_token
from crmkit.db import ensure_database, with_database
from crmkit.embedded import free_port
from crmkit.migrations import upgrade
from crmkit.settings import DEV_JWT_SECRET

MIGRATIONS = Path(services.documents.__file__).parent / "migrations"
REQUEST_UPLOAD = """mutation($folder: ID!, $name: String!) {
  requestDocumentUpload(folderId: $folder, name: $name, kind: PRICE_LIST,
                        mediaType: "application/pdf") {
    ... on RequestUploadPayload { upload { url } } } }"""
REQUEST_DOWNLOAD = """mutation($id: ID!) { requestDocumentDownload(documentId: $id) {
  ... on RequestDownloadPayload { download { url } } } }"""


class PeakRss:
    """The largest resident set of a process tree, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                rss = sum(p.memory_info().rss for p in [self.root, *self.root.children(True)])
                self.peak = max(self.peak, rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def data(client: httpx.AsyncClient, auth: str, query: str, **variables: Any) -> Any:
    answer = await client.post("/graphql", json={"query": query, "variables": variables},
                               headers={"authorization": f"Bearer {auth}"})
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


async def run(rounds: int, megabytes: int) -> None:
    payload = b"%PDF-1.7\n" + os.urandom(megabytes * 1024 * 1024 - 9)
    size_mb = len(payload) / 1e6
    with bench_servers() as (server_url, nats_url), tempfile.TemporaryDirectory() as data_dir:
        name = f"crm_documents_files_{uuid.uuid4().hex[:8]}"
        await ensure_database(server_url, name)
        url = with_database(server_url, name)
        await upgrade(MIGRATIONS, url)
        docs_port, gateway_port = free_port(), free_port()
        nowhere = f"http://127.0.0.1:{free_port()}/graphql"
        documents_env = {"CRM_DATABASE_URL": server_url, "CRM_DOCUMENTS_DATABASE_URL": url,
                         "CRM_DOCUMENTS_PORT": str(docs_port), "CRM_DATA_DIR": data_dir}
        gateway_env = {"CRM_GATEWAY_PORT": str(gateway_port),
                       "CRM_DOCUMENTS_URL": f"http://127.0.0.1:{docs_port}/graphql",
                       "CRM_LEADS_URL": nowhere, "CRM_PIPELINE_URL": nowhere,
                       "CRM_REPORTING_URL": nowhere, "CRM_GATEWAY_COMPOSE_AT_STARTUP": "true"}
        with (
            service_process("services.documents", docs_port, nats_url, documents_env) as (
                _, cpu),
            service_process("gateway", gateway_port, nats_url, gateway_env) as (origin, _),
        ):
            admin = mint_dev_token(secret=DEV_JWT_SECRET, member_id=uuid.uuid4(),
                                   org_id=uuid.uuid4(), roles=["admin"])
            idle_rss = psutil.Process(cpu.root.pid).memory_info().rss
            async with httpx.AsyncClient(base_url=origin, timeout=300) as client:
                made = await data(client, admin, 'mutation { createFolder(name: "Bench") {'
                                  " ... on CreateFolderPayload { folder { id } } } }")
                folder = made["createFolder"]["folder"]["id"]
                ups, downs, cpu_up, cpu_down = [], [], [], []
                with PeakRss(cpu.root.pid) as peak:
                    for index in range(rounds):
                        # Distinct content each round: every upload is stored, none deduplicated.
                        body = payload[:-8] + index.to_bytes(8, "big")
                        upload = (await data(client, admin, REQUEST_UPLOAD, folder=folder,
                                             name=f"file {index}"))["requestDocumentUpload"]
                        before, started = cpu.seconds(), time.perf_counter()
                        put = await client.put(upload["upload"]["url"], content=body)
                        ups.append(time.perf_counter() - started)
                        cpu_up.append(cpu.seconds() - before)
                        assert put.status_code == 201, put.text
                        document = put.json()["document"]["id"]
                        download = (await data(client, admin, REQUEST_DOWNLOAD, id=document))[
                            "requestDocumentDownload"]["download"]
                        before, started = cpu.seconds(), time.perf_counter()
                        got = await client.get(download["url"])
                        downs.append(time.perf_counter() - started)
                        cpu_down.append(cpu.seconds() - before)
                        assert got.status_code == 200 and len(got.content) == len(body)
    load = os.getloadavg()[0]
    print(f"{today()} {machine()}, load {load:.1f}; {rounds} rounds of {size_mb:.1f} MB, local "
          "store, through the gateway")
    for label, times, cpus in (("PUT", ups, cpu_up), ("GET", downs, cpu_down)):
        median = statistics.median(times)
        print(f"{label}: median {median:.2f} s = {size_mb / median:.0f} MB/s "
              f"(best {size_mb / min(times):.0f} MB/s); documents CPU "
              f"{statistics.median(cpus) / size_mb * 1000:.1f} ms per MB")
    print(f"documents process RSS: {idle_rss / 1e6:.0f} MB idle, peak {peak.peak / 1e6:.0f} MB "
          f"while transferring")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.rounds, arguments.megabytes))


if __name__ == "__main__":
    main()
