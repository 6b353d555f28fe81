"""Videosorveglianza: coverage of the existing cameras and the optimal plan of new ones (issue 18).

A thin view over :mod:`geo.cameras` (analysis, placement, views). Police cameras are hidden from
roles without clearance by :mod:`geo.cameras.inventory`, not here.
"""

from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from geo.access.privacy import format_int, format_percent
from geo.cameras import placement as pl
from geo.cameras import views
from geo.cameras.analysis import analyse, pilot_zone_coverage, pilot_zones
from geo.cameras.evidence import costs_table, territory_costs
from geo.cameras.inventory import can_see_police, load_cameras, police_hex_coverage, visible_cameras, visible_footprints
from geo.cameras.roads import access_gaps
from geo.data.territory import territory_of_store
from geo.maps.layers import LEAFLET_APP_URL
from pages.camera_controls import plan_form
from pages.common import anchored, current_role, demo_notice, get_store, require_page


@st.cache_data(show_spinner="Calcolo della copertura delle telecamere…", max_entries=8)
def load_analysis(db: str, role: str, comuni: tuple[str, ...]):  # noqa: ARG001 - db is the cache key
    store = get_store()
    terr = territory_of_store(store)
    return analyse(store, terr.metric_crs, role=role, comuni=list(comuni) or None), terr.metric_crs


@st.cache_data(show_spinner="Delimitazione delle zone pilota (preset predefinito)…", max_entries=8)
def load_zone_coverage(db: str, role: str, comuni: tuple[str, ...]):
    analysis, crs = load_analysis(db, role, comuni)
    return pilot_zone_coverage(pilot_zones(get_store(), comuni=list(comuni) or None), analysis, crs)


@st.cache_data(show_spinner="Ricerca degli accessi stradali…", max_entries=8)
def load_accesses(db: str, role: str, comuni: tuple[str, ...]):  # noqa: ARG001 - db is the cache key
    store = get_store()
    return access_gaps(store, territory_of_store(store).metric_crs, role=role, comuni=list(comuni) or None)


@st.cache_data(show_spinner="Ricerca del piano ottimo…", max_entries=16)
def load_plan(db: str, role: str, comuni: tuple[str, ...], budget: float, costs: tuple[tuple[str, float], ...],
              cap: int | None, setting: str):
    analysis, crs = load_analysis(db, role, comuni)
    opts = pl.PlacementOptions(budget=budget, costs=dict(costs), max_per_comune=cap, setting=setting)
    problem = pl.build_problem(analysis, crs, opts)
    return pl.solve(problem), pl.frontier(problem, pl.frontier_budgets(budget, 6))


user = require_page("view_cameras")
role = current_role()
store = get_store()
st.title("Videosorveglianza")
st.caption("Patto per la sicurezza urbana, art. 1: mappatura dei sistemi esistenti e copertura dei luoghi a rischio.")
demo_notice(store)
comuni = tuple(user.comuni) if role == "comune" else ()
unit_costs = territory_costs(territory_of_store(store))
analysis, metric_crs = load_analysis(str(store.path), role, comuni)
cams = load_cameras(store, comuni=list(comuni) or None)
if len(cams) and cams["synthetic"].all():
    st.info(views.SYNTHETIC_NOTE, icon=":material/science:")

c1, c2, c3, c4 = st.columns(4)
k = analysis.kpis
c1.metric("Telecamere", format_int(k["cameras"]))
c2.metric("Delitti nel campo visivo", format_percent(k["incidents_share"], 1))
c3.metric("Punti caldi coperti (media)", format_percent(k["hot_share"], 1))
c4.metric("Scuole coperte", f"{format_int(k['schools_covered'])} su {format_int(k['schools_total'])}")
for line in views.kpi_lines(analysis):
    st.markdown(f"- {line}")
if analysis.protected:
    st.caption("Conteggi dei delitti protetti con il metodo della chiave di cella (art. 3 del Patto).")

