"""Serving a service's app with uvicorn worker processes (``python -m services.<name>``)."""

from __future__ import annotations

import uvicorn


def serve_workers(app_factory: str, *, workers: int, host: str, port: int) -> None:
    """Serve ``module:function`` with ``workers`` processes. Each worker calls the factory
    itself, so each has its own pools, relay and consumers (a built app cannot be shared
    between processes)."""
    uvicorn.run(
        app_factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )
