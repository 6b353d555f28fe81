"""Lanterna: the dashboard's entry point and router.

Run with ``streamlit run dashboard.py``. Pages live in ``pages/`` and stay thin; the logic is
in the ``geo`` library.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="Lanterna – Patto per la sicurezza urbana",
    page_icon="🏮",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = {
    "Esplora": [
        st.Page("pages/mappa.py", title="Mappa integrata", icon="🗺️", url_path="mappa", default=True),
        st.Page("pages/andamento.py", title="Andamento", icon="📈", url_path="andamento"),
    ],
    "Decidi": [
        st.Page("pages/zone_pilota.py", title="Zone pilota", icon="🎯", url_path="zone-pilota"),
    ],
    "Dati": [
        st.Page("pages/dati.py", title="Dati e fonti", icon="🗂️", url_path="dati"),
    ],
}

navigation = st.navigation(PAGES)
st.sidebar.caption("Lanterna · Patto per la sicurezza urbana")
navigation.run()
