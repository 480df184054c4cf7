"""The demo organisation, seeded through the public API: members of the three roles, a lead
base, clients, opportunities in every stage of the sales process, and offer templates (plain
text, DOCX and HTML) a rep can make an offer from."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from typing import Any

from crm import offer_templates
from crm.demo import DEMO_MEMBERS, DemoMember
from crm.graphql_client import GraphQLClient, GraphQLFailure
from crmkit.settings import Settings

LEADS_CSV = """firma;osoba kontaktowa;e-mail;telefon;źródło;priority
Acme Logistics;Anna Nowak;anna.nowak@acme-logistics.pl;+48 601 100 200;targi;80
Baltic Foods;Piotr Wiśniewski;p.wisniewski@balticfoods.pl;602 200 300;www;70
Carpathia Energy;Ewa Kowalczyk;ewa@carpathia-energy.pl;603 300 400;polecenie;90
Delta Machines;Jan Zieliński;jan.zielinski@deltamachines.pl;604 400 500;cold call;60
Eagle Software;Maria Lewandowska;maria@eaglesoft.pl;605 500 600;linkedin;75
Fjord Shipping;Tomasz Wójcik;t.wojcik@fjordshipping.pl;606 600 700;targi;50
Granite Build;Katarzyna Kamińska;k.kaminska@granitebuild.pl;607 700 800;www;65
Helix Pharma;Michał Szymański;michal@helixpharma.pl;608 800 900;polecenie;85
Iris Textiles;Agnieszka Dąbrowska;a.dabrowska@iristextiles.pl;609 900 100;www;40
Jade Retail;Paweł Kozłowski;pawel@jaderetail.pl;610 100 200;linkedin;55
Krakow Robotics;Magdalena Jankowska;m.jankowska@krakowrobotics.pl;611 200 300;targi;95
Lumen Media;Krzysztof Mazur;k.mazur@lumenmedia.pl;612 300 400;cold call;30
Mazovia Dairy;Joanna Wojciechowska;j.wojciechowska@mazoviadairy.pl;613 400 500;targi;70
Nordic Glass;Adam Krawczyk;adam.krawczyk@nordicglass.pl;614 500 600;www;45
"""

# Where each rep's converted opportunities end up: the stage names of the default pipeline.
TARGETS = {
    "rep1": ["Identification", "Qualification", "Offer", "Negotiation", "Won"],
    "rep2": ["Identification", "Qualification", "Offer", "Negotiation", "Lost"],
}

Q_REGISTER = "{ me { id name } }"
M_IMPORT = """mutation($csv: String!) { importLeads(csv: $csv) { __typename
  ... on ImportReport { createdCount duplicates { line } invalid { line reason } } } }"""
M_CLAIM = """mutation($n: Int!) { claimNextLeads(count: $n) { __typename
  ... on ClaimPayload { leads { id company contactName } } } }"""
M_CONVERT = """mutation($id: ID!, $opp: OpportunityInput!) {
  convertLead(id: $id, opportunity: $opp) { __typename
  ... on ConvertLeadPayload { opportunityId account { id name } } } }"""
Q_OPPORTUNITY = """query($id: ID!) { opportunity(id: $id) { id version stageId offerIssued
  pipeline { stages { id name kind } } } }"""
M_SCHEDULE = """mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
  __typename ... on ActivityPayload { activity { id } } } }"""
M_COMPLETE = """mutation($id: ID!) { completeActivity(id: $id, outcome: "Spoke with the buyer") {
  __typename } }"""
M_UPDATE = """mutation($id: ID!, $v: Int!, $patch: OpportunityPatchInput!) {
  updateOpportunity(id: $id, expectedVersion: $v, patch: $patch) { __typename
  ... on OpportunityPayload { opportunity { version } } } }"""
M_MOVE = """mutation($id: ID!, $stage: ID!, $v: Int!) {
  moveOpportunity(id: $id, stageId: $stage, expectedVersion: $v) { __typename
  ... on OpportunityPayload { opportunity { version } }
  ... on GateNotSatisfied { missing } } }"""
M_WON = """mutation($id: ID!) { markWon(id: $id, comment: "Signed a two-year contract") {
  __typename } }"""
Q_REASONS = "{ lostReasons { id code label } }"
Q_POOL = """{ leads(first: 50, filter: {poolOnly: true}) { edges { node { id } } } }"""
M_ASSIGN = """mutation($ids: [ID!]!, $member: ID!) { assignLeads(ids: $ids, memberId: $member) {
  __typename ... on LeadsPayload { leads { id } } } }"""
M_LOST = """mutation($id: ID!, $reason: ID!) { markLost(id: $id, reasonId: $reason,
  comment: "Went with a cheaper competitor") { __typename } }"""
M_FOLDER = """mutation { createFolder(name: "Offer templates", allowedGroups: ["sales"]) {
  __typename ... on CreateFolderPayload { folder { id } } } }"""
M_TEMPLATE = """mutation($folder: ID!) { uploadDocument(folderId: $folder, name: "Standard offer",
  kind: OFFER_TEMPLATE, content: "Offer for ${client}: ${product}, total ${total}.") {
  __typename ... on UploadDocumentPayload { document { id } } } }"""
M_FILE_TEMPLATE = """mutation($folder: ID!, $name: String!, $content: String!, $media: String!) {
  uploadDocument(folderId: $folder, name: $name, kind: OFFER_TEMPLATE, content: $content,
    contentEncoding: BASE64, mediaType: $media) {
  __typename ... on UploadDocumentPayload { document { id } } } }"""
M_LOCALE = """mutation { setOrganizationLocale(locale: EN) { __typename
  ... on OrganizationSettingsPayload { settings { locale } } } }"""
M_OFFER = """mutation($opp: ID!, $template: ID!, $values: [OfferValueInput!]) {
  issueOffer(opportunityId: $opp, templateId: $template, values: $values) { __typename } }"""


async def _wait_for_opportunity(client: GraphQLClient, opportunity_id: str) -> dict[str, Any]:
    for _ in range(200):
        found = (await client.query(Q_OPPORTUNITY, id=opportunity_id))["opportunity"]
        if found is not None:
            return dict(found)
        await asyncio.sleep(0.05)
    raise GraphQLFailure(f"opportunity {opportunity_id} never appeared in the pipeline")


async def _wait_for_offer(client: GraphQLClient, opportunity_id: str) -> dict[str, Any]:
    for _ in range(200):
        found = (await client.query(Q_OPPORTUNITY, id=opportunity_id))["opportunity"]
        if found["offerIssued"]:
            return dict(found)
        await asyncio.sleep(0.05)
    raise GraphQLFailure(f"offer for {opportunity_id} never reached the pipeline")


class DemoSeeder:
    def __init__(self, url: str, settings: Settings) -> None:
        self.url = url
        self.settings = settings

    def client(self, member: DemoMember) -> GraphQLClient:
        return GraphQLClient(self.url, member.token(self.settings.jwt_secret))

    async def run(self) -> str:
        members = {m.key: m for m in DEMO_MEMBERS}
        for member in DEMO_MEMBERS:
            async with self.client(member) as client:
                await client.query(Q_REGISTER)
        async with self.client(members["manager"]) as manager:
            report = await manager.mutate(M_IMPORT, "importLeads", "ImportReport", csv=LEADS_CSV)
        async with self.client(members["admin"]) as admin:
            # Announced to documents, which formats offers in the org's language.
            await admin.mutate(M_LOCALE, "setOrganizationLocale", "OrganizationSettingsPayload")
            folder = await admin.mutate(M_FOLDER, "createFolder", "CreateFolderPayload")
            template = await admin.mutate(
                M_TEMPLATE, "uploadDocument", "UploadDocumentPayload", folder=folder["folder"]["id"]
            )
            for name, content, media in (
                ("Offer (Word)", offer_templates.docx_template(), offer_templates.DOCX_MEDIA_TYPE),
                ("Offer (PDF)", offer_templates.html_template(), "text/html"),
            ):
                await admin.mutate(
                    M_FILE_TEMPLATE, "uploadDocument", "UploadDocumentPayload",
                    folder=folder["folder"]["id"], name=name, media=media,
                    content=base64.b64encode(content).decode("ascii"),
                )
        template_id = template["document"]["id"]
        opportunities = 0
        for key, targets in TARGETS.items():
            async with self.client(members[key]) as rep:
                claimed = await rep.mutate(
                    M_CLAIM, "claimNextLeads", "ClaimPayload", n=len(targets) + 1
                )
                for lead, target in zip(claimed["leads"], targets, strict=False):
                    await self._advance(rep, lead, target, template_id)
                    opportunities += 1
        async with self.client(members["manager"]) as manager:
            # What is left in the pool goes to Rita: her bell rings with the assignments.
            pool = (await manager.query(Q_POOL))["leads"]["edges"]
            await manager.mutate(
                M_ASSIGN, "assignLeads", "LeadsPayload",
                ids=[edge["node"]["id"] for edge in pool], member=str(members["rep1"].id),
            )
        return (
            f"demo organisation seeded: {report['createdCount']} leads imported, "
            f"{opportunities} opportunities across every stage"
        )

    async def _advance(
        self, rep: GraphQLClient, lead: dict[str, Any], target: str, template_id: str
    ) -> None:
        close = (dt.date.today() + dt.timedelta(days=45)).isoformat()
        converted = await rep.mutate(
            M_CONVERT,
            "convertLead",
            "ConvertLeadPayload",
            id=lead["id"],
            opp={
                "name": f"{lead['company']} rollout",
                "amount": "48000.00",
                "currency": "PLN",
                "expectedCloseDate": close,
            },
        )
        opportunity_id = converted["opportunityId"]
        opportunity = await _wait_for_opportunity(rep, opportunity_id)
        stages = {s["name"]: s["id"] for s in opportunity["pipeline"]["stages"]}
        version = opportunity["version"]
        if target == "Identification":
            await self._schedule(rep, opportunity_id, "CALL", days=2, subject="First call")
            # A task not done by yesterday's deadline: overdue on the calendar and in the bell.
            await self._schedule(rep, opportunity_id, "TASK", days=-1, subject="Send the brochure")
            return
        # Qualification: a contact made and the next one scheduled.
        call = await self._schedule(rep, opportunity_id, "CALL", days=-1, subject="First call")
        await rep.mutate(M_COMPLETE, "completeActivity", "ActivityPayload", id=call)
        await self._schedule(rep, opportunity_id, "MEETING", days=3, subject="Needs workshop")
        version = await self._move(rep, opportunity_id, stages["Qualification"], version)
        if target == "Qualification":
            return
        if target == "Lost":
            reasons = (await rep.query(Q_REASONS))["lostReasons"]
            competitor = next(r["id"] for r in reasons if r["code"] == "competitor")
            await rep.mutate(
                M_LOST, "markLost", "OpportunityPayload", id=opportunity_id, reason=competitor
            )
            return
        version = (
            await rep.mutate(
                M_UPDATE,
                "updateOpportunity",
                "OpportunityPayload",
                id=opportunity_id,
                v=version,
                patch={
                    "needs": "Fleet tracking for 40 trucks",
                    "painPoints": "Late deliveries",
                    "budgetAmount": "50000.00",
                    "budgetCurrency": "PLN",
                },
            )
        )["opportunity"]["version"]
        version = await self._move(rep, opportunity_id, stages["Offer"], version)
        if target == "Offer":
            return
        await rep.mutate(
            M_OFFER,
            "issueOffer",
            "IssueOfferPayload",
            opp=opportunity_id,
            template=template_id,
            values=[
                {"name": "client", "value": lead["company"]},
                {"name": "product", "value": "Fleet tracking"},
                {"name": "total", "value": "48,000.00 PLN"},
            ],
        )
        version = (await _wait_for_offer(rep, opportunity_id))["version"]
        version = await self._move(rep, opportunity_id, stages["Negotiation"], version)
        if target == "Won":
            await rep.mutate(M_WON, "markWon", "OpportunityPayload", id=opportunity_id)

    async def _schedule(
        self, rep: GraphQLClient, opportunity_id: str, kind: str, *, days: int, subject: str
    ) -> str:
        due = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        result = await rep.mutate(
            M_SCHEDULE,
            "scheduleActivity",
            "ActivityPayload",
            input={
                "opportunityId": opportunity_id,
                "kind": kind,
                "dueAt": due.isoformat(),
                "subject": subject,
            },
        )
        return str(result["activity"]["id"])

    async def _move(self, rep: GraphQLClient, opportunity_id: str, stage: str, version: int) -> int:
        moved = await rep.mutate(
            M_MOVE,
            "moveOpportunity",
            "OpportunityPayload",
            id=opportunity_id,
            stage=stage,
            v=version,
        )
        return int(moved["opportunity"]["version"])


async def seed(settings: Settings, urls: dict[str, str]) -> str:
    """Seed through the gateway (``urls['gateway']``)."""
    return await DemoSeeder(f"{urls['gateway']}/graphql", settings).run()
