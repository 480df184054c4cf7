"""The documents subgraph extends the pipeline's opportunity with its offers only."""

from __future__ import annotations

from crmkit.graphql import federation_sdl
from services.documents.app import create_schema


def test_opportunity_is_extended_only_with_offers() -> None:
    sdl = federation_sdl(create_schema())
    block = sdl.split('type Opportunity @key(fields: "id") {', 1)[1].split("}", 1)[0]
    fields = [line.split(":")[0].strip() for line in block.splitlines() if ":" in line]
    assert fields == ["id", "offers"]
