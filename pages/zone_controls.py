"""Widgets of the Zone pilota page: the weight profile and sliders, the zone parameters, a zone's
card. View code only (Streamlit); the figures and texts come from :mod:`geo.zones`."""

from __future__ import annotations

import streamlit as st

from geo.access.privacy import format_decimal
from geo.data.filters import Filters
from geo.zones import pilot as zones
from geo.zones import report as zone_report
from geo.zones.indicators import INDICATOR_KEYS, INDICATORS
from geo.zones.priority import DEFAULT_PRESET, PRESETS

CUSTOM = "personalizzato"
WEIGHT_MAX = 50


def _apply_preset() -> None:
    key = st.session_state["zp_preset"]
    if key in PRESETS:
        for k in INDICATOR_KEYS:
            st.session_state[f"zp_w_{k}"] = int(PRESETS[key].weights[k])


def weight_controls() -> dict[str, float]:
    """Preset selector and one slider per indicator; returns the relative weights."""
    if "zp_preset" not in st.session_state:
        st.session_state["zp_preset"] = DEFAULT_PRESET
        _apply_preset()
    options = [*PRESETS, CUSTOM]
    st.selectbox(
        "Profilo di pesi", options=options, key="zp_preset", on_change=_apply_preset,
        format_func=lambda k: PRESETS[k].label if k in PRESETS else "Personalizzato (cursori)",
        help="I profili rappresentano i punti di vista al tavolo del CPOSP; i cursori li modificano.",
    )
    preset = st.session_state["zp_preset"]
    if preset in PRESETS:
        st.caption(PRESETS[preset].description)
    with st.form("zp_weights", border=False):
        cols = st.columns(2)
        for i, k in enumerate(INDICATOR_KEYS):
            ind = INDICATORS[k]
            cols[i % 2].slider(ind.label, min_value=0, max_value=WEIGHT_MAX, step=1, key=f"zp_w_{k}",
                               help=f"{ind.definition} Unità: {ind.unit}. Fonte: {ind.source}.")
        st.form_submit_button("Applica i pesi", type="primary")
    weights = {k: float(st.session_state[f"zp_w_{k}"]) for k in INDICATOR_KEYS}
    if preset in PRESETS and any(weights[k] != PRESETS[preset].weights[k] for k in INDICATOR_KEYS):
        st.caption(f"Pesi modificati a partire dal profilo «{PRESETS[preset].label}».")
    return weights


def zone_card(row: dict, *, role: str, top: int) -> None:
    """One zone card: figures, drivers, trend, exposure, lighting, robustness."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Beneficio atteso", format_decimal(row["benefit"], 1),
              help="Priorità × superficie (punti × km²): la misura della classifica.")
    c2.metric("Priorità", format_decimal(row["priority"], 1), help="Punti da 0 a 100: somma dei contributi.")
    c3.metric("Superficie", f"{format_decimal(row['area_km2'], 2)} km²")
    c4.metric("Delitti nel periodo", zone_report.zone_incidents(row, role))
    head, exposure, lighting, robust = zone_report.card_markdown(row, role=role, top=top)
    st.markdown(head)
    st.markdown(exposure)
    st.dataframe(zone_report.indicator_rows(row, role), hide_index=True, width="stretch",
                 key=f"zp_ind_{row['zone']}",
                 column_config={"Punteggio (0-1)": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                                  format="%.2f")})
    st.markdown(lighting)
    st.markdown(robust)


def zone_parameters(filters: Filters) -> tuple[int, float, float, float, int, int]:
    """Resolution, size bounds (km²), candidate share, N of the robustness and seed."""
    res_options = [9, 8, 10] if filters.comuni else [9, 8]
    zone_res = st.selectbox(
        "Risoluzione degli esagoni delle zone", options=res_options, key="zp_res",
        format_func=lambda r: {8: "8 (≈ 0,74 km²)", 9: "9 (≈ 0,11 km²)", 10: "10 (≈ 0,015 km²)"}[r],
        help="Le zone sono unioni di esagoni; questa scelta non dipende dalla risoluzione della mappa nella barra "
             "laterale. La risoluzione 10 è disponibile scegliendo dei comuni.",
    )
    min_km2, max_km2 = st.slider("Superficie di una zona (km²)", min_value=0.1, max_value=10.0,
                                 value=(zones.DEFAULT_MIN_KM2, zones.DEFAULT_MAX_KM2), step=0.1, key="zp_bounds")
    share = st.slider("Esagoni candidati (% più prioritari)", min_value=2, max_value=40,
                      value=int(zones.DEFAULT_CANDIDATE_SHARE * 100), step=1, key="zp_share",
                      help="Le zone nascono dagli esagoni con priorità più alta: questa è la loro quota tra gli "
                           "esagoni con priorità positiva.") / 100
    top = int(st.number_input("N per la robustezza (prime N zone)", min_value=1, max_value=50,
                              value=zones.DEFAULT_TOP, key="zp_top"))
    seed = int(st.number_input("Seme delle simulazioni", min_value=0, max_value=2**31 - 1, value=0,
                               key="zp_seed", help="Stesso seme, stessa classifica e stesse probabilità."))
    return zone_res, float(min_km2), float(max_km2), float(share), top, seed
