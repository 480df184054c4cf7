"""``python -m services.leads``: serve the leads subgraph with ``CRM_LEADS_WORKERS`` worker
processes."""

from __future__ import annotations

from crmkit.serve import serve
from services.leads import app

if __name__ == "__main__":
    serve(app)
