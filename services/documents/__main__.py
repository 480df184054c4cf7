"""``python -m services.documents``: serve the documents subgraph."""

from __future__ import annotations

import uvicorn

from crmkit.logs import configure_logging
from crmkit.settings import load_settings
from services.documents.app import create_app


def main() -> None:
    settings = load_settings()
    configure_logging("documents", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.documents_port,
        log_config=None,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
