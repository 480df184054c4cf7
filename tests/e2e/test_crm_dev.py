"""`crm dev` (what `make run` runs): ready with demo data, stopped cleanly by Ctrl-C with no
process left behind, and its data still there on the next start."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from crm.demo import DEMO_MEMBERS
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.e2e

CRM = Path(sys.executable).parent / "crm"


def start(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update({f"CRM_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(CRM_DATA_DIR=str(data_dir), CRM_JWT_SECRET=DEV_JWT_SECRET, COLUMNS="200")
    return subprocess.Popen(
        [str(CRM), "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for_line(process: subprocess.Popen[str], needle: str, seconds: float) -> list[str]:
    """The output up to the line holding ``needle``. Reads the pipe itself: a selector on the
    buffered text stream never fires again for lines that arrived in the same read as the
    previous one, and those would wait unseen."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    lines: list[str] = []
    pending = b""
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.5):
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            lines.append(raw.decode(errors="replace") + "\n")
            if needle in lines[-1]:
                return lines
    raise AssertionError(f"'{needle}' not printed in {seconds}s:\n{''.join(lines)}")


def everything_it_started(process: subprocess.Popen[str], data_dir: Path) -> list[int]:
    """Its descendants, and PostgreSQL's (``pg_ctl`` detached the server from it)."""
    children = [p.pid for p in psutil.Process(process.pid).children(recursive=True)]
    postmaster = int((data_dir / "postgres" / "pgdata" / "postmaster.pid")
                     .read_text().splitlines()[0])
    backends = [p.pid for p in psutil.Process(postmaster).children(recursive=True)]
    return [*children, postmaster, *backends]


def still_running(pids: list[int]) -> list[str]:
    alive = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return alive


def all_ports() -> dict[str, int]:
    return {
        name: free_port()
        for name in (
            "gateway", "leads", "pipeline", "documents", "reporting", "notifications", "web"
        )
    }


def demo_query(gateway_port: int, query: str, member: int = 0) -> dict[str, Any]:
    token = DEMO_MEMBERS[member].token(DEV_JWT_SECRET)
    response = httpx.post(
        f"http://127.0.0.1:{gateway_port}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def opportunity_count(gateway_port: int) -> int:
    found = demo_query(gateway_port, "{ opportunities(first: 100) { edges { node { id } } } }")
    return len(found["opportunities"]["edges"])


def offer_templates(gateway_port: int) -> dict[str, str]:
    """The demo's offer templates: name -> media type of the current version."""
    found = demo_query(gateway_port, """{ documents(kind: OFFER_TEMPLATE, first: 20) {
        edges { node { name latestVersion { mediaType } } } } }""")
    return {e["node"]["name"]: e["node"]["latestVersion"]["mediaType"]
            for e in found["documents"]["edges"]}


def rita_notified(gateway_port: int, seconds: float = 30.0) -> set[str]:
    """The kinds of Rita's notifications once the leads the manager gave her are among them
    (the seed's last step; the bell is fed by events, so it may lag the seed a little)."""
    rita = next(i for i, m in enumerate(DEMO_MEMBERS) if m.key == "rep1")
    deadline = time.monotonic() + seconds
    while True:
        found = demo_query(gateway_port, "{ notifications(first: 50) { edges { node { kind } } } }",
                           rita)
        kinds = {e["node"]["kind"] for e in found["notifications"]["edges"]}
        if "LEAD_ASSIGNED" in kinds or time.monotonic() > deadline:
            return kinds
        time.sleep(0.5)


def stop_with_ctrl_c(process: subprocess.Popen[str], pids: list[int]) -> None:
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)  # drains and closes the output pipe
    assert process.returncode == 0
    time.sleep(0.5)
    assert still_running(pids) == [], "left behind"


def test_crm_dev_starts_seeds_stops_cleanly_and_keeps_its_data() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="crm-dev-"))
    ports = all_ports()
    first = start(data_dir, ports)
    try:
        output = wait_for_line(first, "Press Ctrl-C to stop.", 120)
        text = "".join(output)
        assert "demo organisation seeded" in text
        assert "CRM is ready in" in text
        ready_seconds = float(text.split("CRM is ready in ")[1].split("s")[0])
        assert ready_seconds < 60
        assert opportunity_count(ports["gateway"]) == 10
        assert "LEAD_ASSIGNED" in rita_notified(ports["gateway"])  # the bell is not empty
        assert offer_templates(ports["gateway"]) == {
            "Standard offer": "text/plain",
            "Offer (Word)": "application/vnd.openxmlformats-officedocument.wordprocessingml"
                            ".document",
            "Offer (PDF)": "text/html"}
        # The web app's address comes first, and it answers.
        after_ready = text.split("CRM is ready in ")[1].splitlines()[1]
        assert f"http://127.0.0.1:{ports['web']}/" in after_ready
        web = httpx.get(f"http://127.0.0.1:{ports['web']}/sign-in", timeout=10)
        assert web.status_code == 200 and "Rita Rep" in web.text
        pids = everything_it_started(first, data_dir)
    except BaseException:
        first.kill()
        first.communicate()
        raise
    stop_with_ctrl_c(first, pids)

    second = start(data_dir, ports)
    try:
        text = "".join(wait_for_line(second, "Press Ctrl-C to stop.", 120))
        assert "demo organisation seeded" not in text  # seeded once only
        assert opportunity_count(ports["gateway"]) == 10  # the data survived the restart
        pids = everything_it_started(second, data_dir)
    except BaseException:
        second.kill()
        second.communicate()
        raise
    stop_with_ctrl_c(second, pids)


def test_crm_dev_killed_outright_leaves_no_process_behind() -> None:
    """SIGKILL gives ``crm dev`` no chance to stop anything: its watchdog (crm.reaper) ends
    the services, the gateway, the web app, NATS and PostgreSQL."""
    data_dir = Path(tempfile.mkdtemp(prefix="crm-dev-"))
    process = start(data_dir, all_ports())
    pids: list[int] = []
    try:
        wait_for_line(process, "Press Ctrl-C to stop.", 120)
        pids = everything_it_started(process, data_dir)
        commands = " ".join(" ".join(psutil.Process(p).cmdline()) for p in pids)
        for started in ("services.leads", "services.reporting", "gateway", "web",
                        "nats-server", "postgres", "crm.reaper"):
            assert started in commands
    finally:
        process.kill()
        process.communicate()
    deadline = time.monotonic() + 30
    while still_running(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert still_running(pids) == [], "left behind"
