"""Import CRM exports (CSV files of leads or of events) through a column-mapping YAML file.

Every CRM names its columns and picklist values its own way, so a mapping file, written and fixed
by marketing ops rather than by engineers, says how one export becomes our declared lead fields
(see ``mappings/*.yaml``). The import is all-or-nothing: the whole file is read, mapped and
validated first, every problem is reported with its line, CSV column, value and rule, and only a
clean file is written, in one store transaction. Re-importing a file is harmless: leads are keyed
by lead_id and events by event_id (derived from the event itself when the CRM has no id), and the
store skips what it already holds.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import math
import re
import time
import unicodedata
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from feature_defs.contract import Contract, load_contract
from feature_defs.errors import ContractError, from_validation_error
from feature_defs.fields import FieldSet
from feature_defs.policy import Policy
from feature_defs.yaml_io import read_yaml
from scoring_service.store import EVENT_TYPES, Store, StoreError
from scoring_service.store.tables import events as events_table
from scoring_service.store.tables import leads as leads_table

__all__ = [
    "BUNDLED_MAPPINGS",
    "ColumnRule",
    "ImportReport",
    "Keywords",
    "Mapping",
    "MappingSpec",
    "apply_rule",
    "bind_mapping",
    "import_csv",
    "load_mapping",
    "parse_datetimes",
]

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
BUNDLED_MAPPINGS = ("hubspot_contacts", "salesforce_leads", "handoff_leads", "handoff_events")
CHUNK_ROWS = 20_000
MAX_PROBLEMS = 50
PROGRESS_MIN_BYTES = 1 << 20  # below ~1 MB the import is over before a bar is worth drawing

Scalar = str | int | float | bool
EventKind = Literal["string", "float", "datetime", "json"]

# Our event columns (the store's events table): kind and whether a row needs a value.
EVENT_COLUMNS: dict[str, tuple[EventKind, bool]] = {
    "event_id": ("string", False),
    "lead_id": ("string", True),
    "type": ("string", True),
    "occurred_at": ("datetime", True),
    "recorded_at": ("datetime", False),
    "rep": ("string", False),
    "team": ("string", False),
    "channel": ("string", False),
    "outcome": ("string", False),
    "duration_s": ("float", False),
    "reason": ("string", False),
    "status": ("string", False),
    "next_action": ("string", False),
    "amount": ("float", False),
    "payload": ("json", False),
}
# What the deterministic event_id is made of when the file has no id column.
EVENT_IDENTITY = ("lead_id", "type", "occurred_at", "rep", "reason")


# --------------------------------------------------------------------------------------------
# Text normalisation shared by map keys and keywords.
# --------------------------------------------------------------------------------------------


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lowercase, accents dropped, punctuation turned into single spaces.

    'Directrice Financière (FP&A)' -> 'directrice financiere fp a', so one keyword list reads
    titles typed in any case, with or without accents, in English or French.
    """
    return " ".join(re.sub(r"[\W_]+", " ", _strip_accents(text.casefold())).split())


def map_key(text: str) -> str:
    """How ``map`` keys are compared: case, accents and repeated spaces ignored, punctuation kept
    (so '1-5' and '15' stay different picklist values)."""
    return " ".join(_strip_accents(text.casefold()).split())


# --------------------------------------------------------------------------------------------
# The mapping file, validated with pydantic.
# --------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Bands(_Strict):
    """Numeric value -> label: ``labels[i]`` covers [edges[i-1], edges[i])."""

    edges: list[float] = Field(min_length=1)
    labels: list[str]

    @model_validator(mode="after")
    def _consistent(self) -> Bands:
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly increasing")
        if len(self.labels) != len(self.edges) + 1:
            raise ValueError(
                f"needs exactly one label more than edges ({len(self.edges)} edges, so "
                f"{len(self.edges) + 1} labels; got {len(self.labels)})"
            )
        return self

    def label(self, number: float) -> str:
        return self.labels[bisect_right(self.edges, number)]


class EmailLabels(_Strict):
    free: str = "free_mail"
    competitor: str = "competitor"
    corporate: str = "corporate"


class EmailDomains(_Strict):
    """Domain lists that classify an email address; anything else is corporate."""

    free: list[str] = []
    competitor: list[str] = []
    labels: EmailLabels = EmailLabels()

    @field_validator("free", "competitor")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = [d.strip().lower().lstrip("@").rstrip(".") for d in v]
        bad = [d for d in out if "." not in d or "@" in d or " " in d]
        if bad:
            raise ValueError(f"not domain names: {', '.join(map(repr, bad))}")
        return out

    def classify(self, email: str) -> str | None:
        """The label of an address's domain (subdomains count), or None if it is no address."""
        local, at, domain = email.strip().rpartition("@")
        domain = domain.lower().rstrip(".")
        if not at or not local or "." not in domain:
            return None
        for names, label in (
            (self.competitor, self.labels.competitor),
            (self.free, self.labels.free),
        ):
            if any(domain == d or domain.endswith("." + d) for d in names):
                return label
        return self.labels.corporate


def _check_map_keys(v: Any) -> Any:
    """YAML 1.1 reads Yes/No/On/Off as booleans and 10 as a number: picklist keys are text."""
    if not isinstance(v, dict):
        return v
    out = {}
    for key, value in v.items():
        if isinstance(key, bool):
            raise ValueError(f'key {key!r} was read as a boolean: quote it, e.g. "Yes"')
        out[str(key) if isinstance(key, int | float) else key] = value
    return out


