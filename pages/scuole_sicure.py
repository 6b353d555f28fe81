"""Scuole sicure (pact art. 11): exposure around each school, ranked with the reasons.

A thin view on :mod:`geo.services.schools`: the page picks the walking distance, the comparison basis and
the school levels, and shows the map, the ranked list, the figures per category and per comune,
charts and exports, as the viewer's role may see them (:mod:`geo.access.privacy`). Heavy results are
cached on plain keys (database path, data version, distance, period, comuni, levels, basis).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.disclosure import PROTECTED_NOTE
from geo.access.privacy import (
    can_see_exact,
    format_decimal,
    format_int,
    format_percent,
)
from geo.data.schemas import SCHOOL_LEVELS
from geo.data.storage import open_store
from geo.maps.layers import LEAFLET_APP_URL, fit_to_comuni
from geo.overview import metrics
from geo.services import school_views as views
from geo.services import schools as exposure
from geo.services.school_views import level_chart, md_escape, near_share_text, rr_chart
from pages.common import (
    anchored,
    current_role,
    demo_notice,
    get_store,
    month_label,
    pact_label,
    require_page,
    role_caption,
    sidebar_filters,
)


@st.cache_data(show_spinner="Calcolo dell'esposizione delle scuole…", max_entries=24)
def load_exposure(db: str, version: str, walk_m: float, start: date | None, end: date | None,
                  comuni: tuple[str, ...], levels: tuple[str, ...], basis: str, months: int | None,
                  cleared: bool = False) -> exposure.Exposure:
    """The exposure; for roles without clearance on protected counts (cell-key method)."""
    del version  # part of the cache key only
    return exposure.compute_exposure(open_store(db), walk_m=walk_m, start=start, end=end, comuni=comuni,
                                     levels=levels, basis=basis, months=months,
                                     role=None if cleared else "osservatore")


@st.cache_data(show_spinner=False, max_entries=4)
def load_comuni(db: str, version: str) -> pd.DataFrame:
    del version
    return open_store(db).comuni_geometries()


def school_details(result: exposure.Exposure, code: str, role: str) -> None:
    """Reasons and figures of the selected school (protected ones for roles without clearance)."""
    title, why, table = views.school_details(result, code, role)
    st.markdown(title)
    if why:
        st.markdown("\n".join(f"- {md_escape(w)}" for w in why))
    else:
        st.caption("Nessun elemento sopra la media delle aree simili.")
    st.table(table)


def main() -> None:
    require_page("view_schools")  # the page's own check, besides the navigation
    store = get_store()
    st.title("Scuole sicure")
    st.caption(
        f"{pact_label('scuole')}: contrastare lo spaccio e la devianza vicino alle scuole e riqualificarne i dintorni. "
        "Per ogni scuola: delitti di spaccio e violenza, segnalazioni di degrado e illuminazione nell'area "
        "raggiungibile a piedi, confrontati con le aree simili dello stesso comune."
    )
    demo_notice(store)
    filters = sidebar_filters(store)
    role = current_role()
    cleared = can_see_exact(role)
    role_caption(role)
    db, version = str(store.path), metrics.data_version(store)

    c1, c2, c3, c4 = st.columns([2, 2, 3, 1.6])
    walk_m = c1.slider("Distanza a piedi dalla scuola (m)", min_value=int(exposure.MIN_WALK_M),
                       max_value=int(exposure.MAX_WALK_M), value=int(exposure.DEFAULT_WALK_M), step=50,
                       key="scuole_distanza",
                       help="Esagoni H3 (ris. 10) il cui centro è entro questa distanza a piedi, stimata come linea "
                            "d'aria × 1,3.")
    basis = c2.radio("Confronto su", options=list(exposure.BASES), format_func=exposure.BASES.get, key="scuole_base",
                     horizontal=True,
                     help="L'orario scolastico è stimato: i delitti sono registrati solo per fascia giorno/notte.")
    levels = c3.multiselect("Gradi scolastici", options=list(SCHOOL_LEVELS), format_func=SCHOOL_LEVELS.get,
                            placeholder="Tutti i gradi", key="scuole_gradi")
    tiles = c4.radio("Sfondo", options=["osm", "none"], format_func={"osm": "OpenStreetMap",
                                                                      "none": "Nessuno"}.get,
                     key="scuole_sfondo", horizontal=True)

    result = exposure.role_view(load_exposure(db, version, float(walk_m), filters.start, filters.end,
                                              filters.comuni, tuple(levels), basis, filters.months, cleared),
                                role)
    schools = result.schools
    period = (f"{month_label(filters.start)} – {month_label(filters.end)}" if filters.start and filters.end
              else "tutto il periodo")
    st.caption(
        f"Periodo dei delitti: **{period}** · area di ogni scuola: esagoni con centro entro "
        f"{format_int(walk_m)} m a piedi (≈ {format_int(result.params['radius_m'])} m in linea d'aria). "
        f"**Orario scolastico ({exposure.SCHOOL_HOURS_LABEL}) stimato:** i delitti sono registrati per mese e "
        "fascia giorno (6-20) / notte (20-6), senza giorno della settimana; si assume che i delitti di giorno "
        f"dei mesi di scuola si distribuiscano in modo uniforme, quindi {format_percent(exposure.SCHOOL_TIME_SHARE)} "
        "di essi cade in orario scolastico. Le categorie e la fascia oraria della barra laterale non si applicano: "
        "la pagina considera sempre spaccio (stupefacenti) e violenza (lesioni, minacce, rapine)."
    )
    if schools.empty:
        st.info("Nessuna scuola per i comuni e i gradi scelti.")
        return
    few = int((schools["exposure_level"] == "ins").sum())
    if few:
        st.caption(f"**{format_int(few)} scuole su {format_int(len(schools))}: dato insufficiente.** Nelle loro aree "
                   f"le aree simili fanno attendere meno di {format_int(exposure.MIN_EXPECTED)} delitti di spaccio e "
                   "violenza nel periodo: troppo pochi per un rapporto. Un periodo più lungo o una distanza maggiore "
                   "danno più delitti attesi.")

    summary = result.by_comune
    near, total = int(summary["focus_near"].sum()), int(summary["focus_total"].sum())
    alta = schools[schools["exposure_level"] == "alta"]
    k1, k2, k3, k4 = st.columns(4)
    k1.metric("Scuole analizzate", format_int(len(schools)), border=True)
    k2.metric("A esposizione alta", format_int(len(alta)), border=True,
              help="Rapporto con le aree simili significativamente sopra 1 (limite inferiore dell'IC 95 % > 1), "
                   f"tra le scuole con almeno {format_int(exposure.MIN_EXPECTED)} delitti attesi."
                   + ("" if cleared else " Calcolato dai conteggi protetti."))
    k3.metric(f"Spaccio e violenza entro {format_int(walk_m)} m", near_share_text(near, total),
              border=True, help="Quota dei delitti di spaccio e violenza dei comuni scelti avvenuti nelle aree "
                                "delle scuole (ogni esagono contato una volta).")
    students = pd.to_numeric(alta["students"], errors="coerce").sum()
    k4.metric("Alunni nelle scuole a esposizione alta", format_int(students), border=True)

    tab_map, tab_cat, tab_comuni, tab_charts, tab_method = st.tabs(
        [":material/map: Mappa e classifica", ":material/bar_chart: Delitti per categoria",
         ":material/account_balance: Per comune", ":material/trending_up: Grafici", ":material/functions: Metodo"])
    table = exposure.ranked_table(result, role)
    with tab_map:
        labels = dict(zip(schools["code"], [f"{r}. {n} ({c})" for r, n, c in
                                            zip(schools["rank"], schools["name"], schools["comune"], strict=True)],
                          strict=True))
        if st.session_state.get("scuole_scelta") not in labels:
            st.session_state["scuole_scelta"] = schools["code"].iloc[0]
        left, right = st.columns([3, 1.6], gap="medium")
        with right:
            code = st.selectbox("Scuola evidenziata", options=list(labels), format_func=labels.get,
                                key="scuole_scelta", help="Ordinate per esposizione: la prima è la più esposta.")
            school_details(result, code, role)
        with left:
            m = exposure.exposure_map(result, role=role, comuni=load_comuni(db, version), selected=code, tiles=tiles,
                                      assets_url=LEAFLET_APP_URL)
            st_folium(m if code else fit_to_comuni(m, load_comuni(db, version), filters.comuni),
                      key="scuole_mappa", height=560, use_container_width=True, returned_objects=[])
        st.subheader("Classifica delle scuole per esposizione")
        st.caption(
            "Ordine: esposizione alta per prima, poi limite inferiore dell'intervallo di confidenza del rapporto "
            "(prudente: pochi delitti non bastano per salire), poi delitti, segnalazioni di ordine pubblico e punti "
            "luce guasti. " + ("" if cleared else PROTECTED_NOTE)
        )
        st.dataframe(exposure.ranked_styler(result, role), hide_index=True, height=420, width="stretch",
                     column_config={"Motivi": st.column_config.TextColumn(width="large")})
        name = f"lanterna_scuole_sicure_{int(walk_m)}m"
        d1, d2, _ = st.columns([1, 1, 3])
        d1.download_button("Scarica CSV", data=anchored(exposure.table_csv(table), "csv"),
                           file_name=f"{name}.csv", mime="text/csv",
                           icon=":material/download:", key="scuole_csv")
        d2.download_button("Scarica GeoJSON", data=anchored(exposure.schools_geojson(result, role), "geojson"),
                           file_name=f"{name}.geojson", mime="application/geo+json", icon=":material/download:",
                           key="scuole_geojson")
    with tab_cat:
        st.caption(f"Delitti per categoria nell'area di ogni scuola, a tutte le ore, nel periodo {period}; "
                   "spaccio e violenza per primi.")
        categories = exposure.category_table(result, role)
        st.dataframe(categories, hide_index=True, height=460, width="stretch")
        st.download_button("Scarica CSV", data=anchored(exposure.table_csv(categories), "csv"),
                           file_name=f"lanterna_scuole_categorie_{int(walk_m)}m.csv", mime="text/csv",
                           icon=":material/download:", key="scuole_cat_csv")
    with tab_comuni:
        per_comune = exposure.comune_table(result, role)
        st.caption("Per comune: scuole, alunni, scuole a esposizione alta, delitti di spaccio e violenza nelle aree "
                   "delle scuole (ogni esagono una volta) e quota sul totale del comune, a confronto con la quota "
                   "di superficie abitata che quelle aree coprono.")
        st.dataframe(per_comune, hide_index=True, width="stretch")
        st.download_button("Scarica CSV", data=anchored(exposure.table_csv(per_comune), "csv"),
                           file_name=f"lanterna_scuole_per_comune_{int(walk_m)}m.csv", mime="text/csv",
                           icon=":material/download:", key="scuole_comuni_csv")
        st.altair_chart(level_chart(schools).properties(title="Scuole per livello di esposizione"), width="stretch")
    with tab_charts:
        data = exposure.rr_chart_data(result, role, top=15)
        if data.empty:
            st.info(f"Nessuna scuola con almeno {format_int(exposure.MIN_EXPECTED)} delitti attesi: nessun rapporto "
                    "da mostrare.")
        else:
            st.altair_chart(rr_chart(data).properties(title="Prime scuole: rapporto con le aree simili e IC 95 %"),
                            width="stretch")
            st.caption("Punto: rapporto tra i delitti di spaccio e violenza per esagono nell'area della scuola e "
                       "nelle aree simili del comune; segmento: intervallo di confidenza al 95 % che tiene conto "
                       "della dispersione dei conteggi. "
                       "A destra della linea tratteggiata: più delitti delle aree simili.")
    with tab_method:
        st.markdown(METHOD)


METHOD = f"""
**Area di una scuola.** Esagoni H3 di risoluzione 10 (≈ 0,015 km²) il cui centro è entro la distanza a piedi
scelta, stimata come linea d'aria × {format_decimal(exposure.DETOUR_FACTOR, 1)} (rapporto medio tra percorso
stradale e linea d'aria nelle città), più l'esagono della scuola.

