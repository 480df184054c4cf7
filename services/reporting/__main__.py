"""``python -m services.reporting``: serve the reporting subgraph."""

from __future__ import annotations

from crmkit.serve import serve
from services.reporting import app

if __name__ == "__main__":
    serve(app)
