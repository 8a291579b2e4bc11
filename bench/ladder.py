"""Where the time of one lead goes: an in-process ladder, then the same lead over HTTP.

Rungs (one lead, sequential calls, p50/p99 over ``--n`` calls after a warm-up):
  1. predict_proba  the score head's sklearn pipeline on a ready feature row (the reference)
  2. + features     coerce_records (the JSON record typed as columns) + featurizer arrays +
                    both heads, calibrated
  3. + explanation  2 plus the SHAP reasons of the score head (as score_leads computes them)
  4. + SLA          coerce_records + score_columns (exclusions, tier, due time, reasons): the
                    in-process call POST /v1/score makes (score_leads without the DataFrame)
  4b. the same      with the process idle for 0.2 ms before each call, as a server is between
                    two requests of one client (caches and clock cool down: it costs time)
  4c. the API app   POST /v1/score as one ASGI call to the app in this process (create_app with
                    its lifespan, no server): the app's own work (middleware, key check, JSON,
                    input checks, policy version, response) on top of rung 4
  5. HTTP           POST /v1/score through a real uvicorn (``handoff serve --workers 1``),
                    with http.client
  5b. HTTP          the same with a minimal socket client (no per-request client parsing)
  5c. HTTP          5b against a second server started with HANDOFF_FAST_SCORE=0: FastAPI's
                    route answers every request (scoring_service/fast_score.py is off)
  5d. HTTP          5b's server, 4 requests pipelined per call: the server answers them back to
                    back and never waits for the client in between (times: per request)
The rungs are interleaved in rounds of 100 calls, so a busy phase of a shared machine falls on
every rung alike. Each rung is printed with its increment over the previous one (HTTP rows:
over rung 4), its ratio to rung 1 and the CPU per call: this process's for rungs 1-4b, the
answering server's for the HTTP rows (with the client's in brackets), read from /proc.
Goal: HTTP adds no more than about 1 ms at p50 over rung 4. What HTTP adds is the server's
idle wake-up (rung 4b), uvicorn, the middleware (body limit, metrics), the key check and JSON
parsing, the route's input checks, the policy version check, the JSON response, and the
client; with the fast path off (5c), also FastAPI's routing, dependencies and body field.

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
PIPELINED = 4


def interleaved(
    rungs: list, n: int, block: int = 100, warm: int = 50
) -> tuple[list[list[float]], list[float], list[float], list[float]]:
    """Times (ms) of ``n`` calls per rung (name, function, pause before each call, and the
    (pid, port) of the server that answers, or None), taken in rounds of ``block`` calls of each
    rung in turn; with the CPU (ms per call) this process and the rung's server used during
    each rung, pauses excluded, and the server's mean time inside the app (ms per request)."""
    for _, fn, _, _ in rungs:
        for _ in range(warm):
            fn()
    out: list[list[float]] = [[] for _ in rungs]
    mine = [0.0] * len(rungs)
    server = [0.0] * len(rungs)
    app = [[0.0, 0.0] for _ in rungs]
    done = 0
    while done < n:
        k = min(block, n - done)
        for j, (times, (_, fn, pause, srv)) in enumerate(zip(out, rungs, strict=True)):
            a0 = c.app_seconds(srv[1]) if srv else (0.0, 0.0)
            c0, s0 = time.process_time(), (c.cpu_seconds(srv[0]) if srv else 0.0)
            for _ in range(k):
                if pause:
                    time.sleep(pause)
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
            mine[j] += time.process_time() - c0
            if srv:
                server[j] += c.cpu_seconds(srv[0]) - s0
                a1 = c.app_seconds(srv[1])
                app[j][0] += a1[0] - a0[0]
                app[j][1] += a1[1] - a0[1]
        done += k
    in_app = [s * 1000 / m if m else float("nan") for s, m in app]
    return out, [x * 1000 / n for x in mine], [x * 1000 / n for x in server], in_app


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

    port, port_off = c.free_port(), c.free_port()
    body = json.dumps(lead).encode()
    in_process = InProcessApp(workdir, body)
    key = {"X-API-Key": c.API_KEY}
    off = {"HANDOFF_FAST_SCORE": "0"}
    with (
        c.api_server(workdir, port, workers=1) as proc,
        c.api_server(workdir, port_off, workers=1, env=off) as proc_off,
    ):
        client = c.Client(port, key)
        raw = c.RawClient(port, key)
        raw_off = c.RawClient(port_off, key)
        status, text = client.post("/v1/score", body)
        assert status == 200, (status, text[:300])
        assert raw.post("/v1/score", body) == (status, text) == raw_off.post("/v1/score", body)
        assert in_process.post() == (status, text)

        def rung4c() -> None:
            assert in_process.post()[0] == 200

        def rung5() -> None:
            s, _ = client.post("/v1/score", body)
            assert s == 200

        def rung5b() -> None:
            s, _ = raw.post("/v1/score", body)
            assert s == 200

        def rung5c() -> None:
            s, _ = raw_off.post("/v1/score", body)
            assert s == 200

        def rung5d() -> None:
            assert all(s == 200 for s, _ in raw.pipeline("/v1/score", body, PIPELINED))

        rungs = [
            ("1 predict_proba (pipeline, 1 row)", rung1, 0.0, None),
            ("2 + coerce + featurize + 2 heads", rung2, 0.0, None),
            ("3 + explanation (reasons)", rung3, 0.0, None),
            ("4 + SLA = score_columns (in process)", rung4, 0.0, None),
            ("4b = 4, idle 0.2 ms before each call", rung4, IDLE_S, None),
            ("4c = the API app, one ASGI call", rung4c, 0.0, None),
            ("5 HTTP POST /v1/score, http.client", rung5, 0.0, (proc.pid, port)),
            ("5b = 5, minimal socket client", rung5b, 0.0, (proc.pid, port)),
            ("5c = 5b, fast path off (FastAPI route)", rung5c, 0.0, (proc_off.pid, port_off)),
            ("5d = 5b, 4 pipelined (server never idle)", rung5d, 0.0, (proc.pid, port)),
        ]
        results, cpu_here, cpu_server, in_app = interleaved(rungs, args.n)
        for conn in (client, raw, raw_off, in_process):
            conn.close()
    at = {name.split()[0]: j for j, (name, _, _, _) in enumerate(rungs)}  # "4b" -> its row
    piped = at["5d"]  # its calls carry PIPELINED requests each: per request from here on
    results[piped] = [t / PIPELINED for t in results[piped]]
    cpu_here[piped] /= PIPELINED
    cpu_server[piped] /= PIPELINED

    print(THREADS)
    print(
        f"one lead, {args.n} sequential calls per rung (interleaved in rounds of 100), times "
        "in ms; rows 4b and 5* add to rung 4. CPU per call: this process's for rungs 1-4b, "
        "the server's for the HTTP rows (the client's in brackets). In app: the server's mean "
        "time per request inside the app (its /metrics latency histogram), against the mean of "
        "the round trip"
    )
    rows = []
    ref50 = c.pct(results[0], 50)
    prev50 = prev99 = 0.0
    means = [sum(t) / len(t) for t in results]
    for j, ((name, _, _, _), times) in enumerate(zip(rungs, results, strict=True)):
        p50, p99 = c.pct(times, 50), c.pct(times, 99)
        http = name.startswith("5")
        cpu = f"{cpu_server[j]:.3f} ({cpu_here[j]:.3f})" if http else f"{cpu_here[j]:.3f}"
        app = f"{in_app[j]:.3f} / {means[j]:.3f}" if http else f"- / {means[j]:.3f}"
        rows.append([name, p50, p99, p50 - prev50, p99 - prev99, p50 / ref50, cpu, app])
        if name[1] == " " and name[0] in "1234":  # 4b, 4c and the HTTP rows add to rung 4
            prev50, prev99 = p50, p99
    headers = [
        "rung",
        "p50 ms",
        "p99 ms",
        "+p50 ms",
        "+p99 ms",
        "p50 / rung 1",
        "CPU ms/call",
        "in app / mean ms",
    ]
    print(c.table(headers, rows))
    r4, r4c, r5b = at["4"], at["4c"], at["5b"]
    idle = rows[at["4b"]][3]
    print(
        f"{rows[r4c][0]}: the app's own work adds {rows[r4c][3]:+.3f} ms at p50 over rung 4 "
        f"({means[r4c] - means[r4]:+.3f} ms mean) when called in this process"
    )
    for j in (at["5"], r5b, at["5c"]):
        print(
            f"{rows[j][0]}: HTTP adds {rows[j][3]:+.3f} ms at p50 over rung 4 (goal <= ~1 ms), "
            f"{rows[j][3] - idle:+.3f} ms over rung 4b; server CPU per request "
            f"{cpu_server[j] - cpu_here[r4]:+.3f} ms over rung 4's CPU; of the mean round trip, "
            f"{in_app[j] - means[r4]:+.3f} ms in the app beyond rung 4's mean and "
            f"{means[j] - in_app[j]:.3f} ms outside it (uvicorn, kernel, client); in the app, "
            f"{in_app[j] - means[r4c]:+.3f} ms over the same app called in process (4c)"
        )
    woke = in_app[r5b] - in_app[piped]
    print(
        f"{rows[piped][0]}: in the app {in_app[piped] - means[r4]:+.3f} ms beyond rung 4's mean "
        f"when requests come back to back, against {in_app[r5b] - means[r4]:+.3f} ms for 5b's "
        f"sequential requests: {woke:.3f} ms per request is the server waking from idle"
    )


