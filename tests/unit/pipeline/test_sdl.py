"""The committed subgraph SDL is exactly what the code serves."""

from __future__ import annotations

from pathlib import Path

from crmkit.graphql import federation_sdl
from services.pipeline.schema import create_schema

SDL = Path(__file__).resolve().parents[3] / "services" / "pipeline" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL.read_text() == federation_sdl(create_schema()), (
        "services/pipeline/schema.graphql is out of date: regenerate it from create_schema()"
    )


def test_entities_and_references() -> None:
    sdl = SDL.read_text()
    assert 'type Opportunity @key(fields: "id")' in sdl
    assert 'type Activity @key(fields: "id")' in sdl
    assert 'type Account @key(fields: "id", resolvable: false)' in sdl
    assert 'type Member @key(fields: "id", resolvable: false)' in sdl
