"""`python -m web`: serve the web app with uvicorn on CRM_WEB_PORT (default 4005)."""

from __future__ import annotations

import logging

import uvicorn

from crmkit.http_protocol import TimedHttpToolsProtocol
from crmkit.logs import configure_logging
from crmkit.settings import Settings, load_settings
from web.app import create_app
from web.settings import WebSettings


def main() -> None:
    settings = load_settings(Settings)
    web_settings = load_settings(WebSettings)
    configure_logging("web", settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per GraphQL call otherwise
    uvicorn.run(
        create_app(settings, web_settings),
        host=settings.host,
        port=web_settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
        loop="uvloop",
        http=TimedHttpToolsProtocol,  # httptools, with a limit on slow request headers
        lifespan="on",
    )


if __name__ == "__main__":
    main()
