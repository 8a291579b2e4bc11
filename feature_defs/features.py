"""Model features declared as data, and the one transformer that computes them.

A feature set (YAML) names the lead-fields file it reads and lists features with declarative
transforms. ``LeadFeaturizer`` is fitted once on training leads (it learns fill values and which
categories are frequent enough to keep) and then applied, unchanged, to single leads at serving
time: training and serving share this one code path.

Leakage guard: a feature may only read a field declared ``known_at: creation``. Loading a set
that reads an ``after_contact`` field fails, naming the feature and the field.
"""

from __future__ import annotations

import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sklearn.base import BaseEstimator, TransformerMixin

from feature_defs.declared import Version, repeated
from feature_defs.errors import ContractError, from_validation_error
from feature_defs.fields import FieldSet, load_fields
from feature_defs.typed_leads import TypedLeads
from feature_defs.yaml_io import read_yaml

OTHER = "__other__"
MISSING = "__missing__"
DATE_PARTS = ("hour", "weekday", "month", "day_of_month", "quarter", "is_weekend")


class _Feature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    source: str = Field(alias="from")
    description: str = Field(min_length=3)


class NumericFeature(_Feature):
    """A number, optionally clipped then log1p-transformed; missing values get ``fill``."""

    kind: Literal["numeric"]
    clip: tuple[float, float] | None = None
    log: bool = False
    fill: float | Literal["median"] = "median"

    @model_validator(mode="after")
    def _check(self) -> NumericFeature:
        if self.clip is not None and self.clip[0] > self.clip[1]:
            raise ValueError("clip must be [low, high] with low <= high")
        if self.log and (self.clip is None or self.clip[0] < 0):
            raise ValueError("log needs clip with a low bound >= 0, so that log1p is defined")
        return self


class CategoricalFeature(_Feature):
    """A category; levels seen fewer than ``min_count`` times in training become __other__."""

    kind: Literal["categorical"]
    min_count: int = Field(default=10, ge=1)


class OrdinalFeature(_Feature):
    """The rank of an ordered category (its position in the field's 'allowed' list)."""

    kind: Literal["ordinal"]


class BooleanFeature(_Feature):
    kind: Literal["boolean"]
    fill: float = 0.0


class DatePartFeature(_Feature):
    """A calendar part of a timestamp, read in ``timezone``."""

    kind: Literal["date_part"]
    part: Literal["hour", "weekday", "month", "day_of_month", "quarter", "is_weekend"]
    timezone: str = "UTC"


class KeywordFlagFeature(_Feature):
    """1 when free text contains any keyword (case- and accent-insensitive), else 0."""

    kind: Literal["keyword_flag"]
    keywords: list[str] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _nonblank(cls, v: list[str]) -> list[str]:
        if any(not k.strip() for k in v):
            raise ValueError("keywords must not be blank")
        return v


Feature = Annotated[
    NumericFeature
    | CategoricalFeature
    | OrdinalFeature
    | BooleanFeature
    | DatePartFeature
    | KeywordFlagFeature,
    Field(discriminator="kind"),
]

COMPATIBLE = {
    "numeric": {"integer", "float"},
    "categorical": {"category", "string", "boolean"},
    "ordinal": {"category"},
    "boolean": {"boolean"},
    "date_part": {"datetime"},
    "keyword_flag": {"string"},
}


class DirectionCheck(BaseModel):
    """All else equal, leads with ``field = higher`` must score at least as high as ``lower``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    higher: Any
    lower: Any


class MinimumCheck(BaseModel):
    """Leads changed by ``set`` must score below the handoff threshold (e.g. students)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    set: dict[str, Any] = Field(min_length=1)


