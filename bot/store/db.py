"""The database: an async SQLAlchemy engine, migrated to the latest schema with Alembic."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Insert, Row, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

MIGRATIONS = Path(__file__).parent / "migrations"

# A result row of any width (SQLAlchemy types a row by its columns; the tables here are untyped Core tables).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def utcnow() -> datetime:
    """Naive UTC: the store keeps all times this way, on SQLite and PostgreSQL alike."""
    return datetime.now(UTC).replace(tzinfo=None)


def safe_url(url: str) -> str:
    """The database URL with any password hidden, for logs and messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - never let a bad URL leak through a log line
        return "<unparseable database url>"


def create_engine(url: str, schema: str | None = None) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg); ``schema``: PostgreSQL search_path."""
    kwargs: dict[str, object] = {}
    if url.startswith("sqlite"):
        # one connection: SQLite takes one writer at a time anyway, and waiting in the pool is cheaper and
        # fairer than SQLite's busy-wait sleeps when concurrent tasks write
        kwargs = {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
    elif url.startswith("postgresql"):
        kwargs = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
        if schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(  # pragma: no cover - trivial
                dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a killed process loses nothing committed; only an OS crash may lose the last commits
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


def _alembic_config(connection: Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(_alembic_config(sync_conn), "head"))


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _storage_problem(root: BaseException, low: str, where: str) -> str | None:
    """The database file or its disk: read-only, full, or not there."""
    if "readonly database" in low or "read-only" in low or getattr(root, "errno", None) == errno.EROFS:
        return f"database {where} is read-only: give the service write access to the file and its folder"
    if "disk is full" in low or "no space left" in low or getattr(root, "errno", None) == errno.ENOSPC:
        return f"database {where}: the disk is full: free some space; alerts are kept and go out when it returns"
    if "unable to open database file" in low:
        return f"database {where} cannot be opened: check that its folder exists and is writable"
    return None


def _connection_problem(exc: BaseException, root: BaseException, low: str, where: str) -> str | None:
    """The database server: refused, silent, or unreachable."""
    if isinstance(root, ConnectionRefusedError) or "connection refused" in low or "connect call failed" in low:
        return f"database {where} refused the connection: is the server running? check DATABASE_URL"
    if isinstance(root, (TimeoutError, PoolTimeout)) and isinstance(exc, (DBAPIError, PoolTimeout, OSError)):
        return f"database {where} did not answer in time: check the server and the network"
    if isinstance(root, OSError) and not isinstance(exc, DBAPIError):
        return f"database {where} is unreachable ({root.strerror or root}): check DATABASE_URL"
    return None


def _driver_problem(exc: BaseException, root: BaseException, text: str, where: str) -> str | None:
    """What the driver reports: an operational failure, or PostgreSQL refusing us or out of disk."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return f"database {where} failed: {text[:200]}"
    try:
        import asyncpg

        if isinstance(root, (asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                             asyncpg.InvalidCatalogNameError, asyncpg.InvalidAuthorizationSpecificationError)):
            return f"database {where} refused us: {text[:200]}: check DATABASE_URL"
        if isinstance(root, asyncpg.DiskFullError):
            return f"database {where}: the disk is full: free some space; alerts are kept and go out when it returns"
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        pass
    return None


def describe_store_error(exc: BaseException, url: str) -> str | None:
    """One line for a database error a deployer can fix (read-only file, full disk, server down), else None."""
    where = safe_url(url)
    root = _root_cause(exc)
    text = str(getattr(exc, "orig", None) or root or exc).strip().splitlines()[0] if str(root or exc) else ""
    low = f"{exc} {root}".lower()
    return (_storage_problem(root, low, where) or _connection_problem(exc, root, low, where)
            or _driver_problem(exc, root, text, where))


def on_conflict_do_nothing(conn: AsyncConnection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database dialect {conn.dialect.name}")
