"""A tiny condition language shared by exclusions, the points scorecard and deadline caps.

Conditions are data (``{field: seniority, in: [student]}``) so that marketing ops can change the
rules in YAML. Evaluation is vectorised over a frame of typed leads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    def evaluate(self, leads: pd.DataFrame) -> np.ndarray:
        """Boolean array, one entry per lead row."""
        n = len(leads)
        if self.all is not None:
            out = np.ones(n, dtype=bool)
            for c in self.all:
                out &= c.evaluate(leads)
            return out
        if self.any is not None:
            out = np.zeros(n, dtype=bool)
            for c in self.any:
                out |= c.evaluate(leads)
            return out
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


Condition.model_rebuild()
