"""The lead store: the one place leads, scores, events, policies and decisions are written.

Every write validates the whole input first and then runs in one transaction, so a bad row in
an import or a demo batch leaves the database exactly as it was. Reads return pandas DataFrames
because the training pipeline and the dashboard work on frames; they are built column-wise from
a single SELECT so that 100k leads load in about a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from scoring_service.store.tables import (
    EVENT_TYPES,
    StoreError,
    UTCDateTime,
    decision_log,
    events,
    leads,
    metadata,
    policy_versions,
    scores,
    to_utc,
)

DEFAULT_DATABASE_URL = "sqlite:///data/handoff.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

Rows = pd.DataFrame | Sequence[Mapping[str, Any]]
Values = list[Any] | pd.Series

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE (see _sqlite_begin).
_WRITE_OPTION = "handoff_write"
# Serialises concurrent `alembic upgrade` runs on PostgreSQL (two services starting together).
_PG_MIGRATION_LOCK_ID = 0x48414E44  # "HAND"
# Keys per IN (...) query; SQLite before 3.32 allowed only 999 bound parameters per statement.
_IN_CHUNK = 5000 if sqlite3.sqlite_version_info >= (3, 32) else 900
_LEAD_COLUMNS = ("lead_id", "created_at")


def default_database_url() -> str:
    """``HANDOFF_DATABASE_URL`` if set, else a SQLite file under ./data (zero-setup default)."""
    return os.environ.get("HANDOFF_DATABASE_URL") or DEFAULT_DATABASE_URL


# --------------------------------------------------------------------------------------------
# Input validation: everything is checked and converted before the first write.
# --------------------------------------------------------------------------------------------


class _Bad(Exception):
    """A rule broken by one value; the caller adds the row and column to the message."""


@dataclass(frozen=True)
class _Col:
    """How one input column is validated and converted."""

    name: str
    kind: str  # "str" | "float" | "int" | "bool" | "datetime" | "json" | "json_object"
    required: bool = False
    max_len: int | None = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | None = None


def _str_col(table: Table, name: str, *, required: bool = False, **kw: Any) -> _Col:
    """A string column whose maximum length is read from the table, so the two cannot drift."""
    return _Col(name, "str", required=required, max_len=table.c[name].type.length, **kw)


_EVENT_SPEC: tuple[_Col, ...] = (
    _str_col(events, "event_id"),
    _str_col(events, "lead_id", required=True),
    _str_col(events, "type", required=True, choices=EVENT_TYPES),
    _Col("occurred_at", "datetime", required=True),
    _Col("recorded_at", "datetime"),
    _str_col(events, "rep"),
    _str_col(events, "team"),
    _str_col(events, "channel"),
    _str_col(events, "outcome"),
    _Col("duration_s", "float", lo=0.0),
    _str_col(events, "reason"),
    _str_col(events, "status"),
    _str_col(events, "next_action"),
    _Col("amount", "float"),
    _Col("payload", "json_object"),
)

_SCORE_SPEC: tuple[_Col, ...] = (
    _str_col(scores, "lead_id", required=True),
    _Col("scored_at", "datetime"),
    _Col("score", "float", lo=0.0, hi=100.0),
    _Col("probability", "float", lo=0.0, hi=1.0),
    _Col("acceptance_probability", "float", lo=0.0, hi=1.0),
    _str_col(scores, "tier"),
    _Col("handoff", "bool", required=True),
    _str_col(scores, "excluded_reason"),
    _Col("due_at", "datetime"),
    _str_col(scores, "model_version", required=True),
    _Col("policy_version", "int", required=True),
    _str_col(scores, "feature_set_version", required=True),
    _Col("reasons", "json"),
)


def _missing(value: Any) -> bool:
    """None, NaN, NaT and pd.NA all mean "no value" (pandas uses all four)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def _json_value(value: Any) -> Any:
    """Convert to JSON-native types (numpy scalars, Timestamps→ISO); refuse what JSON can't hold."""
    if value is None or isinstance(value, bool | str):
        return value
    if _missing(value):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            raise _Bad(f"{number} is not representable in JSON")
        return number
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Bad(f"JSON object keys must be strings, got {key!r}")
            out[key] = _json_value(item)
        return out
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_value(item) for item in value]
    raise _Bad(f"{type(value).__name__} is not JSON-serialisable")


def _json_scalar(value: Any) -> Any:
    """Lead fields hold scalars only, so that each one can become a DataFrame column."""
    if isinstance(value, Mapping | list | tuple | set | np.ndarray):
        raise _Bad(f"must be a scalar, got {type(value).__name__}")
    return _json_value(value)


