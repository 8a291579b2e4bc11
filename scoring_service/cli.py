"""The `handoff` command: one entry point for every part of the product.

Commands live next to what they drive (training commands in ``training.cli``); this module only
assembles them and turns contract and store errors into a message and exit code 2, never a
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from feature_defs.contract import DEFAULT_FEATURE_SET, DEFAULT_POLICY
from training import cli as training_cli

app = typer.Typer(
    name="handoff",
    help="Make the marketing-to-sales lead handoff measurable and fair.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)

app.command("demo-data")(training_cli.demo_data)
app.command("train")(training_cli.train)
app.command("score")(training_cli.score)


@app.command("check")
def check(
    feature_set: Annotated[Path, typer.Option(help="Feature-set YAML.")] = DEFAULT_FEATURE_SET,
    policy: Annotated[Path, typer.Option(help="SLA policy YAML.")] = DEFAULT_POLICY,
) -> None:
    """Validate lead fields, a feature set and a policy together; print a summary."""
    from feature_defs.contract import load_contract

    c = load_contract(feature_set, policy)
    p = c.policy
    console.print(
        f"ok: fields '{c.fields.name}' ({len(list(c.fields))} fields), feature set "
        f"'{c.feature_set.key}' ({len(c.feature_set.features)} features), policy '{p.name}' "
        f"{p.version}: threshold {p.handoff_threshold:g}, tiers "
        + ", ".join(f"{t.name}>={t.min_score:g} within {t.deadline.describe()}" for t in p.tiers)
    )


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="CSV files to import.", exists=True, dir_okay=False)
    ],
    mapping: Annotated[
        str, typer.Option(help="Bundled mapping name or mapping YAML path.")
    ] = "handoff_leads",
    database_url: Annotated[
        str | None, typer.Option(envvar="HANDOFF_DATABASE_URL", help="Store URL.")
    ] = None,
    feature_set: Annotated[
        Path, typer.Option(help="Feature-set YAML (names its lead fields).")
    ] = DEFAULT_FEATURE_SET,
    policy: Annotated[
        Path, typer.Option(help="SLA policy YAML (rejection taxonomy).")
    ] = DEFAULT_POLICY,
) -> None:
    """Import CRM exports (leads or events) through a column mapping. All or nothing per file."""
    from feature_defs.contract import load_contract
    from scoring_service.crm_import import import_csv, load_mapping
    from scoring_service.store import Store

    contract = load_contract(feature_set, policy)
    spec = load_mapping(mapping, contract.fields)
    store = Store.open(database_url)
    for f in files:
        report = import_csv(store, f, spec, contract=contract, progress=sys.stderr.isatty())
        console.print(
            f"{f}: {report.rows:,} rows, {report.inserted:,} inserted, "
            f"{report.skipped:,} already present ({report.seconds:.1f}s)"
        )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 2,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log a line per request (uvicorn's access log). Off by default: /metrics "
            "counts requests by route, status and latency, and a line per request costs about "
            "0.1 ms of a scoring call's budget."
        ),
    ] = False,
) -> None:
    """Start the scoring API (uvicorn). Settings come from HANDOFF_* environment variables."""
    import os

    import uvicorn

    from scoring_service.config import get_settings

    # one BLAS/OpenMP thread per worker: parallelism comes from the worker processes
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        settings = get_settings()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"API: http://{host}:{port}/docs  (OpenAPI at /openapi.json, {workers} workers)")
    if settings.dev:
        console.print("dev mode: API key 'dev-admin-key' has every scope (never use in production)")
    uvicorn.run(
        "scoring_service.main:create_app",
        # keep idle connections longer than a busy client's pause between requests: with the
        # default 5 s, a pooled connection could be closed just as a client reused it (reset)
        timeout_keep_alive=30,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
    )


@app.command("dashboard")
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8501,
) -> None:
    """Start the dashboard (Streamlit). It reads the store and MLflow, and saves policies
    through the API at HANDOFF_API_URL (default http://127.0.0.1:8000)."""
    import subprocess

    from scoring_service.supervisor import streamlit_argv

    console.print(f"dashboard: http://{host}:{port}")
    raise SystemExit(subprocess.call(streamlit_argv(host, port)))


@app.command("up")
def up(
    host: Annotated[str, typer.Option(help="Interface both listen on.")] = "127.0.0.1",
    api_port: Annotated[int, typer.Option(min=1, max=65535, help="API port.")] = 8000,
    dashboard_port: Annotated[int, typer.Option(min=1, max=65535, help="Dashboard port.")] = 8501,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API worker processes.")] = 2,
) -> None:
    """Start the API and the dashboard together, print both URLs; Ctrl-C stops both."""
    import os

    from scoring_service.supervisor import Child, run, streamlit_argv

    if api_port == dashboard_port:
        raise typer.BadParameter("--api-port and --dashboard-port must differ")
    os.environ.setdefault("HANDOFF_API_URL", f"http://{host}:{api_port}")
    handoff = [sys.executable, "-m", "scoring_service.cli"]
    children = [
        Child(
            "API",
            [*handoff, "serve", "--host", host, "--port", str(api_port), "--workers", str(workers)],
            f"http://{host}:{api_port}/healthz",
            f"http://{host}:{api_port}/docs",
        ),
        Child(
            "dashboard",
            streamlit_argv(host, dashboard_port),
            f"http://{host}:{dashboard_port}/_stcore/health",
            f"http://{host}:{dashboard_port}",
        ),
    ]
    raise SystemExit(run(children, say=console.print))


@app.command("db-upgrade")
def db_upgrade(
    database_url: Annotated[
        str | None, typer.Option(envvar="HANDOFF_DATABASE_URL", help="Store URL.")
    ] = None,
) -> None:
    """Create or migrate the lead store to the latest schema (keeps existing data)."""
    from scoring_service.store import Store

    store = Store.open(database_url)
    console.print(f"{store.url}: schema at revision {store.current_revision()}")


def main() -> None:
    """Console-script entry point: known errors become one message and exit code 2."""
    from feature_defs.errors import ContractError
    from scoring_service.store import StoreError

    try:
        app()  # standalone mode: usage errors and --help exit by themselves
    except (ContractError, StoreError) as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, style="red")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
