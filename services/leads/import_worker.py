"""Where an import's chunks are validated and encoded: a worker process of the service (one,
started once and reused by every import of the process) for large files, a thread for small
ones.

The service process's one core (the GIL) was the import's critical path: validation and
encoding took ~4.8 CPU-s per 100,000 rows next to PostgreSQL's ~3.6. In the worker they run
on the other core; the service process only sends the file once, checks each chunk against
the org's leads and streams the chunk's COPY tuples to PostgreSQL.

The worker keeps each open import's reader (:class:`ChunkEncoder`) under a token; chunks of
one import are asked for one after the other, so the worker reads the file in order.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, TypeVar

from services.leads.csv_import import CsvFormatError
from services.leads.import_chunks import ChunkEncoder, EncodedChunk, ImportParams

# Files this large (~4,000 rows) go to the worker process; smaller ones are validated in a
# thread, where the hop to another process (and, the first time, its start) costs more than
# it saves.
PROCESS_MIN_CHARS: Final = 500_000
# How often the worker checks that the service process still runs.
PARENT_CHECK_SECONDS: Final = 0.5

T = TypeVar("T")

# Open imports of this process (the worker's, or the service's own for threads).
_open: dict[str, ChunkEncoder] = {}
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _start(token: str, text: str, params: ImportParams) -> tuple[dict[str, int], list[str]] | str:
    """Match the header; the columns, or the message of a file that cannot be read (the
    exception itself does not survive pickling)."""
    try:
        encoder = ChunkEncoder(text, params)
    except CsvFormatError as error:
        return error.message
    _open[token] = encoder
    return encoder.columns, encoder.ignored_columns


class UnreadableFile(Exception):
    """A ``CsvFormatError`` on its way out of the worker (which cannot pickle that one)."""


def _next(token: str, size: int) -> EncodedChunk | None:
    try:
        return _open[token].next(size)
    except CsvFormatError as error:
        del _open[token]
        raise UnreadableFile(error.message) from None


def _finish(token: str) -> None:
    _open.pop(token, None)


def _ready() -> None:
    return None


def _end_with(parent: int) -> None:
    """The worker's initializer: it exits once ``parent`` (the service process) is gone.

    A killed service (SIGKILL included) cannot tell its worker, and the worker would wait for
    work for ever: it holds both ends of its call queue's pipe, so it never reads an end of
    file. Its exit also ends the service's multiprocessing resource tracker, which runs until
    the last process holding its pipe (the service and this worker) is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def worker_pool() -> ProcessPoolExecutor:
    """The service process's import worker (spawned: no copy of the event loop, sockets or
    threads of the parent), which ends with the service process."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_end_with, initargs=(os.getpid(),),
            )
        return _pool


def prestart() -> None:
    """Start the worker now (it imports the validation code, ~0.5 s) rather than on the
    first large import."""
    worker_pool().submit(_ready)


def worker_pids() -> list[int]:
    """Process ids of the running import worker (for CPU accounting)."""
    pool = _pool
    processes = getattr(pool, "_processes", None) or {}
    return [int(pid) for pid in processes]


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False)


class ImportChunks:
    """An import's file, read chunk by chunk in the worker process or in a thread."""

    def __init__(self, text: str, params: ImportParams, *, in_process: bool | None = None):
        self._text: str | None = text
        self._params = params
        self._token = uuid.uuid4().hex
        self._pool = (worker_pool() if (len(text) >= PROCESS_MIN_CHARS if in_process is None
                                        else in_process) else None)
        self.columns: dict[str, int] = {}
        self.ignored_columns: list[str] = []

    @property
    def in_process(self) -> bool:
        return self._pool is not None

    async def _call(self, fn: Any, *args: Any) -> Any:
        if self._pool is None:
            return await asyncio.to_thread(fn, *args)
        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            _discard(pool)  # the next import starts a new worker
            raise

    async def start(self) -> None:
        """Match the header (``CsvFormatError`` when the file cannot be used)."""
        text, self._text = self._text, None
        started = await self._call(_start, self._token, text, self._params)
        if isinstance(started, str):
            raise CsvFormatError(started)
        self.columns, self.ignored_columns = started

    async def next(self, size: int) -> EncodedChunk | None:
        try:
            chunk: EncodedChunk | None = await self._call(_next, self._token, size)
        except UnreadableFile as error:
            raise CsvFormatError(str(error)) from None
        return chunk

    async def finish(self) -> None:
        """Forget the import's reader (also after a failure)."""
        await self._call(_finish, self._token)
