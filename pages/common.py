"""Shared pieces of the dashboard's pages: the store, first-start build, filters, notices.

Pages stay thin: they call these helpers and the ``geo`` library, never SQL.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from geo import config, hexgrid
from geo.filters import Filters
from geo.schemas import INCIDENT_CATEGORIES, TIME_BANDS
from geo.storage import StorageError, StorageInUseError, Store, open_store

#: Role of the current user until login exists (issue 6): no police clearance, so incident
#: counts under the threshold are suppressed.
DEFAULT_ROLE = "osservatore"

MONTHS_IT = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]


def month_label(d: date) -> str:
    return f"{MONTHS_IT[d.month - 1]} {d.year}"


@st.cache_resource(show_spinner=False)
def _open(path: str) -> Store:
    return open_store(path)


ROUTED_KEY = "_lanterna_routed"


def ensure_routed() -> None:
    """Make sure ``dashboard.py`` routes this request.

    With a ``pages/`` folder beside the entry script, Streamlit serves the very first request of
    a fresh server in its legacy "pages directory" mode (``PagesManager.uses_pages_directory``):
    a bookmarked page URL then runs that page alone, without the router, the page config or our
    navigation. ``st.navigation`` switches the process to the new mode; when a page finds the
    legacy mode still on, it switches it and reruns, so the router handles the same URL (the page
    hashes match because every ``url_path`` equals its file name). Only a session the router has
    never served is rerun: Streamlit's ``AppTest`` resets the legacy flag before every run, and a
    rerun there would swallow the widget events of that run.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get(ROUTED_KEY):
        PagesManager.uses_pages_directory = False
        st.rerun()


def get_store() -> Store:
    """The process-wide store, built from the bundled demo data on first start."""
    ensure_routed()
    path = config.db_path()
    if not _built(path):
        _build_with_progress()
    try:
        return _open(str(path))
    except StorageError as exc:
        st.error(str(exc))
        st.stop()


def _built(path) -> bool:
    if not path.exists():
        return False
    try:
        return _open(str(path)).is_built()
    except StorageInUseError as exc:
        st.error(str(exc))
        st.stop()
    except StorageError:
        return False


def _build_with_progress() -> None:
    from geo.demo import build_demo

    bar = st.progress(0.0, text="Preparazione dei dati dimostrativi al primo avvio…")

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    _open.clear()
    from geo.storage import close_all

    close_all()
    build_demo(progress=progress, force=True)
    bar.empty()


def current_role() -> str:
    return st.session_state.get("role", DEFAULT_ROLE)


def demo_notice(store: Store) -> None:
    """A visible notice whenever generated data is on screen."""
    if store.get_meta("demo") == "true":
        st.warning(
            "**Dati dimostrativi.** Delitti, punti luce, segnalazioni, scuole primarie e secondarie e "
            "servizi per persone senza dimora sono **generati** (calibrati sui totali ufficiali ISTAT e "
            "Ministero dell'Interno); confini, popolazione, località, scuole dell'infanzia e beni "
            "confiscati sono reali. Vedere la pagina *Dati*.",
            icon=":material/warning:",
        )


def sidebar_filters(store: Store) -> Filters:
    """Draw the common filters in the sidebar and return them.

    Values survive page changes: they are kept in ``st.session_state['filters']`` and used as the
    widgets' defaults.
    """
    saved: Filters | None = st.session_state.get("filters")
    comuni = store.comuni()
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    period = store.period()
    sb = st.sidebar
    sb.header("Filtri")
    chosen = sb.multiselect(
        "Comuni",
        options=list(names),
        default=list(saved.comuni) if saved else [],
        format_func=names.get,
        placeholder="Tutta la provincia",
        key="f_comuni",
    )
    start = end = None
    if period:
        months = _month_range(*period)
        default = (saved.start, saved.end) if saved and saved.start in months and saved.end in months else (
            months[max(0, len(months) - 12)], months[-1])
        start, end = sb.select_slider(
            "Periodo", options=months, value=default, format_func=month_label, key="f_period"
        )
    cats = sb.multiselect(
        "Categorie di delitto",
        options=list(INCIDENT_CATEGORIES),
        default=list(saved.categories) if saved else [],
        format_func=INCIDENT_CATEGORIES.get,
        placeholder="Tutte le categorie",
        key="f_categories",
    )
    band_options = ["tutte", *TIME_BANDS]
    band = sb.radio(
        "Fascia oraria",
        options=band_options,
        index=band_options.index(saved.time_band) if saved and saved.time_band else 0,
        format_func=lambda b: "Giorno e notte" if b == "tutte" else TIME_BANDS[b],
        horizontal=True,
        key="f_band",
    )
    area = comuni.loc[comuni["pro_com_t"].isin(chosen), "area_km2"].sum() if chosen else comuni["area_km2"].sum()
    auto = hexgrid.suggest_resolution(float(area))
    res_options = ["auto", *config.VIEW_RESOLUTIONS]
    res_choice = sb.selectbox(
        "Risoluzione esagoni H3",
        options=res_options,
        index=0,
        format_func=lambda r: f"Automatica ({auto}, ≈ {hexgrid.cell_area_km2(auto):.2f} km²)" if r == "auto"
        else f"{r} (≈ {hexgrid.cell_area_km2(r):.3f} km² per esagono)",
        key="f_res",
    )
    filters = Filters(
        res=auto if res_choice == "auto" else int(res_choice),
        comuni=tuple(chosen),
        start=start,
        end=end,
        categories=tuple(cats),
        time_band=None if band == "tutte" else band,
    )
    st.session_state["filters"] = filters
    return filters


def _month_range(first: date, last: date) -> list[date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
