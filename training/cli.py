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
