"""How long does the demo history take? Generation of 100,000 leads must stay under 30 s.

Prints seconds and a ratio against a reference measured in the same run: the time to build the
same number of rows as a plain pandas frame of random numbers, so the figure travels between
machines. Run: .venv/bin/python bench/demo_history.py [--leads 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd

from feature_defs.contract import load_contract
from training.demo_history import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--store", action="store_true", help="also time writing a SQLite store")
    args = ap.parse_args()
    contract = load_contract()

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.random((args.leads, 25)))
    ref.to_csv(tempfile.TemporaryFile(mode="w"))
    reference_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    history = generate(contract, n_leads=args.leads, months=18)
    gen_s = time.perf_counter() - t0
    print(
        f"generate: {len(history.leads):,} leads, {len(history.events):,} events "
        f"in {gen_s:.1f} s (limit 30 s)"
    )
    print(
        f"reference (random frame of the same rows to CSV): {reference_s:.2f} s; "
        f"ratio {gen_s / reference_s:.1f}x"
    )
    if args.store:
        from scoring_service.store import Store

        with tempfile.TemporaryDirectory() as d:
            store = Store.open(f"sqlite:///{d}/bench.db")
            t0 = time.perf_counter()
            store.write_batch(
                leads=history.leads, events=history.events, scores=history.scores, origin="demo"
            )
            print(f"write SQLite store: {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            n = len(store.read_leads())
            print(f"read_leads: {n:,} rows in {time.perf_counter() - t0:.1f} s")
            store.dispose()


if __name__ == "__main__":
    main()
