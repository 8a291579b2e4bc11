"""Lead fields declared as data: what a lead looks like, and when each field becomes known.

A company describes its own CRM columns in YAML (see ``lead_fields.yaml``); nothing here is
specific to one CRM. ``known_at`` is the leakage guard: only ``creation`` fields may ever feed a
model, because ``after_contact`` fields are filled in by sales once they have seen the lead.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from feature_defs.declared import Version, repeated
from feature_defs.errors import ContractError, from_validation_error
from feature_defs.typed_leads import TypedLeads
from feature_defs.yaml_io import read_yaml

DType = Literal["string", "category", "integer", "float", "boolean", "datetime"]
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TRUE_STRINGS = {"true", "1", "yes", "y", "t", "oui", "vrai"}
FALSE_STRINGS = {"false", "0", "no", "n", "f", "non", "faux"}


class Range(BaseModel):
    """Inclusive bounds of a numeric field."""

    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must be <= max ({self.max})")
        return self


class LeadField(BaseModel):
    """One declared lead field."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    dtype: DType
    description: str = Field(min_length=3)
    known_at: Literal["creation", "after_contact"]
    required: bool = False
    allowed: tuple[str, ...] | None = None
    ordered: bool = False
    range: Range | None = None
    pattern: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not FIELD_NAME.match(v):
            raise ValueError("must be snake_case: a lowercase letter then letters, digits or _")
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"is not a valid regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> LeadField:
        if self.dtype == "category" and not self.allowed:
            raise ValueError("a category field needs a non-empty 'allowed' list")
        if self.allowed is not None and self.dtype != "category":
            raise ValueError("'allowed' is only for dtype category")
        if self.allowed is not None and len(set(self.allowed)) != len(self.allowed):
            raise ValueError("'allowed' has duplicate values")
        if self.ordered and self.dtype != "category":
            raise ValueError("'ordered' is only for dtype category")
        if self.range is not None and self.dtype not in ("integer", "float"):
            raise ValueError("'range' is only for dtype integer or float")
        if self.pattern is not None and self.dtype != "string":
            raise ValueError("'pattern' is only for dtype string")
        return self


class FieldSetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: Version
    description: str = ""
    id_field: str = "lead_id"
    created_at_field: str | None = "created_at"  # null: the data has no timestamps
    fields: list[LeadField] = Field(min_length=1)

    @model_validator(mode="after")
    def _keys(self) -> FieldSetSpec:
        dupes = repeated(f.name for f in self.fields)
        if dupes:
            raise ValueError(f"field names must be unique; repeated: {', '.join(dupes)}")
        by_name = {f.name: f for f in self.fields}
        keys = [(self.id_field, "string"), (self.created_at_field, "datetime")]
        for key, dtype in keys:
            if key is None:
                continue
            if key not in by_name:
                raise ValueError(f"'{key}' must be declared as a field")
            f = by_name[key]
            if f.dtype != dtype or not f.required or f.known_at != "creation":
                raise ValueError(
                    f"field '{key}' must be dtype {dtype}, required and known_at creation"
                )
        return self


