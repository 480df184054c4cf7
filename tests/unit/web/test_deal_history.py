"""The deal page's history: stage changes and handovers in one list, oldest first, each with
the names it shows."""

from __future__ import annotations

from web.routes.deals import history_rows


def test_stage_changes_and_handovers_are_one_list_oldest_first() -> None:
    deal = {
        "pipeline": {"stages": [{"id": "s1", "name": "Identification"},
                                {"id": "s2", "name": "Qualification"}]},
        "history": [
            {"fromStageId": "s1", "toStageId": "s2", "changedAt": "2026-12-07T10:00:01+00:00",
             "changedBy": {"name": "Rita"}, "secondsInPreviousStage": 60},
            {"fromStageId": "s2", "toStageId": "gone", "changedAt": "2026-12-07T11:00:00Z",
             "changedBy": None, "secondsInPreviousStage": 5},
        ],
        "handovers": [
            # A fraction of a second, and a time in another offset (10:30 UTC): in time order.
            {"previousOwner": {"name": "Rita"}, "newOwner": {"name": "Rob"},
             "changedAt": "2026-12-07T10:00:00.500000+00:00", "changedBy": {"name": "Max"}},
            {"previousOwner": None, "newOwner": {"name": "Ada"},
             "changedAt": "2026-12-07T11:30:00+01:00", "changedBy": {"name": "Max"}},
        ],
    }
    rows = history_rows(deal)
    assert [(r["kind"], r["from"], r["to"]) for r in rows] == [
        ("owner", "Rita", "Rob"),
        ("stage", "Identification", "Qualification"),
        ("owner", "?", "Ada"),
        ("stage", "Qualification", "?"),
    ]
