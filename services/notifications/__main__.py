"""``python -m services.notifications``: serve the notifications subgraph."""

from __future__ import annotations

from crmkit.serve import serve
from services.notifications import app

if __name__ == "__main__":
    serve(app)
