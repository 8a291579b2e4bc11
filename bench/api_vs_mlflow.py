"""Our API against ``mlflow models serve`` on the same registered model, same machine, 2 workers.

Both servers load ``models:/lead-score@champion`` from the same MLflow store and run 2 worker
processes with one BLAS/OpenMP thread each. They run side by side and are measured in
interleaved rounds (the order alternates every round), so a slow phase of the machine hits both:
  * latency: sequential single-lead requests on one keep-alive connection, p50 and p99;
  * throughput: ``--clients`` threads, each with its own keep-alive connection, requests/s.
Requests: ours POST /v1/score (scores, SLA decision and 3 SHAP reasons); theirs POST
/invocations with one lead as ``dataframe_split`` (the two heads' probabilities only). The same
leads are sent to both. Ratios are ours / theirs (latency: lower is better; req/s: higher).

Run: .venv/bin/python bench/api_vs_mlflow.py [--rounds 4] [--n 300] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

THREADS = c.pin_threads()


def latency(client: c.Client, path: str, bodies: list[bytes], n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        status, text = client.post(path, bodies[i % len(bodies)])
        out.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"{path}: HTTP {status}: {text[:300]!r}")
    return out


def throughput(
    port: int, headers: dict, path: str, bodies: list[bytes], clients: int, per_client: int
) -> float:
    errors: list[str] = []

    def work(k: int) -> None:
        cl = c.Client(port, headers)
        try:
            for i in range(per_client):
                status, text = cl.post(path, bodies[(k * per_client + i) % len(bodies)])
                if status != 200:
                    errors.append(f"HTTP {status}: {text[:200]!r}")
                    return
        finally:
            cl.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(errors[0])
    return clients * per_client / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--n", type=int, default=300, help="sequential requests per round")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=100, help="requests per client per round")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=c.DEFAULT_WORKDIR)
    args = ap.parse_args()
    workdir = c.ensure_champion(args.workdir)
    leads = c.lead_records(workdir, 500)
    ours_bodies = [json.dumps(lead).encode() for lead in leads]
    theirs_bodies = [
        json.dumps(
            {"dataframe_split": {"columns": list(lead), "data": [list(lead.values())]}}
        ).encode()
        for lead in leads
    ]
    p_ours, p_theirs = c.free_port(), c.free_port()
    key = {"X-API-Key": c.API_KEY}
    targets = {
        "ours": (p_ours, key, "/v1/score", ours_bodies),
        "mlflow": (p_theirs, {}, "/invocations", theirs_bodies),
    }
    lat: dict[str, list[float]] = {k: [] for k in targets}
    rps: dict[str, list[float]] = {k: [] for k in targets}
    with (
        c.api_server(workdir, p_ours, args.workers),
        c.mlflow_server(workdir, p_theirs, args.workers),
    ):
        sample = json.loads(c.Client(p_theirs).post("/invocations", theirs_bodies[0])[1])
        print("mlflow answer:", json.dumps(sample)[:200])
        for port, headers, path, bodies in targets.values():  # warm-up, both workers
            throughput(port, headers, path, bodies, args.clients, 20)
        for r in range(args.rounds):
            order = list(targets) if r % 2 == 0 else list(reversed(targets))
            for name in order:
                port, headers, path, bodies = targets[name]
                cl = c.Client(port, headers)
                lat[name] += latency(cl, path, bodies, args.n)
                cl.close()
                rps[name].append(
                    throughput(port, headers, path, bodies, args.clients, args.per_client)
                )
    print(THREADS)
    print(
        f"{args.workers} workers each, {args.rounds} interleaved rounds; latency: "
        f"{args.rounds * args.n} sequential requests; req/s: {args.clients} keep-alive clients x "
        f"{args.per_client} requests per round (median of rounds)"
    )
    rows = []
    stats = {}
    for name in targets:
        p50, p99 = c.pct(lat[name], 50), c.pct(lat[name], 99)
        rs = c.pct(rps[name], 50)
        stats[name] = (p50, p99, rs)
        label = (
            "ours POST /v1/score (+SLA, reasons)"
            if name == "ours"
            else ("mlflow /invocations (2 probas)")
        )
        rows.append([label, p50, p99, rs])
    o, t = stats["ours"], stats["mlflow"]
    rows.append(["ratio ours / mlflow", o[0] / t[0], o[1] / t[1], o[2] / t[2]])
    print(c.table(["server", "p50 ms", "p99 ms", "req/s"], rows))
    ok = o[0] <= t[0] and o[1] <= t[1] and o[2] >= t[2]
    print("goal (p50, p99 <= mlflow; req/s >= mlflow):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
