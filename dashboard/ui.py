"""The Streamlit layer shared by every page: bounded caches over dashboard.data, the sidebar
filters, and the empty states. Pages call ``view()`` and read top to bottom from there.

Caches: the store is read again when its contents change (a cheap fingerprint of row counts
is part of the key) or after ``TTL`` seconds; each cache keeps at most two entries. Cached
frames are shared between reruns and sessions, so nothing here or in a page mutates them.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.live import LiveSnapshot
from dashboard.metrics import filter_table
from feature_defs.contract import DEFAULT_FEATURE_SET, load_contract

TTL = 60  # seconds: derived page caches (model registry reads) are at most this old
CHECK_EVERY = 15.0  # seconds between checks for new data (a refresh runs in the background)
SEGMENTS = {
    "source": "Source",
    "sector": "Sector",
    "employee_band": "Employee band",
    "country": "Country",
    "team": "Team",
    "rep": "Rep",
}


@dataclass(frozen=True)
class View:
    """What a page works with: the whole history, the lead table, and the filtered rows."""

    history: data.History
    table: pd.DataFrame  # every lead, with the champion's columns when there is a champion
    filtered: pd.DataFrame  # the period and segments chosen in the sidebar
    start: dt.date
    end: dt.date  # inclusive, as shown
    champion: data.Champion | None
    reasons: pd.DataFrame  # the champion's top drivers of every rejected lead
    key: tuple  # (store, fingerprint, champion version): the cache key of anything derived
    selection: tuple  # (start, end, segments): with key, the cache key of the filtered rows


@st.cache_resource(max_entries=1, show_spinner=False)
def _fields():  # noqa: ANN202 - FieldSet, kept lazy
    return load_contract(DEFAULT_FEATURE_SET).fields


def tracking_key() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlruns/mlflow.db")


@st.cache_resource(max_entries=2, show_spinner=False)
def _live(url: str | None, tracking: str) -> LiveSnapshot[data.Snapshot]:
    """One self-refreshing snapshot per store and registry (see dashboard/live.py)."""
    store = data.open_store(url)
    fields = _fields()
    data.configure_mlflow()

    def fingerprint() -> tuple:
        return data.store_version(store), data.champion_version()

    def build(previous: data.Snapshot | None) -> data.Snapshot:
        version = data.champion_version()
        if previous is not None and (previous.champion and previous.champion.version) == version:
            champion = previous.champion
        else:
            champion = data.load_champion()
        return data.build_snapshot(store, fields, champion, previous)

    return LiveSnapshot(build, fingerprint, check_every=CHECK_EVERY)


def warm() -> data.Snapshot:
    """Build the snapshot of the configured store now (server start, no page needed)."""
    return _live(data.store_url(), tracking_key()).get()


def load() -> data.Snapshot:
    """The current snapshot; only the very first view of a store waits for it."""
    url = data.store_url()
    try:
        live = _live(url, tracking_key())
        with st.spinner("Reading the lead store and scoring it with the champion..."):
            snapshot = live.get()
    except Exception as err:  # noqa: BLE001 - shown to the user, never a traceback
        st.error(
            f"Cannot read the lead store at {url or 'data/handoff.db'}: {err}. "
            "Run `handoff db-upgrade` (or `make run`) to create it."
        )
        st.stop()
    if live.last_error:
        st.warning(f"The last refresh failed, showing older data: {live.last_error}")
    return snapshot


def _default_period(table: pd.DataFrame) -> tuple[dt.date, dt.date]:
    """The last 12 months of history (or all of it when shorter)."""
    first = table["created_at"].min().date()
    last = table["created_at"].max().date()
    return max(first, (pd.Timestamp(last) - pd.DateOffset(months=12)).date()), last


def _kept(name: str, default: object) -> dict[str, object]:
    """Keyword arguments that make a page's widget remember its value across pages.

    Each page draws its own sidebar (a widget belongs to the page that drew it), so the value
    lives under ``name`` in session state and the widget under a page-local key is seeded from
    it and writes back to it on change.
    """
    widget_key = f"_w_{name}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(name, default)

    def keep() -> None:
        st.session_state[name] = st.session_state[widget_key]

    return {"key": widget_key, "on_change": keep}


def sidebar(table: pd.DataFrame, options: dict[str, list[str]]) -> None:
    """Period and segment filters, drawn by every page; values shared through session state."""
    st.sidebar.header("Filters")
    first = table["created_at"].min().date()
    last = table["created_at"].max().date()
    st.sidebar.date_input(
        "Period (lead created)",
        min_value=first,
        max_value=last,
        **_kept("period", _default_period(table)),
    )
    for col, label in SEGMENTS.items():
        st.sidebar.multiselect(label, options[col], placeholder="all", **_kept(f"seg_{col}", []))


def view() -> View | None:
    """Load everything, apply the sidebar filters; None (with a message shown) when empty."""
    snap = load()
    history, table, champion, key = snap.history, snap.table, snap.champion, snap.key
    if table.empty:
        st.info(
            "The lead store is empty. Create leads through the API (`POST /v1/leads`), import a "
            "CRM export (`handoff import`), or load the demo history with "
            "`handoff demo-data --if-empty` (`make run` does it for you)."
        )
        return None
    sidebar(table, snap.options)
    period = st.session_state.get("_w_period")
    if not isinstance(period, tuple | list) or len(period) != 2:  # half-picked range
        period = st.session_state.get("period") or _default_period(table)
    start, end = period
    segments = {col: st.session_state.get(f"seg_{col}") or [] for col in SEGMENTS}
    segments = {k: v for k, v in segments.items() if v}
    selection = (start, end, tuple(sorted((k, tuple(v)) for k, v in segments.items())))
    filtered = _filtered(key, table, selection, history.policy.calendar.timezone)
    return View(history, table, filtered, start, end, champion, snap.reasons, key, selection)


@st.cache_resource(max_entries=4, show_spinner=False)
def _filtered(key: tuple, _table: pd.DataFrame, selection: tuple, tz: str) -> pd.DataFrame:
    """The sidebar's selection, kept for the next rerun (a slider move must not redo it)."""
    start, end, segments = selection
    return filter_table(
        _table, start=start, end=end + dt.timedelta(days=1), segments=dict(segments), timezone=tz
    )


def no_champion_note() -> None:
    st.warning(
        "No champion model yet: train one with `handoff train` (`make run` does it when the "
        "store has history). Until then the stored scores are shown as they were recorded."
    )


def pct(x: float | None, digits: int = 0) -> str:
    """42% / n/a: every rate on the pages is shown the same way."""
    if x is None or pd.isna(x):
        return "n/a"
    return f"{100 * x:.{digits}f}%"


def number(x: float | None, fmt: str = ",.1f") -> str:
    """A number, or n/a when it cannot be known (e.g. expected values without probabilities)."""
    if x is None or pd.isna(x):
        return "n/a"
    return format(x, fmt)
