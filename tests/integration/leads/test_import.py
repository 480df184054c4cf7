import uuid

import pytest
from sqlalchemy import text

from crmkit.contracts.leads import LeadCreated
from services.leads import events, import_worker
from services.leads.cli_import import import_file
from services.leads.records import LeadRecord
from services.leads.repository import imports

from .queries import CREATE_LEAD, IMPORT, LEAD

pytestmark = pytest.mark.integration

MESSY = (
    "\ufeffFirma;Osoba kontaktowa;E-MAIL;Telefon;Źródło;Strona WWW;Kolumna X\r\n"
    "ACME Sp. z o.o.;Jan Kowalski;Jan@Acme.pl;601 234 567;targi;www.acme.pl;x\r\n"
    "Beta SA;Anna;not-an-email;;web;;\r\n"
    "Gamma;Piotr;piotr@gamma.pl;+48 22 123 45 67;web;;\r\n"
    ";;;;;;\r\n"
    "ACME;Jan K.;jan@acme.pl;;targi;;\r\n"
    "Delta;Ola;ola@gmail.com;12;web;;\r\n"
    "Existing;Ewa;ewa@existing.pl;;;;\r\n"
    '"Epsilon; Sp. j.";"Zenon";zenon@epsilon.pl;601 234 568;;;\r\n'
)


# Chunks of two rows: duplicates of earlier lines and of existing leads across chunks (the
# leads written by the import's earlier chunks are lines of the file, not existing leads).
# Validated in a thread (small files) and in the import worker process (large files).
@pytest.mark.parametrize(("chunk", "in_process"), [(10_000, False), (2, False), (2, True)])
async def test_messy_file(leads_service, org, monkeypatch, chunk, in_process):
    monkeypatch.setattr(imports, "CHUNK", chunk)
    monkeypatch.setattr(import_worker, "PROCESS_MIN_CHARS", 0 if in_process else 10**9)
    admin = org.token("admin", team=None)
    existing = await leads_service.data(admin, CREATE_LEAD, input={"company": "Old",
                                                                  "email": "EWA@existing.pl"})
    existing_id = existing["createLead"]["lead"]["id"]

    dry = (await leads_service.data(admin, IMPORT, csv=MESSY, dryRun=True))["importLeads"]
    assert dry["dryRun"] is True and dry["createdCount"] == 3
    assert len(await leads_service.events(org_id=org.id, type=LeadCreated.TYPE)) == 1  # only "Old"

    report = (await leads_service.data(admin, IMPORT, csv=MESSY))["importLeads"]
    assert report["totalRows"] == 7 and report["ignoredColumns"] == ["Kolumna X"]
    assert [row["line"] for row in report["created"]] == [2, 4, 9]
    assert [(i["line"], i["reason"].split()[0]) for i in report["invalid"]] == [
        (3, "email"), (7, "phone")
    ]
    assert report["duplicates"] == [
        {"line": 6, "matchedOn": ["email", "domain and company"], "existingLeadId": None,
         "duplicateOfLine": 2},
        {"line": 8, "matchedOn": ["email"], "existingLeadId": existing_id,
         "duplicateOfLine": None},
    ]
    acme = (await leads_service.data(admin, LEAD, id=report["created"][0]["leadId"]))["lead"]
    assert (acme["email"], acme["phone"], acme["domain"], acme["source"]) == (
        "jan@acme.pl", "+48601234567", "acme.pl", "targi"
    )
    epsilon = (await leads_service.data(admin, LEAD, id=report["created"][2]["leadId"]))["lead"]
    assert epsilon["company"] == "Epsilon; Sp. j."

    created = await leads_service.events(org_id=org.id, type=LeadCreated.TYPE)
    assert len(created) == 4
    imported = {str(e.aggregate_id): e for e in created[1:]}
    assert set(imported) == {row["leadId"] for row in report["created"]}
    # The SQL-built envelopes are exactly what the Python side would have emitted.
    async with leads_service.runtime.engine.connect() as conn:
        for lead_id, envelope in imported.items():
            row = (await conn.execute(text("SELECT * FROM leads WHERE id = :id"),
                                      {"id": lead_id})).one()
            expected = events.lead_created(LeadRecord.from_row(row))
            assert envelope.parse(LeadCreated) == expected
            assert (envelope.org_id, envelope.aggregate_version) == (org.id, 1)
            assert envelope.actor_id is not None

    # Running the same file again is safe: every row is now a duplicate.
    rerun = (await leads_service.data(admin, IMPORT, csv=MESSY))["importLeads"]
    assert rerun["createdCount"] == 0
    assert {d["line"] for d in rerun["duplicates"]} == {2, 4, 6, 8, 9}
    assert len(await leads_service.events(org_id=org.id, type=LeadCreated.TYPE)) == 4


@pytest.mark.parametrize(
    "csv", ["", "email;telefon\na@a.pl;601234567\n", "firma;company\nA;B\n",
            "firma\nA\n" + "x" * 200_000 + "\n"]
)
@pytest.mark.parametrize("in_process", [False, True])
async def test_unusable_files_are_validation_errors(leads_service, org, csv, in_process,
                                                    monkeypatch):
    monkeypatch.setattr(import_worker, "PROCESS_MIN_CHARS", 0 if in_process else 10**9)
    result = (await leads_service.data(org.token("admin"), IMPORT, csv=csv))["importLeads"]
    assert result["__typename"] == "ValidationError"


async def test_reps_may_not_import(leads_service, org):
    result = (await leads_service.data(org.token("rep"), IMPORT, csv=MESSY))["importLeads"]
    assert result["__typename"] == "Forbidden"


async def test_failed_import_leaves_nothing_and_can_be_rerun(leads_service, org, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("company,email\nA,a@a.pl\nB,b@b.pl\n", encoding="utf-8")
    stages = []

    def fail_at_insert(stage, done, total):
        stages.append(stage)
        if stage == "dedupe":
            raise RuntimeError("connection lost")

    url = str(leads_service.runtime.engine.url.render_as_string(hide_password=False))
    with pytest.raises(RuntimeError):
        await import_file(path, org.id, None, database_url=url, progress=fail_at_insert)
    assert await leads_service.events(org_id=org.id, type=LeadCreated.TYPE) == []
    progress = []
    report = await import_file(path, org.id, uuid.uuid4(), database_url=url,
                               progress=lambda *args: progress.append(args))
    assert report.created_count == 2
    assert progress[-1] == ("insert", 2, 2) and stages == ["parse", "stage", "dedupe"]
    assert len(await leads_service.events(org_id=org.id, type=LeadCreated.TYPE)) == 2
