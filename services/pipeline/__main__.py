"""``python -m services.pipeline``: serve the pipeline subgraph with
``CRM_PIPELINE_WORKERS`` worker processes."""

from __future__ import annotations

from crmkit.serve import serve_workers
from crmkit.settings import load_settings
from services.pipeline.settings import PipelineSettings


def main() -> None:
    settings = load_settings(PipelineSettings)
    serve_workers("services.pipeline.app:create_app_from_environment",
                  workers=settings.pipeline_workers, host=settings.host,
                  port=settings.pipeline_port)


if __name__ == "__main__":
    main()
