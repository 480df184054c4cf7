"""funnel totals at owner, team and org level, by month and by day; deltas keep the day

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:10:00

"""
from typing import Any, Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NO_OWNER = "'00000000-0000-0000-0000-000000000000'::uuid"
COUNTERS = "sum(count), sum(amount), sum(weighted), sum(reached)"

# Every opportunity's contribution (as the projection computes it), at the three levels.
LEVELED = f"""
WITH contributions AS (
    SELECT org_id, pipeline_id, stage_id, status, owner_id, team, currency,
           expected_close_date AS close_date, 1 AS count, amount,
           amount * probability / 100 AS weighted, 0 AS reached
    FROM reporting.opportunities
    WHERE (stage_kind = 'open' AND status = 'open') OR (stage_kind <> 'open' AND status <> 'open')
    UNION ALL
    SELECT org_id, pipeline_id, furthest_stage_id, status, owner_id, team, currency,
           expected_close_date, 0, 0, 0, 1
    FROM reporting.opportunities WHERE furthest_stage_id IS NOT NULL
), leveled AS (
    SELECT org_id, pipeline_id, 0 AS level, owner_id, team, stage_id, status, currency,
           close_date, count, amount, weighted, reached FROM contributions
    UNION ALL
    SELECT org_id, pipeline_id, 1, {NO_OWNER}, team, stage_id, status, currency,
           close_date, count, amount, weighted, reached FROM contributions
    UNION ALL
    SELECT org_id, pipeline_id, 2, {NO_OWNER}, NULL, stage_id, status, currency,
           close_date, count, amount, weighted, reached FROM contributions
)
"""


def _counters() -> list[sa.Column[Any]]:
    return [
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column('weighted', sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column('reached', sa.BigInteger(), nullable=False),
    ]


def _create_deltas(close_column: str) -> None:
    """The deltas table, keyed by close day (this revision) or month (the one before)."""
    op.create_table('funnel_deltas',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('stage_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column(close_column, sa.Date(), nullable=True),
    *_counters(),
    sa.PrimaryKeyConstraint('id'),
    schema='reporting'
    )
    op.create_index('ix_funnel_deltas_pipeline', 'funnel_deltas', ['org_id', 'pipeline_id'],
                    unique=False, schema='reporting')


def upgrade() -> None:
    """The aggregate is recomputed from the opportunity rows (the deltas pending at this
    moment are already in those rows)."""
    op.drop_table('funnel_totals', schema='reporting')
    op.drop_table('funnel_deltas', schema='reporting')
    op.create_table('funnel_totals',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('stage_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('close_month', sa.Date(), nullable=True),
    *_counters(),
    schema='reporting'
    )
    op.create_index('ux_funnel_totals_key', 'funnel_totals',
                    ['org_id', 'pipeline_id', 'level', 'owner_id', 'stage_id', 'status', 'team',
                     'currency', 'close_month'],
                    unique=True, schema='reporting', postgresql_nulls_not_distinct=True)
    op.create_index('ix_funnel_totals_team', 'funnel_totals',
                    ['org_id', 'pipeline_id', 'level', 'team'], unique=False, schema='reporting')
    op.create_table('funnel_day_totals',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('close_date', sa.Date(), nullable=True),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('stage_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    *_counters(),
    schema='reporting'
    )
    op.create_index('ux_funnel_day_totals_key', 'funnel_day_totals',
                    ['org_id', 'pipeline_id', 'level', 'owner_id', 'close_date', 'team',
                     'stage_id', 'status', 'currency'],
                    unique=True, schema='reporting', postgresql_nulls_not_distinct=True)
    _create_deltas('close_date')
    keys = "org_id, pipeline_id, level, owner_id, stage_id, status, team, currency"
    op.execute(
        f"{LEVELED} INSERT INTO reporting.funnel_totals ({keys}, close_month, count, amount, "
        f"weighted, reached) SELECT {keys}, date_trunc('month', close_date)::date, {COUNTERS} "
        f"FROM leveled GROUP BY {keys}, date_trunc('month', close_date)::date"
    )
    op.execute(
        f"{LEVELED} INSERT INTO reporting.funnel_day_totals ({keys}, close_date, count, amount, "
        f"weighted, reached) SELECT {keys}, close_date, {COUNTERS} "
        f"FROM leveled GROUP BY {keys}, close_date"
    )


def downgrade() -> None:
    """Back to owner-level month totals only, recomputed the same way."""
    op.drop_table('funnel_day_totals', schema='reporting')
    op.drop_table('funnel_deltas', schema='reporting')
    op.execute("DELETE FROM reporting.funnel_totals WHERE level <> 0")
    op.drop_index('ix_funnel_totals_team', table_name='funnel_totals', schema='reporting')
    op.drop_index('ux_funnel_totals_key', table_name='funnel_totals', schema='reporting')
    op.drop_column('funnel_totals', 'level', schema='reporting')
    op.create_index('ux_funnel_totals_key', 'funnel_totals',
                    ['org_id', 'pipeline_id', 'owner_id', 'stage_id', 'status', 'team',
                     'currency', 'close_month'],
                    unique=True, schema='reporting', postgresql_nulls_not_distinct=True)
    op.create_index('ix_funnel_totals_team', 'funnel_totals', ['org_id', 'pipeline_id', 'team'],
                    unique=False, schema='reporting')
    op.create_index('ix_funnel_totals_month', 'funnel_totals', ['org_id', 'close_month'],
                    unique=False, schema='reporting')
    _create_deltas('close_month')
