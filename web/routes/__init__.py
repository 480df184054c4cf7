"""Every screen's routes, one module per screen."""

from __future__ import annotations

from starlette.routing import BaseRoute


def all_routes() -> list[BaseRoute]:
    from web.routes import auth, board, deals

    return [*auth.routes, *board.routes, *deals.routes]