class ColumnRule(_Strict):
    """How one of our fields is produced: from a CSV column (optionally translated) or a constant.

    ``map`` (exact picklist values, case-insensitive) is tried first, then at most one of
    ``bands``, ``keywords`` or ``email_domain``; ``default`` fills empty cells and values that
    nothing matched (without it an unmatched value is an error). ``optional`` lets the CSV lack
    the column altogether.
    """

    from_: str | None = Field(default=None, alias="from", min_length=1)
    value: Scalar | None = None
    map: dict[str, Scalar | None] | None = None
    default: Scalar | None = None
    bands: Bands | None = None
    keywords: dict[str, list[str]] | None = None
    email_domain: EmailDomains | None = None
    optional: bool = False

    _map_keys = field_validator("map", mode="before")(_check_map_keys)

    @field_validator("map")
    @classmethod
    def _unique_keys(cls, v: dict[str, Scalar | None] | None) -> dict[str, Scalar | None] | None:
        if v is None:
            return v
        seen: dict[str, str] = {}
        for key in v:
            k = map_key(key)
            if k in seen:
                raise ValueError(
                    f"keys {seen[k]!r} and {key!r} are the same once case and accents are ignored"
                )
            seen[k] = key
        return v

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("needs at least one value with its keywords")
        for value, words in v.items():
            if not words:
                raise ValueError(f"value {value!r} has no keywords")
            empty = [w for w in words if not fold(w.rstrip("*"))]
            if empty:
                raise ValueError(f"value {value!r}: keywords without letters {empty!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> ColumnRule:
        given = self.model_fields_set
        if (self.from_ is None) == ("value" not in given):
            raise ValueError("give exactly one of 'from' (a CSV column) or 'value' (a constant)")
        derived = [k for k in ("bands", "keywords", "email_domain") if getattr(self, k) is not None]
        if "value" in given:
            extra = [k for k in ("map", "default", "optional", *derived) if k in given]
            if extra:
                raise ValueError(f"a constant 'value' takes no {', '.join(extra)}")
            if self.value is None:
                raise ValueError("'value' must not be empty")
        if len(derived) > 1:
            raise ValueError(f"give at most one of bands, keywords, email_domain (got {derived})")
        if self.keywords is not None and "default" not in given:
            raise ValueError("'keywords' needs a 'default' for text that matches no keyword")
        return self

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    def outputs(self) -> list[tuple[str, Any]]:
        """Every constant this rule can produce, with where it is written (for load checks)."""
        out: list[tuple[str, Any]] = []
        if "value" in self.model_fields_set:
            out.append(("value", self.value))
        for key, value in (self.map or {}).items():
            if value is not None:
                out.append((f"map[{key!r}]", value))
        if self.has_default and self.default is not None:
            out.append(("default", self.default))
        if self.bands is not None:
            out += [(f"bands.labels[{i}]", v) for i, v in enumerate(self.bands.labels)]
        if self.keywords is not None:
            out += [(f"keywords[{v!r}]", v) for v in self.keywords]
        if self.email_domain is not None:
            out += [(f"email_domain.labels.{k}", v) for k, v in self.email_domain.labels]
        return out


class MappingSpec(_Strict):
    """A mapping file: how the columns of one CSV export become our fields."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,24}$")
    kind: Literal["leads", "events"]
    description: str = Field(min_length=3)
    timezone: str = "Europe/Paris"
    datetime_format: str | None = None
    dayfirst: bool = False
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8-sig"
    columns: dict[str, ColumnRule] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name such as Europe/Paris") from None
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError("unknown text encoding; e.g. utf-8-sig, cp1252, latin-1") from None
        return v

    @field_validator("datetime_format")
    @classmethod
    def _format(cls, v: str | None) -> str | None:
        if v is not None and "%" not in v:
            raise ValueError("must be a strptime format such as '%d/%m/%Y %H:%M'")
        return v


@dataclass(frozen=True)
class Mapping:
    """A mapping file checked against the lead fields (leads) or our event columns (events)."""

    spec: MappingSpec
    path: Path
    fields: FieldSet | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> Literal["leads", "events"]:
        return self.spec.kind

    @property
    def columns(self) -> dict[str, ColumnRule]:
        return self.spec.columns

    def csv_columns(self) -> list[str]:
        """The CSV columns the mapping reads, in mapping order, without repeats."""
        return list(dict.fromkeys(r.from_ for r in self.columns.values() if r.from_ is not None))


def _target_kinds(spec: MappingSpec, fields: FieldSet | None) -> dict[str, tuple[str, bool]]:
    """Our field names with (dtype, required) for the mapping's kind."""
    if spec.kind == "events":
        return {name: (kind, req) for name, (kind, req) in EVENT_COLUMNS.items()}
    assert fields is not None
    return {f.name: (f.dtype, f.required) for f in fields}


def mapping_problems(spec: MappingSpec, fields: FieldSet | None) -> list[str]:
    """Rules of a mapping that do not fit our fields: unknown keys, required fields left out,
    values a category does not allow, derivations on a field that cannot hold a label."""
    targets = _target_kinds(spec, fields)
    what = "event columns" if fields is None else f"lead fields '{fields.name}'"
    problems: list[str] = []
    unknown = [k for k in spec.columns if k not in targets]
    if unknown:
        problems.append(
            f"columns: {', '.join(map(repr, unknown))} not declared in {what} "
            f"(declared: {', '.join(targets)})"
        )
    for name, (_, required) in targets.items():
        if required and name not in spec.columns:
            problems.append(f"columns: required field '{name}' is not produced by the mapping")
    for name, rule in spec.columns.items():
        if name not in targets:
            continue
        dtype = targets[name][0]
        derived = next(
            (k for k in ("bands", "keywords", "email_domain") if getattr(rule, k) is not None),
            None,
        )
        if derived and dtype not in ("category", "string"):
            problems.append(f"columns.{name}.{derived}: produces labels, but '{name}' is {dtype}")
        allowed: tuple[str, ...] | None = None
        if spec.kind == "leads" and fields is not None:
            allowed = fields[name].allowed
        elif name == "type":
            allowed = EVENT_TYPES
        if allowed:
            for where, value in rule.outputs():
                if str(value) not in allowed:
                    problems.append(
                        f"columns.{name}.{where}: {value!r} is not allowed for '{name}' "
                        f"(allowed: {', '.join(allowed)})"
                    )
    return problems


def _resolve_mapping_path(source: str | Path) -> Path:
    if isinstance(source, str) and source in BUNDLED_MAPPINGS:
        return MAPPINGS_DIR / f"{source}.yaml"
    path = Path(source)
    if not path.is_file():
        raise ContractError(
            [
                f"mapping {str(source)!r} is neither a file nor a bundled mapping "
                f"({', '.join(BUNDLED_MAPPINGS)})"
            ]
        )
    return path


def load_mapping(source: str | Path, fields: FieldSet | None = None) -> Mapping:
    """Load a mapping file, or a bundled one by name ("hubspot_contacts", ...), and check it.

    ``fields`` are the lead fields a leads mapping must produce (default: the default
    contract's). A bad mapping raises ContractError naming the file, the key and the rule.
    """
    path = _resolve_mapping_path(source)
    data = read_yaml(path)
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err, source=path, data=data) from None
    return bind_mapping(Mapping(spec, path), fields)


