"""What ``crm dev`` started ends with it, however it ends (SIGKILL included).

A killed process cannot clean up, and its children (each service in a process group of its
own, the embedded PostgreSQL that ``pg_ctl`` detached, nats-server) would run on with no
parent. So ``crm dev`` first starts this small watchdog in a session of its own and tells it,
over a pipe, each process group and PostgreSQL data directory it starts. The watchdog holds
the pipe's only read end and ``crm dev`` its only write end: when ``crm dev`` ends, for
whatever reason, the watchdog reads the end of the file, ends every group still there and
stops the PostgreSQL server, then exits. A clean stop stops everything first and then says
so (``done``), and the watchdog leaves at once.

Run as ``python -m crm.reaper FD``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 10.0


class Reaper:
    """The ``crm dev`` side: starts the watchdog and reports what to end."""

    def __init__(self) -> None:
        read, self._write = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "crm.reaper", str(read)],
                pass_fds=(read,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to crm dev's terminal group is not for it
            )
        finally:
            os.close(read)
        # Our other children must not hold the write end, or the watchdog never sees its end.
        os.set_inheritable(self._write, False)

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError):
            os.write(self._write, f"{line}\n".encode())

    def watch_group(self, pgid: int) -> None:
        """End process group ``pgid`` with ``crm dev``."""
        self._say(f"group {pgid}")

    def watch_postgres(self, pgdata: Path) -> None:
        """Stop the PostgreSQL server of ``pgdata`` with ``crm dev``."""
        self._say(f"postgres {pgdata}")

    def close(self, *, clean: bool) -> None:
        """``clean``: everything was stopped already, the watchdog only leaves."""
        if clean:
            self._say("done")
        with contextlib.suppress(OSError):
            os.close(self._write)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(GRACE_SECONDS + 5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster(pgdata: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


def reap(groups: list[int], pgdatas: list[Path]) -> None:
    """SIGTERM every group and a fast shutdown of each PostgreSQL server (SIGINT to the
    postmaster); SIGKILL for groups and SIGQUIT (immediate) for servers that outlive the
    grace."""
    postmasters = [pid for pid in map(_postmaster, pgdatas) if pid is not None]
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGTERM)
    for pid in postmasters:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and (
        any(map(_group_alive, groups)) or any(map(_alive, postmasters))
    ):
        time.sleep(0.1)
    for pgid in filter(_group_alive, groups):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)
    for pid in filter(_alive, postmasters):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGQUIT)


def main(fd: int) -> None:
    groups: list[int] = []
    pgdatas: list[Path] = []
    with os.fdopen(fd, "rb") as told:
        for raw in told:
            kind, _, value = raw.decode().strip().partition(" ")
            if kind == "done":
                return
            if kind == "group":
                groups.append(int(value))
            elif kind == "postgres":
                pgdatas.append(Path(value))
    reap(groups, pgdatas)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ends with crm dev, not with a Ctrl-C
    main(int(sys.argv[1]))
