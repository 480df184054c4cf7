"""importLeads takes a file of up to 10 MB through the gateway; a larger one is refused with a
typed error and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import Client, RunningSystem, new_org_members

pytestmark = pytest.mark.e2e

IMPORT = """mutation($csv: String!) { importLeads(csv: $csv) { __typename
  ... on ImportReport { totalRows createdCount duplicates { line } invalid { line } }
  ... on ValidationError { message fields { path message } } } }"""
NOTES = "Met at the trade fair, wants a quote for the spring season. " * 7  # ~420 characters


def lead_file(rows: int, first: int = 0) -> str:
    """A CSV of ``rows`` distinct leads (~490 bytes each: long notes keep the row count, and
    so the events of the stack's other tests, small)."""
    lines = ["Firma;Osoba kontaktowa;E-mail;Telefon;Uwagi"]
    lines += [f"Firma {n} Sp. z o.o.;Jan Nowak {n};jan.{n}@firma{n}.pl;+48 5{n:08d};{NOTES}"
              for n in range(first, first + rows)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def manager(system: RunningSystem) -> Iterator[Client]:
    client = Client(system.gateway, new_org_members()["manager"])
    yield client
    client.close()


def test_a_file_of_almost_10_mb_is_imported_through_the_gateway(
    manager: Client, system: RunningSystem
) -> None:
    csv = lead_file(20_000)
    assert 9 * 1024 * 1024 < len(csv.encode()) < 10 * 1024 * 1024
    report = manager(IMPORT, {"csv": csv})["importLeads"]
    assert report["__typename"] == "ImportReport", report
    assert report["invalid"][:1] == [] and report["duplicates"][:1] == []
    assert (report["totalRows"], report["createdCount"]) == (20_000, 20_000)
    # 20,000 lead.created events: the stack's other tests must not wait behind them.
    system.wait_for_consumers()


def test_a_larger_file_is_refused_and_changes_nothing(manager: Client) -> None:
    over_10_mb = lead_file(22_000, first=100_000)  # ~10.6 MB: reaches the service
    refused = manager(IMPORT, {"csv": over_10_mb})["importLeads"]
    assert refused["__typename"] == "ValidationError", refused
    assert refused["fields"][0]["path"] == ["csv"]
    assert "larger than 10 MB" in refused["fields"][0]["message"]

    over_the_body_limit = lead_file(27_000, first=200_000)  # ~13 MB: the gateway refuses it
    response = manager.raw(IMPORT, {"csv": over_the_body_limit})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    # Neither file left a lead behind: their first rows are new.
    again = manager(IMPORT, {"csv": lead_file(1, first=100_000) + lead_file(1, first=200_000)
                             .split("\n", 1)[1]})["importLeads"]
    assert (again["createdCount"], again["duplicates"]) == (2, []), again