def _convert_value(col: _Col, value: Any) -> Any:
    """One non-missing value of ``col`` in its storage form, or _Bad naming the rule."""
    kind = col.kind
    if kind == "str":
        if not isinstance(value, str):
            raise _Bad(f"must be a string, got {type(value).__name__} {value!r}")
        if col.required and not value:
            raise _Bad("must not be empty")
        if col.max_len is not None and len(value) > col.max_len:
            raise _Bad(f"is longer than {col.max_len} characters ({len(value)})")
        if col.choices is not None and value not in col.choices:
            raise _Bad(f"{value!r} is not one of {', '.join(col.choices)}")
        return str(value)
    if kind == "float":
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            raise _Bad(f"must be a number, got {type(value).__name__} {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise _Bad(f"must be finite, got {number}")
        if (col.lo is not None and number < col.lo) or (col.hi is not None and number > col.hi):
            raise _Bad(f"must be within [{col.lo}, {col.hi}], got {number}")
        return number
    if kind == "int":
        if isinstance(value, bool | np.bool_):
            raise _Bad(f"must be an integer, got {value!r}")
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return int(value)
        raise _Bad(f"must be an integer, got {type(value).__name__} {value!r}")
    if kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise _Bad(f"must be true or false, got {type(value).__name__} {value!r}")
        return bool(value)
    if kind == "datetime":
        try:
            return to_utc(value, col.name)
        except StoreError as err:
            raise _Bad(str(err).split(": ", 1)[1]) from None
    if kind == "json_object" and not isinstance(value, Mapping):
        raise _Bad(f"must be a JSON object (a mapping), got {type(value).__name__}")
    return _json_value(value)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _none_where(values: np.ndarray, mask: np.ndarray, fill: Any = None) -> list[Any]:
    """``values`` as a list of Python objects with ``fill`` where ``mask`` is set."""
    out = values.astype(object)
    if mask.any():
        out[mask] = fill
    return out.tolist()


def _convert_series(col: _Col, series: pd.Series, label: Callable[[int], str]) -> list[Any] | None:
    """Vectorised validation of a DataFrame column, or None when its dtype needs the slow path.

    Bulk imports (100k leads, 400k events) spend most of their time here otherwise.
    """
    dtype = series.dtype
    mask = series.isna().to_numpy(dtype=bool)

    def refuse(bad: np.ndarray) -> None:
        if bad.any():
            i = _first(bad)
            try:
                _convert_value(col, series.iloc[i])
                rule = "is invalid"
            except _Bad as err:
                rule = str(err)
            raise StoreError(f"{label(i)}: column '{col.name}' {rule}")

    if col.required and mask.any():
        raise StoreError(f"{label(_first(mask))}: column '{col.name}' is required")
    kind = col.kind
    if kind == "datetime":
        if isinstance(dtype, pd.DatetimeTZDtype):
            return _none_where(series.dt.tz_convert("UTC").array.to_pydatetime(), mask)
        if pd.api.types.is_datetime64_dtype(dtype):
            i = _first(~mask) if not mask.all() else 0
            raise StoreError(
                f"{label(i)}: column '{col.name}' holds naive datetimes ({dtype}); "
                "give timezone-aware ones (e.g. series.dt.tz_localize('UTC'))"
            )
        return None
    if kind == "float":
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return None
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        refuse(np.isinf(numbers))
        if col.lo is not None:
            refuse(numbers < col.lo)
        if col.hi is not None:
            refuse(numbers > col.hi)
        return _none_where(numbers, mask)
    if kind == "int":
        if pd.api.types.is_integer_dtype(dtype) and not mask.any():
            return series.tolist()
        return None
    if kind == "bool":
        if pd.api.types.is_bool_dtype(dtype) and not mask.any():
            return series.tolist()
        return None
    if kind == "str":
        if mask.all():
            return [None] * len(series)
        if pd.api.types.infer_dtype(series, skipna=True) != "string":
            return None
        present = ~mask
        if col.required:
            refuse(present & (series == "").to_numpy(dtype=bool, na_value=False))
        if col.max_len is not None:
            lengths = series.str.len().to_numpy(dtype="float64", na_value=0.0)
            refuse(lengths > col.max_len)
        if col.choices is not None:
            refuse(present & ~series.isin(col.choices).to_numpy(dtype=bool))
        return _none_where(series.to_numpy(dtype=object), mask)
    return None


def _convert(col: _Col, values: Values, label: Callable[[int], str]) -> list[Any]:
    """Validate and convert a whole column; the error names row, id, column and rule."""
    if isinstance(values, pd.Series):
        fast = _convert_series(col, values, label)
        if fast is not None:
            return fast
        values = values.tolist()
    out: list[Any] = []
    append = out.append
    for i, value in enumerate(values):
        if _missing(value):
            if col.required:
                raise StoreError(f"{label(i)}: column '{col.name}' is required")
            append(None)
            continue
        try:
            append(_convert_value(col, value))
        except _Bad as bad:
            raise StoreError(f"{label(i)}: column '{col.name}' {bad}") from None
    return out


_SKIP = object()  # marks an absent lead field (missing values are dropped, not stored as null)


def _field_values(name: str, values: Values, label: Callable[[int], str]) -> list[Any]:
    """One lead-field column as JSON-native scalars, with _SKIP where the value is missing."""
    if isinstance(values, pd.Series):
        dtype = values.dtype
        mask = values.isna().to_numpy(dtype=bool)
        if pd.api.types.is_bool_dtype(dtype) and not mask.any():
            return values.tolist()
        if pd.api.types.is_integer_dtype(dtype) and not mask.any():
            return values.tolist()
        if pd.api.types.is_float_dtype(dtype):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan)
            if np.isinf(numbers).any():
                i = _first(np.isinf(numbers))
                raise StoreError(f"{label(i)}: field '{name}' {numbers[i]} is not valid JSON")
            return _none_where(numbers, mask, _SKIP)
        if mask.all():
            return [_SKIP] * len(values)
        if pd.api.types.infer_dtype(values, skipna=True) == "string":
            return _none_where(values.to_numpy(dtype=object), mask, _SKIP)
        values = values.tolist()
    out: list[Any] = []
    append = out.append
    for i, value in enumerate(values):
        if _missing(value):
            append(_SKIP)
            continue
        try:
            append(_json_scalar(value))
        except _Bad as bad:
            raise StoreError(f"{label(i)}: field '{name}' {bad}") from None
    return out