class BehaviourSpec(BaseModel):
    """Behavioural tests every model must pass before promotion (see training/behaviour.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    invariant_fields: list[str] = []
    direction: list[DirectionCheck] = []
    minimum: list[MinimumCheck] = []


class FeatureSetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_\-]{0,62}$")
    version: Version
    description: str = ""
    fields: str
    features: list[Feature] = Field(min_length=1)
    behaviour: BehaviourSpec = BehaviourSpec()

    @model_validator(mode="after")
    def _unique(self) -> FeatureSetSpec:
        dupes = repeated(f.name for f in self.features)
        if dupes:
            raise ValueError(f"feature names must be unique; repeated: {', '.join(dupes)}")
        return self


class FeatureSet:
    """A named, versioned feature set bound to the lead fields it reads."""

    def __init__(self, spec: FeatureSetSpec, fields: FieldSet, *, path: Path | None = None):
        self.spec = spec
        self.fields = fields
        self.path = path
        self.features: list[Any] = list(spec.features)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def key(self) -> str:
        """'name@version', the stamp stored with every score."""
        return f"{self.name}@{self.version}"

    @cached_property
    def source_fields(self) -> list[str]:
        """The lead fields the features read (checked on every lead scored: computed once)."""
        return sorted({f.source for f in self.features})

    @cached_property
    def by_name(self) -> dict[str, Any]:
        """Each feature by its name (read for every reason given: built once)."""
        return {f.name: f for f in self.features}


def check_against_fields(spec: FeatureSetSpec, fields: FieldSet) -> list[str]:
    """Problems binding features to fields: unknown fields, leakage, type mismatches."""
    problems = []
    for i, feat in enumerate(spec.features):
        where = f"features[{i}] '{feat.name}'.from"
        if feat.source not in fields:
            problems.append(
                f"{where}: field '{feat.source}' is not declared in lead fields '{fields.name}'"
            )
            continue
        field = fields[feat.source]
        if field.known_at != "creation":
            problems.append(
                f"{where}: field '{feat.source}' is known_at: {field.known_at}; only fields known "
                "at creation may become features (it would leak the sales outcome into the score)"
            )
        if feat.source == fields.id_field:
            problems.append(
                f"{where}: field '{feat.source}' is the lead identifier and cannot be a feature"
            )
        if field.dtype not in COMPATIBLE[feat.kind]:
            problems.append(
                f"{where}: a {feat.kind} feature needs a field of dtype "
                f"{' or '.join(sorted(COMPATIBLE[feat.kind]))}; '{feat.source}' is {field.dtype}"
            )
        if feat.kind == "ordinal" and not field.ordered:
            problems.append(f"{where}: an ordinal feature needs a field declared 'ordered: true'")
    b = spec.behaviour
    used = [("behaviour.invariant_fields", n) for n in b.invariant_fields]
    used += [(f"behaviour.direction[{i}].field", d.field) for i, d in enumerate(b.direction)]
    used += [
        (f"behaviour.minimum[{i}] '{m.name}'.set", k)
        for i, m in enumerate(b.minimum)
        for k in m.set
    ]
    for where, name in used:
        if name not in fields:
            problems.append(f"{where}: field '{name}' is not declared in lead fields")
    return problems


def load_feature_set(path: str | Path, *, fields: FieldSet | None = None) -> FeatureSet:
    """Load a feature-set YAML and the lead fields it names (path relative to the set's file)."""
    p = Path(path)
    data = read_yaml(p)
    try:
        spec = FeatureSetSpec.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err, source=p, data=data) from None
    if fields is None:
        fields = load_fields((p.parent / spec.fields).resolve())
    problems = check_against_fields(spec, fields)
    if problems:
        raise ContractError(problems, source=p)
    return FeatureSet(spec, fields, path=p)