def bind_mapping(mapping: Mapping, fields: FieldSet | None) -> Mapping:
    """The mapping checked against ``fields`` (a leads mapping must fit the fields it fills)."""
    if mapping.kind == "events":
        problems = mapping_problems(mapping.spec, None)
        fields = None
    else:
        fields = fields or mapping.fields or load_contract().fields
        problems = mapping_problems(mapping.spec, fields)
    if problems:
        raise ContractError(problems, source=mapping.path)
    return Mapping(mapping.spec, mapping.path, fields)


# --------------------------------------------------------------------------------------------
# Applying rules: pure functions from CSV strings to our values.
# --------------------------------------------------------------------------------------------


class Problem(NamedTuple):
    """One broken rule: where (line, CSV column, our field), the CSV value and the rule."""

    line: int | None
    column: str | None
    field: str | None
    value: Any
    rule: str


_NO_VALUE = object()


def describe(problem: Problem, file: str) -> str:
    """'leads.csv, line 17, column 'Create Date' (created_at): rule (got '...')'."""
    where = [file]
    if problem.line is not None:
        where.append(f"line {problem.line}")
    if problem.column is not None:
        col = f"column '{problem.column}'"
        if problem.field is not None and problem.field != problem.column:
            col += f" ({problem.field})"
        where.append(col)
    elif problem.field is not None:
        where.append(f"field '{problem.field}'")
    text = ", ".join(where) + f": {problem.rule}"
    if problem.value is not _NO_VALUE:
        text += f" (got {problem.value!r})"
    return text


