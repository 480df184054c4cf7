"""A notification for a member a deal was handed to.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_KINDS = ("kind IN ('ACTIVITY_DUE', 'ACTIVITY_OVERDUE', 'LEAD_ASSIGNED', 'NO_NEXT_CONTACT', "
             "'OFFER_ACCEPTED', 'OFFER_REJECTED', 'WEBHOOK_DISABLED')")
NEW_KINDS = ("kind IN ('ACTIVITY_DUE', 'ACTIVITY_OVERDUE', 'LEAD_ASSIGNED', 'NO_NEXT_CONTACT', "
             "'OFFER_ACCEPTED', 'OFFER_REJECTED', 'WEBHOOK_DISABLED', 'DEAL_ASSIGNED')")


def upgrade() -> None:
    op.drop_constraint(op.f('ck_notifications_kind'), 'notifications', type_='check')
    op.create_check_constraint(op.f('ck_notifications_kind'), 'notifications', NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'DEAL_ASSIGNED'")
    op.drop_constraint(op.f('ck_notifications_kind'), 'notifications', type_='check')
    op.create_check_constraint(op.f('ck_notifications_kind'), 'notifications', OLD_KINDS)
