"""Initial schema of the pipeline service.

Revision ID: 0001
Revises: 

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram index on opportunity names serves the text filter.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id', name=op.f('pk_inbox'))
    )
    op.create_table('issued_offers',
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('opportunity_id', sa.Uuid(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('offer_id', name=op.f('pk_issued_offers'))
    )
    op.create_index('ix_issued_offers_opportunity', 'issued_offers', ['org_id', 'opportunity_id', 'issued_at'], unique=False)
    op.create_table('lost_reasons',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lost_reasons'))
    )
    op.create_index('ix_lost_reasons_org', 'lost_reasons', ['org_id', 'position'], unique=False)
    op.create_table('org_settings',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('locale', sa.String(length=8), server_default='en', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_org_settings'))
    )
    op.create_table('outbox',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('aggregate_id', sa.Uuid(), nullable=False),
    sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_id'))
    )
    op.create_index('ix_outbox_unsent', 'outbox', ['seq'], unique=False, postgresql_where=sa.text('sent_at IS NULL'))
    op.create_index('ix_outbox_unsent_aggregate', 'outbox', ['aggregate_id', 'seq'], unique=False, postgresql_where=sa.text('sent_at IS NULL'))
    op.create_table('pipelines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipelines'))
    )
    op.create_index('ix_pipelines_org', 'pipelines', ['org_id', 'created_at'], unique=False)
    op.create_index('uq_pipelines_org_default', 'pipelines', ['org_id'], unique=True, postgresql_where=sa.text('is_default'))
    op.create_table('stages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('rotting_days', sa.Integer(), nullable=True),
    sa.Column('requirements', postgresql.ARRAY(sa.String(length=40)), server_default=sa.text("'{}'"), nullable=False),
    sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f('ck_stages_kind')),
    sa.CheckConstraint('probability BETWEEN 0 AND 100', name=op.f('ck_stages_probability')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_stages_pipeline_id_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stages'))
    )
    op.create_index('ix_stages_org_pipeline', 'stages', ['org_id', 'pipeline_id', 'position'], unique=False)
    op.create_table('opportunities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=17, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('stage_id', sa.Uuid(), nullable=False),
    sa.Column('last_open_stage_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=True),
    sa.Column('pain_points', sa.Text(), nullable=True),
    sa.Column('budget_amount', sa.Numeric(precision=17, scale=2), nullable=True),
    sa.Column('budget_currency', sa.String(length=3), nullable=True),
    sa.Column('decision_makers', sa.Text(), nullable=True),
    sa.Column('customer_preferences', sa.Text(), nullable=True),
    sa.Column('offer_requirements', sa.Text(), nullable=True),
    sa.Column('negotiation_price', sa.Text(), nullable=True),
    sa.Column('negotiation_terms', sa.Text(), nullable=True),
    sa.Column('negotiation_delivery', sa.Text(), nullable=True),
    sa.Column('negotiation_contract', sa.Text(), nullable=True),
    sa.Column('close_reason_id', sa.Uuid(), nullable=True),
    sa.Column('close_comment', sa.Text(), nullable=True),
    sa.Column('lessons_learned', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_made_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offer_issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('stage_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f('ck_opportunities_status')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_opportunities_amount')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.id'], name=op.f('fk_opportunities_pipeline_id_pipelines')),
    sa.ForeignKeyConstraint(['stage_id'], ['stages.id'], name=op.f('fk_opportunities_stage_id_stages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    op.create_index('ix_opportunities_name_trgm', 'opportunities', ['name'], unique=False, postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.create_index('ix_opportunities_no_next_contact', 'opportunities', ['org_id', 'created_at', 'id'], unique=False, postgresql_where=sa.text("status = 'open' AND next_contact_at IS NULL"))
    op.create_index('ix_opportunities_org_close_date', 'opportunities', ['org_id', 'expected_close_date'], unique=False)
    op.create_index('ix_opportunities_org_created', 'opportunities', ['org_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_org_owner_created', 'opportunities', ['org_id', 'owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_org_stage_created', 'opportunities', ['org_id', 'stage_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_org_stage_entered', 'opportunities', ['org_id', 'stage_id', 'stage_entered_at'], unique=False)
    op.create_index('ix_opportunities_org_status_created', 'opportunities', ['org_id', 'status', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_org_team_created', 'opportunities', ['org_id', 'team', 'created_at', 'id'], unique=False)
    op.create_table('activities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('opportunity_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('overdue_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('call', 'email', 'meeting', 'task')", name=op.f('ck_activities_kind')),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f('ck_activities_status')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_activities_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    op.create_index('ix_activities_opportunity_open', 'activities', ['opportunity_id', 'due_at'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_activities_org_due', 'activities', ['org_id', 'due_at', 'id'], unique=False)
    op.create_index('ix_activities_org_owner_due', 'activities', ['org_id', 'owner_id', 'due_at', 'id'], unique=False)
    op.create_index('ix_activities_overdue_pending', 'activities', ['due_at'], unique=False, postgresql_where=sa.text("status = 'open' AND overdue_notified_at IS NULL"))
    op.create_table('stage_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('opportunity_id', sa.Uuid(), nullable=False),
    sa.Column('from_stage_id', sa.Uuid(), nullable=False),
    sa.Column('to_stage_id', sa.Uuid(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.Uuid(), nullable=True),
    sa.Column('seconds_in_previous_stage', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_stage_history_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_history'))
    )
    op.create_index('ix_stage_history_opportunity', 'stage_history', ['opportunity_id', 'changed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stage_history_opportunity', table_name='stage_history')
    op.drop_table('stage_history')
    op.drop_index('ix_activities_overdue_pending', table_name='activities', postgresql_where=sa.text("status = 'open' AND overdue_notified_at IS NULL"))
    op.drop_index('ix_activities_org_owner_due', table_name='activities')
    op.drop_index('ix_activities_org_due', table_name='activities')
    op.drop_index('ix_activities_opportunity_open', table_name='activities', postgresql_where=sa.text("status = 'open'"))
    op.drop_table('activities')
    op.drop_index('ix_opportunities_org_team_created', table_name='opportunities')
    op.drop_index('ix_opportunities_org_status_created', table_name='opportunities')
    op.drop_index('ix_opportunities_org_stage_entered', table_name='opportunities')
    op.drop_index('ix_opportunities_org_stage_created', table_name='opportunities')
    op.drop_index('ix_opportunities_org_owner_created', table_name='opportunities')
    op.drop_index('ix_opportunities_org_created', table_name='opportunities')
    op.drop_index('ix_opportunities_org_close_date', table_name='opportunities')
    op.drop_index('ix_opportunities_no_next_contact', table_name='opportunities', postgresql_where=sa.text("status = 'open' AND next_contact_at IS NULL"))
    op.drop_index('ix_opportunities_name_trgm', table_name='opportunities', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.drop_table('opportunities')
    op.drop_index('ix_stages_org_pipeline', table_name='stages')
    op.drop_table('stages')
    op.drop_index('uq_pipelines_org_default', table_name='pipelines', postgresql_where=sa.text('is_default'))
    op.drop_index('ix_pipelines_org', table_name='pipelines')
    op.drop_table('pipelines')
    op.drop_index('ix_outbox_unsent_aggregate', table_name='outbox', postgresql_where=sa.text('sent_at IS NULL'))
    op.drop_index('ix_outbox_unsent', table_name='outbox', postgresql_where=sa.text('sent_at IS NULL'))
    op.drop_table('outbox')
    op.drop_table('org_settings')
    op.drop_index('ix_lost_reasons_org', table_name='lost_reasons')
    op.drop_table('lost_reasons')
    op.drop_index('ix_issued_offers_opportunity', table_name='issued_offers')
    op.drop_table('issued_offers')
    op.drop_table('inbox')
