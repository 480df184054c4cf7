"""Offers with numbers, states and revisions (each with its file and merge data); the local
read models of deals, clients, contact people and members an offer's merge data needs.

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column('offers', 'issued_by', nullable=True)
    op.alter_column('offers', 'issued_at', nullable=True, server_default=None)
    op.add_column('offers', sa.Column('number', sa.String(length=60)))
    op.add_column('offers', sa.Column('status', sa.String(length=10),
                                      server_default=sa.text("'ISSUED'"), nullable=False))
    op.add_column('offers', sa.Column('revision', sa.Integer(), server_default=sa.text('1'),
                                      nullable=False))
    op.add_column('offers', sa.Column('valid_until', sa.Date()))
    op.add_column('offers', sa.Column('created_by', sa.Uuid()))
    op.add_column('offers', sa.Column('created_at', sa.DateTime(timezone=True)))
    op.add_column('offers', sa.Column('decided_by', sa.Uuid()))
    op.add_column('offers', sa.Column('decided_at', sa.DateTime(timezone=True)))
    op.add_column('offers', sa.Column('decision_note', sa.Text(), server_default=sa.text("''"),
                                      nullable=False))
    op.add_column('offers', sa.Column('search_text', sa.Text(), server_default=sa.text("''"),
                                      nullable=False))
    op.execute("UPDATE offers SET created_by = issued_by, created_at = issued_at")
    op.create_check_constraint(
        op.f('ck_offers_status'), 'offers',
        "status IN ('DRAFT', 'ISSUED', 'ACCEPTED', 'REJECTED', 'EXPIRED')")
    op.create_index('uq_offers_org_number', 'offers', ['org_id', 'number'], unique=True)
    op.create_index('ix_offers_issued_until', 'offers', ['valid_until'],
                    postgresql_where=sa.text("status = 'ISSUED'"))
    op.create_table('offer_revisions',
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('file', sa.LargeBinary(), nullable=False),
    sa.Column('media_type', sa.String(length=130), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('merge_data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('amount', sa.Numeric(precision=17, scale=2)),
    sa.Column('currency', sa.String(length=3)),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'],
                            name=op.f('fk_offer_revisions_offer_id_offers')),
    sa.PrimaryKeyConstraint('offer_id', 'number', name=op.f('pk_offer_revisions'))
    )
    op.create_table('offer_numbers',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'period', name=op.f('pk_offer_numbers'))
    )
    for name, column in (
        ('name', sa.String(length=200)), ('amount', sa.Numeric(precision=17, scale=2)),
        ('currency', sa.String(length=3)), ('expected_close_date', sa.Date()),
        ('stage_name', sa.String(length=100)), ('status', sa.String(length=10)),
        ('account_id', sa.Uuid()), ('close_reason', sa.String(length=200)),
        ('close_comment', sa.Text()), ('lessons_learned', sa.Text()),
        ('closed_at', sa.DateTime(timezone=True)),
    ):
        op.add_column('opportunity_access', sa.Column(name, column))
    op.add_column('opportunity_access', sa.Column('search_text', sa.Text(),
                                                  server_default=sa.text("''"), nullable=False))
    op.create_table('accounts',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('nip', sa.String(length=20)),
    sa.Column('address', sa.Text()),
    sa.Column('aggregate_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'account_id', name=op.f('pk_accounts'))
    )
    op.create_table('contacts',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254)),
    sa.Column('phone', sa.String(length=20)),
    sa.Column('position', sa.String(length=200)),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'contact_id', name=op.f('pk_contacts'))
    )
    op.create_index('ix_contacts_org_account', 'contacts', ['org_id', 'account_id', 'created_at'])
    op.create_table('members',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('member_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('org_id', 'member_id', name=op.f('pk_members'))
    )


def downgrade() -> None:
    op.drop_table('members')
    op.drop_index('ix_contacts_org_account', table_name='contacts')
    op.drop_table('contacts')
    op.drop_table('accounts')
    for name in ('search_text', 'closed_at', 'lessons_learned', 'close_comment', 'close_reason', 'account_id',
                 'status', 'stage_name', 'expected_close_date', 'currency', 'amount', 'name'):
        op.drop_column('opportunity_access', name)
    op.drop_table('offer_numbers')
    op.drop_table('offer_revisions')
    op.drop_index('ix_offers_issued_until', table_name='offers')
    op.drop_index('uq_offers_org_number', table_name='offers')
    op.drop_constraint(op.f('ck_offers_status'), 'offers')
    op.execute("DELETE FROM offers WHERE issued_at IS NULL")
    for name in ('search_text', 'decision_note', 'decided_at', 'decided_by', 'created_at',
                 'created_by', 'valid_until', 'revision', 'status', 'number'):
        op.drop_column('offers', name)
    op.alter_column('offers', 'issued_at', nullable=False, server_default=sa.text('now()'))
    op.alter_column('offers', 'issued_by', nullable=False)
