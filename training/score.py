"""Score leads with a bundle and apply the SLA: the one function behind batch and online scoring.

For each lead: both heads' probabilities, the 0-100 score, exclusions, handoff, tier, the
first-contact due time in business time, and the top reasons in score points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_defs.policy import Policy
from feature_defs.sla import assign_tier, due_at, exclusion_reasons, is_handoff
from training.bundle import LeadScoreBundle


def score_leads(
    bundle: LeadScoreBundle,
    typed: pd.DataFrame,
    policy: Policy,
    *,
    top: int = 3,
    apply_exclusions: bool = True,
) -> pd.DataFrame:
    """Scores, SLA decisions and reasons for typed leads (``FieldSet.coerce`` output)."""
    X = bundle.featurizer.transform(typed)
    out = bundle.predict_features(X)
    excluded = (
        exclusion_reasons(typed, policy)
        if apply_exclusions
        else np.full(len(typed), None, dtype=object)
    )
    handoff = is_handoff(out["score"].to_numpy(), excluded, policy)
    tier = np.where(handoff, assign_tier(out["score"].to_numpy(), policy), None)
    created_field = bundle.fields.created_at_field
    if created_field and typed[created_field].notna().any():
        src = (
            typed[policy.source_field]
            if policy.source_field in typed.columns
            else pd.Series([None] * len(typed))
        )
        due = due_at(typed[created_field], list(tier), list(src), policy).to_numpy()
    else:
        due = np.full(len(typed), pd.NaT)
    result = pd.DataFrame(
        {
            "lead_id": typed[bundle.fields.id_field].to_numpy(),
            **{c: out[c].to_numpy() for c in out.columns},
            "handoff": handoff,
            "excluded": excluded,
            "tier": tier,
            "due_at": due,
        }
    )
    reasons = bundle.reasons(typed, X, top=top)
    result["reasons"] = reasons
    for k in range(top):
        result[f"reason_{k + 1}"] = [r[k]["label"] if len(r) > k else None for r in reasons]
    return result
