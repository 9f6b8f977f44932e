from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
DATA = Path(__file__).resolve().parent / "data"
CORPORA = Path(os.environ.get("RASAD_CORPORA", ROOT.parent / "shared" / "corpora"))


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA} (set RASAD_CORPORA)")
    return CORPORA


@pytest.fixture
def write_rules(tmp_path):
    """Write {relative name: YAML text} under a fresh rules directory and return it."""

    def write(files: dict[str, str]) -> Path:
        rules = tmp_path / "rules"
        for name, text in files.items():
            path = rules / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return rules

    return write


POSTGRES_URL = os.environ.get("RASAD_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_engine(request, tmp_path):
    """A migrated store on SQLite, and on PostgreSQL when RASAD_TEST_POSTGRES_URL is set (a fresh schema each)."""
    import uuid

    from sqlalchemy import text

    from bot.store.db import create_engine, migrate

    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/store.db")
        await migrate(engine)
        yield engine
        await engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL store tests need RASAD_TEST_POSTGRES_URL (e.g. "
                    "postgresql+asyncpg://postgres@127.0.0.1:5432/test); .ci/run sets it")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(POSTGRES_URL, schema=schema)
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def store(store_engine):
    """The typed Store over ``store_engine`` (SQLite, and PostgreSQL when configured)."""
    from bot.store import Store

    return Store.on(store_engine)


@pytest.fixture
async def server():
    """A local feed server on 127.0.0.1 (tests/fakes/feed_server.py); routes are added by the test."""
    from tests.fakes.feed_server import FeedServer

    srv = await FeedServer().start()
    yield srv
    await srv.stop()


@pytest.fixture
async def tg(tmp_path):
    """A started Application wired to a fake Bot API and a local feed file (tests/fakes/harness.py)."""
    from tests.fakes.harness import Harness
    from tests.fakes.telegram_api import FakeTelegram

    fake = await FakeTelegram().start()
    harness = Harness(tmp_path, fake)
    await harness.service.start()
    yield harness
    await harness.service.stop()
    await fake.stop()
