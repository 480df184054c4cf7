"""The outbox's envelope column is json, not jsonb (ADR 0006).

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

from crmkit.migrations import outbox_envelope_as_json, outbox_envelope_as_jsonb

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_envelope_as_json()


def downgrade() -> None:
    outbox_envelope_as_jsonb()