**Orario scolastico.** Lunedì-venerdì 7:30-16:30, da settembre a giugno. I delitti sono aggregati per mese e fascia
giorno/notte: la stima in orario scolastico è la quota {format_decimal(exposure.SCHOOL_TIME_SHARE, 3)}
(5/7 × 9/14) dei delitti di giorno dei mesi di scuola; il resto è «fuori orario». È una stima, non un dato.

**Aree simili.** Esagoni dello stesso comune il cui quartiere (esagoni entro 3 passi, ≈ 400 m) ha la stessa classe
di densità abitativa del quartiere della scuola, esclusa l'area della scuola; con meno di
{exposure.MIN_REFERENCE_CELLS} esagoni si aggiungono le classi vicine.

**Rapporto e intervallo.** Rapporto tra i delitti di spaccio e violenza per esagono nell'area della scuola e nelle
aree simili. I delitti si concentrano: nelle aree simili la varianza dei conteggi di blocchi di 7 esagoni è di solito
più volte la media (non uguale, come in un modello di Poisson). L'intervallo al 95 % stima questa **dispersione** dalle
aree simili stesse (blocchi H3 di risoluzione 9) e la usa in un modello binomiale negativo: un conteggio con
dispersione φ vale come φ volte meno eventi indipendenti. L'intervallo si allarga anche quando la dispersione è
stimata su pochi blocchi. Esposizione **alta** se l'intervallo sta sopra 1, **bassa** se sta sotto 1, **nella media**
altrimenti.

**Dato insufficiente.** Se alla media delle aree simili nell'area della scuola si attendono meno di
{format_int(exposure.MIN_EXPECTED)} delitti, il rapporto non è mostrato come numero (né nelle tabelle né negli export):
con così pochi delitti attesi un rapporto («458 volte la media») dice più sul caso che sulla scuola.

**Riservatezza.** Per i profili senza abilitazione tutti i conteggi (intorno alla scuola, nelle aree simili, per
comune) sono protetti con il metodo della chiave di cella, e dispersione, delitti attesi, rapporti, intervalli, livelli
e ordine sono calcolati dai conteggi protetti: non rivelano nulla oltre ai valori pubblicati nella Mappa. Nessun valore
è nascosto. I profili abilitati vedono i valori esatti. Segnalazioni e punti luce non riguardano persone e sono esatti.

Dettagli e fonti: `docs/SCUOLE_SERVIZI.md`.
"""

main()
