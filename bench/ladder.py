"""Where the time of one lead goes: an in-process ladder, then the same lead over HTTP.

Rungs (one lead, sequential calls, p50/p99 over ``--n`` calls after a warm-up):
  1. predict_proba  the score head's sklearn pipeline on a ready feature row (the reference)
  2. + features     FieldSet.coerce + featurizer arrays + both heads, calibrated
  3. + explanation  2 plus the SHAP reasons of the score head (as score_leads computes them)
  4. + SLA          FieldSet.coerce + score_leads (exclusions, tier, due time, reasons)
  5. HTTP           POST /v1/score through a real uvicorn (``handoff serve --workers 1``)
Each rung is printed with its increment over the previous one and its ratio to rung 1.
Goal: HTTP adds no more than about 1 ms at p50 over rung 4.

Run: .venv/bin/python bench/ladder.py [--n 2000] [--workdir /tmp/handoff-bench]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

THREADS = c.pin_threads()


def timed(fn, n: int, warm: int = 50) -> list[float]:  # noqa: ANN001
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workdir", type=Path, default=c.DEFAULT_WORKDIR)
    args = ap.parse_args()
    workdir = c.ensure_champion(args.workdir)

    import pandas as pd

    from feature_defs.contract import load_contract  # noqa: F401 - warms the same imports
    from training.score import score_leads

    bundle = c.load_champion(workdir)
    policy = _policy(bundle)
    leads = c.lead_records(workdir, 200)
    lead = leads[7]
    records = pd.DataFrame.from_records([lead])
    typed = bundle.fields.coerce(records)
    X = bundle.featurizer.transform(typed)
    head = bundle.heads[bundle.score_head]

    def rung1() -> None:
        head.pipeline.predict_proba(X)

    # rungs 2-3: the primitives score_leads uses (featurizer arrays -> each head's input)
    def rung2() -> None:
        t = bundle.fields.coerce(pd.DataFrame.from_records([lead]))
        _, xts, _ = bundle.designs(t)
        bundle.predict_designs(xts)

    def rung3() -> None:
        t = bundle.fields.coerce(pd.DataFrame.from_records([lead]))
        feats, xts, _ = bundle.designs(t)
        bundle.predict_designs(xts)
        bundle.reasons_design(t, feats, xts[bundle.score_head])

    def rung4() -> None:
        score_leads(bundle, bundle.fields.coerce(pd.DataFrame.from_records([lead])), policy)

    rungs = [
        ("1 predict_proba (pipeline, 1 row)", rung1),
        ("2 + coerce + featurize + 2 heads", rung2),
        ("3 + explanation (reasons)", rung3),
        ("4 + SLA = score_leads", rung4),
    ]
    results = [(name, timed(fn, args.n)) for name, fn in rungs]

    port = c.free_port()
    body = json.dumps(lead).encode()
    with c.api_server(workdir, port, workers=1):
        client = c.Client(port, {"X-API-Key": c.API_KEY})
        status, text = client.post("/v1/score", body)
        assert status == 200, (status, text[:300])

        def rung5() -> None:
            s, _ = client.post("/v1/score", body)
            assert s == 200

        results.append(("5 HTTP POST /v1/score (1 worker)", timed(rung5, args.n)))
        client.close()

    print(THREADS)
    print(f"one lead, {args.n} sequential calls per rung, times in ms")
    rows = []
    ref50 = c.pct(results[0][1], 50)
    prev50 = prev99 = 0.0
    for name, times in results:
        p50, p99 = c.pct(times, 50), c.pct(times, 99)
        rows.append([name, p50, p99, p50 - prev50, p99 - prev99, p50 / ref50])
        prev50, prev99 = p50, p99
    print(c.table(["rung", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms", "p50 / rung 1"], rows))
    http_add = rows[-1][3]
    print(f"HTTP over in-process score_leads at p50: {http_add:+.3f} ms (goal <= ~1 ms)")


def _policy(bundle):  # noqa: ANN001, ANN202
    """The policy the API would use: the default policy checked against the bundle's fields."""
    from feature_defs.contract import check_policy, load_contract

    policy = load_contract().policy
    return check_policy(policy, bundle.fields, source="bench")


if __name__ == "__main__":
    main()
