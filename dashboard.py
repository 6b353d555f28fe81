"""Lanterna: the dashboard's entry point and router.

Run with ``streamlit run dashboard.py``. Pages live in ``pages/`` and stay thin; the logic is
in the ``geo`` library.

Without a login only the login form exists, but it answers at every page's address (hidden
pages that run ``pages/login.py``), so a bookmarked or shared link shows the login and, after it,
the page it named: the address is kept through the login. After it, the navigation holds the
pages the user's role may open (:data:`geo.access.permissions.PAGE_ACTIONS`); the address of a page the role
may not open answers with an Italian message (a hidden page of its own, never the page itself).
Each page checks its permission again, and every write checks it in ``geo``. The session cookie
is written here (:func:`pages.common.cookie_script`).

With a ``pages/`` folder beside the entry script, Streamlit serves the very first request of a
fresh server in its legacy "pages directory" mode (``PagesManager.uses_pages_directory``): a
bookmarked page URL then runs that page alone, without the router, the page config or our
navigation. ``st.navigation`` switches the process to the new mode; when a page finds the legacy
mode still on (:func:`pages.common.ensure_routed`), it switches it and reruns, so the router
handles the same URL (the page hashes match because every ``url_path`` equals its file name).
Only a session the router has never served, or served for another login, is rerun: Streamlit's
``AppTest`` resets the legacy flag before every run, and a rerun there would swallow the widget
events of that run; but after a login, a logout or a change of the account the navigation must be
rebuilt by the router.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.access.permissions import allowed_pages, role_label
from geo.maps import chart_locale
from pages.common import NAV_KEY, ROUTED_KEY, cookie_script, current_user, end_session, routing_token

st.set_page_config(
    page_title="Lanterna – Patto per la sicurezza urbana",
    page_icon="🏮",
    layout="wide",
    initial_sidebar_state="expanded",
)

ROOT = Path(__file__).resolve().parent
#: Every page: file stem (= url_path, see pages.common.ensure_routed) -> section, title, icon.
PAGES: dict[str, tuple[str, str, str]] = {
    "mappa": ("Esplora", "Mappa integrata", ":material/map:"),
    "andamento": ("Esplora", "Andamento", ":material/trending_up:"),
    "scuole_sicure": ("Esplora", "Scuole sicure", ":material/school:"),
    "servizi": ("Esplora", "Servizi senza dimora", ":material/night_shelter:"),
    "zone_pilota": ("Decidi", "Zone pilota", ":material/target:"),
    "illuminazione": ("Decidi", "Illuminazione", ":material/lightbulb:"),
    "videosorveglianza": ("Decidi", "Videosorveglianza", ":material/videocam:"),
    "interventi": ("Decidi", "Interventi", ":material/construction:"),
    "dossier": ("Decidi", "Dossier CPOSP", ":material/description:"),
    "segnalazioni": ("Segnalazioni", "Segnalazioni", ":material/campaign:"),
    "agenda": ("Segnalazioni", "Agenda CPOSP", ":material/event_note:"),
    "dati": ("Dati", "Dati e fonti", ":material/dataset:"),
    "registro": ("Dati", "Registro delle modifiche", ":material/history:"),
}


def _forbidden(title: str, role: str):
    """The view behind the address of a page the role may not open."""
    def view() -> None:
        st.title(title)
        st.error(f"La pagina «{title}» non è disponibile per il profilo {role_label(role)}. Se serve, chiedere "
                 "l'accesso alla Prefettura.", icon=":material/lock:")
        st.caption("Le pagine consentite sono nel menu a sinistra.")
    return view


def _existing() -> list[str]:
    return [stem for stem in PAGES if (ROOT / "pages" / f"{stem}.py").exists()]


def navigation_for(user) -> tuple[dict[str, list[st.Page]], list[str]]:
    """The sections and pages of ``user``'s navigation (only the login page without a user, also
    answering at every page's address), and the file stems of the pages shown."""
    if user is None:
        login = st.Page("pages/login.py", title="Accesso", icon=":material/login:", url_path="login", default=True)
        deep = [st.Page("pages/login.py", title=PAGES[stem][1], url_path=stem, visibility="hidden")
                for stem in _existing()]
        return {"": [login, *deep]}, ["login"]
    sections: dict[str, list[st.Page]] = {}
    stems: list[str] = []
    allowed = set(allowed_pages(user))
    hidden: list[st.Page] = []
    first = True
    for stem in _existing():
        section, title, icon = PAGES[stem]
        if stem not in allowed:
            hidden.append(st.Page(_forbidden(title, user.role), title=title, url_path=stem, visibility="hidden"))
            continue
        sections.setdefault(section, []).append(
            st.Page(f"pages/{stem}.py", title=title, icon=icon, url_path=stem, default=first))
        stems.append(stem)
        first = False
    if sections and hidden:
        sections[next(reversed(sections))].extend(hidden)
    return sections, stems


user = current_user()
st.session_state[ROUTED_KEY] = routing_token(user)
pages, stems = navigation_for(user)
chart_locale.enable()  # Italian numbers and dates in every chart
navigation = st.navigation(pages, expanded=True)  # every page listed: no English "View more"
st.session_state[NAV_KEY] = stems
if user is not None:
    comuni = f" · comuni {', '.join(user.comuni)}" if user.comuni else ""
    # Plain text: a display name is never read as markdown or HTML.
    st.sidebar.text(f"Utente: {user.display_name or user.username} ({role_label(user.role)}){comuni}")
    # A callback: it runs before the next script run, whichever script serves it.
    st.sidebar.button("Esci", icon=":material/logout:", key="logout", on_click=end_session)
st.sidebar.caption("Lanterna · Patto per la sicurezza urbana")
script = cookie_script()
if script:
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)
navigation.run()
