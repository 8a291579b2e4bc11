"""Shared helpers of the serving benchmarks: a trained champion, servers, clients, percentiles.

Threads: every benchmark pins BLAS/OpenMP to one thread (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
MKL_NUM_THREADS = 1 in this process and in every server it starts, plus threadpoolctl in this
process), so that the parallelism measured is the one of the server workers. Call
``pin_threads()`` before importing numpy.

Work folder (``--workdir``, default /tmp/handoff-bench): if it holds no champion yet, the helpers
run ``handoff demo-data && handoff train`` there (about 20 s) and ``handoff demo-data --out csv``
for leads to send. Servers listen on 127.0.0.1 only and are stopped (their own process group)
when the benchmark ends.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BIN = Path(sys.executable).parent
API_KEY = "dev-admin-key"
DEFAULT_WORKDIR = Path("/tmp/handoff-bench")


def pin_threads() -> str:
    """One BLAS/OpenMP thread here and in every child; returns the line to print."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    return "threads: " + ", ".join(f"{v}=1" for v in THREAD_VARS) + " (+ threadpoolctl limit 1)"


def ensure_champion(workdir: Path, *, csv_leads: int = 10_000) -> Path:
    """A folder with a trained champion (mlruns/mlflow.db) and demo leads (csv/leads.csv)."""
    workdir.mkdir(parents=True, exist_ok=True)
    handoff = str(BIN / "handoff")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["HANDOFF_DATABASE_URL"] = f"sqlite:///{workdir}/data/handoff.db"
    if not (workdir / "mlruns" / "mlflow.db").exists():
        print(f"[setup] training a champion in {workdir} ...", flush=True)
        for cmd in ([handoff, "demo-data"], [handoff, "train"]):
            subprocess.run(cmd, cwd=workdir, env=env, check=True, stdout=subprocess.DEVNULL)
    if not (workdir / "csv" / "leads.csv").exists():
        subprocess.run(
            [handoff, "demo-data", "--out", "csv", "--leads", str(csv_leads)],
            cwd=workdir,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return workdir


def tracking_uri(workdir: Path) -> str:
    return f"sqlite:///{workdir}/mlruns/mlflow.db"


def load_champion(workdir: Path) -> Any:
    import mlflow

    uri = tracking_uri(workdir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    from training.register import load_bundle

    return load_bundle("models:/lead-score@champion")


def lead_records(workdir: Path, n: int | None = None) -> list[dict[str, Any]]:
    """Leads as an API client sends them: JSON values, absent fields left out."""
    import pandas as pd

    frame = pd.read_csv(workdir / "csv" / "leads.csv", nrows=n)
    out = []
    for rec in json.loads(frame.to_json(orient="records")):
        out.append({k: v for k, v in rec.items() if v is not None})
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": tracking_uri(workdir),
        "HANDOFF_DEV": "1",
        "HANDOFF_DATABASE_URL": f"sqlite:///{workdir}/bench.db",
    }
    for var in THREAD_VARS:
        env[var] = "1"
    return env


@contextlib.contextmanager
def server(
    cmd: list[str], workdir: Path, port: int, ready_path: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Start a server in its own process group, wait until it answers, stop it afterwards.

    Yields the server process (with one worker, the process that answers); ``env`` adds to
    the environment of ``server_env``."""
    log = open(workdir / f"server-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd,
        cwd=workdir,
        env={**server_env(workdir), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}); see {log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", ready_path)
                if c.getresponse().status < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} not ready after 120 s; see {log.name}")
            time.sleep(0.3)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def api_server(
    workdir: Path, port: int, workers: int, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager:
    cmd = [str(BIN / "handoff"), "serve", "--workers", str(workers), "--port", str(port)]
    return server(cmd, workdir, port, "/readyz", env)


def mlflow_server(workdir: Path, port: int, workers: int) -> contextlib.AbstractContextManager:
    cmd = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        "models:/lead-score@champion",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        str(workers),
    ]
    return server(cmd, workdir, port, "/ping")


class Client:
    """One keep-alive HTTP/1.1 connection; ``post`` returns (status, body bytes)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", path, body=body, headers=self.headers)
            resp = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request("POST", path, body=body, headers=self.headers)
            resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on a plain socket: the request bytes are built once
    and the response is read by its Content-Length, nothing else. ``http.client`` spends about
    0.3-0.5 ms of Python per request on building headers and parsing the response (email
    parser), which lands in the measured latency although no server causes it; this client
    shows what is left. Responses must carry Content-Length (ours and mlflow's do)."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._requests: dict[tuple[str, bytes], bytes] = {}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self.pipeline(path, body, 1)[0]

    def pipeline(self, path: str, body: bytes, k: int) -> list[tuple[int, bytes]]:
        """``k`` copies of the request sent at once (HTTP/1.1 pipelining), then their ``k``
        responses: the server answers them back to back, never idle in between."""
        req = self._requests.get((path, body))
        if req is None:
            head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
            head += [f"{k}: {v}" for k, v in self.headers.items()]
            head.append(f"Content-Length: {len(body)}")
            req = ("\r\n".join(head) + "\r\n\r\n").encode() + body
            if len(self._requests) < 1000:
                self._requests[(path, body)] = req
        self.sock.sendall(req * k)
        out = []
        buf = b""
        for _ in range(k):
            while b"\r\n\r\n" not in buf:
                buf += self._recv()
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            length = next(
                int(v)
                for name, _, v in (x.partition(b":") for x in lines[1:])
                if name.strip().lower() == b"content-length"
            )
            while len(buf) < length:
                buf += self._recv(length - len(buf))
            out.append((status, buf[:length]))
            buf = buf[length:]
        return out

    def _recv(self, want: int = 0) -> bytes:
        chunk = self.sock.recv(max(65536, want))
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc; its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_seconds(port: int, route: str = "/v1/score") -> tuple[float, float]:
    """(seconds, requests) our API has spent inside the app on POST ``route`` so far: the sum
    and count of its ``handoff_request_seconds`` histogram (one worker: that worker's)."""
    import re

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    out = []
    labels = re.escape(f'{{method="POST",route="{route}"}}')
    for part in ("sum", "count"):
        pattern = rf"handoff_request_seconds_{part}{labels} (\S+)"
        found = re.search(pattern, text)
        out.append(float(found.group(1)) if found else 0.0)
    return out[0], out[1]


def pct(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for j, r in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)
