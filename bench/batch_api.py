"""Batch scoring over HTTP: POST /v1/score/batch with thousands of demo leads, with reasons.

Starts ``handoff serve`` (``--workers``, default 2), sends ``--leads`` leads (from
``handoff demo-data --out``) in one request ``--repeat`` times, and reports leads/s. Reference
measured in the same run, alternating with the requests: ``score_leads`` in this process on the
same leads (coerce + score + SLA + reasons, no HTTP, no JSON), so the ratio shows what HTTP and
JSON cost on top.
Goal: >= 5,000 leads/s over HTTP.

Run: .venv/bin/python bench/batch_api.py [--leads 8000] [--repeat 5]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=8000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=c.DEFAULT_WORKDIR)
    args = ap.parse_args()
    workdir = c.ensure_champion(args.workdir, csv_leads=max(10_000, args.leads))
    leads = c.lead_records(workdir, args.leads)
    n = len(leads)
    body = json.dumps({"leads": leads}).encode()

    import pandas as pd

    from training.score import score_leads

    bundle = c.load_champion(workdir)
    policy = _policy(bundle)

    def reference() -> None:
        typed = bundle.fields.coerce(pd.DataFrame.from_records(leads))
        score_leads(bundle, typed, policy)

    port = c.free_port()
    ref, times = [], []
    with c.api_server(workdir, port, args.workers):
        client = c.Client(port, {"X-API-Key": c.API_KEY})
        status, text = client.post("/v1/score/batch", body)  # warm-up
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {text[:300]!r}")
        assert len(json.loads(text)["results"]) == n
        reference()
        for _ in range(args.repeat):  # interleaved: a busy phase of the machine hits both
            t0 = time.perf_counter()
            reference()
            ref.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            status, text = client.post("/v1/score/batch", body)
            times.append(time.perf_counter() - t0)
            assert status == 200
        client.close()

    print(THREADS)
    print(
        f"{n} leads per request ({len(body) / 1e6:.1f} MB JSON), {args.repeat} requests, "
        f"median; server: {args.workers} workers (one request uses one worker)"
    )
    t_ref, t_http = c.pct(ref, 50), c.pct(times, 50)
    rows = [
        ["in-process coerce + score_leads (reference)", t_ref * 1000, n / t_ref, 1.0],
        ["HTTP POST /v1/score/batch (with reasons)", t_http * 1000, n / t_http, t_ref / t_http],
    ]
    print(c.table(["path", "ms / request", "leads/s", "speed / reference"], rows))
    print(f"goal >= 5,000 leads/s over HTTP: {'met' if n / t_http >= 5000 else 'NOT met'}")


def _policy(bundle):  # noqa: ANN001, ANN202
    from feature_defs.contract import check_policy, load_contract

    return check_policy(load_contract().policy, bundle.fields, source="bench")


if __name__ == "__main__":
    main()
