"""`python -m gateway`: serve the gateway with uvicorn on CRM_GATEWAY_PORT (default 4000)."""

from __future__ import annotations

import uvicorn

from crmkit.http_protocol import TimedHttpToolsProtocol
from crmkit.logs import configure_logging
from crmkit.settings import Settings, load_settings
from gateway.bootstrap import build_app
from gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(Settings)
    gateway_settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)  # JSON lines, as every service's
    app = build_app(settings, gateway_settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        # Named, not "auto": a missing uvloop/httptools must fail loudly, not fall back to
        # the pure-Python loop and parser at several times the CPU per request.
        loop="uvloop",
        http=TimedHttpToolsProtocol,  # httptools, with a limit on slow request headers
        lifespan="on",
    )


if __name__ == "__main__":
    main()
