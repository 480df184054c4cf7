"""The whole sales process through the gateway, as a sales team would live it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from .conftest import Client, Member, RunningSystem, new_org_members

pytestmark = pytest.mark.e2e

CSV = (
    "\ufeffFirma;Osoba kontaktowa;E-mail;Telefon;Źródło;priority\n"
    "Orion Freight;Ola Nowak;OLA@orion-freight.pl ;601 111 222;targi;90\n"
    "Pegaz Foods;Piotr Kruk;piotr@pegazfoods.pl;602 222 333;www;80\n"
    "Wega Steel;Wera Lis;wera@wegasteel.pl;603 333 444;www;70\n"
    "Bad Row;Nobody;not-an-email;;www;10\n"
    "Orion Freight;Ola Nowak;ola@orion-freight.pl;601 111 222;targi;90\n"
    "Lyra Print;Lena Wrona;lena@lyraprint.pl;604 444 555;polecenie;60\n"
)


def eventually(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Events travel through the bus: poll until ``check`` returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def team(system: RunningSystem) -> Iterator[dict[str, Client]]:
    # A quiet bus to start with: the waits below are for this test's own events, not for the
    # backlog an earlier test's bulk import left (its events come first on every stream).
    system.wait_for_consumers()
    clients = {key: Client(system.gateway, m) for key, m in new_org_members().items()}
    for client in clients.values():
        client("{ me { id } }")  # members register from their token on first request
    yield clients
    for client in clients.values():
        client.close()


def typed(result: dict[str, Any], typename: str) -> dict[str, Any]:
    assert result["__typename"] == typename, result
    return result


OPPORTUNITY = """query($id: ID!) { opportunity(id: $id) { id version status offerIssued
  stage { name } pipeline { stages { id name } } } }"""
MOVE = """mutation($id: ID!, $stage: ID!, $v: Int!) {
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $v) { __typename
    ... on OpportunityPayload { opportunity { version stage { name } } }
    ... on GateNotSatisfied { stageName missing } } }"""
SCHEDULE = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  __typename ... on ActivityPayload { activity { id } } } }"""


def schedule(client: Client, opportunity: str, kind: str, days: float, subject: str) -> str:
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()
    result = client(
        SCHEDULE,
        {"input": {"opportunityId": opportunity, "kind": kind, "dueAt": due, "subject": subject}},
    )["scheduleActivity"]
    return str(typed(result, "ActivityPayload")["activity"]["id"])


def move(client: Client, opportunity: str, stage: str, version: int) -> dict[str, Any]:
    return dict(client(MOVE, {"id": opportunity, "stage": stage, "v": version})["moveOpportunity"])


def convert(client: Client, lead_id: str, name: str, amount: str) -> str:
    result = client(
        """mutation($id: ID!, $opp: OpportunityInput!) { convertLead(id: $id, opportunity: $opp) {
          __typename ... on ConvertLeadPayload { opportunityId } } }""",
        {
            "id": lead_id,
            "opp": {
                "name": name,
                "amount": amount,
                "currency": "PLN",
                "expectedCloseDate": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            },
        },
    )["convertLead"]
    return str(typed(result, "ConvertLeadPayload")["opportunityId"])


