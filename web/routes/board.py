"""The pipeline board (the home page): a column per stage, cards dragged between them.

Two GraphQL requests: the pipelines, roster and lost reasons (the filter bar and the columns'
stages), then every open stage's cards in one operation with one aliased field per stage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web import i18n
from web.api import InvalidInput
from web.context import query, render
from web.deal_filters import DealFilters, teams_of
from web.errors import refused_input

COLUMN_SIZE = 200  # the API's largest page; a column with more says so

# What a card shows and its drag needs (version, stage, amount and probability for the
# columns' sums), no more: every field is resolved 500 times on a full board.
CARD_FIELDS = """id name amount currency probability nextContactAt isStale version stageId status
  owner { id name } account { id name }"""

Q_CHROME = """query BoardChrome { pipelines { id name isDefault stages {
  id name position probability kind rottingDays requirements } }
  members { id name team } }"""


def columns_query(count: int) -> str:
    variables = ", ".join(f"$f{i}: OpportunityFilter" for i in range(count))
    fields = "\n".join(
        f"s{i}: opportunities(filter: $f{i}, first: {COLUMN_SIZE}) "
        "{ edges { node { ...Card } } pageInfo { hasNextPage } }"
        for i in range(count)
    )
    return (
        f"query BoardColumns({variables}) {{\n{fields}\n}}\n"
        f"fragment Card on Opportunity {{ {CARD_FIELDS} }}"
    )


@dataclass(frozen=True, slots=True)
class CardLabels:
    """The cards' words, translated once per page rather than once per card."""

    no_client: str
    next_contact: str
    no_next_step: str
    overdue: str
    stale: str
    move: str
    move_deal: str


def card_labels() -> CardLabels:
    return CardLabels(
        no_client=i18n.gettext("No client"),
        next_contact=i18n.gettext("Next contact"),
        no_next_step=i18n.gettext("No next step"),
        overdue=i18n.gettext("Overdue"),
        stale=i18n.gettext("Stale"),
        move=i18n.gettext("Move"),
        move_deal=i18n.gettext("Move to another stage"),
    )


def card_flags(card: dict[str, Any], now: dt.datetime) -> list[str]:
    flags = []
    next_contact = card.get("nextContactAt")
    if card.get("status", "OPEN") == "OPEN":
        if not next_contact:
            flags.append("no-next-step")
        elif dt.datetime.fromisoformat(next_contact) < now:
            flags.append("overdue")
        if card.get("isStale"):
            flags.append("stale")
    return flags


@dataclass(frozen=True, slots=True)
class Card:
    """What a card shows, its money and date already formatted. Jinja2 reads an object's
    attribute directly but a dict's key only after a failed attribute lookup: over a board's
    500 cards those lookups, and Babel formatting in the template, were most of the render."""

    id: str
    name: str
    version: int
    stage_id: str
    amount: str
    currency: str
    probability: int
    client: str
    money: str
    owner: str
    next_contact: str
    flags: tuple[str, ...]
    classes: str  # the flags as CSS classes


def card_view(card: dict[str, Any], now: dt.datetime, labels: CardLabels) -> Card:
    """A card (fetched with ``CARD_FIELDS``) as the template shows it."""
    flags = tuple(card_flags(card, now))
    account, owner = card.get("account"), card.get("owner")
    return Card(
        id=card["id"], name=card["name"], version=card["version"], stage_id=card["stageId"],
        amount=str(card["amount"]), currency=card["currency"],
        probability=card["probability"],
        client=account["name"] if account else labels.no_client,
        money=i18n.money(card["amount"], card["currency"]),
        owner=owner["name"] if owner else "",
        next_contact=i18n.date(card.get("nextContactAt"), "short"),
        flags=flags,
        classes="".join(f" flag-{flag}" for flag in flags),
    )


def totals(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, amount per currency and amount weighted by each deal's probability."""
    amounts: dict[str, Decimal] = {}
    weighted: dict[str, Decimal] = {}
    for card in cards:
        try:
            amount = Decimal(str(card["amount"]))
        except (InvalidOperation, KeyError):
            continue
        currency = card["currency"]
        amounts[currency] = amounts.get(currency, Decimal(0)) + amount
        share = amount * Decimal(card.get("probability") or 0) / 100
        weighted[currency] = weighted.get(currency, Decimal(0)) + share
    return {
        "count": len(cards),
        "amounts": [{"currency": c, "amount": a} for c, a in sorted(amounts.items())],
        "weighted": [{"currency": c, "amount": a} for c, a in sorted(weighted.items())],
    }


async def board(request: Request) -> Response:
    params = request.query_params
    chrome = await query(request, Q_CHROME)
    pipelines = chrome["pipelines"]
    chosen = next(
        (p for p in pipelines if p["id"] == params.get("pipeline")),
        next((p for p in pipelines if p["isDefault"]), pipelines[0] if pipelines else None),
    )
    members = chrome["members"]
    chosen_filters = DealFilters.of(params)
    filters = chosen_filters.form()
    stages = sorted(chosen["stages"], key=lambda s: s["position"]) if chosen else []
    open_stages = [s for s in stages if s["kind"] == "OPEN"]
    columns: list[dict[str, Any]] = []
    filter_errors: dict[str, str] = {}
    by_stage: dict[str, Any] = {}
    if open_stages:
        variables = {
            f"f{i}": chosen_filters.api(
                members, pipelineId=chosen["id"] if chosen else None, stageIds=[stage["id"]],
                statuses=["OPEN"])
            for i, stage in enumerate(open_stages)
        }
        try:
            found = await query(request, columns_query(len(open_stages)), **variables)
        except InvalidInput as error:
            # A control character typed into the search box: shown on the box, the columns
            # unsearched.
            filter_errors = refused_input(error, {"text": "q"}).fields
            variables = {name: {**value, "text": None} for name, value in variables.items()}
            found = await query(request, columns_query(len(open_stages)), **variables)
        by_stage = {
            stage["id"]: found[f"s{i}"] for i, stage in enumerate(open_stages)
        }
    now = i18n.now()
    labels = card_labels()
    for stage in stages:
        page = by_stage.get(stage["id"]) if stage["kind"] == "OPEN" else None
        cards = [edge["node"] for edge in page["edges"]] if page else []
        columns.append(
            {
                "stage": stage,
                "cards": [card_view(card, now, labels) for card in cards],
                "more": bool(page and page["pageInfo"]["hasNextPage"]),
                "totals": totals(cards),
            }
        )
    partial = request.headers.get("hx-target") == "board"
    template = "board/columns.html" if partial else "board/board.html"
    return render(
        request,
        template,
        pipelines=pipelines,
        pipeline=chosen,
        columns=columns,
        members=members,
        teams=teams_of(members),
        filters=filters,
        filter_errors=filter_errors,
        partial=partial,
        stages=stages,
        labels=labels,
        status=422 if filter_errors and not partial else 200,  # htmx swaps 2xx only
    )


routes = [Route("/", board, methods=["GET"])]