st.subheader("Delitti nel campo visivo per famiglia di reati e fascia oraria")
st.dataframe(views.group_table(analysis, role), hide_index=True)
st.caption("Quota dei delitti nel campo visivo (%), per famiglia e fascia oraria.")
st.bar_chart(views.group_chart(analysis, role), stack=False, horizontal=True)
if analysis.protected:
    st.caption("«< 3»: totale troppo piccolo per essere mostrato; «riservato»: la quota rivelerebbe un "
               "conteggio piccolo.")

st.subheader("Nuove telecamere: piano ottimo per un budget")
inputs = plan_form(unit_costs)
used = {"dome": inputs.dome, "fissa": inputs.fissa, "lettura_targhe": unit_costs["lettura_targhe"].cost_eur}
plan, front = load_plan(str(store.path), role, comuni, inputs.budget, tuple(used.items()), inputs.cap,
                        inputs.setting)

shown = visible_cameras(cams, role)
foot = visible_footprints(cams, role, metric_crs)
police = police_hex_coverage(cams if not can_see_police(role) else cams.iloc[0:0], metric_crs)
gates = load_accesses(str(store.path), role, comuni)
m = views.camera_map(shown, foot, police, store.comuni_geometries(), plan=plan, assets_url=LEAFLET_APP_URL,
                     accesses=gates.accesses, names=analysis.comuni)
st_folium(m, key="videosorveglianza_map", height=540, use_container_width=True, returned_objects=[])

for line in [*views.plan_lines(plan, inputs.setting), views.cost_line(used, unit_costs)]:
    st.markdown(f"- {line}")
table = views.plan_table(plan, analysis.comuni, unit_costs)
st.dataframe(views.italian(table), hide_index=True)
st.download_button("Scarica il piano (CSV)", anchored(views.to_csv(table), "csv", kind="piano telecamere"),
                   file_name="piano_telecamere.csv", mime="text/csv")
if len(front):
    st.markdown("**Frontiera: delitti evitati attesi all'anno al variare del budget**")
    st.line_chart(views.frontier_frame(front))

st.subheader("Punti caldi senza copertura")
st.dataframe(views.italian(views.uncovered_table(analysis).head(50)), hide_index=True)
st.subheader("Accessi stradali e lettura targhe")
for line in views.access_lines(gates):
    st.markdown(f"- {line}")
if len(gates.accesses):
    gate_rows = views.access_table(gates.accesses, analysis.comuni)
    st.dataframe(views.italian(gate_rows), hide_index=True)
    st.download_button("Scarica gli accessi (CSV)", anchored(views.to_csv(gate_rows), "csv", kind="accessi stradali"),
                       file_name="accessi_lettura_targhe.csv", mime="text/csv")

st.subheader("Zone pilota nel campo visivo")
st.caption("Le prime zone pilota con i pesi predefiniti della pagina Zone pilota; quota della loro area coperta "
           "dalle telecamere esistenti.")
st.dataframe(views.zones_table(load_zone_coverage(str(store.path), role, comuni), analysis.comuni),
             hide_index=True)

st.subheader("Inventario")
inv = views.inventory_table(shown, analysis.comuni)
st.dataframe(inv, hide_index=True)
st.download_button("Scarica l'inventario (CSV)", anchored(views.to_csv(inv), "csv", kind="inventario telecamere"),
                   file_name="telecamere.csv", mime="text/csv")
with st.expander("Costi per tipo di telecamera e loro fonte"):
    st.caption("«stima»: nessun prezzario pubblico disponibile; la motivazione è nella colonna Fonte. Il "
               "territorio può sostituire i valori con il file costi_telecamere.csv della sua cartella.")
    cost_rows = costs_table(unit_costs)
    st.dataframe(views.italian(cost_rows), hide_index=True)
    st.download_button("Scarica i costi (CSV)", anchored(views.to_csv(cost_rows), "csv", kind="costi telecamere"),
                       file_name="costi_telecamere.csv", mime="text/csv")
