"""``python -m services.leads``: serve the leads subgraph."""

from __future__ import annotations

import uvicorn

from crmkit.logs import configure_logging
from crmkit.settings import load_settings
from services.leads.app import create_app
from services.leads.settings import LeadsSettings


def main() -> None:
    settings = load_settings(LeadsSettings)
    configure_logging("leads", settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.leads_port, log_config=None
    )


if __name__ == "__main__":
    main()
