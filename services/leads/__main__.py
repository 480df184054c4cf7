"""``python -m services.leads``: serve the leads subgraph with ``CRM_LEADS_WORKERS`` worker
processes."""

from __future__ import annotations

from crmkit.serve import serve_workers
from crmkit.settings import load_settings
from services.leads.settings import LeadsSettings


def main() -> None:
    settings = load_settings(LeadsSettings)
    serve_workers("services.leads.app:create_app_from_environment",
                  workers=settings.leads_workers, host=settings.host, port=settings.leads_port)


if __name__ == "__main__":
    main()