def _columns(data: Rows | None, what: str) -> tuple[int, dict[str, Values]]:
    """Rows of a DataFrame or of mappings as (row count, column name → values).

    DataFrame columns stay Series so that validation can be vectorised.
    """
    if data is None:
        return 0, {}
    if isinstance(data, pd.DataFrame):
        if not data.columns.is_unique:
            raise StoreError(f"{what}: duplicate column names {list(data.columns)}")
        cols: dict[str, Values] = {}
        for name in data.columns:
            if not isinstance(name, str):
                raise StoreError(f"{what}: column names must be strings, got {name!r}")
            cols[name] = data[name].reset_index(drop=True)
        return len(data), cols
    if isinstance(data, str | bytes | Mapping) or not isinstance(data, Iterable):
        raise StoreError(
            f"{what}: expected a DataFrame or a sequence of mappings, got {type(data).__name__}"
        )
    rows = list(data)
    keys: dict[str, None] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise StoreError(f"{what} row {i}: expected a mapping, got {type(row).__name__}")
        keys.update(dict.fromkeys(row))
    for key in keys:
        if not isinstance(key, str):
            raise StoreError(f"{what}: column names must be strings, got {key!r}")
    return len(rows), {key: [row.get(key) for row in rows] for key in keys}


def _labeller(what: str, id_name: str, ids: Values | None) -> Callable[[int], str]:
    """Row labels such as "events row 3 (event_id 'e-3')" for error messages."""
    id_list = ids.tolist() if isinstance(ids, pd.Series) else ids

    def label(i: int) -> str:
        ident = id_list[i] if id_list is not None else None
        return f"{what} row {i}" + (f" ({id_name} {ident!r})" if isinstance(ident, str) else "")

    return label


def _preview(items: Sequence[Any], limit: int = 10) -> str:
    """The first few items of a long list, for error messages that stay readable."""
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (f" ... ({len(items)} in total)" if len(items) > limit else "")


def _duplicates(ids: list[str]) -> list[str]:
    if len(set(ids)) == len(ids):
        return []
    seen: set[str] = set()
    dup: dict[str, None] = {}
    for ident in ids:
        if ident in seen:
            dup[ident] = None
        seen.add(ident)
    return list(dup)


def fields_hash(fields: Mapping[str, Any], created_at: datetime) -> str:
    """sha256 of the canonical JSON of a lead's fields and creation time (its identity).

    Integral floats hash like ints: a blank cell turns a CSV's int column into floats, and the
    same file imported twice must still be recognised as the same leads.
    """
    canonical = {
        k: int(v) if v.__class__ is float and v.is_integer() else v for k, v in fields.items()
    }
    doc = {"created_at": created_at.astimezone(UTC).isoformat(), "fields": canonical}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_origin(origin: Any) -> str:
    limit = leads.c.origin.type.length
    if not isinstance(origin, str) or not origin or len(origin) > limit:
        raise StoreError(f"leads: origin must be a non-empty string of at most {limit} characters")
    return origin


def _prepare_leads(data: Rows | None, origin: str | None, now: datetime) -> list[dict[str, Any]]:
    n, cols = _columns(data, "leads")
    if n == 0:
        return []
    origin = _check_origin(origin)
    for name in _LEAD_COLUMNS:
        if name not in cols:
            raise StoreError(f"leads: missing column '{name}'")
    label = _labeller("leads", "lead_id", cols["lead_id"])
    ids = _convert(_str_col(leads, "lead_id", required=True), cols["lead_id"], label)
    created = _convert(_Col("created_at", "datetime", required=True), cols["created_at"], label)
    names = [k for k in cols if k not in _LEAD_COLUMNS]
    for name in names:
        if name == "origin" or not name:
            raise StoreError(
                f"leads: field name {name!r} is reserved; origin is given as write_batch(origin=)"
            )
    dup = _duplicates(ids)
    if dup:
        raise StoreError(f"leads: lead_id repeated within the batch: {_preview(dup)}")
    field_columns = [_field_values(name, cols[name], label) for name in names]
    rows = []
    for i, values in enumerate(zip(*field_columns, strict=True) if names else [()] * n):
        fields = {name: v for name, v in zip(names, values, strict=True) if v is not _SKIP}
        rows.append(
            {
                "lead_id": ids[i],
                "created_at": created[i],
                "origin": origin,
                "fields": fields,
                "fields_hash": fields_hash(fields, created[i]),
                "inserted_at": now,
            }
        )
    return rows


