"""funnel totals kept at owner, team and org level

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COUNTERS = "sum(count), sum(amount), sum(weighted), sum(reached)"
_KEY = "org_id, pipeline_id, level, owner_id, stage_id, status, team, currency, close_month"


def upgrade() -> None:
    """The existing totals become the owner level; the team and org levels are summed from
    them."""
    op.add_column('funnel_totals', sa.Column('level', sa.SmallInteger(), nullable=False,
                                             server_default='0'), schema='reporting')
    op.alter_column('funnel_totals', 'level', server_default=None, schema='reporting')
    op.drop_index('ux_funnel_totals_key', table_name='funnel_totals', schema='reporting')
    op.drop_index('ix_funnel_totals_team', table_name='funnel_totals', schema='reporting')
    op.drop_index('ix_funnel_totals_month', table_name='funnel_totals', schema='reporting')
    op.create_index('ux_funnel_totals_key', 'funnel_totals',
                    ['org_id', 'pipeline_id', 'level', 'owner_id', 'stage_id', 'status', 'team',
                     'currency', 'close_month'],
                    unique=True, schema='reporting', postgresql_nulls_not_distinct=True)
    op.create_index('ix_funnel_totals_team', 'funnel_totals',
                    ['org_id', 'pipeline_id', 'level', 'team'], unique=False, schema='reporting')
    for level, team, grouped in ((1, "team", ", team"), (2, "NULL", "")):
        op.execute(
            f"INSERT INTO reporting.funnel_totals ({_KEY}, count, amount, weighted, reached) "
            f"SELECT org_id, pipeline_id, {level}, '00000000-0000-0000-0000-000000000000', "
            f"stage_id, status, {team}, currency, close_month, {_COUNTERS} "
            f"FROM reporting.funnel_totals WHERE level = 0 "
            f"GROUP BY org_id, pipeline_id, stage_id, status{grouped}, currency, close_month"
        )


def downgrade() -> None:
    op.execute("DELETE FROM reporting.funnel_totals WHERE level <> 0")
    op.drop_index('ix_funnel_totals_team', table_name='funnel_totals', schema='reporting')
    op.drop_index('ux_funnel_totals_key', table_name='funnel_totals', schema='reporting')
    op.create_index('ux_funnel_totals_key', 'funnel_totals',
                    ['org_id', 'pipeline_id', 'owner_id', 'stage_id', 'status', 'team',
                     'currency', 'close_month'],
                    unique=True, schema='reporting', postgresql_nulls_not_distinct=True)
    op.create_index('ix_funnel_totals_team', 'funnel_totals', ['org_id', 'pipeline_id', 'team'],
                    unique=False, schema='reporting')
    op.create_index('ix_funnel_totals_month', 'funnel_totals', ['org_id', 'close_month'],
                    unique=False, schema='reporting')
    op.drop_column('funnel_totals', 'level', schema='reporting')
