"""`handoff demo-data` (and, with the training issue, `handoff train` / `handoff score`).

Thin wrappers: parse options, call the pure stage functions, write at the edges.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from feature_defs.contract import DEFAULT_FEATURE_SET, DEFAULT_POLICY

console = Console(stderr=True, soft_wrap=True)
DEFAULT_GROUND_TRUTH = Path("data") / "demo_ground_truth.csv"


def demo_data(
    seed: Annotated[
        int, typer.Option(help="Random seed; same seed and end date, same history.")
    ] = 7,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 18,
    leads: Annotated[
        int, typer.Option(min=100, max=2_000_000, help="About this many leads.")
    ] = 10_000,
    end: Annotated[str, typer.Option(help="End date (exclusive), YYYY-MM-DD.")] = "2026-11-01",
    out: Annotated[
        Path | None, typer.Option(help="Write CSVs to this folder instead of the store.")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(envvar="HANDOFF_DATABASE_URL", help="Store URL.")
    ] = None,
    ground_truth: Annotated[
        Path, typer.Option(help="Where the ground-truth file goes (store mode).")
    ] = DEFAULT_GROUND_TRUTH,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if the store has leads.")
    ] = False,
    feature_set: Annotated[
        Path, typer.Option(help="Feature-set YAML (names its lead fields).")
    ] = DEFAULT_FEATURE_SET,
    policy: Annotated[Path, typer.Option(help="SLA policy YAML.")] = DEFAULT_POLICY,
) -> None:
    """Generate a realistic lead history with known ground truth (store, or CSVs with --out)."""
    from feature_defs.contract import load_contract
    from training.demo_history import generate

    try:
        end_date = date.fromisoformat(end)
    except ValueError:
        raise typer.BadParameter(f"--end must be a date YYYY-MM-DD (got {end!r})") from None
    contract = load_contract(feature_set, policy)
    store = None
    if out is None:
        from scoring_service.store import Store

        store = Store.open(database_url)
        if if_empty and not store.is_empty():
            console.print(f"store already has {store.count('leads'):,} leads: nothing to do")
            return
    started = time.perf_counter()
    with console.status("generating demo history") as status:
        history = generate(
            contract,
            seed=seed,
            months=months,
            n_leads=leads,
            end=end_date,
            progress=lambda step: status.update(f"generating demo history: {step}"),
        )
    gen_s = time.perf_counter() - started
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        history.leads.to_csv(out / "leads.csv", index=False)
        history.events.to_csv(out / "events.csv", index=False)
        history.scores.to_csv(out / "scores.csv", index=False)
        history.decisions.to_csv(out / "decisions.csv", index=False)
        history.ground_truth.to_csv(out / "ground_truth.csv", index=False)
        where = str(out)
    else:
        from scoring_service.active_policy import ensure_policy

        with console.status("writing the store"):
            ensure_policy(store, contract.fields, path=policy)
            store.write_batch(
                leads=history.leads, events=history.events, scores=history.scores, origin="demo"
            )
            for row in history.decisions.to_dict("records"):
                store.add_decision(**row)
        ground_truth.parent.mkdir(parents=True, exist_ok=True)
        history.ground_truth.to_csv(ground_truth, index=False)
        where = f"{store.url} (ground truth: {ground_truth})"
    console.print(
        f"demo history: {len(history.leads):,} leads, {len(history.events):,} events, "
        f"{int(history.ground_truth['handed_off'].sum()):,} handed off, generated in "
        f"{gen_s:.1f}s -> {where}"
    )


def train(
    database_url: Annotated[
        str | None,
        typer.Option(envvar="HANDOFF_DATABASE_URL", help="Store URL (default: data/handoff.db)."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Train from this CSV instead of the store.")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="Label-spec YAML for --data (which columns hold the labels)."),
    ] = None,
    feature_set: Annotated[
        Path, typer.Option(help="Feature-set YAML (names its lead fields).")
    ] = DEFAULT_FEATURE_SET,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="SLA policy YAML (default: the store's active policy, or the bundled one)."
        ),
    ] = None,
    ground_truth: Annotated[
        Path | None,
        typer.Option(
            help="Demo ground-truth CSV (default: data/demo_ground_truth.csv if present)."
        ),
    ] = None,
    weighting: Annotated[
        str, typer.Option(help="Sample weights: none, clipped or ipw (see README).")
    ] = "none",
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if the gate fails (recorded).")
    ] = False,
    if_no_champion: Annotated[
        bool, typer.Option("--if-no-champion", help="Do nothing if a champion exists.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train both heads, compare with baselines and the champion, and promote through the gate."""
    import json
    import tempfile

    import mlflow
    import pandas as pd

    from feature_defs.contract import check_policy
    from feature_defs.features import load_feature_set
    from feature_defs.policy import load_policy
    from training import data as tdata
    from training import register
    from training.gate import run_gate
    from training.model_card import model_card, write_charts
    from training.train import WEIGHTINGS, train_bundle

    if weighting not in WEIGHTINGS:
        raise typer.BadParameter(
            f"--weighting must be one of {', '.join(WEIGHTINGS)} (got {weighting!r})"
        )
    uri = register.configure_tracking()
    if if_no_champion and register.champion_version() is not None:
        console.print(f"{register.MODEL_NAME}@{register.CHAMPION} exists ({uri}): nothing to do")
        return
    fs = load_feature_set(feature_set)
    if data is not None:
        if labels is None:
            raise typer.BadParameter("--data needs --labels (a label-spec YAML)")
        training_data = tdata.from_csv(data, fs, labels)
        pol = check_policy(load_policy(policy), fs.fields, source=policy) if policy else None
        truth = None
    else:
        from scoring_service.active_policy import active_policy
        from scoring_service.store import Store

        store = Store.open(database_url)
        if policy is not None:
            pol = check_policy(load_policy(policy), fs.fields, source=policy)
        else:
            pol = active_policy(store, fs.fields)[1]
        with console.status("reading the store"):
            training_data = tdata.from_store(store, fs.fields, pol)
        gt_path = ground_truth or DEFAULT_GROUND_TRUTH
        truth = pd.read_csv(gt_path) if gt_path.is_file() else None
    console.print(f"tracking to {uri}; data: {training_data.origin}")
    with console.status("training") as status:
        result = train_bundle(
            training_data,
            fs,
            policy=pol,
            ground_truth=truth,
            seed=seed,
            weighting=weighting,
            progress=lambda step: status.update(f"training: {step}"),
        )
        status.update("comparing with the champion and running behavioural checks")
        champ = register.champion_version()
        champ_bundle = (
            register.load_bundle(f"models:/{register.MODEL_NAME}@{register.CHAMPION}")
            if champ is not None
            else None
        )
        threshold = pol.handoff_threshold if pol is not None else 50.0
        gate = run_gate(result, champ_bundle, threshold=threshold, force=force)
        status.update("logging the run to MLflow")
        with mlflow.start_run() as run:
            mlflow.log_params(
                {
                    "feature_set": fs.key,
                    "policy": f"{pol.name}@{pol.version}" if pol else "none",
                    "origin": training_data.origin,
                    "seed": seed,
                    "force": force,
                    **{f"{h}.chosen": r.chosen for h, r in result.heads.items()},
                    **{f"{h}.split": r.split.kind for h, r in result.heads.items()},
                    **{f"{h}.calibration": r.calibration_method for h, r in result.heads.items()},
                }
            )
            mlflow.log_metrics(register.flatten_metrics(result))
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                write_charts(result, out)
                result.importance.to_csv(out / "shap_importance.csv")
                if result.ipw_comparison is not None:
                    result.ipw_comparison.to_csv(out / "ipw_comparison.csv", index=False)
                (out / "gate.json").write_text(
                    json.dumps([c.__dict__ for c in gate.checks], indent=2)
                )
                model_uri, version = register.log_model(result.bundle)
                card = model_card(result, gate=gate, version=version, run_id=run.info.run_id)
                (out / "model_card.md").write_text(card)
                mlflow.log_artifacts(str(out), artifact_path="report")
            mlflow.set_tags(
                {
                    "gate.passed": str(gate.passed),
                    "gate.forced": str(force and not gate.passed),
                    "model_version": str(version),
                }
            )
            if gate.promote:
                register.promote(
                    version,
                    tags={
                        "gate.passed": str(gate.passed),
                        "gate.forced": str(force and not gate.passed),
                        "run_id": run.info.run_id,
                    },
                )
    _summary(result, gate, version, champ)


