"""``python -m services.pipeline``: serve the pipeline subgraph."""

from __future__ import annotations

import uvicorn

from crmkit.logs import configure_logging
from crmkit.settings import load_settings
from services.pipeline.app import create_app
from services.pipeline.settings import PipelineSettings


def main() -> None:
    settings = load_settings(PipelineSettings)
    configure_logging("pipeline", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.pipeline_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
