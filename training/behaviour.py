"""Behavioural tests a model must pass before promotion (Made-With-ML's model tests).

- invariance: irrelevant fields (lead id, email local part, company name...) never move a score;
- direction: all else equal, a demo request scores at least as high as a white-paper download;
- minimum function: students and competitors score below the handoff threshold.

The checks are declared in the feature set's ``behaviour`` section, so another company declares
its own. Each check perturbs real held-out leads and compares the bundle's scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.bundle import LeadScoreBundle

DIRECTION_TOLERANCE = 0.5  # score points: numerical noise, not a change of mind


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def _scores(bundle: LeadScoreBundle, leads: pd.DataFrame) -> np.ndarray:
    return bundle.predict(leads)["score"].to_numpy()


def _perturb_text(values: pd.Series, rng: np.random.Generator, *, email: bool = False) -> pd.Series:
    def change(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return v
        text = str(v)
        salt = "".join(rng.choice(list("abcdefghij"), 6))
        if email and "@" in text:
            return f"{salt}.x{text[text.index('@') :]}"  # only the local part changes
        return f"{salt}-{text}"

    return values.map(change)


def run_checks(
    bundle: LeadScoreBundle,
    leads: pd.DataFrame,
    *,
    threshold: float,
    seed: int = 0,
    sample: int = 300,
) -> list[CheckResult]:
    """Run the feature set's behavioural checks on a sample of (typed) held-out leads."""
    spec = bundle.featurizer.feature_set.spec.behaviour
    fields = bundle.fields
    rng = np.random.default_rng(seed)
    base = leads.sample(n=min(sample, len(leads)), random_state=seed).reset_index(drop=True)
    before = _scores(bundle, base)
    out: list[CheckResult] = []

    if spec.invariant_fields:
        changed = base.copy()
        for name in spec.invariant_fields:
            if name in changed.columns:
                changed[name] = _perturb_text(changed[name], rng, email=name == "email")
        diff = float(np.max(np.abs(_scores(bundle, changed) - before))) if len(base) else 0.0
        out.append(
            CheckResult(
                "invariance",
                diff < 1e-9,
                f"changing {', '.join(spec.invariant_fields)} moved scores by at most {diff:.2e}",
            )
        )

    for d in spec.direction:
        hi, lo = base.copy(), base.copy()
        hi[d.field], lo[d.field] = d.higher, d.lower
        delta = _scores(bundle, hi) - _scores(bundle, lo)
        worst = float(delta.min()) if len(delta) else 0.0
        out.append(
            CheckResult(
                f"direction: {d.field} {d.higher} >= {d.lower}",
                worst >= -DIRECTION_TOLERANCE,
                f"{d.higher} minus {d.lower}: mean {delta.mean():+.1f} pts, worst {worst:+.1f} pts "
                f"over {len(delta)} leads",
            )
        )

    for m in spec.minimum:
        changed = base.copy()
        for key, value in m.set.items():
            if key in fields:
                changed[key] = value
        s = _scores(bundle, changed)
        share = float((s < threshold).mean()) if len(s) else 1.0
        out.append(
            CheckResult(
                f"minimum: {m.name} score low",
                share == 1.0,
                f"{share:.0%} of {len(s)} leads below the threshold {threshold:g} "
                f"(max {s.max():.1f}, mean {s.mean():.1f})",
            )
        )
    return out
