"""crm.reaper: what a process started ends with it when it is killed outright, and is left
alone when it stopped everything itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

# A parent that starts a long sleep in a process group of its own, registers the group with
# a reaper, prints the sleep's pid, then either waits to be killed or closes the reaper cleanly.
PARENT = """
import subprocess, sys, time
from crm.reaper import Reaper
reaper = Reaper()
child = subprocess.Popen(["sleep", "60"], start_new_session=True, stdout=subprocess.DEVNULL)
reaper.watch_group(child.pid)
print(child.pid, reaper.process.pid, flush=True)
if sys.argv[1] == "clean":
    reaper.close(clean=True)
    print("closed", flush=True)
time.sleep(60)
"""


def start_parent(mode: str) -> tuple[subprocess.Popen[str], int, int]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE,
                              text=True)
    assert parent.stdout is not None
    child, reaper = map(int, parent.stdout.readline().split())
    return parent, child, reaper


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running(pid)


def test_a_killed_parent_takes_its_process_groups_with_it() -> None:
    parent, child, reaper = start_parent("killed")
    try:
        assert running(child)
        parent.kill()
        parent.wait(5)
        assert wait_gone(child, 15)
        assert wait_gone(reaper, 15)
    finally:
        if running(child):
            os.killpg(child, signal.SIGKILL)
        parent.communicate()


def test_a_clean_stop_leaves_the_reaper_nothing_to_do() -> None:
    parent, child, reaper = start_parent("clean")
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "closed"
        assert wait_gone(reaper, 15)
        assert running(child)  # the parent said it had stopped everything itself
    finally:
        parent.kill()
        parent.communicate()
        os.killpg(child, signal.SIGKILL)
