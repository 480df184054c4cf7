"""Every screen's routes, one module per screen."""

from __future__ import annotations

from starlette.routing import BaseRoute


def all_routes() -> list[BaseRoute]:
    from web.routes import (
        accounts,
        admin,
        auth,
        board,
        calendar,
        dashboard,
        deal_handover,
        deal_list,
        deal_notes,
        deals,
        documents,
        exports,
        files,
        leads,
        new_deal,
        notifications,
        offers,
        oidc,
        people,
        search,
        webhooks,
    )

    return [
        *auth.routes,
        *oidc.routes,
        *board.routes,
        *new_deal.routes,  # before deals' /deals/{id}
        *deal_handover.routes,
        *deal_list.routes,
        *exports.routes,  # before /leads/{id} and /accounts/{id}
        *deal_notes.routes,
        *deals.routes,
        *offers.routes,
        *leads.routes,
        *accounts.routes,
        *people.routes,
        *calendar.routes,
        *dashboard.routes,
        *documents.routes,
        *files.routes,
        *search.routes,
        *webhooks.routes,  # before admin's /admin/{action}
        *admin.routes,
        *notifications.routes,
    ]
