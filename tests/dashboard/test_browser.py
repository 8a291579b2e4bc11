"""The whole product in a real browser: `handoff up` starts the API and the dashboard, headless
Chromium loads every page and saves a screenshot, Ctrl-C stops everything.

Chromium is Debian's (`.ci/run` installs it); set HANDOFF_SCREENSHOTS=DIR to keep the
screenshots (the README's come from here).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = {
    "": "SLA overview",
    "threshold": "Threshold tuning",
    "rejections": "Rejection causes",
    "calibration": "Calibration",
    "model": "Model",
}
# CI sets HANDOFF_REQUIRE_BROWSER=1 (and installs chromium): there, a missing browser fails
REQUIRED = os.environ.get("HANDOFF_REQUIRE_BROWSER") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRED,
        reason="needs Debian's chromium (apt install chromium; `make test` does it as root)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Product:
    """`handoff up` in its own session, its output collected by a reader thread."""

    def __init__(self, env: dict[str, str], api_port: int, dash_port: int) -> None:
        cmd = [sys.executable, "-m", "scoring_service.cli", "up", "--workers", "1"]
        cmd += ["--api-port", str(api_port), "--dashboard-port", str(dash_port)]
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        self.proc.kill()
        pytest.fail(f"`handoff up` never printed {text!r}; output:\n" + "\n".join(self.lines[-60:]))


def _wait_rendered(page, title: str) -> None:
    """The page's title is shown, the script has finished, and the charts have drawn."""
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=120_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
        " && !document.querySelector('[data-testid=\"stSpinner\"]')",
        timeout=120_000,
    )
    time.sleep(1.5)  # Vega draws after the last delta arrives


def test_every_page_in_chromium_then_ctrl_c(demo_site, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        pytest.fail("HANDOFF_REQUIRE_BROWSER=1 but no chromium on PATH (apt install chromium)")
    api_port, dash_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "HANDOFF_DEV": "1",
        "HANDOFF_DATABASE_URL": demo_site.store_url,
        "MLFLOW_TRACKING_URI": demo_site.tracking_uri,
        "PYTHONUNBUFFERED": "1",
    }
    product = Product(env, api_port, dash_port)
    shots = Path(os.environ.get("HANDOFF_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        product.wait_for("Ctrl-C stops everything.")
        assert any(f"http://127.0.0.1:{api_port}/docs" in line for line in product.lines)
        assert any(f"http://127.0.0.1:{dash_port}" in line for line in product.lines)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1600, "height": 2200})
            for path, title in PAGES.items():
                page.goto(f"http://127.0.0.1:{dash_port}/{path}")
                _wait_rendered(page, title)
                assert page.locator('[data-testid="stException"]').count() == 0, title
                # every page draws at least one Altair chart (Vega renders to a canvas)
                page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=60_000)
                name = path or "sla"
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                assert (shots / f"{name}.png").stat().st_size > 20_000
            browser.close()
    finally:
        if product.proc.poll() is None:
            os.killpg(product.proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        code = product.proc.wait(timeout=60)
    assert code == 0, "\n".join(product.lines[-40:])
    assert not _listening(api_port) and not _listening(dash_port)
