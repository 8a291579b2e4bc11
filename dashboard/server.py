"""`python -m dashboard.server [streamlit options]`: Streamlit, with the data loaded at start.

The first snapshot of a large store takes a while (100k leads: about 30 s to read and score).
Built here in a background thread as the server starts, it is ready before most people open
the page; anyone earlier waits on the same build (dashboard/live.py), never starts a second.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).with_name("app.py")
log = logging.getLogger("handoff.dashboard")


def _warm() -> None:
    started = time.perf_counter()
    try:
        from dashboard import ui

        snapshot = ui.warm()
    except Exception as err:  # noqa: BLE001 - the page shows the same error to its reader
        print(f"dashboard: loading the data failed ({err}); the pages will say why", flush=True)
        return
    print(
        f"dashboard: data ready ({len(snapshot.table):,} leads) in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


def main() -> None:
    from streamlit.web import cli

    threading.Thread(target=_warm, name="dashboard-warm", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
