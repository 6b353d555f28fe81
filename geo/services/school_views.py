"""What the Scuole sicure page draws, built here so that the page only places it: the forest plot
of the rate ratios, the levels per comune, the selected school's reasons and figures."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd

from geo.access.privacy import format_decimal, format_int, format_percent
from geo.data.schemas import SCHOOL_LEVELS
from geo.services import schools as exposure


def rr_chart(data: pd.DataFrame) -> alt.LayerChart:
    """Forest plot of the rate ratios with their intervals, log scale, reference line at 1."""
    order = list(data["label"])
    colors = alt.Scale(domain=list(exposure.LEVELS.values()),
                       range=[exposure.LEVEL_COLORS[k] for k in exposure.LEVELS])
    base = alt.Chart(data).encode(y=alt.Y("label:N", sort=order, title=None,
                                          axis=alt.Axis(labelLimit=320, labelOverlap=False)))
    tooltip = [alt.Tooltip("label:N", title="Scuola"), alt.Tooltip("rr:Q", title="Rapporto", format=".2f"),
               alt.Tooltip("low:Q", title="IC 95 % min", format=".2f"),
               alt.Tooltip("high:Q", title="IC 95 % max", format=".2f"), alt.Tooltip("level:N", title="Esposizione")]
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", scale=alt.Scale(type="log"), title="Rapporto con le aree simili (scala logaritmica)"),
        x2="high:Q", color=alt.Color("level:N", scale=colors, title="Esposizione"), tooltip=tooltip)
    points = base.mark_point(filled=True, size=60).encode(x="rr:Q", color=alt.Color("level:N", scale=colors),
                                                          tooltip=tooltip)
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color="#444").encode(x="x:Q")
    return (bars + points + one).properties(height=alt.Step(26))


def level_chart(schools: pd.DataFrame) -> alt.Chart:
    """Schools per comune by exposure level (stacked bars)."""
    counts = schools.groupby(["comune", "exposure_level"]).size().reset_index(name="scuole")
    counts["Esposizione"] = counts["exposure_level"].map(exposure.LEVELS)
    colors = alt.Scale(domain=list(exposure.LEVELS.values()),
                       range=[exposure.LEVEL_COLORS[k] for k in exposure.LEVELS])
    return alt.Chart(counts).mark_bar().encode(
        y=alt.Y("comune:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
        x=alt.X("scuole:Q", title="Scuole"),
        color=alt.Color("Esposizione:N", scale=colors, sort=list(exposure.LEVELS.values())),
        tooltip=["comune:N", "Esposizione:N", "scuole:Q"],
    ).properties(height=alt.Step(24))


#: Characters with a meaning in Streamlit Markdown (CommonMark, LaTeX ``$``, ``:emoji:``/``:color[]``).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&])")


def md_escape(text: object) -> str:
    """``text`` shown literally by ``st.markdown``: special characters backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def school_details(result: exposure.Exposure, code: str, role: str) -> tuple[str, list[str], pd.DataFrame]:
    """The selected school's title line (Markdown, escaped), its reasons (plain text: escape them
    before Markdown) and its figures table (index "Voce"), protected for roles without clearance."""
    shown, few = exposure.shown_values(result, role)
    pos = int(result.schools.index[result.schools["code"] == code][0])
    rec = result.schools.loc[pos]
    s, h = shown.loc[pos].to_dict(), few.loc[pos].to_dict()
    title = (f"**{int(rec['rank'])}. {md_escape(rec['name'])}** · "
             f"{md_escape(SCHOOL_LEVELS.get(rec['level'], rec['level']))} · {md_escape(rec['comune'])}")
    why = exposure.reasons(rec.to_dict(), s, h, basis=result.params["basis"])
    ref = {"simili": "aree di densità simile", "vicine": f"aree di densità vicina ({rec['ref_classes']})",
           "comune": "tutto il comune abitato", "nessuno": "nessun riferimento"}[rec["reference"]]
    rows = [
        ("Esagoni nell'area (ris. 10)", format_int(rec["n_cells"])),
        ("Densità del quartiere", exposure.DENSITY_CLASSES[int(rec["density_class"])][1]),
        ("Confronto con", f"{ref}: {format_int(rec['ref_cells'])} esagoni"),
        ("Spaccio (delitti nel periodo)", s["spaccio_all"]),
        ("Violenza (delitti nel periodo)", s["violenza_all"]),
        ("Di cui in orario scolastico (stima)", s["focus_school_est"]),
        ("Altri delitti", s["other"]),
        ("Attesi alla media delle aree simili", s["expected"]),
        ("Dispersione dei conteggi nelle aree simili", f"{format_decimal(rec['dispersion'], 1)} volte Poisson"),
        ("Rapporto con aree simili (IC 95 %)",
         s["rr"] if h["rr"] else f"{s['rr']} ({s['rr_low']}–{s['rr_high']})"),
        ("Segnalazioni di degrado aperte", format_int(rec["reports_open"])),
        ("Punti luce (guasti)", f"{format_int(rec['lights'])} ({format_int(rec['lights_broken'])})"),
    ]
    return title, why, pd.DataFrame(rows, columns=["Voce", "Valore"]).set_index("Voce")


def near_share_text(near: int, total: int) -> str:
    """Share of the focus incidents near the schools (protected counts for roles without clearance)."""
    return format_percent(near / total if total else None, 0)
