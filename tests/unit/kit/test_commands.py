"""A command is a frozen dataclass with the caller first, without saying so."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from crmkit.auth import Caller, Role
from crmkit.commands import ById, Command, must_exist, require_admin, require_manager
from crmkit.errors import ForbiddenError, NotFoundError

CALLER = Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=frozenset({Role.REP}))


class RenameThing(Command):
    thing_id: uuid.UUID
    name: str | None = None


def test_a_command_is_a_frozen_dataclass_with_the_caller_first() -> None:
    thing = uuid.uuid4()
    cmd = RenameThing(CALLER, thing, name="new")
    assert [f.name for f in dataclasses.fields(cmd)] == ["caller", "thing_id", "name"]
    assert cmd == RenameThing(caller=CALLER, thing_id=thing, name="new")
    assert hash(cmd) == hash(RenameThing(CALLER, thing, "new"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cmd.name = "other"  # type: ignore[misc]
    assert dataclasses.replace(cmd, name=None).name is None


def test_by_id_carries_the_ids() -> None:
    ids = [uuid.uuid4(), uuid.uuid4()]
    query = ById(CALLER, ids)
    assert query.caller is CALLER and list(query.ids) == ids


def test_the_shared_refusals() -> None:
    admin = Caller(member_id=uuid.uuid4(), org_id=CALLER.org_id, roles=frozenset({Role.ADMIN}))
    manager = Caller(member_id=uuid.uuid4(), org_id=CALLER.org_id,
                     roles=frozenset({Role.MANAGER}))
    require_admin(admin, "only an admin")
    require_manager(manager, "only a manager")
    require_manager(admin, "only a manager")
    with pytest.raises(ForbiddenError, match="only an admin"):
        require_admin(manager, "only an admin")
    with pytest.raises(ForbiddenError, match="only a manager"):
        require_manager(CALLER, "only a manager")
    thing = uuid.uuid4()
    assert must_exist("there", "Thing", thing) == "there"
    with pytest.raises(NotFoundError) as missing:
        must_exist(None, "Thing", thing)
    assert (missing.value.entity, missing.value.entity_id) == ("Thing", str(thing))
