"""Charts of the Zone pilota page and of its printable summary (Altair specifications, Italian
labels): contributions per zone, robustness, ranks per preset, the concentration curve."""

from __future__ import annotations

import altair as alt
import pandas as pd

from geo.zones.indicators import INDICATOR_KEYS, INDICATORS
from geo.zones.priority import PRESETS

INDICATOR_COLORS = ["#B3261E", "#E6550D", "#6A3D9A", "#8C6D31", "#F2B701", "#1F77B4", "#2CA02C", "#17BECF",
                    "#7F7F7F", "#BCBD22"]


def contributions_chart(z: pd.DataFrame) -> alt.Chart:
    """Stacked bars: each zone's priority split into the contributions of the indicators."""
    long = z.melt(id_vars=["zone", "rank"], value_vars=[f"c_{k}" for k in INDICATOR_KEYS], var_name="key",
                  value_name="points")
    long["indicatore"] = long["key"].str[2:].map(lambda k: INDICATORS[k].label)
    order = [INDICATORS[k].label for k in INDICATOR_KEYS]
    return (
        alt.Chart(long[long["points"] > 0], title="Contributi degli indicatori alla priorità")
        .mark_bar()
        .encode(
            y=alt.Y("zone:N", sort=list(z["zone"]), title=None),
            x=alt.X("points:Q", title="Punti di priorità (0-100)", stack="zero"),
            color=alt.Color("indicatore:N", sort=order, scale=alt.Scale(domain=order, range=INDICATOR_COLORS),
                            legend=alt.Legend(title=None, orient="bottom", columns=3)),
            order=alt.Order("key:N"),
            tooltip=[alt.Tooltip("zone:N", title="Zona"), alt.Tooltip("indicatore:N", title="Indicatore"),
                     alt.Tooltip("points:Q", title="Punti", format=".1f")],
        )
        .properties(height=max(160, 24 * len(z)))
    )


def robustness_chart(z: pd.DataFrame, top: int) -> alt.Chart:
    data = z[["zone", "p_top", "rank"]].assign(p=lambda d: d["p_top"] * 100)
    return (
        alt.Chart(data, title=f"Probabilità di restare tra le prime {top} (pesi ± 20 %)")
        .mark_bar(color="#0066CC")
        .encode(
            y=alt.Y("zone:N", sort=list(data["zone"]), title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("p:Q", title="% delle simulazioni", scale=alt.Scale(domain=[0, 100])),
            tooltip=[alt.Tooltip("zone:N", title="Zona"), alt.Tooltip("p:Q", title="%", format=".0f")],
        )
        .properties(height=max(160, 22 * len(data)))
    )


def borda_chart(z: pd.DataFrame) -> alt.Chart:
    cols = {f"rank_{k}": p.label for k, p in PRESETS.items()}
    long = z[["zone", *cols]].melt(id_vars="zone", var_name="key", value_name="rango")
    long["profilo"] = long["key"].map(cols)
    base = alt.Chart(long, title="Rango della zona secondo ciascun profilo").encode(
        x=alt.X("profilo:N", sort=list(cols.values()), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("zone:N", sort=list(z["zone"]), title=None, axis=alt.Axis(labelOverlap=False)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("rango:Q", scale=alt.Scale(scheme="reds", reverse=True), legend=alt.Legend(title="Rango")),
        tooltip=[alt.Tooltip("zone:N", title="Zona"), alt.Tooltip("profilo:N", title="Profilo"),
                 alt.Tooltip("rango:Q", title="Rango")],
    )
    text = base.mark_text(fontSize=11).encode(text="rango:Q")
    return (rect + text).properties(height=max(160, 22 * len(z)))


def concentration_chart(curve: pd.DataFrame) -> alt.Chart:
    step = max(1, len(curve) // 800)
    data = curve.iloc[::step].assign(area=lambda d: d["share_area"] * 100, inc=lambda d: d["share_incidents"] * 100)
    line = alt.Chart(data, title="Concentrazione: % dei delitti nel % di superficie").mark_line(color="#B3261E").encode(
        x=alt.X("area:Q", title="% della superficie (esagoni dal più denso)"),
        y=alt.Y("inc:Q", title="% dei delitti"),
    )
    diagonal = alt.Chart(pd.DataFrame({"area": [0, 100], "inc": [0, 100]})).mark_line(
        strokeDash=[4, 4], color="#888").encode(x="area:Q", y="inc:Q")
    return (line + diagonal).properties(height=280)