def problem_report(problems: list[Problem], file: str, limit: int = MAX_PROBLEMS) -> list[str]:
    """Problems in file order, capped so that a wholly wrong file still gives a readable error."""
    ordered = sorted(
        problems, key=lambda p: (p.line is None, p.line or 0, p.column or "", p.field or "")
    )
    lines = [describe(p, file) for p in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more problems")
    return lines


class Keywords:
    """First keyword found in a free text, case- and accent-insensitive, on word boundaries.

    "First" means leftmost in the text; at the same position the longer keyword wins, then the
    order of the mapping. A keyword ending in ``*`` matches any word starting with it
    ('financ*' matches 'financial' and 'financière'); other keywords match whole words only, so
    'cto' never matches inside 'director'.
    """

    def __init__(self, table: dict[str, list[str]]) -> None:
        entries = [(value, word) for value, words in table.items() for word in words]
        order = sorted(range(len(entries)), key=lambda i: -len(fold(entries[i][1].rstrip("*"))))
        parts = []
        self._values: list[str] = []
        for j, i in enumerate(order):
            value, word = entries[i]
            body = re.escape(fold(word.rstrip("*"))) + (r"\w*" if word.endswith("*") else "")
            parts.append(f"(?P<k{j}>{body})")
            self._values.append(value)
        self._rx = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")

    def match(self, text: str) -> str | None:
        m = self._rx.search(fold(text))
        return None if m is None or m.lastgroup is None else self._values[int(m.lastgroup[1:])]


def _number(text: str) -> float | None:
    try:
        number = float(text.replace(" ", "").replace("\u00a0", "").replace("\u202f", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass
class RuleResult:
    """Our values for one column of a chunk, the cells that broke the rule, defaults used."""

    values: pd.Series
    bad: list[tuple[int, str]] = field(default_factory=list)
    defaulted: int = 0


def apply_rule(rule: ColumnRule, cells: pd.Series, *, target: str, mapping: str) -> RuleResult:
    """Turn one CSV column (strings, '' for empty) into our values for field ``target``.

    Each distinct cell is worked out once: exports repeat the same picklist values and titles.
    """
    if "value" in rule.model_fields_set:
        return RuleResult(pd.Series([rule.value] * len(cells), dtype=object))
    lookup = {map_key(k): v for k, v in (rule.map or {}).items()}
    matcher = Keywords(rule.keywords) if rule.keywords is not None else None
    fix = f"add it to columns.{target}.map in {mapping} or give a default"

    def derive(cell: Any) -> tuple[Any, str | None, bool]:
        """(value, broken rule or None, default used for a non-empty value)."""
        text = cell.strip() if isinstance(cell, str) else str(cell)
        if text == "":
            return (rule.default if rule.has_default else None), None, False
        if lookup:
            key = map_key(text)
            if key in lookup:
                return lookup[key], None, False
        found: Any = None
        broken: str | None = None
        if rule.bands is not None:
            number = _number(text)
            if number is not None:
                found = rule.bands.label(number)
            else:
                broken = "is neither a known value nor a number" if lookup else "must be a number"
                broken += f" to fall in a band of edges {[f'{e:g}' for e in rule.bands.edges]}"
        elif matcher is not None:
            found = matcher.match(text)
        elif rule.email_domain is not None:
            found = rule.email_domain.classify(text)
            broken = None if found is not None else "must be an email address to read its domain"
        elif lookup:
            known = ", ".join(list(rule.map or {})[:12])
            broken = f"is not a known value ({fix}; known: {known})"
        else:
            return text, None, False
        if found is not None:
            return found, None, False
        if rule.has_default:
            return rule.default, None, True
        return None, broken or f"matches nothing ({fix})", False

    uniques = pd.unique(cells.to_numpy(dtype=object))
    table = {u: derive(u) for u in uniques}
    values = cells.map(lambda c: table[c][0]).astype(object)
    bad = [(i, msg) for i, c in enumerate(cells) if (msg := table[c][1]) is not None]
    defaulted = int(sum(n for u, n in cells.value_counts().items() if table[u][2]))
    return RuleResult(values, bad, defaulted)


_OFFSET = re.compile(
    r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|(?:UTC|GMT)?[+-]\d{2}(?::?\d{2})?)$"
)


def _guess_format(sample: str, dayfirst: bool) -> str | None:
    """strptime format of one sample; year-first dates are always year-month-day."""
    year_first = bool(re.match(r"\s*\d{4}\D", sample))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt = guess_datetime_format(sample, dayfirst=dayfirst and not year_first)
    if fmt is None or (year_first and re.search(r"%Y\W%d", fmt)):
        return None
    return fmt


def _parse_strict(texts: pd.Series, dayfirst: bool, utc: bool) -> pd.Series:
    """ISO 8601 first, then a few formats guessed from unparsed samples, each applied strictly
    (dateutil's leniency would read '2024-13-05' as 13 May)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=utc)
        tried: set[str] = set()
        for _ in range(20):
            left = out.isna()
            if not left.any():
                break
            fmt = next(
                (
                    f
                    for s in pd.unique(texts[left].to_numpy(dtype=object))[:20]
                    if (f := _guess_format(s, dayfirst)) is not None and f not in tried
                ),
                None,
            )
            if fmt is None:
                break
            tried.add(fmt)
            out[left] = pd.to_datetime(texts[left], format=fmt, errors="coerce", utc=utc)
    return out


def parse_datetimes(
    values: pd.Series, *, timezone: str, datetime_format: str | None = None, dayfirst: bool = False
) -> tuple[pd.Series, np.ndarray]:
    """Text -> tz-aware UTC timestamps; values without an offset are local time in ``timezone``.

    CRM exports write dates in the account's time zone without an offset ('2024-03-05 10:14').
    A local time skipped by a DST change is moved forward; a repeated one is read as standard
    time. Returns the timestamps (NaT where missing or bad) and a mask of the unparseable values.
    """
    texts = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    present = texts.map(lambda v: isinstance(v, str) and v != "").to_numpy(dtype=bool)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if not present.any():
        return out, np.zeros(len(values), dtype=bool)
    sub = texts[present].astype(str)
    if datetime_format is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(sub, format=datetime_format, errors="coerce")
        aware = isinstance(parsed.dtype, pd.DatetimeTZDtype)
        parts = [(parsed, aware)]
    else:
        has_offset = sub.str.contains(_OFFSET).to_numpy(dtype=bool)
        parts = [
            (_parse_strict(sub[has_offset], dayfirst, utc=True), True),
            (_parse_strict(sub[~has_offset], dayfirst, utc=False), False),
        ]
    for parsed, aware in parts:
        if parsed.empty:
            continue
        if aware:
            parsed = parsed.dt.tz_convert("UTC")
        else:
            parsed = parsed.dt.tz_localize(
                timezone, ambiguous=np.zeros(len(parsed), dtype=bool), nonexistent="shift_forward"
            ).dt.tz_convert("UTC")
        out.loc[parsed.index] = parsed.astype("datetime64[ns, UTC]")
    bad = present & out.isna().to_numpy(dtype=bool)
    return out, bad


def event_ids(frame: pd.DataFrame) -> pd.Series:
    """sha256 of (lead_id, type, occurred_at, rep, reason): the same event exported twice gets
    the same id, so the store skips it on re-import."""

    def one(row: tuple[Any, ...]) -> str:
        parts = []
        for v in row:
            if isinstance(v, pd.Timestamp):
                parts.append(v.tz_convert("UTC").isoformat())
            else:
                parts.append(
                    "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                )
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    cols = [frame[c] if c in frame else pd.Series([None] * len(frame)) for c in EVENT_IDENTITY]
    return pd.Series([one(r) for r in zip(*cols, strict=True)], index=frame.index, dtype=object)


# --------------------------------------------------------------------------------------------
# Mapping and typing one chunk of the CSV.
# --------------------------------------------------------------------------------------------


@dataclass
class MappedChunk:
    """Typed values of our fields for some rows, their CSV lines and the raw cells per field."""

    values: pd.DataFrame
    raw: pd.DataFrame
    lines: np.ndarray
    problems: list[Problem]
    defaulted: Counter[str]


_COERCE_ROW = re.compile(r"^row (\d+), column '([^']*)': (.*?)(?: \(got (.*)\))?$", re.S)


def _translate_coerce(
    err: ContractError,
    lines: np.ndarray,
    raw: pd.DataFrame,
    sources: dict[str, str | None],
) -> list[Problem]:
    """FieldSet.coerce speaks in frame rows and field names; users need CSV lines and columns."""
    out = []
    for text in err.problems:
        m = _COERCE_ROW.match(text)
        if m is None:
            col = re.match(r"^column '([^']*)': (.*)$", text, re.S)
            if col:
                name = col.group(1)
                out.append(Problem(None, sources.get(name), name, _NO_VALUE, col.group(2)))
            else:
                out.append(Problem(None, None, None, _NO_VALUE, text))
            continue
        row, name, rule = int(m.group(1)), m.group(2), m.group(3)
        value = raw[name].iloc[row] if name in raw else _NO_VALUE
        out.append(Problem(int(lines[row]), sources.get(name), name, value, rule))
    return out


def _coerce_events(
    mapped: dict[str, pd.Series],
    lines: np.ndarray,
    raw: pd.DataFrame,
    sources: dict[str, str | None],
    skip: set[tuple[int, str]],
) -> tuple[pd.DataFrame, list[Problem]]:
    """Type event columns (strings, numbers, JSON objects); datetimes are already parsed."""
    problems: list[Problem] = []
    out: dict[str, pd.Series] = {}
    n = len(lines)
    seen = set(skip)

    def flag(i: int, name: str, rule: str) -> None:
        if (i, name) not in seen:
            seen.add((i, name))
            problems.append(
                Problem(int(lines[i]), sources.get(name), name, raw[name].iloc[i], rule)
            )

    for name, series in mapped.items():
        kind, required = EVENT_COLUMNS[name]
        if kind == "datetime":
            values = series
        elif kind == "float":
            texts = series.map(lambda v: v if not isinstance(v, str) else (v.strip() or None))
            values = pd.to_numeric(texts, errors="coerce").astype("float64")
            for i in np.flatnonzero(texts.notna().to_numpy() & values.isna().to_numpy()):
                flag(int(i), name, "must be a number")
            if name == "duration_s":
                for i in np.flatnonzero((values < 0).to_numpy()):
                    flag(int(i), name, "must be >= 0")
        elif kind == "json":
            parsed = []
            for i, v in enumerate(series):
                if v is None or (isinstance(v, str) and not v.strip()):
                    parsed.append(None)
                    continue
                try:
                    obj = json.loads(v) if isinstance(v, str) else v
                except json.JSONDecodeError as exc:
                    flag(i, name, f"must be a JSON object ({exc.msg})")
                    obj = None
                if obj is not None and not isinstance(obj, dict):
                    flag(i, name, 'must be a JSON object such as {"call_back_months": 3}')
                    obj = None
                parsed.append(obj)
            values = pd.Series(parsed, dtype=object)
        else:
            values = series.map(lambda v: (str(v).strip() or None) if v is not None else None)
            limit = events_table.c[name].type.length
            for i, v in enumerate(values):
                if v is not None and limit is not None and len(v) > limit:
                    flag(i, name, f"must be at most {limit} characters")
        if required:
            for i in np.flatnonzero(values.isna().to_numpy()):
                flag(int(i), name, "is required")
        out[name] = values.reset_index(drop=True)
    for name, (_, required) in EVENT_COLUMNS.items():
        if name not in out and required:  # pragma: no cover - the mapping check forbids it
            out[name] = pd.Series([None] * n, dtype=object)
    return pd.DataFrame(out), problems


def map_chunk(
    chunk: pd.DataFrame, lines: np.ndarray, mapping: Mapping, columns: dict[str, str | None]
) -> MappedChunk:
    """Apply every rule of ``mapping`` to a chunk of CSV rows and type the result.

    ``columns`` maps each of our fields to the CSV column actually found in the header (None
    for constants and optional columns the file lacks). Pure: no I/O, so tests can call it.
    """
    spec = mapping.spec
    targets = _target_kinds(spec, mapping.fields)
    problems: list[Problem] = []
    defaulted: Counter[str] = Counter()
    mapped: dict[str, pd.Series] = {}
    raw: dict[str, pd.Series] = {}
    flagged: set[tuple[int, str]] = set()
    n = len(chunk)
    for name, rule in spec.columns.items():
        source = columns.get(name)
        if rule.from_ is not None and source is None:  # optional column absent from the file
            cells = pd.Series([""] * n, dtype=object)
        elif source is not None:
            cells = chunk[source].reset_index(drop=True).astype(object)
        else:
            cells = pd.Series([rule.value] * n, dtype=object)
        raw[name] = cells
        result = apply_rule(rule, cells, target=name, mapping=mapping.path.name)
        defaulted[name] += result.defaulted
        for i, rule_text in result.bad:
            problems.append(Problem(int(lines[i]), source, name, cells.iloc[i], rule_text))
            flagged.add((i, name))
        values = result.values
        if targets[name][0] == "datetime":
            values, bad = parse_datetimes(
                values.map(lambda v: None if v is None else str(v)),
                timezone=spec.timezone,
                datetime_format=spec.datetime_format,
                dayfirst=spec.dayfirst,
            )
            how = (
                f"is not a date-time in the format {spec.datetime_format!r}"
                if spec.datetime_format
                else "is not a date-time (e.g. 2024-03-05 10:14"
                + (", day first" if spec.dayfirst else "")
                + f", read as {spec.timezone} time when it has no offset)"
            )
            for i in np.flatnonzero(bad):
                if (int(i), name) not in flagged:
                    problems.append(Problem(int(lines[i]), source, name, cells.iloc[i], how))
                    flagged.add((int(i), name))
            values = values.astype(object).where(values.notna(), None)
        mapped[name] = values
    raw_frame = pd.DataFrame(raw)
    if spec.kind == "leads":
        assert mapping.fields is not None
        frame = pd.DataFrame(mapped)
        # Rows that already broke a mapping rule are left out of coercion: their bad cells are
        # empty now, and "is required" on top of the real problem would only add noise.
        clean = np.ones(n, dtype=bool)
        clean[[i for i, _ in flagged]] = False
        try:
            typed = mapping.fields.coerce(frame[clean].reset_index(drop=True))[list(mapped)]
        except ContractError as err:
            kept = raw_frame[clean].reset_index(drop=True)
            problems += _translate_coerce(err, lines[clean], kept, columns)
            typed = None
        if typed is None or not clean.all():
            typed = _untyped(mapping.fields, frame)
    else:
        typed, more = _coerce_events(mapped, lines, raw_frame, columns, flagged)
        problems += more
    return MappedChunk(typed, raw_frame, lines, problems, defaulted)


def _untyped(fields: FieldSet, frame: pd.DataFrame) -> pd.DataFrame:
    """The mapped values as they are, when a chunk does not coerce: the duplicate check still
    runs on the ids, so the user gets those problems in the same pass (nothing is written)."""
    out = frame.copy()
    idf = fields.id_field
    if idf in out:
        out[idf] = out[idf].map(lambda v: v.strip() if isinstance(v, str) else v)
    return out


# --------------------------------------------------------------------------------------------
# Whole-file checks: duplicates, the store, the policy taxonomy.
# --------------------------------------------------------------------------------------------


def duplicate_problems(
    keys: pd.Series, lines: np.ndarray, raw: pd.Series, column: str | None, name: str, what: str
) -> list[Problem]:
    """Rows whose key repeats an earlier row of the same file."""
    first: dict[Any, int] = {}
    out = []
    for i, key in enumerate(keys):
        if key is None or (isinstance(key, float) and math.isnan(key)):
            continue
        if key in first:
            out.append(
                Problem(
                    int(lines[i]), column, name, raw.iloc[i], f"repeats {what} of line {first[key]}"
                )
            )
        else:
            first[key] = int(lines[i])
    return out


def taxonomy_problems(
    values: pd.DataFrame,
    lines: np.ndarray,
    raw: pd.DataFrame,
    sources: dict[str, str | None],
    policy: Policy,
) -> list[Problem]:
    """Event types from the store's list; reasons, statuses and next actions from the policy."""
    checks = {
        "type": ("an event type", list(EVENT_TYPES)),
        "reason": ("a rejection reason of the policy", policy.rejection_codes),
        "status": ("a feedback status of the policy", [s.code for s in policy.feedback_statuses]),
        "next_action": ("a next action of the policy", [a.code for a in policy.next_actions]),
    }
    out = []
    for name, (what, codes) in checks.items():
        if name not in values:
            continue
        allowed = set(codes)
        for i, v in enumerate(values[name]):
            if v is not None and not (isinstance(v, float) and math.isnan(v)) and v not in allowed:
                out.append(
                    Problem(
                        int(lines[i]),
                        sources.get(name),
                        name,
                        raw[name].iloc[i],
                        f"must be {what}: {', '.join(codes)}",
                    )
                )
    return out


def _plain(value: Any) -> Any:
    """A lead field value as the store keeps it in JSON, so file and store compare alike."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat()
    return value


def conflict_problems(
    values: pd.DataFrame,
    stored: pd.DataFrame,
    lines: np.ndarray,
    raw: pd.DataFrame,
    sources: dict[str, str | None],
    id_field: str,
) -> list[Problem]:
    """Leads already stored with other values. A lead is stored as it was at creation and an
    import never updates it, so the user must see which fields changed, not a bare refusal.

    ``stored`` is ``Store.read_leads`` with its columns named like ``values``, whose ids are
    unique. Compared column by column, so that re-importing a large file stays quick.
    """
    if stored.empty:
        return []
    old = stored.drop(columns=["origin"], errors="ignore").set_index(id_field)
    old = old[~old.index.duplicated()].reindex(values[id_field])
    present = values[id_field].isin(stored[id_field]).to_numpy()
    names = [c for c in dict.fromkeys([*values.columns, *old.columns]) if c != id_field]
    diffs: dict[int, list[str]] = {}
    for name in names:
        mine = _objects(values[name]) if name in values else np.full(len(values), None)
        theirs = np.full(len(values), None)
        if name in old:
            timestamps = name in values and isinstance(values[name].dtype, pd.DatetimeTZDtype)
            theirs = _objects(pd.to_datetime(old[name], utc=True) if timestamps else old[name])
        same = np.fromiter(
            (a == b for a, b in zip(mine, theirs, strict=True)), dtype=bool, count=len(mine)
        )
        for i in np.flatnonzero(present & ~same):
            if _plain(theirs[i]) != _plain(mine[i]):
                diffs.setdefault(int(i), []).append(
                    f"{name}: stored {_plain(theirs[i])!r}, file {_plain(mine[i])!r}"
                )
    out = []
    for i, found in sorted(diffs.items()):
        shown = "; ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        out.append(
            Problem(
                int(lines[i]),
                sources.get(id_field),
                id_field,
                raw[id_field].iloc[i],
                "this lead is already stored with other values and an import never changes "
                f"a stored lead ({shown})",
            )
        )
    return out


def _objects(series: pd.Series) -> np.ndarray:
    """Values as Python objects with every kind of missing value as None (None == None)."""
    return series.astype(object).where(series.notna(), None).to_numpy(dtype=object)


def lead_reference_problems(
    values: pd.DataFrame,
    created: dict[str, pd.Timestamp],
    lines: np.ndarray,
    raw: pd.DataFrame,
    sources: dict[str, str | None],
) -> list[Problem]:
    """Events must point at a known lead and cannot happen before that lead was created."""
    out = []
    for i, (lead_id, at) in enumerate(zip(values["lead_id"], values["occurred_at"], strict=True)):
        if lead_id is None:
            continue
        if lead_id not in created:
            out.append(
                Problem(
                    int(lines[i]),
                    sources.get("lead_id"),
                    "lead_id",
                    raw["lead_id"].iloc[i],
                    "no lead with this id in the store (import the leads first)",
                )
            )
        elif at is not None and not pd.isna(at) and at < created[lead_id]:
            out.append(
                Problem(
                    int(lines[i]),
                    sources.get("occurred_at"),
                    "occurred_at",
                    raw["occurred_at"].iloc[i],
                    f"is before lead {lead_id!r} was created "
                    f"({created[lead_id].tz_convert('UTC').isoformat()})",
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# I/O: reading the CSV, progress, writing.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``defaulted`` counts non-empty cells that matched no map entry,
    band or keyword and took the rule's default, per field: the values worth a look."""

    file: str
    kind: str
    mapping: str
    rows: int
    inserted: int
    skipped: int
    seconds: float
    defaulted: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        text = (
            f"{self.file}: {self.rows} {self.kind} read with mapping '{self.mapping}', "
            f"{self.inserted} inserted, {self.skipped} already present ({self.seconds:.1f} s)"
        )
        if self.defaulted:
            text += "; defaults used for " + ", ".join(
                f"{k} ({n})" for k, n in sorted(self.defaulted.items())
            )
        return text


def _encoding_error(path: Path, mapping: Mapping, exc: UnicodeDecodeError) -> ContractError:
    return ContractError(
        [
            f"{path.name}: not readable as {mapping.spec.encoding} ({exc.reason} at byte "
            f"{exc.start}); set 'encoding' in {mapping.path.name}, e.g. cp1252 for Excel exports"
        ]
    )


def resolve_columns(header: list[str], mapping: Mapping, file: str) -> dict[str, str | None]:
    """Our field -> the CSV column that feeds it; missing or repeated columns are one error.

    Exact header names first, then the same name ignoring case, accents and spacing.
    """
    exact = set(header)
    loose = {map_key(h): h for h in header}
    found: dict[str, str | None] = {}
    missing: dict[str, list[str]] = {}
    problems: list[str] = []
    for name, rule in mapping.columns.items():
        if rule.from_ is None:
            found[name] = None
            continue
        column = rule.from_ if rule.from_ in exact else loose.get(map_key(rule.from_))
        if column is None and not rule.optional:
            missing.setdefault(rule.from_, []).append(name)
        elif column is not None and header.count(column) > 1:
            problems.append(f"{file}: column '{column}' appears {header.count(column)} times")
        found[name] = column
    for column, names in missing.items():
        hint = get_close_matches(column, header, n=1)
        problems.append(
            f"{file}: column '{column}' is missing (it feeds {', '.join(map(repr, names))} in "
            f"{mapping.path.name})" + (f"; did you mean '{hint[0]}'?" if hint else "")
        )
    if problems:
        problems = list(dict.fromkeys(problems))
        problems.append(f"{file}: the file's columns are {', '.join(map(repr, header))}")
        raise ContractError(problems)
    return found


class CsvFile:
    """An open CSV file read as strings: its header, then chunks of rows with their line numbers.

    The csv module (not pandas) reads it because it reports where each row starts: quoted cells
    may span lines, and the user fixes the file by line number (header = line 1). A row with
    more or fewer cells than the header is a problem of its own, never silently realigned.
    """

    def __init__(self, path: Path, mapping: Mapping) -> None:
        self.path = path
        self.mapping = mapping
        self.chars_read = 0
        self._fh = path.open(encoding=mapping.spec.encoding, newline="")
        self._reader = csv.reader(self._counting(), delimiter=mapping.spec.delimiter, strict=True)
        self.header: list[str] = []
        try:
            for row in self._rows():
                if any(cell.strip() for cell in row):
                    self.header = [cell.strip() for cell in row]
                    break
            if not self.header:
                raise ContractError([f"{path.name}: the file is empty (no header line)"])
        except ContractError:
            self.close()
            raise

    def _counting(self) -> Iterator[str]:
        for line in self._fh:
            self.chars_read += len(line)
            yield line

    def _rows(self) -> Iterator[list[str]]:
        """Rows of the reader, turning decoding and syntax errors into ContractError."""
        name = self.path.name
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise ContractError(
                    [
                        f"{name}: not readable as {self.mapping.spec.encoding} ({exc.reason}); "
                        f"set 'encoding' in {self.mapping.path.name}, e.g. cp1252 for Excel "
                        "exports"
                    ]
                ) from None
            except csv.Error as exc:
                raise ContractError(
                    [f"{name}, line {self._reader.line_num}: not valid CSV ({exc})"]
                ) from None
            yield row

    def chunks(
        self, size: int = CHUNK_ROWS
    ) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[Problem]]]:
        """Chunks of non-blank rows as string frames, their first lines, and ragged rows."""
        width = len(self.header)
        rows: list[list[str]] = []
        lines: list[int] = []
        problems: list[Problem] = []
        end = self._reader.line_num
        for row in self._rows():
            start, end = end + 1, self._reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != width:
                problems.append(
                    Problem(
                        start,
                        None,
                        None,
                        _NO_VALUE,
                        f"has {len(row)} cells where the header has {width}",
                    )
                )
                continue
            rows.append(row)
            lines.append(start)
            if len(rows) >= size:
                yield self._frame(rows), np.asarray(lines, dtype=np.int64), problems
                rows, lines, problems = [], [], []
        if rows or problems:
            yield self._frame(rows), np.asarray(lines, dtype=np.int64), problems

    def _frame(self, rows: list[list[str]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=self.header, dtype=object)

    def close(self) -> None:
        self._fh.close()


@contextmanager
def _progress_bar(
    path: Path, enabled: bool
) -> Iterator[tuple[Callable[[int], None], Callable[[str], None]]]:
    """A transient bar on stderr for large files when it is a terminal; a no-op otherwise.

    Yields ``advance(characters read)`` and ``phase(name)`` (validating, writing).
    """
    console = Console(stderr=True)
    size = max(path.stat().st_size, 1)
    show = enabled and console.is_terminal and size >= PROGRESS_MIN_BYTES
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not show,
    )
    with bar:
        task = bar.add_task(f"reading {path.name}", total=size)

        def phase(name: str) -> None:
            bar.update(task, description=f"{name} {path.name}", completed=size)

        yield (lambda done: bar.update(task, completed=min(done, size))), phase


