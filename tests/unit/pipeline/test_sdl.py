"""The pipeline's entities and the references it leaves to the leads service."""

from __future__ import annotations

from pathlib import Path

SDL = Path(__file__).resolve().parents[3] / "services" / "pipeline" / "schema.graphql"


def test_entities_and_references() -> None:
    sdl = SDL.read_text()
    assert 'type Opportunity @key(fields: "id")' in sdl
    assert 'type Activity @key(fields: "id")' in sdl
    assert 'type Account @key(fields: "id", resolvable: false)' in sdl
    assert 'type Member @key(fields: "id", resolvable: false)' in sdl
