"""A tiny condition language shared by exclusions, the points scorecard and deadline caps.

Conditions are data (``{field: seniority, in: [student]}``) so that marketing ops can change the
rules in YAML. Evaluation is vectorised over typed leads: a DataFrame or its columns
(``TypedLeads``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from feature_defs.typed_leads import TypedLeads, column_array

OPERATORS = ("in", "not_in", "equals", "gte", "lte", "gt", "lt", "is_missing", "contains_any")


class Condition(BaseModel):
    """Either one field test (``field`` plus exactly one operator) or ``all`` / ``any`` of others.

    A missing value never satisfies a test other than ``is_missing: true`` (so a lead whose
    country is unknown is not "not in the covered countries"; it is simply unknown).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    field: str | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    equals: Any = None
    gte: float | None = None
    lte: float | None = None
    gt: float | None = None
    lt: float | None = None
    is_missing: bool | None = None
    contains_any: list[str] | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        ops = [op for op in OPERATORS if self.operand(op) is not None]
        groups = [g for g in ("all", "any") if getattr(self, g) is not None]
        if groups:
            if self.field is not None or ops or len(groups) > 1:
                raise ValueError("use either 'all', 'any', or 'field' with one operator")
            if not getattr(self, groups[0]):
                raise ValueError(f"'{groups[0]}' needs at least one condition")
            return self
        if self.field is None:
            raise ValueError("a condition needs 'field' (or 'all' / 'any')")
        if len(ops) != 1:
            raise ValueError(
                f"a condition on '{self.field}' needs exactly one operator among "
                f"{', '.join(OPERATORS)}; found {len(ops)}"
            )
        return self

    def operand(self, op: str) -> Any:
        return self.in_ if op == "in" else getattr(self, op)

    @property
    def operator(self) -> str | None:
        return next((op for op in OPERATORS if self.operand(op) is not None), None)

    def fields_used(self) -> set[str]:
        if self.all or self.any:
            return set().union(*(c.fields_used() for c in (self.all or self.any or [])))
        return {self.field} if self.field else set()

    def leaves(self) -> list[Condition]:
        if self.all or self.any:
            return [leaf for c in (self.all or self.any or []) for leaf in c.leaves()]
        return [self]

    def evaluate(self, leads: pd.DataFrame | TypedLeads) -> np.ndarray:
        """Boolean array, one entry per lead row.

        Columns are read once per call as numpy arrays and tested with plain numpy / set
        membership, which costs microseconds for one lead where a pandas call per test costs
        tens of them. A column of a type without such a path (dates, free text under a number
        test, ...) goes through ``evaluate_general``, the pandas definition of every operator;
        the two agree on every input (tests compare them).
        """
        return self._evaluate(_Columns(leads))

    def _evaluate(self, cols: _Columns) -> np.ndarray:
        if self.all is not None:
            out = np.ones(cols.n, dtype=bool)
            for c in self.all:
                out &= c._evaluate(cols)
            return out
        if self.any is not None:
            out = np.zeros(cols.n, dtype=bool)
            for c in self.any:
                out |= c._evaluate(cols)
            return out
        fast = self._leaf_fast(cols)
        return fast if fast is not None else self._leaf_general(cols.frame())

    def _leaf_fast(self, cols: _Columns) -> np.ndarray | None:
        """A leaf test on numpy arrays, or None where only the general path applies."""
        col = cols.get(self.field)
        if col is None:
            return None
        kind, values, missing = col
        op = self.operator
        if op == "is_missing":
            return missing.copy() if self.is_missing else ~missing
        if op in ("in", "not_in", "equals"):
            try:
                wanted = frozenset(self.operand(op) if op != "equals" else [self.equals])
                hit = (
                    np.zeros(cols.n, dtype=bool)
                    if values is None
                    else np.fromiter((v in wanted for v in values), dtype=bool, count=cols.n)
                )
            except TypeError:  # an unhashable operand or value: pandas' isin decides
                return None
            return (~hit & ~missing) if op == "not_in" else (hit & ~missing)
        if op == "contains_any":
            if values is None:
                return np.zeros(cols.n, dtype=bool)
            if kind != "object" or not all(
                isinstance(v, str) for v, m in zip(values, missing, strict=True) if not m
            ):
                return None
            words = [w.lower() for w in self.contains_any or []]
            text = ["" if m else v.lower() for v, m in zip(values, missing, strict=True)]
            hit = np.fromiter((any(w in t for w in words) for t in text), dtype=bool, count=cols.n)
            return hit & ~missing
        num = cols.numbers(self.field)
        if num is None:
            return None
        ref = float(self.operand(op))
        with np.errstate(invalid="ignore"):
            res = {"gte": num >= ref, "lte": num <= ref, "gt": num > ref, "lt": num < ref}[op]
        return res & ~np.isnan(num)

    def evaluate_general(self, leads: pd.DataFrame) -> np.ndarray:
        """``evaluate`` with pandas operations for every test: the reference definition."""
        n = len(leads)
        if self.all is not None:
            out = np.ones(n, dtype=bool)
            for c in self.all:
                out &= c.evaluate_general(leads)
            return out
        if self.any is not None:
            out = np.zeros(n, dtype=bool)
            for c in self.any:
                out |= c.evaluate_general(leads)
            return out
        return self._leaf_general(leads)

    def _leaf_general(self, leads: pd.DataFrame) -> np.ndarray:
        n = len(leads)
        col = leads[self.field] if self.field in leads.columns else pd.Series([None] * n)
        missing = col.isna().to_numpy(dtype=bool)
        op = self.operator
        if op == "is_missing":
            return missing if self.is_missing else ~missing
        if op in ("in", "not_in", "equals"):
            values = self.operand(op) if op != "equals" else [self.equals]
            hit = col.astype(object).isin(values).to_numpy(dtype=bool)
            return (~hit & ~missing) if op == "not_in" else (hit & ~missing)
        if op == "contains_any":
            words = [w.lower() for w in self.contains_any or []]
            text = col.astype(object).where(~missing, "").astype(str).str.lower()
            hit = np.zeros(n, dtype=bool)
            for w in words:
                hit |= text.str.contains(w, regex=False).to_numpy(dtype=bool)
            return hit & ~missing
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ref = float(self.operand(op))
        with np.errstate(invalid="ignore"):
            res = {"gte": num >= ref, "lte": num <= ref, "gt": num > ref, "lt": num < ref}[op]
        return res & ~np.isnan(num)


