"""The dashboard's data, kept fresh without making anyone wait: stale-while-revalidate.

The first page view builds the snapshot (the only slow render: reading 100k leads and scoring
them takes seconds). After that every page is served from the current snapshot at once; every
``check_every`` seconds a cheap fingerprint (row counts, champion version) is compared, and a
change rebuilds the snapshot in a background thread, swapped in whole when ready. No
Streamlit here: ui.py holds one of these per store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class LiveSnapshot(Generic[T]):
    def __init__(
        self,
        build: Callable[[T | None], T],
        fingerprint: Callable[[], Hashable],
        *,
        check_every: float = 15.0,
    ) -> None:
        self._build = build
        self._fingerprint = fingerprint
        self._check_every = check_every
        self._lock = threading.Lock()
        self._current: T | None = None
        self._built_for: Hashable = None
        self._checked = 0.0
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None  # the last failed refresh, shown by the page

    @property
    def refreshing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def get(self) -> T:
        """The current snapshot; the first call builds it, later ones never wait."""
        if self._current is None:
            with self._lock:
                if self._current is None:
                    fp = self._fingerprint()
                    self._current = self._build(None)
                    self._built_for = fp
                    self._checked = time.monotonic()
            return self._current
        if time.monotonic() - self._checked >= self._check_every and not self.refreshing:
            self._checked = time.monotonic()
            fp = self._fingerprint()
            if fp != self._built_for:
                self._thread = threading.Thread(
                    target=self._refresh, args=(fp,), name="dashboard-refresh", daemon=True
                )
                self._thread.start()
        return self._current

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running refresh is done (tests and benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _refresh(self, fp: Hashable) -> None:
        try:
            fresh = self._build(self._current)
        except Exception as err:  # noqa: BLE001 - keep serving the old snapshot, say why
            log.exception("dashboard refresh failed")
            self.last_error = f"{type(err).__name__}: {err}"
            return
        self._current, self._built_for, self.last_error = fresh, fp, None
