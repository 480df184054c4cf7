"""``python -m services.pipeline``: serve the pipeline subgraph with
``CRM_PIPELINE_WORKERS`` worker processes."""

from __future__ import annotations

import uvicorn

from crmkit.settings import load_settings
from services.pipeline.settings import PipelineSettings


def main() -> None:
    settings = load_settings(PipelineSettings)
    uvicorn.run(
        "services.pipeline.app:create_app_from_environment",
        factory=True,
        workers=settings.pipeline_workers,
        host=settings.host,
        port=settings.pipeline_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
