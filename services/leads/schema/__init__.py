"""The leads subgraph, one module per business concept (:mod:`.roster`, :mod:`.leads`,
:mod:`.pool`, :mod:`.clients`, :mod:`.imports`; the entities in :mod:`.types`), merged into
one schema."""

from __future__ import annotations

from strawberry.federation import Schema
from strawberry.tools import merge_types

from crmkit.graphql import build_schema
from services.leads.schema.clients import ClientsMutation, ClientsQuery
from services.leads.schema.context import LeadsState
from services.leads.schema.imports import ImportMutation
from services.leads.schema.leads import LeadsMutation, LeadsQuery
from services.leads.schema.pool import PoolMutation
from services.leads.schema.roster import RosterMutation, RosterQuery, SettingsQuery
from services.leads.schema.types import Account, Contact, Lead, Member

__all__ = ["LeadsState", "create_schema"]


def create_schema() -> Schema:
    # Field order is the order of these types (the committed SDL follows it).
    return build_schema(
        query=merge_types("Query", (RosterQuery, LeadsQuery, ClientsQuery, SettingsQuery)),
        mutation=merge_types("Mutation", (LeadsMutation, PoolMutation, ClientsMutation,
                                          RosterMutation, ImportMutation)),
        types=[Member, Account, Contact, Lead],
    )
