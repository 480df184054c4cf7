"""Settings of the documents service (prefix ``CRM_``)."""

from __future__ import annotations

from crmkit.settings import Settings


class DocumentsSettings(Settings):
    # The documents' own database; unset: database `crm_documents` on CRM_DATABASE_URL's
    # server.
    documents_database_url: str | None = None
