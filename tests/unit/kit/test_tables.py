"""Columns every service's tables share (``crmkit.tables``)."""

from __future__ import annotations

from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from crmkit.tables import key, string_list


def test_a_string_list_is_a_bounded_text_array_empty_unless_given() -> None:
    table = Table("things", MetaData(), key(), string_list("labels", 40))

    ddl = str(CreateTable(table).compile(dialect=postgresql.dialect()))

    assert "labels VARCHAR(40)[] DEFAULT '{}' NOT NULL" in ddl
