"""Charts of the Zone pilota page and of its printable summary (Altair specifications, Italian
labels): contributions per zone, robustness, ranks per preset, the concentration curve."""

from __future__ import annotations

import altair as alt
import pandas as pd

from geo.access.privacy import VEGA_IT_NUMBER, format_decimal
from geo.zones.indicators import INDICATOR_KEYS, INDICATORS
from geo.zones.priority import PRESETS

INDICATOR_COLORS = ["#B3261E", "#E6550D", "#6A3D9A", "#8C6D31", "#F2B701", "#1F77B4", "#2CA02C", "#17BECF",
                    "#7F7F7F", "#BCBD22"]


#: Zones shown in the contribution chart (the first ones by rank).
CONTRIBUTION_TOP = 10
#: Height of one zone's bar (pixels): the chart grows with the zones, so labels never overlap.
BAR_STEP_PX = 30


def zone_axis_labels(z: pd.DataFrame) -> list[str]:
    """The zones' labels on a chart axis: "1. Marina di Carrara (Carrara)" (the rank and the zone's
    place name, column ``name``), or the zone id when the zones have no name."""
    names = z["name"] if "name" in z else z["zone"]
    return [f"{int(r)}. {n if isinstance(n, str) and n else zid}"
            for r, n, zid in zip(z["rank"], names, z["zone"], strict=True)]


def contributions_chart(z: pd.DataFrame, top: int = CONTRIBUTION_TOP) -> alt.LayerChart:
    """Horizontal stacked bars, one per zone of the first ``top`` by rank: the zone's priority split
    into the contributions of the indicators, the total written at the end of each bar.

    The height follows the number of zones (:data:`BAR_STEP_PX` per bar), the legend sits under
    the plot in one column with full labels (readable from 900 px up), and numbers are Italian
    (axis and tooltips).
    """
    head = z.sort_values("rank").head(top)
    labels = zone_axis_labels(head)
    keys = [f"c_{k}" for k in INDICATOR_KEYS]
    frame = head[["zone", "rank", *keys]].assign(etichetta=labels)
    long = frame.melt(id_vars=["zone", "rank", "etichetta"], value_vars=keys, var_name="key", value_name="points")
    long = long[long["points"] > 0].copy()
    long["indicatore"] = long["key"].str[2:].map(lambda k: INDICATORS[k].label)
    long["punti"] = [format_decimal(v, 1) for v in long["points"]]
    totals = frame.assign(total=frame[keys].sum(axis=1))
    totals["totale"] = [format_decimal(v, 1) for v in totals["total"]]
    order = [INDICATOR_KEYS.index(k[2:]) for k in long["key"]]
    long["ordine"] = order
    domain = [INDICATORS[k].label for k in INDICATOR_KEYS]
    y = alt.Y("etichetta:N", sort=labels, title=None,
              axis=alt.Axis(labelLimit=260, labelOverlap=False, labelFontSize=12))
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("points:Q", title="Punti di priorità (0-100)", stack="zero",
                    axis=alt.Axis(labelExpr=VEGA_IT_NUMBER, tickMinStep=1)),
            color=alt.Color("indicatore:N", sort=domain,
                            scale=alt.Scale(domain=domain, range=INDICATOR_COLORS[:len(domain)]),
                            legend=alt.Legend(title=None, orient="bottom", direction="vertical", columns=1,
                                              labelLimit=320, symbolType="square")),
            order=alt.Order("ordine:Q"),
            tooltip=[alt.Tooltip("etichetta:N", title="Zona"), alt.Tooltip("indicatore:N", title="Indicatore"),
                     alt.Tooltip("punti:N", title="Punti")],
        )
    )
    text = (
        alt.Chart(totals)
        .mark_text(align="left", baseline="middle", dx=4, fontSize=11, color="#333")
        .encode(y=y, x=alt.X("total:Q"), text="totale:N",
                tooltip=[alt.Tooltip("etichetta:N", title="Zona"), alt.Tooltip("totale:N", title="Priorità")])
    )
    return (
        alt.layer(bars, text, title=f"Contributi degli indicatori alla priorità (prime {len(head)} zone)")
        .properties(height=alt.Step(BAR_STEP_PX))
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
