"""The documents subgraph, one module per business concept (the library's :mod:`.folders`,
:mod:`.documents` and :mod:`.files` with its operations in :mod:`.library`; :mod:`.offers`;
:mod:`.settings`), merged into one schema."""

from __future__ import annotations

from strawberry.federation import Schema
from strawberry.tools import merge_types

from crmkit.graphql import build_schema
from services.documents.schema.context import DocumentsState
from services.documents.schema.library import LibraryMutation, LibraryQuery
from services.documents.schema.offers import OffersMutation, OffersQuery, Opportunity
from services.documents.schema.settings import SettingsMutation, SettingsQuery

__all__ = ["DocumentsState", "create_schema"]


def create_schema() -> Schema:
    return build_schema(
        query=merge_types("Query", (LibraryQuery, OffersQuery, SettingsQuery)),
        mutation=merge_types("Mutation", (LibraryMutation, OffersMutation, SettingsMutation)),
        types=[Opportunity],
    )
