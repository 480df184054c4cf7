"""What every part of the SQL repository holds: the unit of work's session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class SqlBase:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
