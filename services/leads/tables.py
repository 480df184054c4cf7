"""Tables of the leads database (``crm_leads``)."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from crmkit.tables import org_id, org_table, row_version, service_metadata, team, timestamps

metadata, outbox, inbox = service_metadata(named_constraints=False)


org_settings = Table(
    "org_settings",
    metadata,
    org_id(primary_key=True),
    Column("default_region", String(2), nullable=False, server_default="PL"),
    Column("default_lead_cap", Integer),
    # Idle return is off while NULL.
    Column("idle_return_days", Integer),
    row_version(),
    *timestamps(),
)

members = Table(
    "members",
    metadata,
    org_id(),
    Column("id", Uuid, nullable=False),
    Column("name", String(300), nullable=False, server_default=""),
    team(),
    Column("roles", ARRAY(String(20)), nullable=False, server_default="{}"),
    # NULL: the org's default cap applies.
    Column("lead_cap", Integer),
    row_version(),
    *timestamps(),
    PrimaryKeyConstraint("org_id", "id", name="pk_members"),
    Index("ix_members_team", "org_id", "team"),
)

leads = org_table(
    "leads",
    metadata,
    Column("company", String(300)),
    Column("company_key", String(300)),
    Column("contact_name", String(300)),
    Column("email", String(254)),
    Column("phone", String(20)),
    Column("website", String(300)),
    Column("domain", String(253)),
    Column("source", String(100)),
    Column("notes", Text),
    Column("tags", ARRAY(String(50)), nullable=False, server_default="{}"),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("status", String(20), nullable=False, server_default="NEW"),
    Column("owner_id", Uuid),
    # The owner's team at assignment time: managers see their team's leads by it.
    Column("owner_team", String(100)),
    Column("assigned_at", DateTime(timezone=True)),
    Column("status_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_activity_at", DateTime(timezone=True)),
    Column("disqualify_reason", String(500)),
    Column("account_id", Uuid),
    Column("contact_id", Uuid),
    Column("opportunity_id", Uuid),
    Column("import_id", Uuid),
    Column("created_by", Uuid),
    row_version(),
    *timestamps(),
    Index("ix_leads_email", "org_id", "email", postgresql_where=text("email IS NOT NULL")),
    Index("ix_leads_phone", "org_id", "phone", postgresql_where=text("phone IS NOT NULL")),
    Index(
        "ix_leads_domain_company",
        "org_id",
        "domain",
        "company_key",
        postgresql_where=text("domain IS NOT NULL AND company_key IS NOT NULL"),
    ),
    # The pool in claim order: highest priority first, then oldest.
    Index(
        "ix_leads_pool",
        "org_id",
        text("priority DESC"),
        "created_at",
        "id",
        postgresql_where=text(
            "owner_id IS NULL AND status IN ('NEW', 'ASSIGNED', 'CONTACTED', 'QUALIFIED')"
        ),
    ),
    Index("ix_leads_owner", "org_id", "owner_id", "status",
          postgresql_where=text("owner_id IS NOT NULL")),
    Index("ix_leads_org_created", "org_id", "created_at", "id"),
)

accounts = org_table(
    "accounts",
    metadata,
    Column("name", String(300), nullable=False),
    Column("domain", String(253)),
    Column("nip", String(10)),
    Column("address", String(500)),
    Column("owner_id", Uuid),
    Column("owner_team", String(100)),
    row_version(),
    *timestamps(),
    Index("ix_accounts_domain", "org_id", "domain", postgresql_where=text("domain IS NOT NULL")),
    Index("ix_accounts_nip", "org_id", "nip", unique=True,
          postgresql_where=text("nip IS NOT NULL")),
    Index("ix_accounts_org_created", "org_id", "created_at", "id"),
)

contacts = org_table(
    "contacts",
    metadata,
    Column("account_id", Uuid, nullable=False),
    Column("name", String(300), nullable=False),
    Column("email", String(254)),
    Column("phone", String(20)),
    Column("position", String(200)),
    Column("lead_id", Uuid),
    row_version(),
    *timestamps(),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_contacts_account"),
    Index("ix_contacts_account", "org_id", "account_id"),
)
