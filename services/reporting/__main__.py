"""``python -m services.reporting``: serve the reporting subgraph."""

from __future__ import annotations

import uvicorn

from crmkit.logs import configure_logging
from crmkit.settings import load_settings
from services.reporting.app import create_app
from services.reporting.settings import ReportingSettings


def main() -> None:
    settings = load_settings(ReportingSettings)
    configure_logging("reporting", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.reporting_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