def _resolve_contract(
    contract: Contract | None, fields: FieldSet | None, policy: Policy | None
) -> tuple[FieldSet | None, Policy | None]:
    if contract is not None:
        fields = contract.fields if fields is None else fields
        policy = contract.policy if policy is None else policy
    return fields, policy


def import_csv(
    store: Store,
    path: str | Path,
    mapping: Mapping | str | Path,
    *,
    contract: Contract | None = None,
    fields: FieldSet | None = None,
    policy: Policy | None = None,
    progress: bool = True,
) -> ImportReport:
    """Import one CSV file of leads or events into ``store``, all or nothing.

    ``mapping`` is a loaded Mapping, a mapping file or a bundled name. Lead fields and policy
    come from ``fields``/``policy``, else ``contract``, else the default contract. Raises
    ContractError listing every problem (file, line, column, value, rule) and writes nothing
    when any row is bad; otherwise writes everything in one ``store.write_batch`` call.
    """
    started = time.perf_counter()
    p = Path(path)
    if not p.is_file():
        raise ContractError([f"file not found: {p}"])
    fields, policy = _resolve_contract(contract, fields, policy)
    m = load_mapping(mapping, fields) if isinstance(mapping, str | Path) else mapping
    if m.kind == "leads" and (m.fields is None or (fields is not None and m.fields is not fields)):
        m = bind_mapping(m, fields)
    if m.kind == "events" and policy is None:
        policy = load_contract().policy
    file = p.name
    with _progress_bar(p, progress) as (advance, phase):
        parts, problems, columns = _read_and_map(p, m, advance)
        phase("validating")
        problems += [q for c in parts for q in c.problems]
        defaulted: Counter[str] = Counter()
        for c in parts:
            defaulted.update(c.defaulted)
        if not parts:
            if problems:
                raise ContractError(problem_report(problems, file))
            return _report(p, m, 0, 0, started, defaulted)
        values = pd.concat([c.values for c in parts], ignore_index=True)
        raw = pd.concat([c.raw for c in parts], ignore_index=True)
        lines = np.concatenate([c.lines for c in parts])
        if m.kind == "leads":
            assert m.fields is not None
            batch, problems = _check_leads(store, m.fields, values, raw, lines, columns, problems)
        else:
            assert policy is not None
            batch, problems = _check_events(store, policy, values, raw, lines, columns, problems)
        if problems:
            raise ContractError(problem_report(problems, file))
        phase("writing")
        origin = f"import:{m.name}"
        try:
            if m.kind == "leads":
                counts = store.write_batch(leads=batch, origin=origin)
            else:
                counts = store.write_batch(events=batch, origin=origin)
        except StoreError as err:
            raise ContractError(
                [f"{file}: the store refused the file, nothing was written: {err}"]
            ) from None
    return _report(p, m, len(lines), counts[m.kind], started, defaulted)


