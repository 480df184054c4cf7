"""The leads service's storage: the SQL repository (:mod:`.sql`) with the claim's fast path
(:mod:`.claims`) and the CSV import's COPY path (:mod:`.imports`)."""

from __future__ import annotations

from services.leads.repository.sql import SqlLeadsRepository, visible_leads

__all__ = ["SqlLeadsRepository", "visible_leads"]
