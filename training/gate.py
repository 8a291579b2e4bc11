"""The promotion gate: a new model becomes champion only if it is no worse and behaves.

1. On the same latest holdout, each head is no worse than the current champion beyond a small
   tolerance on AUC and on Brier score.
2. It passes the behavioural checks of its feature set (``training.behaviour``).
``--force`` overrides a failed gate; the override is recorded on the run and the version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training import evaluate as ev
from training.behaviour import CheckResult, run_checks
from training.bundle import LeadScoreBundle

AUC_TOLERANCE = 0.005
BRIER_TOLERANCE = 0.002


@dataclass(frozen=True)
class GateResult:
    checks: list[CheckResult]
    forced: bool

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def promote(self) -> bool:
        return self.passed or self.forced


def champion_checks(result: object, champion: LeadScoreBundle | None) -> list[CheckResult]:
    """Compare the new model with the champion on each head's own test slice."""
    if champion is None:
        return [CheckResult("champion comparison", True, "no champion yet: nothing to beat")]
    out = []
    leads = result.data.leads.reset_index(drop=True)
    for head, rep in result.heads.items():
        if head not in champion.heads:
            out.append(
                CheckResult(f"{head}: champion comparison", True, "the champion has no such head")
            )
            continue
        y, p_new = rep.curves[f"model ({rep.chosen})"]
        try:
            p_old = champion.predict(leads.iloc[rep.test_rows])[f"p_{head}"].to_numpy()
        except Exception as exc:  # a champion that cannot score this data cannot be compared
            out.append(
                CheckResult(
                    f"{head}: champion comparison",
                    True,
                    f"champion cannot score this data ({exc}); not compared",
                )
            )
            continue
        new, old = ev.classification_metrics(y, p_new), ev.classification_metrics(y, p_old)
        ok_auc = new["roc_auc"] >= old["roc_auc"] - AUC_TOLERANCE or np.isnan(old["roc_auc"])
        ok_brier = new["brier"] <= old["brier"] + BRIER_TOLERANCE
        out.append(
            CheckResult(
                f"{head}: no worse than champion",
                bool(ok_auc and ok_brier),
                f"AUC {new['roc_auc']:.4f} vs {old['roc_auc']:.4f} (tolerance {AUC_TOLERANCE}), "
                f"Brier {new['brier']:.4f} vs {old['brier']:.4f} (tolerance {BRIER_TOLERANCE}) "
                f"on {len(y):,} test leads",
            )
        )
    return out


def run_gate(
    result: object, champion: LeadScoreBundle | None, *, threshold: float, force: bool = False
) -> GateResult:
    leads = result.data.leads.reset_index(drop=True)
    test_rows = np.unique(np.concatenate([r.test_rows for r in result.heads.values()]))
    checks = champion_checks(result, champion)
    checks += run_checks(result.bundle, leads.iloc[test_rows], threshold=threshold)
    return GateResult(checks=checks, forced=force)
