"""Model: every registered version against the baselines, what drives the champion, and who
held the title when."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, ui

st.title("Model")


@st.cache_data(ttl=ui.TTL, max_entries=2, show_spinner="Reading the model registry...")
def _versions(tracking: str) -> pd.DataFrame:
    data.configure_mlflow()
    return data.model_versions()


@st.cache_data(ttl=ui.TTL, max_entries=4, show_spinner=False)
def _importance(run_id: str) -> pd.DataFrame:
    return data.shap_importance(run_id)


versions = _versions(ui.tracking_key())
if versions.empty:
    st.info(
        "No model registered yet. Train one with `handoff train` (`make run` does it when the "
        "store has history); the gate promotes it to champion if it passes."
    )
    st.stop()

champion = versions[versions["champion"]]
if champion.empty:
    st.warning(
        "Versions are registered but none is champion: no version passed the promotion gate "
        "(`handoff train` prints why; `--force` overrides it, on the record)."
    )

heads = sorted({k.split(".")[0] for k in versions.columns if ".test." in k})
for head in heads:
    st.subheader(f"{head} head: test months, every version against the baselines")
    rows = []
    for _, v in versions.iterrows():
        for model in ("model", "scorecard", "naive_bayes"):
            row = {"version": int(v["version"]), "model": model, "champion": bool(v["champion"])}
            for metric in ("roc_auc", "brier", "ece", "log_loss"):
                row[metric] = v.get(f"{head}.test.{model}.{metric}")
            rows.append(row)
    table = pd.DataFrame(rows).dropna(subset=["roc_auc"])
    left, right = st.columns([3, 2])
    left.dataframe(
        table,
        hide_index=True,
        column_config={
            m: st.column_config.NumberColumn(m, format="%.4f")
            for m in ("roc_auc", "brier", "ece", "log_loss")
        },
    )
    right.altair_chart(
        charts.grouped_bars(
            table.assign(version=table["version"].map(lambda x: f"v{x}")),
            "version",
            "roc_auc",
            "model",
            title="ROC AUC on the test months",
            fmt=".3f",
        ),
        width="stretch",
    )

shown = champion.iloc[0] if not champion.empty else versions.iloc[0]
st.subheader(f"What drives version {int(shown['version'])} (global SHAP, mean |points|)")
importance = _importance(str(shown["run_id"]))
if importance.empty:
    st.caption("This run logged no SHAP importance.")
else:
    cols = st.columns(len(importance.columns))
    for col, head in zip(cols, importance.columns):
        frame = importance[head].rename("points").rename_axis("feature").reset_index()
        col.altair_chart(
            charts.horizontal_bars(frame.head(15), "feature", "points", title=f"{head} head"),
            width="stretch",
        )

st.subheader("Champion history")
history = versions.dropna(subset=["promoted_at"]).sort_values("promoted_at")
if history.empty:
    st.caption("No promotion recorded yet.")
else:
    st.dataframe(
        history[["version", "promoted_at", "gate_passed", "forced", "champion", "run_id"]],
        hide_index=True,
    )
with st.expander("All versions"):
    st.dataframe(versions, hide_index=True)
