"""Dossier CPOSP: one document for a committee meeting (printable HTML and PDF).

A thin view over :mod:`geo.dossier.build`: the user picks the pilot-zone profile, how many zones
and the lighting budget; the dossier is computed for the user's role (its disclosure rules),
previewed, and downloaded stamped with the head of the audit chain.
"""

from __future__ import annotations

import streamlit as st

from geo.access.privacy import format_int
from geo.data.storage import open_store
from geo.dossier.build import (
    DEFAULT_BUDGET_EUR,
    DEFAULT_TOP_ZONES,
    DossierError,
    DossierOptions,
    build_dossier,
    pdf_available,
    pdf_bytes,
)
from geo.overview import metrics
from geo.zones.priority import DEFAULT_PRESET, PRESETS
from pages.common import anchored, demo_notice, get_store, require_page

BUDGETS = [100_000.0 * k for k in range(0, 31)]


@st.cache_data(show_spinner="Preparazione del dossier: punti caldi, zone, piano di illuminazione, interventi…",
               max_entries=8)
def load_dossier(db: str, version: str, username: str, role: str, comuni: tuple[str, ...], preset: str, top: int,
                 budget: float, area: tuple[str, ...]):
    """The dossier for one user and role (the user is part of the key: sections depend on it)."""
    del version  # part of the cache key only
    from geo.access.permissions import User

    actor = User(username, role, comuni=comuni)
    return build_dossier(open_store(db), actor, DossierOptions(preset=preset, top_zones=top, budget_eur=budget,
                                                               comuni=area))


user = require_page("view_dossier")
store = get_store()
st.title("Dossier per il CPOSP")
st.caption("Un solo documento per la riunione del Comitato provinciale per l'ordine e la sicurezza pubblica: la "
           "provincia rispetto alle altre, i punti caldi con la soglia del caso e la verifica retrospettiva, le zone "
           "pilota con le ragioni, il piano dell'illuminazione, le segnalazioni in agenda con i tempi di attesa, gli "
           "interventi e il loro esito, la videosorveglianza, le fonti dei dati.")
demo_notice(store)

names = dict(zip(store.comuni()["pro_com_t"], store.comuni()["nome"], strict=True))
c1, c2, c3, c4 = st.columns([2, 1, 2, 2])
preset = c1.selectbox("Profilo delle zone pilota", list(PRESETS), index=list(PRESETS).index(DEFAULT_PRESET),
                      format_func=lambda k: PRESETS[k].label, key="dossier_preset")
top = c2.number_input("Zone", min_value=1, max_value=30, value=DEFAULT_TOP_ZONES, step=1, key="dossier_top")
budget = c3.select_slider("Budget dell'illuminazione", options=BUDGETS, value=DEFAULT_BUDGET_EUR,
                          format_func=lambda v: f"{format_int(v)} €", key="dossier_budget")
own = tuple(user.comuni)
area = c4.multiselect("Comuni", options=list(own or names), format_func=names.get,
                      placeholder="I propri comuni" if own else "Tutto il territorio",
                      key="dossier_area")
if user.role == "comune" and not area:
    area = list(own)

try:
    dossier = load_dossier(str(store.path), metrics.data_version(store), user.username, user.role, own, preset,
                           int(top), float(budget), tuple(area))
except DossierError as exc:
    st.error(str(exc))
    st.stop()

missing = [s.title for s in dossier.sections if not s.available]
k1, k2, k3 = st.columns(3)
k1.metric("Sezioni", format_int(len(dossier.sections) - len(missing)), border=True)
k2.metric("Redatto il", dossier.metadata["Redatto il"], border=True)
k3.metric("Impronta dei dati", dossier.metadata["Impronta dei dati"], border=True,
          help="Cambia con ogni costruzione, importazione o modifica registrata dei dati.")
if missing:
    st.info("Non disponibili per il profilo " + dossier.metadata["Profilo"] + ": " + "; ".join(missing) + ".",
            icon=":material/lock:")

d1, d2, _ = st.columns([1, 1, 2])
stem = f"dossier_cposp_{dossier.made_at:%Y%m%d}"
d1.download_button("Scarica HTML", data=anchored(dossier.html, "html", kind="dossier html"),
                   file_name=f"{stem}.html", mime="text/html", icon=":material/print:", key="dossier_html")
pdf_problem = pdf_available()
d2.download_button("Scarica PDF", data=anchored(dossier.html, "html", kind="dossier pdf",
                                                then=lambda stamped: pdf_bytes(stamped.decode("utf-8"))),
                   file_name=f"{stem}.pdf", mime="application/pdf", icon=":material/picture_as_pdf:",
                   key="dossier_pdf", disabled=pdf_problem is not None)
st.caption(pdf_problem or "Il PDF è generato su questa macchina (WeasyPrint), senza risorse esterne, in alcuni "
           "secondi. Ogni esportazione porta la voce corrente del registro delle modifiche, verificabile nella "
           "pagina Registro.")
st.subheader("Anteprima")
st.iframe(dossier.html, height=900)