class _Columns:
    """The columns a condition reads, each extracted once per evaluation.

    ``get`` gives (kind, values, missing): values as an array whose elements compare and hash
    as the elements of ``column.astype(object)`` (None for a column the frame lacks), missing
    as ``column.isna()``; None for a dtype without a fast path. ``numbers`` gives
    ``pd.to_numeric(column)`` as floats (NaN where missing), for numeric dtypes only.
    """

    def __init__(self, leads: pd.DataFrame | TypedLeads) -> None:
        self.leads = leads
        self.n = len(leads)
        self._got: dict[str | None, tuple[str, Any, np.ndarray] | None] = {}

    def frame(self) -> pd.DataFrame:
        leads = self.leads
        return leads.frame() if isinstance(leads, TypedLeads) else leads

    def _column(self, name: str | None) -> Any:
        """The column's array; None if the leads lack it, a DataFrame for a repeated name."""
        if name not in self.leads:
            return None
        col = self.leads[name]
        return column_array(col) if isinstance(col, pd.Series) else col

    def get(self, name: str | None) -> tuple[str, Any, np.ndarray] | None:
        if name in self._got:
            return self._got[name]
        col = self._column(name)
        got: tuple[str, Any, np.ndarray] | None
        if col is None:
            got = ("absent", None, np.ones(self.n, dtype=bool))
        elif isinstance(col, pd.DataFrame):  # duplicate column names: pandas decides
            got = None
        elif col.dtype == object:
            got = ("object", col, pd.isna(col))
        elif col.dtype == np.float64:
            got = ("float", col, np.isnan(col))
        elif isinstance(col.dtype, pd.Int64Dtype | pd.BooleanDtype):
            got = ("masked", col.to_numpy(dtype=object, na_value=None), col.isna())
        elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "biu":  # never missing
            got = ("numpy", col, np.zeros(self.n, dtype=bool))
        else:
            got = None
        self._got[name] = got
        return got

    def numbers(self, name: str | None) -> np.ndarray | None:
        col = self._column(name)
        if col is None:
            return np.full(self.n, np.nan)
        if isinstance(col, pd.DataFrame):
            return None
        if col.dtype == np.float64:
            return col
        if isinstance(col.dtype, pd.Int64Dtype | pd.BooleanDtype):
            return col.to_numpy(dtype=float, na_value=np.nan)
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biu":
            return col.astype(float)
        return None


Condition.model_rebuild()
