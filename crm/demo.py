"""The demo organisation: fixed ids so tokens printed once keep working across restarts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from crmkit.auth import mint_dev_token

_NS = uuid.UUID("5b1f4c0e-2f5e-4d55-9a8e-6f1d0c3b7a10")

DEMO_ORG = uuid.uuid5(_NS, "org:demo")


@dataclass(frozen=True)
class DemoMember:
    key: str
    name: str
    role: str
    team: str | None
    groups: tuple[str, ...]

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(_NS, f"member:{self.key}")

    def token(self, secret: str) -> str:
        return mint_dev_token(
            secret=secret,
            member_id=self.id,
            org_id=DEMO_ORG,
            roles=[self.role],
            team=self.team,
            groups=self.groups,
            name=self.name,
            ttl_seconds=365 * 24 * 3600,
        )


DEMO_MEMBERS = (
    DemoMember("admin", "Ada Admin", "admin", None, ("management", "sales", "legal")),
    DemoMember("manager", "Max Manager", "manager", "north", ("sales",)),
    DemoMember("rep1", "Rita Rep", "rep", "north", ("sales",)),
    DemoMember("rep2", "Rob Rep", "rep", "north", ("sales",)),
)
