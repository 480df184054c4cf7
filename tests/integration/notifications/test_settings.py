"""A member's notification settings: defaults, changes, refusals that change nothing."""

from __future__ import annotations

import uuid

from crmkit.testing.plugin import Org

from .conftest import SETTINGS, UPDATE_SETTINGS, Notifications


async def test_defaults_then_a_change_then_a_refusal(api: Notifications, org: Org) -> None:
    token = org.token(member_id=uuid.uuid4())
    settings = (await api.data(token, SETTINGS))["myNotificationSettings"]
    assert settings["leadMinutes"] == 15
    assert (settings["email"], settings["language"]) == (None, "en")
    assert settings["timeZone"] == "Europe/Warsaw"  # the dashboard's "today", unless chosen
    assert settings["digestHour"] == 7
    assert all(c["inApp"] and c["email"] for c in settings["channels"])
    assert len(settings["channels"]) == 8  # every kind

    changed = (await api.data(token, UPDATE_SETTINGS, input={
        "email": "anna@example.com", "language": "pl", "timeZone": "Europe/Warsaw",
        "digestHour": 8, "leadMinutes": 30,
        "channels": [{"kind": "LEAD_ASSIGNED", "inApp": True, "email": False}],
    }))["updateMyNotificationSettings"]
    assert changed["__typename"] == "UpdateMyNotificationSettingsPayload"
    saved = changed["settings"]
    assert (saved["email"], saved["language"], saved["timeZone"]) == (
        "anna@example.com", "pl", "Europe/Warsaw"
    )
    assert (saved["digestHour"], saved["leadMinutes"], saved["version"]) == (8, 30, 1)
    lead = next(c for c in saved["channels"] if c["kind"] == "LEAD_ASSIGNED")
    assert (lead["inApp"], lead["email"]) == (True, False)

    refused = (await api.data(token, UPDATE_SETTINGS, input={
        "email": "not an address", "language": "de", "timeZone": "Mars/Olympus",
        "digestHour": 24, "leadMinutes": -1,
    }))["updateMyNotificationSettings"]
    assert refused["__typename"] == "ValidationError"
    assert {tuple(f["path"]) for f in refused["fields"]} == {
        ("email",), ("language",), ("timeZone",), ("digestHour",), ("leadMinutes",)
    }
    assert (await api.data(token, SETTINGS))["myNotificationSettings"] == {
        k: v for k, v in saved.items()
    }

    cleared = (await api.data(token, UPDATE_SETTINGS, input={"email": None, "digestHour": None}))
    settings = cleared["updateMyNotificationSettings"]["settings"]
    assert (settings["email"], settings["digestHour"], settings["language"]) == (None, None, "pl")


async def test_settings_are_the_callers_own(api: Notifications, org: Org, other_org: Org) -> None:
    member = uuid.uuid4()
    await api.data(org.token(member_id=member), UPDATE_SETTINGS, input={"leadMinutes": 45})
    theirs = (await api.data(other_org.token(member_id=member), SETTINGS))
    assert theirs["myNotificationSettings"]["leadMinutes"] == 15
    someone = (await api.data(org.token(member_id=uuid.uuid4()), SETTINGS))
    assert someone["myNotificationSettings"]["leadMinutes"] == 15


async def test_no_token_is_refused(api: Notifications) -> None:
    response = await api.client.http.post("/graphql", json={"query": SETTINGS})
    assert response.status_code == 401