def _read_and_map(
    path: Path, m: Mapping, advance: Callable[[int], None]
) -> tuple[list[MappedChunk], list[Problem], dict[str, str | None]]:
    """Read the CSV chunk by chunk and map each chunk; rows with the wrong number of cells
    come back as problems."""
    source = CsvFile(path, m)
    parts: list[MappedChunk] = []
    problems: list[Problem] = []
    try:
        columns = resolve_columns(source.header, m, path.name)
        for chunk, lines, ragged in source.chunks():
            problems += ragged
            if len(chunk):
                parts.append(map_chunk(chunk, lines, m, columns))
            advance(source.chars_read)
    finally:
        source.close()
    return parts, problems, columns


def _report(
    path: Path, m: Mapping, rows: int, inserted: int, started: float, defaulted: Counter[str]
) -> ImportReport:
    return ImportReport(
        file=str(path),
        kind=m.kind,
        mapping=m.name,
        rows=rows,
        inserted=inserted,
        skipped=rows - inserted,
        seconds=round(time.perf_counter() - started, 3),
        defaulted={k: n for k, n in defaulted.items() if n},
    )


def _check_leads(
    store: Store,
    fields: FieldSet,
    values: pd.DataFrame,
    raw: pd.DataFrame,
    lines: np.ndarray,
    columns: dict[str, str | None],
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[Problem]]:
    """Whole-file checks of leads; returns the frame to write and every problem found."""
    idf, created = fields.id_field, fields.created_at_field
    ids = values[idf]
    problems = problems + duplicate_problems(ids, lines, raw[idf], columns.get(idf), idf, "the id")
    limit = leads_table.c.lead_id.type.length
    for i, v in enumerate(ids):
        if isinstance(v, str) and limit is not None and len(v) > limit:
            problems.append(
                Problem(
                    int(lines[i]),
                    columns.get(idf),
                    idf,
                    raw[idf].iloc[i],
                    f"must be at most {limit} characters",
                )
            )
    if not problems:  # typed values are only trustworthy once every row coerced
        known = list(pd.unique(ids.to_numpy(dtype=object)))
        stored = store.read_leads(lead_ids=known).rename(
            columns={"lead_id": idf, "created_at": created}
        )
        problems += conflict_problems(values, stored, lines, raw, columns, idf)
    return values.rename(columns={idf: "lead_id", created: "created_at"}), problems