def test_the_whole_sales_process_through_the_gateway(
    system: RunningSystem, team: dict[str, Client]
) -> None:
    manager, rep, admin = team["manager"], team["rep"], team["admin"]
    rep_member: Member = rep.member

    # A lead base arrives as a messy CSV (BOM, semicolons, Polish headers, a bad row, a dupe).
    report = manager(
        """mutation($csv: String!) { importLeads(csv: $csv) { __typename
          ... on ImportReport { createdCount duplicates { line } invalid { line reason } } } }""",
        {"csv": CSV},
    )["importLeads"]
    typed(report, "ImportReport")
    assert report["createdCount"] == 4
    assert [d["line"] for d in report["duplicates"]] == [6]
    assert [i["line"] for i in report["invalid"]] == [5]

    # The manager caps the rep at 3 leads; the rep pulls from the pool within the cap.
    capped = manager(
        "mutation($m: ID!) { setLeadCap(memberId: $m, leadCap: 3) { __typename } }",
        {"m": str(rep_member.id)},
    )["setLeadCap"]
    assert capped["__typename"] == "MemberPayload", capped
    claimed = rep(
        """mutation { claimNextLeads(count: 10) { __typename
          ... on ClaimPayload { leads { id company } leadCap activeLeads } } }"""
    )["claimNextLeads"]
    typed(claimed, "ClaimPayload")
    assert [lead["company"] for lead in claimed["leads"]] == [
        "Orion Freight",
        "Pegaz Foods",
        "Wega Steel",
    ]
    assert claimed["activeLeads"] == 3 == claimed["leadCap"]

    # Conversion: the pipeline creates the opportunity from the event, in Identification.
    won_id = convert(rep, claimed["leads"][0]["id"], "Orion fleet tracking", "120000.00")
    lost_id = convert(rep, claimed["leads"][1]["id"], "Pegaz cold chain", "45000.00")
    opportunity = eventually(lambda: rep(OPPORTUNITY, {"id": won_id})["opportunity"])
    assert opportunity["stage"]["name"] == "Identification"
    stages = {s["name"]: s["id"] for s in opportunity["pipeline"]["stages"]}
    version = opportunity["version"]

    # A premature move is refused with every missing requirement, and nothing changes.
    refused = move(rep, won_id, stages["Qualification"], version)
    assert refused["__typename"] == "GateNotSatisfied"
    assert set(refused["missing"]) == {"CONTACT_MADE", "NEXT_CONTACT_SCHEDULED"}
    assert rep(OPPORTUNITY, {"id": won_id})["opportunity"]["version"] == version

    # The calendar: a call made, a meeting as the next contact.
    call = schedule(rep, won_id, "CALL", -0.1, "First call")
    done = rep(
        'mutation($id: ID!) { completeActivity(id: $id, outcome: "Interested") { __typename } }',
        {"id": call},
    )["completeActivity"]
    assert done["__typename"] == "ActivityPayload"
    schedule(rep, won_id, "MEETING", 2, "Needs workshop")
    version = rep(OPPORTUNITY, {"id": won_id})["opportunity"]["version"]
    moved = typed(move(rep, won_id, stages["Qualification"], version), "OpportunityPayload")
    version = moved["opportunity"]["version"]

    refused = move(rep, won_id, stages["Offer"], version)
    assert refused["__typename"] == "GateNotSatisfied"
    assert set(refused["missing"]) == {"NEEDS", "BUDGET"}
    updated = rep(
        """mutation($id: ID!, $v: Int!, $p: OpportunityPatchInput!) {
          updateOpportunity(id: $id, expectedVersion: $v, patch: $p) { __typename
            ... on OpportunityPayload { opportunity { version } } } }""",
        {
            "id": won_id,
            "v": version,
            "p": {"needs": "Track 40 trucks", "budgetAmount": "130000", "budgetCurrency": "PLN"},
        },
    )["updateOpportunity"]
    version = typed(updated, "OpportunityPayload")["opportunity"]["version"]
    version = typed(move(rep, won_id, stages["Offer"], version), "OpportunityPayload")[
        "opportunity"
    ]["version"]

    # Negotiation needs an issued offer; the documents service's event unlocks it.
    refused = move(rep, won_id, stages["Negotiation"], version)
    assert refused["__typename"] == "GateNotSatisfied"
    assert refused["missing"] == ["OFFER_ISSUED"]
    folder = admin(
        'mutation { createFolder(name: "Offers", allowedGroups: ["sales"]) '
        "{ __typename ... on CreateFolderPayload { folder { id } } } }"
    )["createFolder"]
    template = admin(
        """mutation($f: ID!) { uploadDocument(folderId: $f, name: "Offer", kind: OFFER_TEMPLATE,
          content: "Offer for ${client}: ${total}") { __typename
          ... on UploadDocumentPayload { document { id } } } }""",
        {"f": typed(folder, "CreateFolderPayload")["folder"]["id"]},
    )["uploadDocument"]
    offer = rep(
        """mutation($o: ID!, $t: ID!, $v: [OfferValueInput!]) {
          issueOffer(opportunityId: $o, templateId: $t, values: $v) { __typename } }""",
        {
            "o": won_id,
            "t": typed(template, "UploadDocumentPayload")["document"]["id"],
            "v": [
                {"name": "client", "value": "Orion Freight"},
                {"name": "total", "value": "120,000 PLN"},
            ],
        },
    )["issueOffer"]
    assert offer["__typename"] == "IssueOfferPayload", offer
    opportunity = eventually(
        lambda: (o := rep(OPPORTUNITY, {"id": won_id})["opportunity"])["offerIssued"] and o
    )
    typed(move(rep, won_id, stages["Negotiation"], opportunity["version"]), "OpportunityPayload")

    # Won, and another lost with a reason.
    won = rep(
        'mutation($id: ID!) { markWon(id: $id, comment: "Signed for two years") { __typename } }',
        {"id": won_id},
    )["markWon"]
    assert won["__typename"] == "OpportunityPayload", won
    eventually(lambda: rep(OPPORTUNITY, {"id": lost_id})["opportunity"])
    reasons = rep("{ lostReasons { id code } }")["lostReasons"]
    competitor = next(r["id"] for r in reasons if r["code"] == "competitor")
    lost = rep(
        'mutation($id: ID!, $r: ID!) { markLost(id: $id, reasonId: $r, comment: "Price") '
        "{ __typename } }",
        {"id": lost_id, "r": competitor},
    )["markLost"]
    assert lost["__typename"] == "OpportunityPayload", lost

    # The funnel and the dashboard show all of it (reporting is fed by events only).
    def funnel() -> dict[str, dict[str, Any]] | None:
        result = manager(
            "{ salesFunnel { __typename ... on SalesFunnel { stages { name count "
            "amounts { byCurrency { currency amount } } } } } }"
        )["salesFunnel"]
        by_name = {s["name"]: s for s in typed(result, "SalesFunnel")["stages"]}
        return by_name if by_name["Won"]["count"] == 1 and by_name["Lost"]["count"] == 1 else None

    stages_now = eventually(funnel)
    ((currency, amount),) = [
        (m["currency"], Decimal(m["amount"])) for m in stages_now["Won"]["amounts"]["byCurrency"]
    ]
    assert (currency, amount) == ("PLN", Decimal("120000"))
    assert stages_now["Identification"]["count"] == 0

    def dashboard() -> dict[str, Any] | None:
        board = rep("""{ myDashboard { meetingsNext7Days { subject } leads { held cap }
          openOpportunitiesByStage { stageName count } } }""")["myDashboard"]
        return board if board["meetingsNext7Days"] and board["leads"]["held"] == 1 else None

    board = eventually(dashboard)
    assert [m["subject"] for m in board["meetingsNext7Days"]] == ["Needs workshop"]
    assert board["leads"] == {"held": 1, "cap": 3}

    # One query, three subgraphs: opportunities with their account (leads) and owner.
    nodes = manager("""{ opportunities(first: 10) { edges { node { name status
        account { name domain } owner { name team } } } } }""")["opportunities"]["edges"]
    by_name = {edge["node"]["name"]: edge["node"] for edge in nodes}
    assert by_name["Orion fleet tracking"]["status"] == "WON"
    assert by_name["Orion fleet tracking"]["account"] == {
        "name": "Orion Freight",
        "domain": "orion-freight.pl",
    }
    assert by_name["Pegaz cold chain"]["owner"] == {"name": "Rita Rep", "team": "north"}


