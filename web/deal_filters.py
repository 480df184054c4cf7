"""The deal filters the board and the deal list share: read from a page's address, given to
the API as an ``OpportunityFilter``, and shown back in the filter bar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from web.context import day_in_address

NOBODY = "00000000-0000-0000-0000-000000000000"
STATUSES = ("OPEN", "WON", "LOST")
ORDERS = ("NEWEST", "RECENTLY_UPDATED", "CLOSING_SOONEST", "RECENTLY_CLOSED")  # the API's


def _day(value: str | None) -> str:
    day = day_in_address(value)
    return day.isoformat() if day else ""


@dataclass(frozen=True, slots=True)
class DealFilters:
    owner: str = ""
    team: str = ""
    close_from: str = ""
    close_to: str = ""
    text: str = ""
    status: str = ""  # one of STATUSES, or any
    pipeline: str = ""
    account: str = ""  # one client's deals
    order: str = ORDERS[0]  # how a list is sorted (the board's columns keep theirs)

    @classmethod
    def of(cls, params: Mapping[str, str]) -> DealFilters:
        """What the address asks for; a date or status the API would not take is left out."""
        status = (params.get("status") or "").upper()
        return cls(
            owner=params.get("owner") or "",
            team=params.get("team") or "",
            close_from=_day(params.get("from")),
            close_to=_day(params.get("to")),
            text=(params.get("q") or "").strip(),
            status=status if status in STATUSES else "",
            pipeline=params.get("pipeline") or "",
            account=params.get("account") or "",
            order=order if (order := (params.get("sort") or "").upper()) in ORDERS
            else ORDERS[0],
        )

    def owner_ids(self, members: list[dict[str, Any]]) -> list[str] | None:
        """The owners the deals must have: the one chosen, or a team's members (a team nobody
        is in shows no deals, not everyone's); None for anyone."""
        if self.owner:
            return [self.owner]
        if self.team:
            return [m["id"] for m in members if m["team"] == self.team] or [NOBODY]
        return None

    def api(self, members: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
        """The ``OpportunityFilter`` (``more`` adds or overrides fields)."""
        return {
            "ownerIds": self.owner_ids(members),
            "statuses": [self.status] if self.status else None,
            "closeFrom": self.close_from or None,
            "closeTo": self.close_to or None,
            "text": self.text or None,
            "accountIds": [self.account] if self.account else None,
            **more,
        }

    def form(self) -> dict[str, str]:
        """The filter bar's values, by the address's names."""
        return {"owner": self.owner, "team": self.team, "from": self.close_from,
                "to": self.close_to, "q": self.text, "status": self.status,
                "pipeline": self.pipeline, "account": self.account,
                "sort": "" if self.order == ORDERS[0] else self.order}


def teams_of(members: list[dict[str, Any]]) -> list[str]:
    return sorted({m["team"] for m in members if m["team"]})
