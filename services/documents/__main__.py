"""``python -m services.documents``: serve the documents subgraph."""

from __future__ import annotations

from crmkit.serve import serve
from services.documents import app

if __name__ == "__main__":
    serve(app)