def _prepare(
    data: Rows | None,
    spec: tuple[_Col, ...],
    what: str,
    id_name: str,
    defaults: Mapping[str, Callable[[], Any]],
) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    """Validate rows of events or scores against ``spec``; unknown columns are refused.

    ``defaults`` fill missing values of optional columns (generated ids, "now").
    """
    n, cols = _columns(data, what)
    label = _labeller(what, id_name, cols.get(id_name))
    if n == 0:
        return [], label
    known = {c.name for c in spec}
    unknown = [k for k in cols if k not in known]
    if unknown:
        raise StoreError(
            f"{what}: unknown column(s) {_preview(unknown)}; allowed: {', '.join(sorted(known))}"
        )
    names: list[str] = []
    converted: list[list[Any]] = []
    for col in spec:
        if col.name in cols:
            values = _convert(col, cols[col.name], label)
        elif col.required:
            raise StoreError(f"{what}: missing column '{col.name}'")
        else:
            values = [None] * n
        make = defaults.get(col.name)
        if make is not None:
            values = [make() if v is None else v for v in values]
        # A column empty in the whole batch is left out of the INSERT (NULL is its default):
        # fewer bound parameters per row is most of the bulk-import speed.
        if make is not None or col.required or any(v is not None for v in values):
            names.append(col.name)
            converted.append(values)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*converted, strict=True)]
    return rows, label


def _prepare_events(
    data: Rows | None, now: datetime
) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    defaults = {"event_id": lambda: uuid.uuid4().hex, "recorded_at": lambda: now}
    rows, label = _prepare(data, _EVENT_SPEC, "events", "event_id", defaults)
    dup = _duplicates([r["event_id"] for r in rows])
    if dup:
        raise StoreError(f"events: event_id repeated within the batch: {_preview(dup)}")
    return rows, label


def _prepare_scores(
    data: Rows | None, now: datetime
) -> tuple[list[dict[str, Any]], Callable[[int], str]]:
    return _prepare(data, _SCORE_SPEC, "scores", "lead_id", {"scored_at": lambda: now})


def _required_text(value: Any, name: str, max_len: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{name} must be a non-empty string")
    if max_len is not None and len(value) > max_len:
        raise StoreError(f"{name} is longer than {max_len} characters ({len(value)})")
    return value


def _bound(value: datetime | pd.Timestamp | None, name: str) -> datetime | None:
    return None if value is None else to_utc(value, name)


# --------------------------------------------------------------------------------------------
# Building DataFrames from column lists.
# --------------------------------------------------------------------------------------------

# Column kinds of each read_* frame; empty results use the same dtypes.
LEAD_FRAME = {"lead_id": "str", "created_at": "datetime", "origin": "str"}
SCORE_FRAME = {
    "score_id": "int",
    "lead_id": "str",
    "scored_at": "datetime",
    "score": "float",
    "probability": "float",
    "acceptance_probability": "float",
    "tier": "str",
    "handoff": "bool",
    "excluded_reason": "str",
    "due_at": "datetime",
    "model_version": "str",
    "policy_version": "int",
    "feature_set_version": "str",
    "reasons": "json",
}
EVENT_FRAME = {
    "event_id": "str",
    "lead_id": "str",
    "type": "str",
    "occurred_at": "datetime",
    "recorded_at": "datetime",
    "rep": "str",
    "team": "str",
    "channel": "str",
    "outcome": "str",
    "duration_s": "float",
    "reason": "str",
    "status": "str",
    "next_action": "str",
    "amount": "float",
    "payload": "json",
}
POLICY_FRAME = {
    "version": "int",
    "name": "str",
    "body": "json",
    "author": "str",
    "comment": "str",
    "created_at": "datetime",
}
DECISION_FRAME = {
    "decision_id": "int",
    "lead_id": "str",
    "case": "str",
    "decision": "str",
    "reasoning": "str",
    "decided_by": "str",
    "decided_at": "datetime",
}


def _column(values: Sequence[Any], kind: str) -> Any:
    """One frame column with a fixed dtype, whatever the values (or their absence)."""
    if kind == "datetime":
        return pd.to_datetime(list(values), utc=True, format="ISO8601").as_unit("ns")
    if kind == "str":
        return pd.Series(values, dtype="str")
    if kind == "float":
        return pd.Series(values, dtype="float64")
    if kind == "int":
        return pd.Series(values, dtype="int64")
    if kind == "bool":
        return pd.Series(values, dtype="bool")
    if kind == "json":
        return pd.Series(_json_column(values), dtype=object)
    return pd.Series(values, dtype=object)


def _json_column(values: Sequence[Any]) -> list[Any]:
    """Decode a column of JSON texts with ONE json.loads call (100k calls cost seconds).

    PostgreSQL drivers return JSON already decoded; those values pass through unchanged.
    """
    if not any(isinstance(v, str) for v in values):
        return list(values)
    try:
        return json.loads("[" + ",".join("null" if v is None else v for v in values) + "]")
    except (TypeError, ValueError):
        return [v if v is None or not isinstance(v, str) else json.loads(v) for v in values]


def _stored(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A datetime or JSON column as the driver returns it (SQLite: text).

    Frame reads convert whole columns at once (pandas, one json.loads) instead of one value per
    row in Python.
    """
    if isinstance(column.type, UTCDateTime | JSON):
        return type_coerce(column, NullType()).label(column.key)
    return column


def _frame(rows: Sequence[Row[Any]], kinds: Mapping[str, str]) -> pd.DataFrame:
    """A DataFrame from result rows whose columns are in ``kinds`` order."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in kinds]
    data = {}
    for (name, kind), values in zip(kinds.items(), columns, strict=True):
        column = _column(values, kind)
        data[name] = column.array if isinstance(column, pd.Series) else column
    return pd.DataFrame(data, columns=list(kinds))


def _executemany_columnwise(
    conn: Connection, table: Table, stmt: Insert, rows: list[dict[str, Any]]
) -> None:
    """executemany of a Core insert with SQLAlchemy's own type processors applied per column.

    Same SQL and same stored values as ``conn.execute(stmt, rows)``, but without its per-row
    parameter bookkeeping, which costs more than SQLite itself on a 400k-event import. Used for
    SQLite (positional parameters); PostgreSQL goes through ``conn.execute``.
    """
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, column_keys=list(rows[0]))
    if not compiled.positiontup:
        conn.execute(stmt, rows)
        return
    columns = []
    for name in compiled.positiontup:
        values = [row[name] for row in rows]
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append(values if process is None else [process(v) for v in values])
    conn.exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))


