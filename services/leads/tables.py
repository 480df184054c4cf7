"""Tables of the leads database (``crm_leads``)."""

from __future__ import annotations

import sqlalchemy as sa

from crmkit.tables import org_id, org_table, row_version, service_metadata, team, timestamps

metadata, outbox, inbox = service_metadata(named_constraints=False)


org_settings = sa.Table(
    "org_settings",
    metadata,
    org_id(primary_key=True),
    sa.Column("default_region", sa.String(2), nullable=False, server_default="PL"),
    sa.Column("default_lead_cap", sa.Integer),
    # Idle return is off while NULL.
    sa.Column("idle_return_days", sa.Integer),
    row_version(),
    *timestamps(),
)

members = sa.Table(
    "members",
    metadata,
    org_id(),
    sa.Column("id", sa.Uuid, nullable=False),
    sa.Column("name", sa.String(300), nullable=False, server_default=""),
    team(),
    sa.Column("roles", sa.ARRAY(sa.String(20)), nullable=False, server_default="{}"),
    # NULL: the org's default cap applies.
    sa.Column("lead_cap", sa.Integer),
    row_version(),
    *timestamps(),
    sa.PrimaryKeyConstraint("org_id", "id", name="pk_members"),
    sa.Index("ix_members_team", "org_id", "team"),
)

leads = org_table(
    "leads",
    metadata,
    sa.Column("company", sa.String(300)),
    sa.Column("company_key", sa.String(300)),
    sa.Column("contact_name", sa.String(300)),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(20)),
    sa.Column("website", sa.String(300)),
    sa.Column("domain", sa.String(253)),
    sa.Column("source", sa.String(100)),
    # Company, contact person and email in the kit's search form (domain.lead_search_text):
    # what the leads' search box matches, in any case and with or without Polish letters.
    sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
    sa.Column("notes", sa.Text),
    sa.Column("tags", sa.ARRAY(sa.String(50)), nullable=False, server_default="{}"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(20), nullable=False, server_default="NEW"),
    sa.Column("owner_id", sa.Uuid),
    # The owner's team at assignment time: managers see their team's leads by it.
    sa.Column("owner_team", sa.String(100)),
    sa.Column("assigned_at", sa.DateTime(timezone=True)),
    sa.Column(
        "status_changed_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
    ),
    sa.Column("last_activity_at", sa.DateTime(timezone=True)),
    sa.Column("disqualify_reason", sa.String(500)),
    sa.Column("account_id", sa.Uuid),
    sa.Column("contact_id", sa.Uuid),
    sa.Column("opportunity_id", sa.Uuid),
    sa.Column("import_id", sa.Uuid),
    sa.Column("created_by", sa.Uuid),
    row_version(),
    *timestamps(),
    sa.Index("ix_leads_email", "org_id", "email", postgresql_where=sa.text("email IS NOT NULL")),
    sa.Index("ix_leads_phone", "org_id", "phone", postgresql_where=sa.text("phone IS NOT NULL")),
    sa.Index(
        "ix_leads_domain_company",
        "org_id",
        "domain",
        "company_key",
        postgresql_where=sa.text("domain IS NOT NULL AND company_key IS NOT NULL"),
    ),
    # The pool in claim order: highest priority first, then oldest.
    sa.Index(
        "ix_leads_pool",
        "org_id",
        sa.text("priority DESC"),
        "created_at",
        "id",
        postgresql_where=sa.text(
            "owner_id IS NULL AND status IN ('NEW', 'ASSIGNED', 'CONTACTED', 'QUALIFIED')"
        ),
    ),
    sa.Index("ix_leads_owner", "org_id", "owner_id", "status",
             postgresql_where=sa.text("owner_id IS NOT NULL")),
    sa.Index("ix_leads_org_created", "org_id", "created_at", "id"),
)

accounts = org_table(
    "accounts",
    metadata,
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("domain", sa.String(253)),
    sa.Column("nip", sa.String(10)),
    sa.Column("address", sa.String(500)),
    sa.Column("owner_id", sa.Uuid),
    sa.Column("owner_team", sa.String(100)),
    # Name and domain in the kit's search form (domain.account_search_text): what the
    # clients' search box matches, in any case and with or without Polish letters.
    sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
    row_version(),
    *timestamps(),
    sa.Index(
        "ix_accounts_domain", "org_id", "domain", postgresql_where=sa.text("domain IS NOT NULL")
    ),
    sa.Index("ix_accounts_nip", "org_id", "nip", unique=True,
             postgresql_where=sa.text("nip IS NOT NULL")),
    sa.Index("ix_accounts_org_created", "org_id", "created_at", "id"),
)

contacts = org_table(
    "contacts",
    metadata,
    sa.Column("account_id", sa.Uuid, nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("phone", sa.String(20)),
    sa.Column("position", sa.String(200)),
    sa.Column("lead_id", sa.Uuid),
    # Name and email in the kit's search form (domain.contact_search_text): the clients'
    # search finds a client by its people too.
    sa.Column("search_text", sa.Text, nullable=False, server_default=sa.text("''")),
    row_version(),
    *timestamps(),
    sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_contacts_account"),
    sa.Index("ix_contacts_account", "org_id", "account_id"),
)
