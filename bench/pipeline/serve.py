"""Serve the pipeline service for the benchmark: ``python -m bench.pipeline.serve DB NATS PORT``.

Same app as ``python -m services.pipeline`` (relay, consumers, overdue worker), but on a
benchmark database of its own.
"""

from __future__ import annotations

import sys

import uvicorn

from crmkit.logs import configure_logging
from crmkit.settings import DEV_JWT_SECRET
from services.pipeline.app import create_app
from services.pipeline.settings import PipelineSettings


def main() -> None:
    database_url, nats_url, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    settings = PipelineSettings(
        environment="prod",
        database_url=database_url,
        nats_url=nats_url,
        jwt_secret=DEV_JWT_SECRET,
        log_level="WARNING",
        db_pool_size=20,
    )
    configure_logging("pipeline", settings.log_level)
    uvicorn.run(
        create_app(settings, database_url=database_url),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