def _fold(text: str) -> str:
    """Lowercase and strip accents, so 'Directeur Financier' matches 'financier'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class LeadFeaturizer(TransformerMixin, BaseEstimator):
    """Turn typed leads (``FieldSet.coerce`` output) into model features.

    Parameters
    ----------
    feature_set : FeatureSet
        The declared features. Fitting learns ``fill_`` (numeric and ordinal fill values) and
        ``levels_`` (kept categories per categorical feature); nothing else is learned.

    The output is a DataFrame with one column per feature, in declaration order: float64 for
    every kind but categorical, which is a pandas Categorical with fixed levels (rare and unseen
    levels map to ``__other__``, missing values to ``__missing__``).
    """

    def __init__(self, feature_set: FeatureSet) -> None:
        self.feature_set = feature_set

    def fit(self, X: pd.DataFrame, y: Any = None) -> LeadFeaturizer:
        self._check_columns(X)
        self.fill_: dict[str, float] = {}
        self.levels_: dict[str, list[str]] = {}
        for feat in self.feature_set.features:
            col = X[feat.source].tolist()
            if feat.kind == "numeric":
                vals = _numbers(col)
                if feat.fill == "median":
                    ok = vals[~np.isnan(vals)]
                    self.fill_[feat.name] = float(np.median(ok)) if len(ok) else 0.0
                else:
                    self.fill_[feat.name] = float(feat.fill)
            elif feat.kind == "ordinal":
                ranks = self._ranks(col, feat)
                ok = ranks[~np.isnan(ranks)]
                self.fill_[feat.name] = float(np.median(ok)) if len(ok) else 0.0
            elif feat.kind == "categorical":
                counts = pd.Series(_labels(col)).value_counts()
                kept = sorted(str(k) for k, n in counts.items() if n >= feat.min_count)
                kept = [k for k in kept if k not in (OTHER, MISSING)]
                self.levels_[feat.name] = kept + [OTHER, MISSING]
        # built once: constructing a CategoricalDtype costs more than featurizing one lead
        self.dtypes_ = {k: pd.CategoricalDtype(v) for k, v in self.levels_.items()}
        self.n_features_in_ = len(self.feature_set.source_fields)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Features for any number of leads; the same code for a training frame and one lead."""
        return self.frame(self.arrays(X), X.index)

    def arrays(self, X: pd.DataFrame | TypedLeads) -> dict[str, Any]:
        """``transform`` as plain arrays: float64 per feature, ``(codes, levels)`` per categorical.

        The serving hot path reads these directly (no DataFrame of Categoricals per lead);
        ``frame`` turns them into exactly what ``transform`` returns. ``X`` may be the typed
        columns themselves (``FieldSet.coerce_columns``): a column's ``tolist`` is the same.
        """
        self._check_columns(X)
        if not hasattr(self, "levels_"):
            raise RuntimeError("LeadFeaturizer is not fitted: call fit() on training leads first")
        out: dict[str, Any] = {}
        plans = self._plans()
        for feat in self.feature_set.features:
            col = X[feat.source].tolist()
            kind = feat.kind
            if kind == "numeric":
                vals = _numbers(col)
                vals = np.where(np.isnan(vals), self.fill_[feat.name], vals)
                if feat.clip is not None:
                    vals = np.clip(vals, *feat.clip)
                    vals = np.log1p(vals) if feat.log else vals
                out[feat.name] = vals
            elif kind == "ordinal":
                ranks = self._ranks(col, feat)
                out[feat.name] = np.where(np.isnan(ranks), self.fill_[feat.name], ranks)
            elif kind == "categorical":
                levels, index, other = plans[feat.name]
                codes = np.fromiter(
                    (index.get(v, other) for v in _labels(col)), dtype=np.int16, count=len(col)
                )
                out[feat.name] = (codes, levels)
            elif kind == "boolean":
                out[feat.name] = np.array(
                    [feat.fill if _absent(v) else float(bool(v)) for v in col], dtype=float
                )
            elif kind == "date_part":
                out[feat.name] = _date_part(col, feat, plans[feat.name])
            else:  # keyword_flag
                words = plans[feat.name]
                folded: dict[str, str] = {}  # fold each distinct text once, not once per keyword
                flags = []
                for v in col:
                    if isinstance(v, str):
                        fv = folded.get(v)
                        if fv is None:
                            fv = folded[v] = _fold(v)
                        flags.append(float(any(w in fv for w in words)))
                    else:
                        flags.append(0.0)
                out[feat.name] = np.array(flags, dtype=float)
        return out

    def frame(self, arrays: dict[str, Any], index: pd.Index) -> pd.DataFrame:
        """The DataFrame ``transform`` returns, from ``arrays`` output."""
        out: dict[str, Any] = {}
        for feat in self.feature_set.features:
            v = arrays[feat.name]
            if feat.kind == "categorical":
                v = pd.Categorical.from_codes(v[0], dtype=self.dtypes_[feat.name])
            out[feat.name] = v
        return pd.DataFrame(out, index=index)

    def _plans(self) -> dict[str, Any]:
        """Per-feature lookups built once (not pickled): level indexes, folded keywords, zones."""
        plans = self.__dict__.get("_plans_cache")
        if plans is None:
            plans = {}
            for feat in self.feature_set.features:
                if feat.kind == "categorical":
                    levels = tuple(self.levels_[feat.name])
                    index = {v: i for i, v in enumerate(levels)}
                    plans[feat.name] = (levels, index, index[OTHER])
                elif feat.kind == "date_part":
                    plans[feat.name] = ZoneInfo(feat.timezone)
                elif feat.kind == "keyword_flag":
                    plans[feat.name] = [_fold(k) for k in feat.keywords]
            self.__dict__["_plans_cache"] = plans
        return plans

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_plans_cache", None)
        return state

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f.name for f in self.feature_set.features], dtype=object)

    # --- helpers ---------------------------------------------------------------------------
    def _check_columns(self, X: pd.DataFrame | TypedLeads) -> None:
        missing = [c for c in self.feature_set.source_fields if c not in X]
        if missing:
            raise ContractError(
                [
                    f"lead data lacks field(s) {', '.join(missing)} needed by feature set "
                    f"'{self.feature_set.key}'"
                ]
            )

    def _ranks(self, col: list[Any], feat: Any) -> np.ndarray:
        order = {v: float(i) for i, v in enumerate(self.feature_set.fields[feat.source].allowed)}
        return np.array(
            [order.get(v, np.nan) if isinstance(v, str) else np.nan for v in col], dtype=float
        )


def _absent(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _numbers(col: list[Any]) -> np.ndarray:
    return np.array([np.nan if _absent(v) else float(v) for v in col], dtype=float)


def _labels(col: list[Any]) -> list[str]:
    return [MISSING if _absent(v) else str(v) for v in col]


def _date_part(col: list[Any], feat: Any, tz: ZoneInfo | None = None) -> np.ndarray:
    """Calendar part in the feature's timezone; -1 when the timestamp is unknown."""
    tz = tz or ZoneInfo(feat.timezone)
    out = np.full(len(col), -1.0)
    for i, v in enumerate(col):
        if _absent(v):
            continue
        t = (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v).astimezone(tz)
        wd = t.weekday()
        out[i] = {
            "hour": t.hour,
            "weekday": wd,
            "month": t.month,
            "day_of_month": t.day,
            "quarter": (t.month - 1) // 3 + 1,
            "is_weekend": float(wd >= 5),
        }[feat.part]
    return out
