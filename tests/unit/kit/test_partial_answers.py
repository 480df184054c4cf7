"""One service's outage costs only its own fields: root query fields and references to
another service's entities are nullable in every subgraph and in the supergraph."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLNonNull
from graphql import build_schema as build_sdl
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from crmkit.graphql import build_schema, federation_sdl

ROOT = Path(__file__).resolve().parents[3]


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Member:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Deal:
    id: strawberry.ID
    owner: Member
    owners: list[Member]


@strawberry.type
class Query:
    @strawberry.field
    def deals(self) -> list[Deal]:
        return []

    @strawberry.field
    def count(self) -> int:
        return 0


def test_the_kit_makes_root_fields_and_references_nullable() -> None:
    sdl = federation_sdl(build_schema(query=Query))
    assert "  deals: [Deal!]\n" in sdl
    assert "  count: Int\n" in sdl
    assert "  owner: Member\n" in sdl
    assert "  _service: _Service!\n" in sdl  # federation's own stay as they are
    assert "  id: ID!\n" in sdl


def test_no_root_query_field_of_the_supergraph_is_non_null() -> None:
    text = (ROOT / "gateway" / "supergraph.graphql").read_text()
    query = text[text.index("type Query"):]
    query = query[: query.index("\n}")]
    fields = [line.strip() for line in query.splitlines()[1:]
              if ":" in line and not line.strip().startswith(('"', "_"))]
    assert fields
    non_null = [f for f in fields if f.split("@")[0].rstrip().endswith("!")]
    assert non_null == []


def test_no_subgraph_holds_a_non_null_reference() -> None:
    for path in sorted((ROOT / "services").glob("*/schema.graphql")):
        schema = build_sdl(_without_federation(path.read_text()))
        query = schema.query_type
        assert query is not None
        for name, field in query.fields.items():
            if not name.startswith("_"):
                assert not isinstance(field.type, GraphQLNonNull), f"{path}: Query.{name}"


def _without_federation(sdl: str) -> str:
    """The SDL without its federation directives and link (plain graphql-core reads it)."""
    import re

    sdl = re.sub(r"schema @link\([^)]*\)\s*\{[^}]*\}", "", sdl, flags=re.S)
    sdl = re.sub(r"@\w+(\([^)]*\))?", "", sdl)
    return sdl