def _summary(result: object, gate: object, version: int, champ: object) -> None:
    from rich.table import Table

    for head, rep in result.heads.items():
        t = Table(title=f"{head} head, test months ({rep.split.kind} split), chosen {rep.chosen}")
        for col in ("model", "ROC AUC", "PR AUC", "Brier", "log loss", "ECE"):
            t.add_column(col)
        for name, m in rep.test.items():
            t.add_row(
                name, *(f"{m[k]:.4f}" for k in ("roc_auc", "pr_auc", "brier", "log_loss", "ece"))
            )
        for col, auc in rep.truth_auc.items():
            t.add_row(f"ground truth ({col})", f"{auc:.4f}", "", "", "", "")
        console.print(t)
    for c in gate.checks:
        console.print(f"  {'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail}", markup=False)
    if gate.promote:
        how = "forced past a failed gate" if not gate.passed else "gate passed"
        console.print(f"lead-score v{version} is now champion ({how})")
    else:
        prev = f"v{champ.version}" if champ is not None else "none"
        console.print(f"lead-score v{version} registered but NOT promoted; champion stays {prev}")


def score(
    data: Annotated[
        Path,
        typer.Option(
            help="CSV of leads (declared field names as columns).", exists=True, dir_okay=False
        ),
    ],
    out: Annotated[Path, typer.Option(help="Where to write the scores CSV.")],
    model: Annotated[str, typer.Option(help="Model URI.")] = "models:/lead-score@champion",
    policy: Annotated[
        Path | None, typer.Option(help="SLA policy YAML (default: the bundled one).")
    ] = None,
) -> None:
    """Batch scoring: both heads, tier, due time and the top 3 reasons for every lead."""
    import pandas as pd

    from feature_defs.contract import policy_problems
    from feature_defs.errors import ContractError
    from feature_defs.policy import load_policy
    from training import register
    from training.score import score_leads

    register.configure_tracking()
    try:
        bundle = register.load_bundle(model)
    except Exception as exc:  # MLflow raises many kinds; the user needs one sentence
        raise ContractError(
            [f"cannot load model {model!r}: {exc}. Run `handoff train` first."]
        ) from None
    pol = load_policy(policy or DEFAULT_POLICY)
    problems = policy_problems(pol, bundle.fields)
    if problems and policy is not None:
        raise ContractError(problems, source=policy)
    if problems:
        console.print(
            "note: the bundled policy's exclusions do not fit these lead fields; "
            "scoring with its threshold, tiers and calendar only"
        )
    raw = pd.read_csv(data, dtype=str, keep_default_na=False)
    extra = [c for c in raw.columns if c not in bundle.fields]
    if extra:
        console.print(f"note: ignoring columns not declared in the lead fields: {', '.join(extra)}")
    try:
        typed = bundle.fields.coerce(
            raw[[c for c in raw.columns if c in bundle.fields]], row_offset=2
        )
    except ContractError as err:
        raise ContractError(
            [p.replace("row ", "line ", 1) for p in err.problems], source=data
        ) from None
    with console.status(f"scoring {len(typed):,} leads"):
        result = score_leads(bundle, typed, pol, apply_exclusions=not problems)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.drop(columns=["reasons"]).to_csv(out, index=False)
    tiers = result["tier"].value_counts().to_dict()
    console.print(
        f"{len(result):,} leads scored -> {out}; handed off {int(result['handoff'].sum()):,} "
        f"({', '.join(f'{k} {v:,}' for k, v in tiers.items())})"
    )
