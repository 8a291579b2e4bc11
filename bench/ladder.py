"""Where the time of one lead goes: an in-process ladder, then the same lead over HTTP.

Rungs (one lead, sequential calls, p50/p99 over ``--n`` calls after a warm-up):
  1. predict_proba  the score head's sklearn pipeline on a ready feature row (the reference)
  2. + features     coerce_records (FieldSet.coerce of the JSON record) + featurizer arrays +
                    both heads, calibrated
  3. + explanation  2 plus the SHAP reasons of the score head (as score_leads computes them)
  4. + SLA          coerce_records + score_columns (exclusions, tier, due time, reasons): the
                    in-process call POST /v1/score makes (score_leads without the DataFrame)
  4b. the same      with the process idle for 0.2 ms before each call, as a server is between
                    two requests of one client (caches and clock cool down: it costs time)
  5. HTTP           POST /v1/score through a real uvicorn (``handoff serve --workers 1``),
                    with http.client
  5b. HTTP          the same with a minimal socket client (no per-request client parsing)
The rungs are interleaved in rounds of 100 calls, so a busy phase of a shared machine falls on
every rung alike. Each rung is printed with its increment over the previous one (HTTP rows:
over rung 4), its ratio to rung 1 and the CPU per call: this process's for rungs 1-4b, the
server's for the HTTP rows (with the client's in brackets), read from /proc.
Goal: HTTP adds no more than about 1 ms at p50 over rung 4. What HTTP adds is the server's
idle wake-up (rung 4b), uvicorn, FastAPI (routing, key check, body parsing), the route's input
checks, the policy version check, the JSON response, and the client.

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
IDLE_S = 0.0002


def interleaved(
    rungs: list, n: int, server_pid: int, block: int = 100, warm: int = 50
) -> tuple[list[list[float]], list[float], list[float]]:
    """Times (ms) of ``n`` calls per rung (name, function, pause before each call), taken in
    rounds of ``block`` calls of each rung in turn; with the CPU (ms per call) this process
    and the server process used during each rung, pauses excluded."""
    for _, fn, _ in rungs:
        for _ in range(warm):
            fn()
    out: list[list[float]] = [[] for _ in rungs]
    mine = [0.0] * len(rungs)
    server = [0.0] * len(rungs)
    done = 0
    while done < n:
        k = min(block, n - done)
        for j, (times, (_, fn, pause)) in enumerate(zip(out, rungs, strict=True)):
            c0, s0 = time.process_time(), c.cpu_seconds(server_pid)
            for _ in range(k):
                if pause:
                    time.sleep(pause)
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
            mine[j] += time.process_time() - c0
            server[j] += c.cpu_seconds(server_pid) - s0
        done += k
    return out, [x * 1000 / n for x in mine], [x * 1000 / n for x in server]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workdir", type=Path, default=c.DEFAULT_WORKDIR)
    args = ap.parse_args()
    workdir = c.ensure_champion(args.workdir)

    import pandas as pd

    from feature_defs.contract import load_contract  # noqa: F401 - warms the same imports
    from training.score import coerce_records, score_columns

    bundle = c.load_champion(workdir)
    policy = _policy(bundle)
    leads = c.lead_records(workdir, 200)
    lead = leads[7]
    typed = bundle.fields.coerce(pd.DataFrame.from_records([lead]))
    X = bundle.featurizer.transform(typed)
    head = bundle.heads[bundle.score_head]

    def rung1() -> None:
        head.pipeline.predict_proba(X)

    # rungs 2-3: the primitives score_columns uses (featurizer arrays -> each head's input)
    def rung2() -> None:
        t = coerce_records(bundle.fields, [lead])
        _, xts, _ = bundle.designs(t)
        bundle.predict_designs(xts)

    def rung3() -> None:
        t = coerce_records(bundle.fields, [lead])
        feats, xts, _ = bundle.designs(t)
        bundle.predict_designs(xts)
        bundle.reasons_design(t, feats, xts[bundle.score_head])

    def rung4() -> None:
        score_columns(bundle, coerce_records(bundle.fields, [lead]), policy)

    port = c.free_port()
    body = json.dumps(lead).encode()
    key = {"X-API-Key": c.API_KEY}
    with c.api_server(workdir, port, workers=1) as proc:
        client = c.Client(port, key)
        raw = c.RawClient(port, key)
        status, text = client.post("/v1/score", body)
        assert status == 200, (status, text[:300])
        assert raw.post("/v1/score", body) == (status, text)

        def rung5() -> None:
            s, _ = client.post("/v1/score", body)
            assert s == 200

        def rung5b() -> None:
            s, _ = raw.post("/v1/score", body)
            assert s == 200

        rungs = [
            ("1 predict_proba (pipeline, 1 row)", rung1, 0.0),
            ("2 + coerce + featurize + 2 heads", rung2, 0.0),
            ("3 + explanation (reasons)", rung3, 0.0),
            ("4 + SLA = score_columns (in process)", rung4, 0.0),
            ("4b = 4, idle 0.2 ms before each call", rung4, IDLE_S),
            ("5 HTTP POST /v1/score, http.client", rung5, 0.0),
            ("5b = 5, minimal socket client", rung5b, 0.0),
        ]
        results, cpu_here, cpu_server = interleaved(rungs, args.n, proc.pid)
        client.close()
        raw.close()

    print(THREADS)
    print(
        f"one lead, {args.n} sequential calls per rung (interleaved in rounds of 100), times "
        "in ms; rows 4b, 5 and 5b add to rung 4. CPU per call: this process's for rungs 1-4b, "
        "the server's for the HTTP rows (the client's in brackets)"
    )
    rows = []
    ref50 = c.pct(results[0], 50)
    prev50 = prev99 = 0.0
    for j, ((name, _, _), times) in enumerate(zip(rungs, results, strict=True)):
        p50, p99 = c.pct(times, 50), c.pct(times, 99)
        http = name.startswith("5")
        cpu = f"{cpu_server[j]:.3f} ({cpu_here[j]:.3f})" if http else f"{cpu_here[j]:.3f}"
        rows.append([name, p50, p99, p50 - prev50, p99 - prev99, p50 / ref50, cpu])
        if name[0] in "1234" and not name.startswith("4b"):
            prev50, prev99 = p50, p99
    headers = ["rung", "p50 ms", "p99 ms", "+p50 ms", "+p99 ms", "p50 / rung 1", "CPU ms/call"]
    print(c.table(headers, rows))
    idle = rows[4][3]
    for j in (5, 6):
        print(
            f"{rows[j][0]}: HTTP adds {rows[j][3]:+.3f} ms at p50 over rung 4 (goal <= ~1 ms), "
            f"{rows[j][3] - idle:+.3f} ms over rung 4b; server CPU per request "
            f"{cpu_server[j] - cpu_here[3]:+.3f} ms over rung 4's CPU"
        )


def _policy(bundle):  # noqa: ANN001, ANN202
    """The policy the API would use: the default policy checked against the bundle's fields."""
    from feature_defs.contract import check_policy, load_contract

    policy = load_contract().policy
    return check_policy(policy, bundle.fields, source="bench")


if __name__ == "__main__":
    main()