class InProcessApp:
    """The API app in this process, its lifespan entered (store, champion, keys) on an event
    loop of its own; ``post`` sends one ``POST /v1/score`` with ``body`` through the whole ASGI
    app (middleware, fast path, route) and returns (status, body bytes)."""

    def __init__(self, workdir: Path, body: bytes) -> None:
        import asyncio

        from scoring_service.config import Settings
        from scoring_service.main import create_app

        url = c.server_env(workdir)["HANDOFF_DATABASE_URL"]
        self.app = create_app(Settings(dev=True, database_url=url))
        self.loop = asyncio.new_event_loop()
        self._life = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self._life.__aenter__())
        self.body = body
        self.headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"x-api-key", c.API_KEY.encode()),
            (b"content-length", str(len(body)).encode()),
        ]

    async def _call(self) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/score",
            "raw_path": b"/v1/score",
            "query_string": b"",
            "root_path": "",
            "headers": self.headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }
        sent = [{"type": "http.request", "body": self.body, "more_body": False}]
        out: list[dict] = []

        async def receive() -> dict:
            return sent.pop() if sent else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            out.append(message)

        await self.app(scope, receive, send)
        return out[0]["status"], b"".join(m.get("body", b"") for m in out[1:])

    def post(self) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._call())

    def close(self) -> None:
        self.loop.run_until_complete(self._life.__aexit__(None, None, None))
        self.loop.close()


def _policy(bundle):  # noqa: ANN001, ANN202
    """The policy the API would use: the default policy checked against the bundle's fields."""
    from feature_defs.contract import check_policy, load_contract

    policy = load_contract().policy
    return check_policy(policy, bundle.fields, source="bench")


if __name__ == "__main__":
    main()