class FieldSet:
    """The loaded, validated lead fields of one company."""

    def __init__(self, spec: FieldSetSpec, *, path: Path | None = None) -> None:
        self.spec = spec
        self.path = path
        self.by_name: dict[str, LeadField] = {f.name: f for f in spec.fields}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def id_field(self) -> str:
        return self.spec.id_field

    @property
    def created_at_field(self) -> str | None:
        return self.spec.created_at_field

    def __iter__(self):  # noqa: ANN204 - iterator of LeadField
        return iter(self.spec.fields)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> LeadField:
        return self.by_name[name]

    def creation_fields(self) -> list[LeadField]:
        return [f for f in self.spec.fields if f.known_at == "creation"]

    def coerce(self, records: pd.DataFrame, *, row_offset: int = 0) -> pd.DataFrame:
        """Validate and type raw records (strings from a CSV, JSON from the API).

        Returns a frame with one column per declared field present in ``records`` plus every
        missing declared field as nulls, with canonical types: category/string as object,
        integer as nullable Int64, float as float64, boolean as nullable boolean, datetime as
        tz-aware UTC. Raises ContractError listing every broken rule with its row and column.
        Columns that are not declared are refused, so a typo never silently drops data.
        """
        return self.coerce_columns(records, row_offset=row_offset).frame()

    def coerce_columns(self, records: pd.DataFrame, *, row_offset: int = 0) -> TypedLeads:
        """``coerce`` as columns, before they become a DataFrame (the scoring hot path reads
        them as they are; see ``feature_defs.typed_leads``)."""
        problems: list[str] = []
        details: list[dict] = []
        unknown = [c for c in records.columns if c not in self.by_name]
        if unknown:
            problems.append(
                f"unknown column(s) {', '.join(map(repr, unknown))}: not declared in "
                f"lead fields '{self.name}'"
            )
            details += [
                {"row": None, "field": c, "rule": "is not a declared lead field", "value": None}
                for c in unknown
            ]
        out: dict[str, Any] = {}
        n = len(records)
        for f in self.spec.fields:
            raw = records[f.name].tolist() if f.name in records.columns else [None] * n
            values, missing, bad = _coerce_column(raw, f)
            for i, rule in bad[:20]:
                problems.append(
                    f"row {i + row_offset}, column '{f.name}': {rule} (got {_plain(raw[i])!r})"
                )
                details.append({"row": i, "field": f.name, "rule": rule, "value": _plain(raw[i])})
            if len(bad) > 20:
                problems.append(f"column '{f.name}': {len(bad) - 20} more rows break the rules")
            if f.required:
                already = {i for i, _ in bad}
                absent = [i for i, m in enumerate(missing) if m and i not in already]
                for i in absent[:20]:
                    problems.append(f"row {i + row_offset}, column '{f.name}': is required")
                    details.append(
                        {"row": i, "field": f.name, "rule": "is required", "value": None}
                    )
                if len(absent) > 20:
                    problems.append(f"column '{f.name}': {len(absent) - 20} more rows miss it")
            out[f.name] = values
        if problems:
            raise ContractError(problems, details=details)
        return TypedLeads(out, pd.RangeIndex(n))