def _sqlite_connect(dbapi_connection: Any, _record: Any, *, wal: bool) -> None:
    """Per-connection SQLite settings; autocommit mode so that _sqlite_begin owns BEGIN."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front (BEGIN IMMEDIATE), so a check-then-insert cannot
    interleave with another writer and fail late with SQLITE_BUSY; readers use plain BEGIN."""
    immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _make_engine(url: str) -> Engine:
    parsed: URL = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we ship
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if not in_memory and not parsed.query.get("uri"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", lambda c, r: _sqlite_connect(c, r, wal=not in_memory))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


class Store:
    """Access to the lead store database (SQLite file or PostgreSQL).

    ``Store(url)`` only builds the engine; ``Store.open(url)`` also migrates to the latest
    schema, which is what applications want.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_database_url()
        self._engine = _make_engine(self.url)

    @classmethod
    def open(cls, url: str | None = None, *, upgrade: bool = True) -> Store:
        """A store on ``url`` (default: default_database_url()), migrated to head unless told."""
        store = cls(url)
        if upgrade:
            try:
                store.upgrade()
            except BaseException:
                store.dispose()
                raise
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect name: "sqlite" or "postgresql"."""
        return self._engine.dialect.name

    def dispose(self) -> None:
        """Close all pooled connections (a SQLite file can then be moved or deleted)."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    # ---------------------------------------------------------------- migrations

    def _alembic_config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        config.set_main_option("path_separator", "os")
        config.attributes["connection"] = connection
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema forward; existing rows are kept."""
        with self._writing() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK_ID)))
            command.upgrade(self._alembic_config(conn), revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the schema back to ``revision`` (drops what later revisions added)."""
        with self._writing() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK_ID)))
            command.downgrade(self._alembic_config(conn), revision)

    def current_revision(self) -> str | None:
        """The alembic revision the database is at (None for an empty database)."""
        with self._engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # ---------------------------------------------------------------- plumbing

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction; errors raised while binding values surface as StoreError."""
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{_WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except StatementError as err:
            if isinstance(err.orig, StoreError):
                raise err.orig from None
            if isinstance(err, IntegrityError):
                raise StoreError(f"the database refused the write: {err.orig}") from err
            raise

    def _rows_in(
        self, conn: Connection, stmt: Select[Any], column: Column[Any], keys: Sequence[Any]
    ) -> list[Row[Any]]:
        """``stmt`` restricted to ``column IN keys``, in chunks the driver accepts."""
        out: list[Row[Any]] = []
        keys = list(keys)
        for start in range(0, len(keys), _IN_CHUNK):
            out.extend(conn.execute(stmt.where(column.in_(keys[start : start + _IN_CHUNK]))))
        return out

    def _insert_new(
        self, conn: Connection, table: Table, rows: list[dict[str, Any]], *, ignore: bool = True
    ) -> None:
        """Insert ``rows``; with ``ignore``, skip primary keys a concurrent writer just added."""
        if not rows:
            return
        keys = [c.name for c in table.primary_key]
        if ignore and conn.dialect.name == "sqlite":
            stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
        elif ignore and conn.dialect.name == "postgresql":
            stmt = pg_insert(table).on_conflict_do_nothing(index_elements=keys)
        else:
            stmt = insert(table)
        if conn.dialect.name == "sqlite":
            _executemany_columnwise(conn, table, stmt, rows)
        else:
            conn.execute(stmt, rows)

    @staticmethod
    def _has_rows(conn: Connection, table: Table) -> bool:
        first_pk = next(iter(table.primary_key.columns))
        return conn.execute(select(first_pk).limit(1)).first() is not None

    # ---------------------------------------------------------------- writes

    def write_batch(
        self,
        *,
        leads: Rows | None = None,
        events: Rows | None = None,
        scores: Rows | None = None,
        origin: str,
    ) -> dict[str, int]:
        """Leads, then events and scores, in ONE transaction: all of it is written or nothing.

        Returns the number of rows inserted per table; leads and events already stored (same
        id, and for leads the same fields and created_at) are skipped, not counted.
        """
        return self._write_batch(leads, events, scores, origin)

    def add_leads(self, leads: Rows, *, origin: str) -> int:
        """Insert leads (lead_id, created_at, then any field columns); returns how many."""
        return self._write_batch(leads, None, None, origin)["leads"]

    def add_events(self, events: Rows) -> int:
        """Append events; ids already stored are skipped (safe retries). Returns how many."""
        return self._write_batch(None, events, None, None)["events"]

    def add_scores(self, scores: Rows) -> int:
        """Append scores (every call adds rows; read_scores picks the latest per lead)."""
        return self._write_batch(None, None, scores, None)["scores"]

    def _write_batch(
        self,
        lead_data: Rows | None,
        event_data: Rows | None,
        score_data: Rows | None,
        origin: str | None,
    ) -> dict[str, int]:
        now = datetime.now(UTC)
        lead_rows = _prepare_leads(lead_data, origin, now)
        event_rows, event_label = _prepare_events(event_data, now)
        score_rows, score_label = _prepare_scores(score_data, now)
        if not (lead_rows or event_rows or score_rows):
            return {"leads": 0, "events": 0, "scores": 0}
        with self._writing() as conn:
            new_leads = self._unstored_leads(conn, lead_rows)
            created = {r["lead_id"]: r["created_at"] for r in lead_rows}
            self._check_references(conn, created, event_rows, event_label, score_rows, score_label)
            new_events = self._unstored_events(conn, event_rows)
            self._insert_new(conn, leads, new_leads)
            self._insert_new(conn, events, new_events)
            self._insert_new(conn, scores, score_rows, ignore=False)
        return {"leads": len(new_leads), "events": len(new_events), "scores": len(score_rows)}

    def _unstored_leads(self, conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The leads not stored yet; a stored lead with another fields_hash is a conflict."""
        if not rows or not self._has_rows(conn, leads):
            return rows
        query = select(leads.c.lead_id, leads.c.fields_hash)
        ids = [r["lead_id"] for r in rows]
        found = self._rows_in(conn, query, leads.c.lead_id, ids)
        stored = {r.lead_id: r.fields_hash for r in found}
        conflicts = [
            r["lead_id"]
            for r in rows
            if r["lead_id"] in stored and stored[r["lead_id"]] != r["fields_hash"]
        ]
        if conflicts:
            raise StoreError(
                "leads: already stored with different fields or created_at: "
                f"{_preview(conflicts)}; nothing was written"
            )
        return [r for r in rows if r["lead_id"] not in stored]

    def _check_references(
        self,
        conn: Connection,
        created: dict[str, datetime],
        event_rows: list[dict[str, Any]],
        event_label: Callable[[int], str],
        score_rows: list[dict[str, Any]],
        score_label: Callable[[int], str],
    ) -> None:
        """Events and scores must name a stored (or same-batch) lead; events not predate it.

        ``created`` holds the batch's leads (lead_id → created_at) and is completed here.
        """
        wanted = {r["lead_id"] for r in event_rows} | {r["lead_id"] for r in score_rows}
        unknown = [k for k in wanted if k not in created]
        if unknown:
            query = select(leads.c.lead_id, leads.c.created_at)
            for r in self._rows_in(conn, query, leads.c.lead_id, unknown):
                created[r.lead_id] = r.created_at
        for rows, label in ((event_rows, event_label), (score_rows, score_label)):
            for i, r in enumerate(rows):
                if r["lead_id"] not in created:
                    raise StoreError(f"{label(i)}: lead_id {r['lead_id']!r} is not a stored lead")
        for i, r in enumerate(event_rows):
            lead_created = created[r["lead_id"]]
            if r["occurred_at"] < lead_created:
                raise StoreError(
                    f"{event_label(i)}: occurred_at {r['occurred_at'].isoformat()} is before "
                    f"lead {r['lead_id']!r} was created ({lead_created.isoformat()})"
                )

    def _unstored_events(
        self, conn: Connection, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The events whose event_id is not stored yet (a retried event is skipped)."""
        if not rows or not self._has_rows(conn, events):
            return rows
        ids = [r["event_id"] for r in rows]
        query = select(events.c.event_id)
        stored = {r.event_id for r in self._rows_in(conn, query, events.c.event_id, ids)}
        return [r for r in rows if r["event_id"] not in stored]

    def add_policy_version(
        self,
        body: Mapping[str, Any],
        *,
        author: str,
        comment: str,
        name: str = "default",
        only_if_none: bool = False,
    ) -> int:
        """Store a new policy version (never overwritten) and return its version number.

        ``only_if_none``: store it only if the store holds no version yet, else return the
        latest. The check and the write are one transaction that excludes other writers of the
        table, so workers starting together on an empty store write version 1 once.
        """
        if not isinstance(body, Mapping):
            raise StoreError(f"policy body must be a mapping, got {type(body).__name__}")
        try:
            json_body = _json_value(body)
        except _Bad as bad:
            raise StoreError(f"policy body: {bad}") from None
        row = {
            "name": _required_text(name, "policy name", policy_versions.c.name.type.length),
            "body": json_body,
            "author": _required_text(author, "policy author", policy_versions.c.author.type.length),
            "comment": _required_text(comment, "policy comment"),
            "created_at": datetime.now(UTC),
        }
        with self._writing() as conn:  # SQLite: BEGIN IMMEDIATE already excludes writers
            if only_if_none:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("LOCK TABLE policy_versions IN SHARE ROW EXCLUSIVE MODE")
                latest = conn.execute(select(func.max(policy_versions.c.version))).scalar()
                if latest is not None:
                    return int(latest)
            result = conn.execute(insert(policy_versions), row)
            return int(result.inserted_primary_key[0])

    def add_decision(
        self,
        *,
        case: str,
        decision: str,
        reasoning: str,
        decided_by: str,
        lead_id: str | None = None,
        decided_at: datetime | None = None,
    ) -> int:
        """Record who decided what about a case and why; returns the decision_id."""
        when = datetime.now(UTC) if decided_at is None else to_utc(decided_at, "decided_at")
        row = {
            "lead_id": lead_id,
            "case_text": _required_text(case, "case"),
            "decision": _required_text(decision, "decision"),
            "reasoning": _required_text(reasoning, "reasoning"),
            "decided_by": _required_text(
                decided_by, "decided_by", decision_log.c.decided_by.type.length
            ),
            "decided_at": when,
        }
        with self._writing() as conn:
            if lead_id is not None:
                found = conn.execute(select(leads.c.lead_id).where(leads.c.lead_id == lead_id))
                if found.first() is None:
                    raise StoreError(f"decision: lead_id {lead_id!r} is not a stored lead")
            result = conn.execute(insert(decision_log), row)
            return int(result.inserted_primary_key[0])

    # ---------------------------------------------------------------- reads

    def get_lead(self, lead_id: str) -> dict[str, Any] | None:
        """One lead as {lead_id, created_at, origin, fields}, or None."""
        stmt = select(leads.c.lead_id, leads.c.created_at, leads.c.origin, leads.c.fields)
        rows = self._read(stmt.where(leads.c.lead_id == lead_id))
        return dict(rows[0]._mapping) if rows else None

    def _read(
        self,
        stmt: Select[Any],
        key: Column[Any] | None = None,
        keys: Iterable[Any] | None = None,
        sort: Callable[[Row[Any]], Any] | None = None,
    ) -> list[Row[Any]]:
        """Run a read; with ``keys``, restrict ``key`` to them (chunked, then re-sorted)."""
        with self._engine.connect() as conn:
            if keys is None or key is None:
                return conn.execute(stmt).all()
            key_list = list(dict.fromkeys(keys))
            rows = self._rows_in(conn, stmt, key, key_list)
        if sort is not None and len(key_list) > _IN_CHUNK:
            rows.sort(key=sort)
        return rows

    def read_leads(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Leads created in [since, until): lead_id, created_at, origin, then one column per field.

        Field columns appear in the order their keys are first met; a lead without a field has
        NaN there. Ordered by created_at, lead_id.
        """
        c = leads.c
        stmt = select(c.lead_id, _stored(c.created_at), c.origin, _stored(c.fields))
        stmt = _window(stmt, c.created_at, since, until).order_by(c.created_at, c.lead_id)
        rows = self._read(stmt, c.lead_id, lead_ids, lambda r: (r[1], r[0]))
        frame = _frame([r[:3] for r in rows], LEAD_FRAME)
        if rows:
            records = _json_column([r[3] for r in rows])
            fields = pd.DataFrame.from_records(records, index=frame.index)
            if len(fields.columns):
                frame = pd.concat([frame, fields], axis=1)
        return frame

    def read_scores(
        self,
        *,
        latest_only: bool = True,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Scores made in [since, until); with latest_only, the latest one per lead within it.

        So ``read_scores(until=t)`` is each lead's score as it stood at time t. ``lead_ids``
        restricts the read to those leads (the service reads one lead's score this way).
        """
        if lead_ids is not None:
            ids = list(dict.fromkeys(lead_ids))
            parts = [
                self._read_scores(latest_only, since, until, ids[i : i + _IN_CHUNK])
                for i in range(0, max(len(ids), 1), _IN_CHUNK)
            ]
            return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return self._read_scores(latest_only, since, until, None)

    def _read_scores(
        self,
        latest_only: bool,
        since: datetime | None,
        until: datetime | None,
        ids: list[str] | None,
    ) -> pd.DataFrame:
        cols = [scores.c[name] for name in SCORE_FRAME]
        if latest_only:
            rank = func.row_number().over(
                partition_by=scores.c.lead_id,
                order_by=(scores.c.scored_at.desc(), scores.c.score_id.desc()),
            )
            ranked = _window(select(*cols, rank.label("rank")), scores.c.scored_at, since, until)
            if ids is not None:
                ranked = ranked.where(scores.c.lead_id.in_(ids))
            inner = ranked.subquery()
            stmt = select(*[_stored(inner.c[name]) for name in SCORE_FRAME])
            stmt = stmt.where(inner.c.rank == 1).order_by(inner.c.scored_at, inner.c.score_id)
        else:
            stmt = _window(select(*map(_stored, cols)), scores.c.scored_at, since, until)
            if ids is not None:
                stmt = stmt.where(scores.c.lead_id.in_(ids))
            stmt = stmt.order_by(scores.c.scored_at, scores.c.score_id)
        return _frame(self._read(stmt), SCORE_FRAME)

    def read_events(
        self,
        *,
        types: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lead_ids: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Events that occurred in [since, until), ordered by occurred_at, recorded_at, event_id."""
        c = events.c
        stmt = select(*[_stored(c[name]) for name in EVENT_FRAME])
        if types is not None:
            wanted = [types] if isinstance(types, str) else list(types)
            bad = [t for t in wanted if t not in EVENT_TYPES]
            if bad:
                raise StoreError(f"read_events: unknown type(s) {_preview(bad)}")
            stmt = stmt.where(c.type.in_(wanted))
        stmt = _window(stmt, c.occurred_at, since, until)
        stmt = stmt.order_by(c.occurred_at, c.recorded_at, c.event_id)
        rows = self._read(stmt, c.lead_id, lead_ids, lambda r: (r[3], r[4], r[0]))
        return _frame(rows, EVENT_FRAME)

    def latest_policy(self) -> dict[str, Any] | None:
        """The newest policy version as {version, name, body, author, comment, created_at}."""
        stmt = select(*[policy_versions.c[name] for name in POLICY_FRAME])
        rows = self._read(stmt.order_by(policy_versions.c.version.desc()).limit(1))
        return dict(rows[0]._mapping) if rows else None

    def get_policy(self, version: int) -> dict[str, Any] | None:
        """One policy version, or None."""
        stmt = select(*[policy_versions.c[name] for name in POLICY_FRAME])
        rows = self._read(stmt.where(policy_versions.c.version == version))
        return dict(rows[0]._mapping) if rows else None

    def read_policy_versions(self) -> pd.DataFrame:
        """Every policy version, oldest first (the audit trail of rule changes)."""
        stmt = select(*[_stored(policy_versions.c[name]) for name in POLICY_FRAME])
        return _frame(self._read(stmt.order_by(policy_versions.c.version)), POLICY_FRAME)

    def read_decisions(self) -> pd.DataFrame:
        """The decision log, oldest first; the case_text column is exposed as ``case``."""
        c = decision_log.c
        stmt = select(
            c.decision_id,
            c.lead_id,
            c.case_text.label("case"),
            c.decision,
            c.reasoning,
            c.decided_by,
            _stored(c.decided_at),
        ).order_by(c.decision_id)
        return _frame(self._read(stmt), DECISION_FRAME)

    def count(self, table: str) -> int:
        """Number of rows in one of the store's tables."""
        if table not in metadata.tables:
            known = ", ".join(sorted(metadata.tables))
            raise StoreError(f"unknown table {table!r}; known: {known}")
        stmt = select(func.count()).select_from(metadata.tables[table])
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def is_empty(self) -> bool:
        """True when no lead is stored (first run: offer the demo data)."""
        with self._engine.connect() as conn:
            return not self._has_rows(conn, leads)


def _window(
    stmt: Select[Any],
    column: Column[Any],
    since: datetime | pd.Timestamp | None,
    until: datetime | pd.Timestamp | None,
) -> Select[Any]:
    """Restrict ``column`` to [since, until); bounds must be tz-aware like everything else."""
    lower = _bound(since, "since")
    upper = _bound(until, "until")
    if lower is not None:
        stmt = stmt.where(column >= lower)
    if upper is not None:
        stmt = stmt.where(column < upper)
    return stmt
