"""The dashboard in headless Chromium, 100,000 leads: server start to data ready, then each
page's first visit until its charts are drawn.

    .venv/bin/python bench/dashboard_browser.py [--workdir /tmp/handoff-bench-dash]

Uses the store and champion that bench/dashboard_pages.py sets up in the work folder (run it
first). Starts `handoff up`, waits for "data ready" (the snapshot built at server start), then
opens the pages in one browser session. Reference measured in the same run: the first page of
a session includes loading Streamlit's front end; compare the other pages with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PAGES = {
    "": "SLA overview",
    "threshold": "Threshold tuning",
    "rejections": "Rejection causes",
    "calibration": "Calibration",
    "model": "Model",
}
DONE = (
    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    " && !document.querySelector('[data-testid=\"stSpinner\"]')"
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/handoff-bench-dash"))
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None or not (args.workdir / "handoff.db").exists():
        print("needs Debian's chromium and bench/dashboard_pages.py's work folder", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    env = {
        **os.environ,
        "HANDOFF_DEV": "1",
        "PYTHONUNBUFFERED": "1",
        "HANDOFF_DATABASE_URL": f"sqlite:///{args.workdir}/handoff.db",
        "MLFLOW_TRACKING_URI": f"sqlite:///{args.workdir}/mlruns/mlflow.db",
    }
    api, dash = _port(), _port()
    started = time.perf_counter()
    cmd = [str(Path(sys.executable).parent / "handoff"), "up", "--workers", "1"]
    cmd += ["--api-port", str(api), "--dashboard-port", str(dash)]
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=args.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append((time.perf_counter() - started, line.rstrip()))

    threading.Thread(target=read, daemon=True).start()
    try:
        while not any("data ready" in line for _, line in lines):
            if proc.poll() is not None or time.perf_counter() - started > 600:
                print("\n".join(line for _, line in lines[-30:]))
                return 1
            time.sleep(0.2)
        for t, line in lines:
            if "Ctrl-C stops" in line or "data ready" in line:
                print(f"{t:6.1f} s  {line}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1440, "height": 1900})
            times = []
            for path, title in PAGES.items():
                t = time.perf_counter()
                page.goto(f"http://127.0.0.1:{dash}/{path}")
                page.get_by_role("heading", name=title, level=1).wait_for(timeout=180_000)
                page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=180_000)
                page.wait_for_function(DONE, timeout=180_000)
                times.append((title, time.perf_counter() - t))
            browser.close()
        first = times[0][1]
        for title, seconds in times:
            print(
                f"{title:<18} first visit {seconds:5.2f} s  ({seconds / first:.2f}x the first page)"
            )
        worst = max(s for _, s in times[1:])
        verdict = "met" if worst <= 3 else "NOT met"
        print(f"pages after the first: worst {worst:.2f} s (goal 3 s: {verdict})")
        return 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)


if __name__ == "__main__":
    sys.exit(main())
