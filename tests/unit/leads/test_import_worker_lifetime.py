"""The CSV import's worker process and the multiprocessing resource tracker end with the
service process that started them, even when it is killed with SIGKILL (issue 13, item 17)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# What a served leads process does at start-up (``create_app(served=True)``): start the
# import worker, then serve; here it waits to be killed.
SERVICE = """
import sys, time
from services.leads import import_worker
import_worker.prestart()
import_worker.worker_pool().submit(import_worker._ready).result(timeout=60)
print("ready", flush=True)
time.sleep(120)
"""


def children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has ended; only its exit status waits to be read)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_import_worker_and_the_resource_tracker_end_when_the_service_is_killed() -> None:
    service = subprocess.Popen([sys.executable, "-c", SERVICE], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None
        assert service.stdout.readline().strip() == "ready"
        spawned = children(service.pid)
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in spawned}
        assert any(b"resource_tracker" in c for c in commands.values()), commands
        assert any(b"spawn_main" in c and b"resource_tracker" not in c
                   for c in commands.values()), commands
    finally:
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
        if service.stdout is not None:
            service.stdout.close()
    deadline = time.monotonic() + 15
    while (left := {pid for pid in spawned if running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running after their parent was killed: {left}"
