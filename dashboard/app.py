"""The handoff dashboard: `handoff dashboard` (or `streamlit run dashboard/app.py`).

The entry point only sets up the page and the navigation; each page reads top to bottom:
``ui.view()`` (data, sidebar filters), compute, show.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="handoff", page_icon=":handshake:", layout="wide")
# url paths are part of the interface: bookmarks, the README and the browser test use them
PAGE_SPECS = [
    ("sla_page.py", "SLA overview", ":material/handshake:", "sla"),
    ("threshold_page.py", "Threshold tuning", ":material/tune:", "threshold"),
    ("rejections_page.py", "Rejection causes", ":material/thumb_down:", "rejections"),
    ("calibration_page.py", "Calibration", ":material/target:", "calibration"),
    ("model_page.py", "Model", ":material/model_training:", "model"),
]
navigation = st.navigation(
    [
        st.Page(PAGES / file, title=title, icon=icon, url_path=path, default=i == 0)
        for i, (file, title, icon, path) in enumerate(PAGE_SPECS)
    ]
)
navigation.run()
