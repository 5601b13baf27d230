"""Many rows into one table, inside the caller's transaction, without per-row SQLAlchemy work.

A Core `insert()` with a list of dicts runs every value of every row through the column
type's bind processor (datetime formatting, `json.dumps`): for 100k findings that was most
of a scan's store time. Rows here are tuples in column order (the named rows of
`rows.py`, whose `_fields` are the columns), converted once per *distinct* value (a scan
has one timestamp and a handful of reference lists), and handed to the driver:
`executemany` on SQLite (fed from an iterator: no second copy of the rows), `COPY … FROM
STDIN` on PostgreSQL. Values land exactly as the Core insert stored them: the
conversion is the dialect's own bind processor, or for COPY, what psycopg would send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, ColumnElement, Table, bindparam, type_coerce
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import NullType

from compliance.store.engine import StoreError

Row = tuple[Any, ...]
Convert = Callable[[Any], Any]
CHUNK = 5000  # rows per executemany in the generic path: bounded memory, few round trips


class BulkWriter:
    """Fast writes on the connection (and so the transaction) of a session."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.dialect = connection.dialect
        self.copy = self.dialect.name == "postgresql" and self.dialect.driver == "psycopg"
        self.native = self.dialect.name == "sqlite"

    def storage(self, table: Table, column: str) -> Convert:
        """Python value → what the driver gets for `column`, memoised per value.

        Tuples stand for JSON lists (hashable, so they memoise)."""
        convert = self._converter(table, column)
        if convert is None:
            return _identity
        return _memoised(lambda value: convert(list(value) if isinstance(value, tuple) else value))

    def converters(self, table: Table, columns: Sequence[str]) -> list[Convert]:
        return [self.storage(table, c) for c in columns]

    def insert(self, table: Table, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """Insert `rows` (tuples in the order of `columns`, values made by `storage`)."""
        if self.copy:
            self._copy(table.name, columns, rows)
        elif self.native:
            statement = table.insert().values({c: bindparam(c) for c in columns})
            self._executemany(statement, columns, rows)
        else:  # another dialect: the Core path, in chunks
            for chunk in _chunks(rows, CHUNK):
                self.connection.execute(
                    table.insert(), [dict(zip(columns, r, strict=True)) for r in chunk]
                )

    def update_by_id(self, table: Table, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """`UPDATE table SET columns… WHERE id = …` for rows of (id, *values)."""
        keys = ("row_id", *columns)
        if self.copy:
            self._copy_update(table.name, columns, rows)
            return
        statement = (
            table.update()
            .where(table.c.id == bindparam("row_id"))
            .values({c: bindparam(c) for c in columns})
        )
        if self.native:
            self._executemany(statement, keys, rows)
        else:
            for chunk in _chunks(rows, CHUNK):
                self.connection.execute(statement, [dict(zip(keys, r, strict=True)) for r in chunk])

    # --- per dialect -------------------------------------------------------------------

    def _converter(self, table: Table, column: str) -> Convert | None:
        type_ = table.c[column].type
        if self.copy:
            # COPY takes text: psycopg formats dates, datetimes and booleans itself; JSON is
            # the same json.dumps text SQLAlchemy would have wrapped in psycopg's Json.
            if isinstance(type_, JSON):
                dumps: Convert = getattr(self.dialect, "_json_serializer", None) or json.dumps
                return dumps
            return None
        if self.native:
            process: Convert | None = type_.dialect_impl(self.dialect).bind_processor(self.dialect)
            return process
        return None  # the Core path converts itself

    def _driver(self) -> Any:
        return self.connection.connection.driver_connection

    @contextmanager
    def _driver_errors(self, table: str) -> Iterator[None]:
        """The driver's own errors (not wrapped by SQLAlchemy here) as a StoreError; the
        caller's session rolls the whole transaction back."""
        try:
            yield
        except self.dialect.loaded_dbapi.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise StoreError(f"database error while writing {table} rows: {reason}") from exc

    def _executemany(self, statement: Any, keys: Sequence[str], rows: Iterable[Row]) -> None:
        """The statement compiled by SQLAlchemy (qmark parameters), run by the driver."""
        compiled = statement.compile(dialect=self.dialect)
        order = [keys.index(name) for name in compiled.positiontup]
        if order != list(range(len(keys))):  # SQLAlchemy binds in table order
            rows = map(itemgetter(*order), rows)
        cursor = self._driver().cursor()
        try:
            with self._driver_errors(statement.table.name):
                cursor.executemany(compiled.string, iter(rows))
        finally:
            cursor.close()

    def _copy(self, name: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with (
            self._driver_errors(name),
            self._driver().cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _copy_update(self, name: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """COPY into a temporary table shaped like the target's columns, then one UPDATE …
        FROM: row-by-row UPDATEs over a network are round trips, however pipelined."""
        from psycopg import sql

        target = sql.Identifier(name)
        scratch = sql.Identifier(f"_bulk_{name}")
        names = sql.SQL(", ").join(map(sql.Identifier, ("id", *columns)))
        sets = sql.SQL(", ").join(
            sql.SQL("{} = s.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns
        )
        with self._driver_errors(name), self._driver().cursor() as cursor:
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(scratch))
            cursor.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(scratch, names, target)
            )
            with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(scratch, names)) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE t.id = s.id").format(
                    target, sets, scratch
                )
            )
            cursor.execute(sql.SQL("DROP TABLE {}").format(scratch))


def _memoised(convert: Convert) -> Convert:
    """`convert`, remembering its result per distinct hashable value (unhashable ones, such
    as dicts, are converted each time)."""
    memo: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            memo[value] = result = convert(value)
            return result
        except TypeError:
            return convert(value)

    return cached


def _identity(value: Any) -> Any:
    return value


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def stored(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column` as the driver returns it (SQLite: the timestamp text), for values that go
    straight back into another row: parsing and re-formatting them changes nothing."""
    return type_coerce(column, NullType())


def loader(column: ColumnElement[Any], dialect: Dialect) -> Convert:
    """Stored value (`stored(column)`) → Python value, memoised per value: the 100k
    first-seen times of a target share a few distinct values (one per scan that found
    something new), so each is parsed once."""
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    if process is None:
        return _identity
    return _memoised(process)
