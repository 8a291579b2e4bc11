"""`handoff up`: the API and the dashboard as two child processes, started, watched, stopped.

Ctrl-C (or SIGTERM) stops both; if either dies, the other is stopped too and the exit code is
the dead one's, so `make run` never leaves a half-running product behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec


@dataclass(frozen=True)
class Child:
    name: str
    argv: list[str]
    health_url: str
    url: str  # what a person opens


def _check_dashboard() -> None:
    """The dashboard is started by module name; say so plainly if it is not installed."""
    if find_spec("dashboard") is None:
        raise FileNotFoundError("the dashboard package is not installed (pip install -e .)")


def streamlit_argv(host: str, port: int) -> list[str]:
    """`streamlit run dashboard/app.py` (through dashboard.server, which loads the data as the
    server starts) with our settings: headless, no usage statistics, light theme."""
    _check_dashboard()
    return [
        sys.executable,
        "-m",
        "dashboard.server",
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--theme.base=light",
        "--client.toolbarMode=minimal",
    ]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - our own URL
            return response.status == 200
    except OSError:
        return False


def _stop(procs: Sequence[subprocess.Popen], grace: float = 10.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run(
    children: Sequence[Child],
    *,
    say: Callable[[str], None] = print,
    ready_timeout: float = 180.0,
) -> int:
    """Start every child, print the URLs once all answer, wait; returns the exit code."""
    # own sessions: a terminal Ctrl-C reaches only us, and we stop the children in order with
    # SIGTERM (a SIGINT landing in a worker that is still importing prints a traceback)
    procs = [
        subprocess.Popen(c.argv, env=os.environ.copy(), start_new_session=True) for c in children
    ]

    def _terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        pending = list(range(len(children)))
        deadline = time.monotonic() + ready_timeout
        while pending:
            for i in list(pending):
                if procs[i].poll() is not None:
                    say(f"{children[i].name} exited with code {procs[i].returncode} on start")
                    return procs[i].returncode or 1
                if _healthy(children[i].health_url):
                    pending.remove(i)
            if time.monotonic() > deadline:
                names = ", ".join(children[i].name for i in pending)
                say(f"{names} did not answer within {ready_timeout:.0f} s; stopping")
                return 1
            time.sleep(0.3)
        for c in children:
            say(f"{c.name}: {c.url}")
        say("Ctrl-C stops everything.")
        while True:
            for c, p in zip(children, procs):
                if p.poll() is not None:
                    say(f"{c.name} exited with code {p.returncode}; stopping the rest")
                    return p.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("stopping...")
        return 0
    finally:
        _stop(procs)
        signal.signal(signal.SIGTERM, previous)