def _check_events(
    store: Store,
    policy: Policy,
    values: pd.DataFrame,
    raw: pd.DataFrame,
    lines: np.ndarray,
    columns: dict[str, str | None],
    problems: list[Problem],
) -> tuple[pd.DataFrame, list[Problem]]:
    """Whole-file checks of events; returns the frame to write and every problem found."""
    problems = problems + taxonomy_problems(values, lines, raw, columns, policy)
    derived = event_ids(values)
    if "event_id" in values:
        given = values["event_id"].notna()
        ids = values["event_id"].where(given, derived)
        problems += duplicate_problems(
            ids, lines, raw["event_id"], columns.get("event_id"), "event_id", "the event_id"
        )
    else:
        ids = derived
        problems += duplicate_problems(
            ids,
            lines,
            raw["lead_id"],
            columns.get("lead_id"),
            "lead_id",
            "the lead_id, type, occurred_at, rep and reason (map an event_id column to tell "
            "such events apart)",
        )
    lead_ids = list(pd.unique(values["lead_id"].dropna().to_numpy(dtype=object)))
    stored = store.read_leads(lead_ids=lead_ids)
    created = dict(zip(stored["lead_id"], stored["created_at"], strict=True))
    problems += lead_reference_problems(values, created, lines, raw, columns)
    batch = values.copy()
    batch["event_id"] = ids
    for name in ("occurred_at", "recorded_at"):
        if name in batch:
            batch[name] = pd.to_datetime(batch[name], utc=True)
    return batch, problems
