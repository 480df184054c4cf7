"""Values built from the same-named attributes of another (``crmkit.rows``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from crmkit.contracts import Event
from crmkit.rows import build, field_names, from_columns, values_of


@dataclass(frozen=True)
class Deal:
    id: int
    name: str
    note: str = ""
    tags: tuple[str, ...] = ()
    derived: int = field(default=0, init=False)


class DealSeen(Event):
    # No TYPE: the registry of real event types stays as it is.
    deal_id: int
    name: str
    note: str = ""


def test_field_names_are_a_dataclass_s_init_fields_or_a_model_s_fields() -> None:
    assert field_names(Deal) == ("id", "name", "note", "tags")
    assert field_names(DealSeen) == ("deal_id", "name", "note")
    with pytest.raises(TypeError, match="neither a dataclass nor a pydantic model"):
        field_names(SimpleNamespace)


def test_build_takes_each_field_from_what_is_given_else_from_the_source() -> None:
    row = SimpleNamespace(id=7, name="Orion", note="first", tags=["a"], extra="ignored")
    assert build(Deal, row, tags=("a",)) == Deal(id=7, name="Orion", note="first", tags=("a",))
    deal = Deal(id=7, name="Orion")
    assert build(DealSeen, deal, deal_id=deal.id) == DealSeen(deal_id=7, name="Orion", note="")


def test_a_field_found_nowhere_is_an_error_naming_it_never_its_default() -> None:
    with pytest.raises(TypeError, match="Deal: SimpleNamespace has no note, tags"):
        build(Deal, SimpleNamespace(id=1, name="x"))


def test_a_given_value_that_is_no_field_is_an_error() -> None:
    with pytest.raises(TypeError, match="DealSeen has no field colour"):
        build(DealSeen, Deal(id=1, name="x"), deal_id=1, colour="red")


def test_values_of_is_the_record_by_name_but_what_is_left_out_with_what_is_given() -> None:
    deal = Deal(id=3, name="Orion", tags=("a",))
    assert values_of(deal) == {"id": 3, "name": "Orion", "note": "", "tags": ("a",)}
    assert values_of(deal, omit=("id", "tags"), note="n", org=9) == {
        "name": "Orion", "note": "n", "org": 9}


def test_from_columns_reads_a_row_by_column_name_with_the_same_rules() -> None:
    record = {"id": 7, "name": "Orion", "note": "", "tags": ("a",), "org_id": 9}
    assert from_columns(Deal, record, note="n") == Deal(id=7, name="Orion", note="n",
                                                         tags=("a",))
    with pytest.raises(TypeError, match="Deal: the row has no note, tags"):
        from_columns(Deal, {"id": 1, "name": "x"})
    with pytest.raises(TypeError, match="Deal has no field colour"):
        from_columns(Deal, record, colour="red")
