"""The run's report: charts (PNG), global SHAP importance and a model card in markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from training import evaluate as ev

LIMITS = """\
- Scores are learned from leads that sales actually worked. Leads below the old threshold are
  represented only through the exploration share; with a small share, their region is learned
  from few examples (see the IPW comparison).
- The opportunity label needs its whole window to elapse, so the newest months train only the
  acceptance head.
- A rep's speed and leniency are not features (they are unknown at creation): the model predicts
  what an average rep obtains; the dashboard separates model error from slow follow-up.
- Metrics on the latest months are estimates with sampling error; small segments are noisy.
"""


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    if df.empty:
        return "_(none)_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_charts(result: Any, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for head, rep in result.heads.items():
        tables = {
            k: ev.reliability_table(y, p)
            for k, (y, p) in rep.curves.items()
            if k.startswith("model") or k in ("scorecard", "naive_bayes")
        }
        paths.append(
            ev.plot_reliability(
                tables,
                out / f"reliability_{head}.png",
                title=f"Reliability, {head} head (test months)",
            )
        )
        curves = {k: v for k, v in rep.curves.items()}
        paths.append(ev.plot_roc(curves, out / f"roc_{head}.png", title=f"ROC, {head} head"))
        lifts = {k: ev.lift_curve(y, p) for k, (y, p) in curves.items()}
        paths.append(ev.plot_lift(lifts, out / f"lift_{head}.png", title=f"Lift, {head} head"))
    paths.append(_importance_chart(result.importance, out / "shap_importance.png"))
    return paths


def _importance_chart(importance: pd.DataFrame, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    top = importance.head(15).iloc[::-1]
    fig = Figure(figsize=(7, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    height = 0.8 / max(1, len(top.columns))
    for i, col in enumerate(top.columns):
        ax.barh([k + i * height for k in range(len(top))], top[col], height=height, label=col)
    ax.set_yticks(range(len(top)), top.index)
    ax.set_xlabel("mean |contribution| (score points)")
    ax.set_title("Global SHAP importance (test months)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def model_card(
    result: Any, *, gate: Any = None, version: int | None = None, run_id: str | None = None
) -> str:
    b = result.bundle
    meta = b.metadata
    lines = [f"# Model card: lead-score{f' v{version}' if version else ''}", ""]
    if run_id:
        lines.append(f"MLflow run `{run_id}`.")
    lines += [
        f"- Data: {meta.get('origin')}, {meta.get('n_leads', 0):,} leads; window "
        f"{meta.get('window', {}).get('from', 'n/a')} to {meta.get('window', {}).get('to', 'n/a')}",
        f"- Feature set: `{b.feature_set_key}`; lead fields `{b.fields.name}` v{b.fields.version}",
        f"- Policy: {b.policy.get('name', 'n/a')} {b.policy.get('version', '')}; the served score "
        f"is 100 x P({b.score_head})",
        "",
        "## Labels",
        "- accepted: 1 for an explicit acceptance (or the first prospecting action, per the "
        "policy), 0 for a rejection (with or without a reason); unknown when the lead was never "
        "handed off, never worked, or is still open.",
        "- opportunity: 1 for an opportunity within the window after the handoff, 0 for a "
        "rejection or an accepted lead without one; unknown until the window has elapsed.",
        "- weight: 1 / the probability the old policy handed the lead off (1 above the threshold, "
        "the exploration share below it): inverse-propensity weighting.",
    ]
    labels = meta.get("labels", {})
    if labels.get("spec"):
        lines.append(f"- label spec: `{labels['spec']}`")
    if labels.get("summary"):
        s = labels["summary"]
        keys = [
            k
            for k in s
            if k.startswith(("status_", "accepted_", "opportunity_"))
            or k in ("leads", "handed_off", "exploration", "effective_sample_size")
        ]
        lines.append(
            "- counts: "
            + ", ".join(
                f"{k} {s[k]:.3f}" if isinstance(s[k], float) else f"{k} {s[k]:,}" for k in keys
            )
        )
    lines += ["", "## Features", ""]
    lines.append(
        _table(
            pd.DataFrame(
                [
                    {
                        "feature": f.name,
                        "kind": f.kind,
                        "from": f.source,
                        "description": f.description,
                    }
                    for f in b.featurizer.feature_set.features
                ]
            )
        )
    )
    for head, rep in result.heads.items():
        lines += [
            f"## Head: {head}",
            "",
            f"- {rep.split.describe()}",
            f"- chosen: **{rep.chosen}** (validation AUC within {0.003} of the best counts as a "
            "tie, then the cheaper explanation wins); explanation cost per lead (ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in rep.explain_ms.items()),
            f"- calibration: {rep.calibration_method} on {rep.n_calibration:,} leads of the "
            "calibration months, applied to the margin (SHAP explains the margin exactly)",
            "",
            "Test months, against the baselines (bold = best):",
            "",
            ev.compare_table(rep.test),
        ]
        if rep.truth_auc:
            lines.append(
                "Ground truth on the same leads (demo history): "
                + ", ".join(f"AUC of `{k}` {v:.4f}" for k, v in rep.truth_auc.items())
                + "\n"
            )
        lines += [
            "Weighted by inverse propensity (estimate for all leads):",
            "",
            ev.compare_table(rep.test_weighted),
            "",
            "At the policy threshold and tier cutoffs (each model selects with its own score; "
            "the scorecard with its points):",
            "",
            _table(rep.cutoffs),
            "",
            "Per segment (test months):",
            "",
            _table(rep.segments),
            "",
        ]
    if result.ipw_comparison is not None:
        lines += [
            "## Why inverse-propensity weights",
            "",
            "The same model kind trained three ways, compared with the true probabilities on "
            "every eligible lead of the test months (handed off or not):",
            "",
            _table(result.ipw_comparison),
            "",
        ]
    lines += [
        "## Global SHAP importance",
        "",
        "Mean |contribution| in score points:",
        "",
        _table(result.importance.reset_index(names="feature").head(15)),
        "",
    ]
    if gate is not None:
        lines += ["## Promotion gate", ""]
        lines += [f"- {'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail}" for c in gate.checks]
        if gate.forced and not gate.passed:
            lines.append("- **forced** past a failed gate (`--force`)")
        lines.append("")
    lines += ["## Known limits", "", LIMITS]
    return "\n".join(lines)
