"""``python -m services.pipeline``: serve the pipeline subgraph with ``CRM_PIPELINE_WORKERS``
worker processes."""

from __future__ import annotations

from crmkit.serve import serve
from services.pipeline import app

if __name__ == "__main__":
    serve(app)
