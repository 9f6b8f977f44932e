"""PostgreSQL for tests: a fresh database per test on the server named by RASAD_TEST_POSTGRES_URL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text

from bot.store.db import create_engine
from tests.conftest import POSTGRES_URL


def database_url(name: str) -> str:
    assert POSTGRES_URL is not None
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}"


@contextlib.asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test (its URL); dropped afterwards."""
    assert POSTGRES_URL is not None
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url(name)
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
