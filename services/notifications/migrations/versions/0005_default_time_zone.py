"""A member who chose no time zone has the kit's default (Europe/Warsaw), as on the dashboard.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("member_preferences", "time_zone", server_default="Europe/Warsaw")


def downgrade() -> None:
    op.alter_column("member_preferences", "time_zone", server_default="UTC")
