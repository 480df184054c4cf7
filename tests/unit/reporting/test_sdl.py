"""The committed subgraph SDL must be what the code serves."""

from pathlib import Path

from crmkit.graphql import federation_sdl
from services.reporting.schema import schema

SDL_FILE = Path(__file__).resolve().parents[3] / "services" / "reporting" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SDL_FILE.read_text() == federation_sdl(schema), (
        "services/reporting/schema.graphql is stale: regenerate it with "
        "python -c 'from services.reporting.schema import schema; "
        "from crmkit.graphql import federation_sdl; print(federation_sdl(schema), end=\"\")'"
    )