def _plain(v: Any) -> Any:
    """numpy scalars as Python values, 3.0 as 3, so that messages show what the user typed."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    if isinstance(v, float | np.floating):
        return bool(v != v)
    return isinstance(v, np.datetime64) and bool(np.isnat(v))


def _to_bool(v: Any) -> bool | None:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | float | np.integer | np.floating) and v in (0, 1):
        return bool(v)
    text = str(v).strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    return None


def _to_utc(v: Any) -> datetime | str:
    """An aware UTC datetime, or the name of the broken rule."""
    if isinstance(v, datetime):
        ts = v
    else:
        text = str(v).strip()
        try:
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                ts = pd.Timestamp(text).to_pydatetime()
            except (ValueError, TypeError, OverflowError):
                return "must be an ISO 8601 date-time"
    if ts.tzinfo is None or ts.utcoffset() is None:
        return "must carry a timezone offset, e.g. 2026-03-02T09:15:00+01:00"
    return ts.astimezone(UTC)


def _coerce_column(raw: list[Any], f: LeadField) -> tuple[Any, list[bool], list[tuple[int, str]]]:
    """Coerce one column: typed values, a missing mask, and (row, rule) for broken values.

    Works on plain lists: a single lead (the API) must cost microseconds, not a pandas call
    per field.
    """
    bad: list[tuple[int, str]] = []
    missing = [_is_missing(v) for v in raw]
    dtype = f.dtype
    if dtype in ("string", "category"):
        items = [
            None if m else (v.strip() if isinstance(v, str) else str(_plain(v)))
            for v, m in zip(raw, missing, strict=True)
        ]
        if dtype == "category":
            allowed = set(f.allowed or ())
            rule = f"must be one of {', '.join(f.allowed or ())}"
            bad = [(i, rule) for i, v in enumerate(items) if v is not None and v not in allowed]
        elif f.pattern:
            rx = re.compile(f.pattern)
            rule = f"must match pattern {f.pattern}"
            bad = [(i, rule) for i, v in enumerate(items) if v is not None and not rx.fullmatch(v)]
        return np.array(items, dtype=object), missing, bad
    if dtype in ("integer", "float"):
        nums: list[float | None] = []
        lo = f.range.min if f.range else None
        hi = f.range.max if f.range else None
        for i, (v, m) in enumerate(zip(raw, missing, strict=True)):
            if m:
                nums.append(None)
                continue
            try:
                x = float(v.strip() if isinstance(v, str) else v)
            except (TypeError, ValueError):
                x = float("nan")
            if x != x or x in (float("inf"), float("-inf")):
                bad.append((i, f"must be a number ({dtype})"))
            elif dtype == "integer" and not x.is_integer():
                bad.append((i, "must be a whole number"))
            elif lo is not None and x < lo:
                bad.append((i, f"must be >= {lo:g}"))
            elif hi is not None and x > hi:
                bad.append((i, f"must be <= {hi:g}"))
            else:
                nums.append(x)
                continue
            nums.append(None)
        if dtype == "integer":
            return _int64(nums), missing, bad
        return np.array([np.nan if x is None else x for x in nums], dtype=float), missing, bad
    if dtype == "boolean":
        flags: list[bool | None] = []
        for i, (v, m) in enumerate(zip(raw, missing, strict=True)):
            b = None if m else _to_bool(v)
            if not m and b is None:
                bad.append((i, "must be a boolean (true/false, yes/no, 1/0)"))
            flags.append(b)
        return _boolean(flags), missing, bad
    stamps: list[datetime | None] = []
    for i, (v, m) in enumerate(zip(raw, missing, strict=True)):
        got = None if m else _to_utc(v)
        if isinstance(got, str):
            bad.append((i, got))
            got = None
        stamps.append(got)
    return _utc_array(stamps), missing, bad


# Typed arrays built directly from their values and mask: the same arrays (masked slots hold 1
# and False, as pandas' own constructors leave them) for a fraction of ``pd.array``'s cost, which
# counts when the API types a single lead.
def _int64(nums: list[float | None]) -> Any:
    try:
        data = np.array([1 if x is None else int(x) for x in nums], dtype=np.int64)
    except (OverflowError, ValueError):
        return pd.array([None if x is None else int(x) for x in nums], dtype="Int64")
    return pd.arrays.IntegerArray(data, np.array([x is None for x in nums], dtype=bool))


def _boolean(flags: list[bool | None]) -> Any:
    return pd.arrays.BooleanArray(
        np.array([bool(b) for b in flags], dtype=bool),  # None -> False under the mask
        np.array([b is None for b in flags], dtype=bool),
    )


_NS_MIN, _NS_MAX = datetime(1678, 1, 1, tzinfo=UTC), datetime(2262, 1, 1, tzinfo=UTC)
_NO_STAMP = pd.DatetimeIndex(np.array(["NaT"], dtype="datetime64[ns]"), tz="UTC").array


def _utc_array(stamps: list[datetime | None]) -> Any:
    """``pd.to_datetime(stamps, utc=True).array`` (datetime64[ns, UTC]) for aware UTC datetimes."""
    if all(s is None for s in stamps):  # a field the lead leaves out: copies of one NaT
        return _NO_STAMP.take(np.zeros(len(stamps), dtype=np.intp))
    if all(
        s is None or (type(s) is datetime and _NS_MIN < s < _NS_MAX and s.tzinfo is UTC)
        for s in stamps
    ):
        nat = np.datetime64("NaT", "ns")
        naive = np.array(
            [nat if s is None else np.datetime64(s.replace(tzinfo=None), "ns") for s in stamps],
            dtype="datetime64[ns]",
        )
        return pd.DatetimeIndex(naive, tz="UTC").array  # naive values read as UTC wall time
    return pd.to_datetime(pd.Series(stamps, dtype=object), utc=True).array


def load_fields(path: str | Path) -> FieldSet:
    """Load and validate a lead-fields YAML file."""
    p = Path(path)
    data = read_yaml(p)
    try:
        spec = FieldSetSpec.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err, source=p, data=data) from None
    return FieldSet(spec, path=p)
