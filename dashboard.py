"""Lanterna: the dashboard's entry point and router.

Run with ``streamlit run dashboard.py``. Pages live in ``pages/`` and stay thin; the logic is
in the ``geo`` library.
"""

from __future__ import annotations

import streamlit as st

from pages.common import ROUTED_KEY

st.set_page_config(
    page_title="Lanterna – Patto per la sicurezza urbana",
    page_icon="🏮",
    layout="wide",
    initial_sidebar_state="expanded",
)

# Every url_path equals its file name: see pages.common.ensure_routed.
PAGES = {
    "Esplora": [
        st.Page("pages/mappa.py", title="Mappa integrata", icon=":material/map:", url_path="mappa", default=True),
        st.Page("pages/andamento.py", title="Andamento", icon=":material/trending_up:", url_path="andamento"),
    ],
    "Decidi": [
        st.Page("pages/zone_pilota.py", title="Zone pilota", icon=":material/target:", url_path="zone_pilota"),
    ],
    "Dati": [
        st.Page("pages/dati.py", title="Dati e fonti", icon=":material/dataset:", url_path="dati"),
    ],
}

navigation = st.navigation(PAGES)
st.session_state[ROUTED_KEY] = True
st.sidebar.caption("Lanterna · Patto per la sicurezza urbana")
navigation.run()
