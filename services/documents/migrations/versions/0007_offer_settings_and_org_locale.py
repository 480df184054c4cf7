"""The org's offer settings (validity period) and its locale, projected from the pipeline.

Revision ID: 0007
Revises: 0006

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('organization_locales',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_organization_locales'))
    )
    op.create_table('offer_settings',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.CheckConstraint('validity_days BETWEEN 1 AND 365',
                       name=op.f('ck_offer_settings_validity_days_range')),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_offer_settings'))
    )


def downgrade() -> None:
    op.drop_table('offer_settings')
    op.drop_table('organization_locales')
