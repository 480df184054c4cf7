"""``python -m services.leads``: serve the leads subgraph with ``CRM_LEADS_WORKERS`` worker
processes."""

from __future__ import annotations

import uvicorn

from crmkit.settings import load_settings
from services.leads.settings import LeadsSettings


def main() -> None:
    settings = load_settings(LeadsSettings)
    uvicorn.run(
        "services.leads.app:create_app_from_environment",
        factory=True,
        workers=settings.leads_workers,
        host=settings.host,
        port=settings.leads_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
