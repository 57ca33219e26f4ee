"""Catalog engines and schema migrations.

SQLite is the embedded default, PostgreSQL the shared one; both go through SQLAlchemy, and the
schema is versioned by Alembic so an older project is upgraded in place when a newer fti opens
it. Migrations are serialized: PostgreSQL by an advisory lock, SQLite by its write lock
(``BEGIN IMMEDIATE``), so two processes opening a new project at once cannot both create it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fti._redact import redact
from fti.errors import BackendUnavailable, ConfigurationError, FtiError

_MIGRATIONS = str(Path(__file__).parent / "migrations")
# Any constant works; it only has to be the same in every fti process.
_PG_MIGRATION_LOCK = 0x0F71_CA7A
# Execution option marking a connection that is going to write (see _on_sqlite_begin).
WRITE_OPTION = "fti_write"
# Tries at a version number before giving up: each lost race means another writer committed.
VERSION_ATTEMPTS = 20
# Seconds a PostgreSQL connection attempt may take before the catalog is called unreachable.
CONNECT_TIMEOUT_S = 10


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is replaced by explicit BEGINs (see below), which is
    # what SQLAlchemy documents for getting SERIALIZABLE, lock-taking transactions on SQLite.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _on_sqlite_begin(conn: sa.Connection) -> None:
    # Writers take the write lock up front (IMMEDIATE): a read-then-write transaction can then
    # never fail half-way with "database is locked" when another process writes concurrently.
    # Readers stay DEFERRED so that, under WAL, they never wait for anyone.
    write = conn.get_execution_options().get(WRITE_OPTION)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        # "from None": the cause's own text may quote the URL; ours holds it, redacted
        raise ConfigurationError(redact(f"invalid catalog URL {url!r}: {exc}")) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = sa.create_engine(
                parsed,
                pool_pre_ping=True,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},  # a bounded wait
            )
        except ModuleNotFoundError as exc:
            from fti.errors import MissingDependencyError

            raise MissingDependencyError("psycopg", "postgres", "The PostgreSQL catalog") from exc
        sa.event.listen(engine, "handle_error", _on_unreachable)
        return engine
    raise ConfigurationError(
        f"unsupported catalog URL {redact(url)!r}: use sqlite:///path or postgresql://user@host/db"
    )


def _on_unreachable(context: sa.engine.ExceptionContext) -> BackendUnavailable | None:
    """A server that cannot be reached (or dropped the connection) becomes one fti error
    naming it; SQL errors (constraints, serialization) stay as they are for their callers."""
    if context.connection is not None and not context.is_disconnect:
        return None
    engine = context.engine
    address = "?" if engine is None else engine.url.render_as_string(hide_password=True)
    reason = redact(str(context.original_exception)).strip().splitlines() or ["no reason given"]
    return BackendUnavailable(
        f"the catalog database at {address} is unreachable ({reason[0]}); this call's catalog "
        "reads and writes did not happen (a transaction is never half committed)"
    )


def _alembic_config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the catalog schema to the newest revision (a no-op when it already is)."""
    head = ScriptDirectory(_MIGRATIONS).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        # Re-check under the lock: another process may have migrated meanwhile.
        if MigrationContext.configure(conn).get_current_revision() != head:
            command.upgrade(_alembic_config(conn), "head")


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; everything the catalog stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def insert_version(
    writer: sa.Engine,
    table: sa.Table,
    scope: Callable[[sa.Connection], Mapping[str, Any]],
    values: Mapping[str, Any],
    what: str,
    *,
    version: int | None = None,
    on_conflict: Callable[[], int | None] = lambda: None,
) -> int:
    """Insert ``values`` as ``version``, or else as the next version within ``scope`` (the
    columns naming the versioned object, computed in the same transaction so that a parent
    row can be created there too); returns the version.

    Racing writers get distinct versions: the table's unique (scope, version) constraint makes
    a loser roll back, then ``on_conflict`` decides: raise (the exact version is taken), return
    a version (what the caller wanted exists now), or None to try the next number."""
    for _ in range(VERSION_ATTEMPTS):
        try:
            with writer.begin() as conn:
                where = dict(scope(conn))
                number = version
                if number is None:
                    latest = conn.execute(
                        sa.select(sa.func.max(table.c.version)).where(
                            *(table.c[column] == value for column, value in where.items())
                        )
                    ).scalar()
                    number = int(latest or 0) + 1
                conn.execute(sa.insert(table).values(**where, version=number, **values))
            return number
        except sa.exc.IntegrityError:
            found = on_conflict()
            if found is not None:
                return found
    raise FtiError(f"could not create a version of {what}: too much contention")
