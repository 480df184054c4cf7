"""The committed subgraph SDL must be what the code serves."""

from __future__ import annotations

from pathlib import Path

import services.documents
from crmkit.graphql import federation_sdl
from services.documents.schema import schema

SDL_FILE = Path(services.documents.__file__).parent / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL_FILE.read_text() == federation_sdl(schema), (
        "services/documents/schema.graphql is stale: run `crm schemas`"
    )


def test_opportunity_is_extended_only_with_offers() -> None:
    sdl = federation_sdl(schema)
    block = sdl.split('type Opportunity @key(fields: "id") {', 1)[1].split("}", 1)[0]
    fields = [line.split(":")[0].strip() for line in block.splitlines() if ":" in line]
    assert fields == ["id", "offers"]
