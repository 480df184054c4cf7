"""Entities of the leads service this subgraph points at (resolved there)."""

from __future__ import annotations

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Account:
    """A client of the leads service, resolved there."""

    id: strawberry.ID


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Member:
    """A member of the sales roster, resolved by the leads service."""

    id: strawberry.ID
