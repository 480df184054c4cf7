from pathlib import Path

from crmkit.graphql import federation_sdl
from services.leads.schema import schema

SDL_FILE = Path(__file__).parents[3] / "services" / "leads" / "schema.graphql"


def test_committed_sdl_matches_the_code():
    assert SDL_FILE.read_text() == federation_sdl(schema), (
        "services/leads/schema.graphql is out of date: regenerate it from "
        "services.leads.schema with crmkit.graphql.federation_sdl"
    )


def test_entities_are_keyed_by_id():
    sdl = SDL_FILE.read_text()
    for entity in ("Account", "Contact", "Member", "Lead"):
        assert f'type {entity} @key(fields: "id")' in sdl
