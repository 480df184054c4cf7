"""A subgraph's refusal of a whole request is reported once, not followed by the shaper's
"Cannot return null" for the field it left null (a Decimal input error used to show both)."""

from __future__ import annotations

from gateway.engine import merge_errors

NULL = {"message": "Cannot return null for non-nullable field Mutation.createOpportunity.",
        "path": ["createOpportunity"]}
REFUSED = {"message": "Variable '$amount' got invalid value '10.0.0'; Decimal expected",
           "extensions": {"code": "BAD_USER_INPUT", "serviceName": "pipeline"}}
PLACED = {"message": "opportunity not found", "path": ["opportunity"],
          "extensions": {"serviceName": "pipeline"}}


def test_a_subgraph_request_refused_as_a_whole_is_one_error() -> None:
    assert merge_errors([NULL], [REFUSED]) == [REFUSED]


def test_a_null_a_subgraph_did_not_explain_is_still_reported() -> None:
    assert merge_errors([NULL], [PLACED]) == [NULL, PLACED]
    assert merge_errors([NULL], []) == [NULL]
