"""Where training data comes from: the lead store (labels from events) or CSV files.

From the store, labels come from the reps' feedback and outcomes (``training.labels``). From a
CSV, another company names its label columns in a small label-spec YAML, next to its own
lead-fields and feature-set YAML: no code change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from feature_defs.errors import ContractError, from_validation_error
from feature_defs.features import FeatureSet
from feature_defs.fields import TRUE_STRINGS
from feature_defs.yaml_io import read_yaml


@dataclass
class TrainingData:
    leads: pd.DataFrame  # typed declared fields, one row per lead
    labels: pd.DataFrame  # per head a float column (1/0/NaN) and a weight column
    heads: list[str]
    created_at: pd.Series | None  # None when the data has no timestamps
    origin: str
    label_info: dict[str, Any] = field(default_factory=dict)

    def head(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mask of rows with a known label, labels, weights) for one head."""
        y = self.labels[name].to_numpy(dtype=float)
        known = ~np.isnan(y)
        w = self.labels.get("weight", pd.Series(1.0, index=self.labels.index)).to_numpy(float)
        w = np.where(np.isnan(w), 1.0, w)
        return known, y, w


def from_store(
    store: Any, fields: Any, policy: Any, *, as_of: pd.Timestamp | None = None
) -> TrainingData:
    """Leads and events from the store; labels per ``training.labels``."""
    raw = store.read_leads()
    if raw.empty:
        raise ContractError(["the store has no leads: run `handoff demo-data` or `handoff import`"])
    return from_frames(
        raw, store.read_events(), fields, policy, as_of=as_of, origin=f"store {store.url}"
    )


def from_frames(
    raw: pd.DataFrame,
    events: pd.DataFrame,
    fields: Any,
    policy: Any,
    *,
    as_of: pd.Timestamp | None = None,
    origin: str,
) -> TrainingData:
    """Leads (raw declared fields; other columns are ignored) and their events as frames, as
    the store returns them or the demo generator makes them; labels per ``training.labels``."""
    from training.labels import LabelSpec, build_labels, label_summary

    declared = [c for c in raw.columns if c in fields]
    leads = fields.coerce(raw[declared])
    spec = LabelSpec.from_policy(policy, as_of=as_of)
    labels = build_labels(
        leads[[fields.id_field, fields.created_at_field]].rename(
            columns={fields.id_field: "lead_id", fields.created_at_field: "created_at"}
        ),
        events,
        spec,
    )
    labels = labels.reset_index(drop=True)
    info = {
        "spec": {
            "opportunity_window_days": spec.opportunity_window_days,
            "acceptance_definition": spec.acceptance_definition,
            "as_of": str(labels.attrs.get("as_of", as_of)),
        },
        "summary": label_summary(labels),
    }
    return TrainingData(
        leads=leads,
        labels=labels,
        heads=["accepted", "opportunity"],
        created_at=leads[fields.created_at_field],
        origin=origin,
        label_info=info,
    )


class LabelColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    positive: list[str] = Field(default_factory=lambda: sorted(TRUE_STRINGS))


class LabelSpecFile(BaseModel):
    """Label columns of a CSV: which column holds each head, and which values are positive."""

    model_config = ConfigDict(extra="forbid")
    accepted: LabelColumn | None = None
    opportunity: LabelColumn | None = None
    weight: str | None = None  # optional column of sample weights (e.g. inverse propensity)

    @model_validator(mode="after")
    def _one_head(self) -> LabelSpecFile:
        if self.accepted is None and self.opportunity is None:
            raise ValueError("name at least one head: 'accepted' or 'opportunity'")
        return self


def from_csv(path: str | Path, feature_set: FeatureSet, label_spec: str | Path) -> TrainingData:
    """A CSV of leads with label columns, described by YAML only."""
    spec_path = Path(label_spec)
    data = read_yaml(spec_path)
    try:
        spec = LabelSpecFile.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err, source=spec_path, data=data) from None
    p = Path(path)
    if not p.is_file():
        raise ContractError([f"file not found: {p}"])
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    fields = feature_set.fields
    heads = [h for h in ("accepted", "opportunity") if getattr(spec, h) is not None]
    problems = []
    for h in heads:
        col = getattr(spec, h).column
        if col not in raw.columns:
            problems.append(f"{spec_path.name}: {h}.column: column '{col}' is not in {p.name}")
    if spec.weight and spec.weight not in raw.columns:
        problems.append(f"{spec_path.name}: weight: column '{spec.weight}' is not in {p.name}")
    if problems:
        raise ContractError(problems)
    declared = [c for c in raw.columns if c in fields]
    try:
        leads = fields.coerce(raw[declared], row_offset=2)  # line 2 is the first data row
    except ContractError as err:
        raise ContractError(err.problems, source=p) from None
    labels = pd.DataFrame(index=leads.index)
    for h in heads:
        lc = getattr(spec, h)
        values = raw[lc.column].str.strip().str.lower()
        positive = {v.lower() for v in lc.positive}
        labels[h] = np.where(values == "", np.nan, values.isin(positive).astype(float))
    if spec.weight:
        w = pd.to_numeric(raw[spec.weight], errors="coerce")
        bad = np.flatnonzero(w.isna() | (w <= 0))
        if len(bad):
            raise ContractError(
                [
                    f"line {i + 2}, column '{spec.weight}': must be a positive number"
                    for i in bad[:20]
                ],
                source=p,
            )
        labels["weight"] = w.to_numpy()
    created = leads[fields.created_at_field] if fields.created_at_field else None
    if created is not None and created.isna().all():
        created = None
    return TrainingData(
        leads=leads,
        labels=labels,
        heads=heads,
        created_at=created,
        origin=f"csv {p.name}",
        label_info={"spec": data},
    )
