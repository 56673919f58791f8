"""What PostgreSQL says a database's tables are, in a form two databases can be compared by.

Columns in order (type, NOT NULL, default, identity), constraints and indexes as
``pg_get_constraintdef`` / ``pg_indexes`` print them: the normalised forms, so the same
table written as metadata, as plain DDL or as Alembic operations compares equal.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.database import DatabaseAddress
from projections.migrations import VERSION_TABLE, alembic_config

PRE_ALEMBIC_SQL = Path(__file__).with_name("pre_alembic_schema.sql")

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum
"""
_CONSTRAINTS = """
SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
 WHERE c.relnamespace = current_schema()::regnamespace AND k.contype <> 'n'
 ORDER BY c.relname, k.conname
"""
_INDEXES = """
SELECT tablename, indexname, indexdef FROM pg_indexes
 WHERE schemaname = current_schema() ORDER BY tablename, indexname
"""


@dataclass(frozen=True)
class Shape:
    columns: tuple[tuple[object, ...], ...]
    constraints: tuple[tuple[object, ...], ...]
    indexes: tuple[tuple[object, ...], ...]

    def tables(self) -> set[str]:
        return {str(row[0]) for row in self.columns}

    def only(self, tables: Collection[str]) -> Shape:
        def keep(rows: tuple[tuple[object, ...], ...]) -> tuple[tuple[object, ...], ...]:
            return tuple(row for row in rows if row[0] in tables)

        return Shape(keep(self.columns), keep(self.constraints), keep(self.indexes))


def shape_of(db: Engine) -> Shape:
    """Every table but Alembic's own version table."""
    with db.connect() as conn:
        rows = [
            tuple(tuple(row) for row in conn.execute(sa.text(query)))
            for query in (_COLUMNS, _CONSTRAINTS, _INDEXES)
        ]
    shape = Shape(*rows)
    return shape.only(shape.tables() - {VERSION_TABLE})


def upgrade_to(db: Engine, revision: str) -> None:
    """Alembic's own upgrade to one revision, as an operator's `alembic upgrade` would."""
    from alembic import command

    with db.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade_to(db: Engine, revision: str) -> None:
    from alembic import command

    with db.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def create_pre_alembic_tables(db: Engine) -> None:
    """What the create_all code of commit acaba55 made: plain DDL, no version table."""
    conninfo = DatabaseAddress.parse(db.url.render_as_string(hide_password=False)).conninfo
    with psycopg.connect(conninfo) as conn:
        conn.execute(PRE_ALEMBIC_SQL.read_text())


def pre_alembic_ddl(table: str) -> list[str]:
    """The acaba55 statements that made ``table`` and its indexes, for a table a later
    revision changed (the factories describe it as it is now)."""
    statements = [s.strip() for s in PRE_ALEMBIC_SQL.read_text().split(";")]
    return [s for s in statements if f"CREATE TABLE {table} (" in s or f" ON {table} (" in s]


def revision_in_database(db: Engine) -> list[str]:
    with db.connect() as conn:
        return list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