def test_another_org_sees_nothing_of_it(system: RunningSystem) -> None:
    members = new_org_members()
    ours, theirs = Client(system.gateway, members["admin"]), None
    stranger = new_org_members()["admin"]
    theirs = Client(system.gateway, stranger)
    try:
        ours("{ me { id } }")
        created = ours(
            'mutation { createLead(input: {company: "Secret Co", '
            'email: "boss@secret.example"}) { __typename '
            "... on LeadPayload { lead { id } } } }"
        )["createLead"]
        lead_id = typed(created, "LeadPayload")["lead"]["id"]
        assert theirs("query($id: ID!) { lead(id: $id) { id } }", {"id": lead_id})["lead"] is None
        leads = theirs("{ leads(first: 50) { edges { node { company } } } }")["leads"]["edges"]
        assert all(edge["node"]["company"] != "Secret Co" for edge in leads)
    finally:
        ours.close()
        theirs.close()


CREATE = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  __typename ... on OpportunityPayload { opportunity { id version } } } }"""
PIPELINE_CHANGE = "{ __typename ... on PipelinePayload { pipeline { stages { id name } } } }"
FUNNEL_NOW = """query($asOf: DateTime) { salesFunnel(asOf: $asOf) { __typename
  ... on SalesFunnel { stages { name count amounts { converted { currency amount } } } } } }"""


def test_stages_reopening_rates_and_analytics_through_the_gateway(
    team: dict[str, Client],
) -> None:
    """What the first test leaves out, each through the gateway: an admin changing the
    stages, a stale version refused, a lost deal reopened, the funnel as it stood before,
    exchange rates and the analytics."""
    admin, manager, rep = team["admin"], team["manager"], team["rep"]
    close = (dt.date.today() + dt.timedelta(days=45)).isoformat()
    created = {}
    for name, amount, currency in (("Atlas CRM", "1000", "PLN"), ("Borealis", "500", "EUR")):
        result = rep(CREATE, {"input": {"name": name, "amount": amount, "currency": currency,
                                        "expectedCloseDate": close}})["createOpportunity"]
        created[name] = typed(result, "OpportunityPayload")["opportunity"]
    atlas, borealis = created["Atlas CRM"], created["Borealis"]

    # The admin changes the stages; the pipeline's event reaches reporting's funnel.
    pipeline = admin("{ pipelines { id stages { id name } } }")["pipelines"][0]
    stages = {s["name"]: s["id"] for s in pipeline["stages"]}
    updated = admin(
        "mutation($s: ID!) { updateStage(stageId: $s, patch: {probability: 15}) "
        + PIPELINE_CHANGE + " }", {"s": stages["Identification"]},
    )["updateStage"]
    typed(updated, "PipelinePayload")
    added = admin(
        'mutation($p: ID!) { addStage(pipelineId: $p, input: {name: "Demo", probability: 30}, '
        "position: 3) " + PIPELINE_CHANGE + " }", {"p": pipeline["id"]},
    )["addStage"]
    assert "Demo" in [s["name"] for s in typed(added, "PipelinePayload")["pipeline"]["stages"]]

    def funnel(as_of: str | None = None) -> dict[str, dict[str, Any]]:
        result = admin(FUNNEL_NOW, {"asOf": as_of})["salesFunnel"]
        return {s["name"]: s for s in typed(result, "SalesFunnel")["stages"]}

    eventually(lambda: "Demo" in funnel() and funnel()["Identification"]["count"] == 2)

    # A stale version is refused with the current one, and changes nothing.
    stale = move(rep, atlas["id"], stages["Qualification"], atlas["version"] - 1)
    assert stale["__typename"] == "VersionConflict", stale

    # Lost, seen in the funnel and the analytics, then reopened by the manager.
    reasons = rep("{ lostReasons { id code } }")["lostReasons"]
    price = next(r["id"] for r in reasons if r["code"] == "price")
    lost = rep("mutation($id: ID!, $r: ID!) { markLost(id: $id, reasonId: $r) { __typename } }",
               {"id": borealis["id"], "r": price})["markLost"]
    assert lost["__typename"] == "OpportunityPayload", lost
    eventually(lambda: funnel()["Lost"]["count"] == 1)
    while_lost = dt.datetime.now(dt.UTC).isoformat()

    def analytics_now() -> dict[str, Any]:
        return typed(admin("""{ salesAnalytics { __typename ... on SalesAnalytics {
            winRate { wonCount lostCount } lostReasons { label count }
            forecast { count } leaderboard { name lostCount } } } }""")["salesAnalytics"],
                     "SalesAnalytics")

    # Names reach reporting from the leads' roster events, a stream of their own that may
    # trail the pipeline's: wait for them too.
    rita = {"name": "Rita Rep", "lostCount": 1}
    analytics = eventually(lambda: a if rita in (a := analytics_now())["leaderboard"] else None)
    assert analytics["winRate"] == {"wonCount": 0, "lostCount": 1}
    assert [r["count"] for r in analytics["lostReasons"]] == [1]
    assert sum(m["count"] for m in analytics["forecast"]) == 1  # only Atlas is open
    reopened = manager("mutation($id: ID!) { reopenOpportunity(id: $id) { __typename } }",
                       {"id": borealis["id"]})["reopenOpportunity"]
    assert reopened["__typename"] == "OpportunityPayload", reopened
    history = rep("query($id: ID!) { opportunity(id: $id) { history { toStageId } } }",
                  {"id": borealis["id"]})["opportunity"]["history"]
    assert [h["toStageId"] for h in history] == [stages["Lost"], stages["Identification"]]
    eventually(lambda: funnel()["Lost"]["count"] == 0)
    assert funnel(while_lost)["Lost"]["count"] == 1  # as it stood then, from the history

    # With an exchange rate the open amounts are also given in the base currency.
    for mutation, variables in (
        ('mutation { setBaseCurrency(currency: "PLN") { __typename } }', {}),
        ('mutation { setExchangeRate(currency: "EUR", rate: "4.30") { __typename } }', {}),
    ):
        answer = next(iter(admin(mutation, variables).values()))
        assert answer["__typename"] == "ExchangeRates", answer
    converted = funnel()["Identification"]["amounts"]["converted"]
    assert (converted["currency"], Decimal(converted["amount"])) == ("PLN", Decimal("3150"))
    refused = rep('mutation { setExchangeRate(currency: "USD", rate: "4") { __typename } }')
    assert refused["setExchangeRate"]["__typename"] == "Forbidden"
