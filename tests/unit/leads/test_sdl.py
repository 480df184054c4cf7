from pathlib import Path

SDL_FILE = Path(__file__).parents[3] / "services" / "leads" / "schema.graphql"


def test_entities_are_keyed_by_id():
    sdl = SDL_FILE.read_text()
    for entity in ("Account", "Contact", "Member", "Lead"):
        assert f'type {entity} @key(fields: "id")' in sdl
