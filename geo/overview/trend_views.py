"""The charts (Altair specs) and display tables of the *Andamento* page (no Streamlit).

The page draws what these functions return: :func:`series_chart`, :func:`total_chart`,
:func:`ranking_chart`, :func:`rate_chart`, :func:`calibration_chart` and the tables
:func:`change_table`, :func:`series_table`, :func:`rates_table`, :func:`official_table`,
:func:`official_by_category`. Every count they show comes already protected from
:mod:`geo.overview.trends` (``*_shown`` columns).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from geo.access import privacy
from geo.data.periods import month_label
from geo.overview import trends

#: d3 locale for the charts: Italian decimal comma, thousands dot and month names.
VEGA_LOCALE = {
    "number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " €"]},
    "time": {
        "dateTime": "%A %e %B %Y, %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"],
        "shortDays": ["dom", "lun", "mar", "mer", "gio", "ven", "sab"],
        "months": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
                   "settembre", "ottobre", "novembre", "dicembre"],
        "shortMonths": ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
    },
}
INCREASE, DECREASE = "#B3261E", "#1E6B34"  # red: more crimes, green: fewer
OURS, REGION, OTHERS = "#C0392B", "#5B8DB8", "#C9D3DD"
FREQUENCIES = {"M": "Mensile", "Y": "Annuale"}
BREAKDOWNS = {"category": "Categoria", "pro_com_t": "Comune"}


fmt_int = privacy.format_int


def fmt_dec(x: float | None, digits: int = 1, *, sign: bool = False) -> str:
    """Italian decimal (``1.234,5``), with an explicit ``+`` when ``sign``; missing → ``"–"``."""
    text = privacy.format_decimal(x, digits)
    return f"+{text}" if sign and x is not None and not pd.isna(x) and x > 0 else text


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------

def series_chart(series: pd.DataFrame, *, freq: str, title: str) -> alt.Chart:
    """One line per category or comune; click the legend to highlight one."""
    time_format = "%b %Y" if freq == "M" else "%Y"
    pick = alt.selection_point(fields=["label"], bind="legend")
    order = list(dict.fromkeys(series["label"]))
    return (
        alt.Chart(series, title=title)
        .mark_line(point=alt.OverlayMarkDef(size=25))
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format=time_format, labelAngle=0,
                                                          tickCount="month" if freq == "M" else "year")),
            y=alt.Y("incidents:Q", title="Delitti"),
            color=alt.Color("label:N", title=None, sort=order,
                            scale=alt.Scale(scheme="tableau20" if len(order) > 10 else "tableau10"),
                            legend=alt.Legend(orient="bottom", columns=4, labelLimit=240, symbolLimit=0)),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=[alt.Tooltip("label:N", title="Voce"), alt.Tooltip("period:T", title="Periodo",
                                                                        format=time_format),
                     alt.Tooltip("shown:N", title="Delitti")],
        )
        .add_params(pick)
        .properties(height=340 + 26 * -(-len(order) // 4))  # room for the legend rows below
        .configure(locale=VEGA_LOCALE)
    )


def total_chart(series: pd.DataFrame, *, freq: str) -> alt.Chart:
    time_format = "%b %Y" if freq == "M" else "%Y"
    return (
        alt.Chart(series, title="Totale dei delitti nel filtro")
        .mark_area(line={"color": "#0066CC"}, color="#0066CC", opacity=0.25,
                   point=alt.OverlayMarkDef(color="#0066CC", size=20))
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format=time_format, labelAngle=0)),
            y=alt.Y("incidents:Q", title="Delitti"),
            tooltip=[alt.Tooltip("period:T", title="Periodo", format=time_format),
                     alt.Tooltip("shown:N", title="Delitti")],
        )
        .properties(height=220)
        .configure(locale=VEGA_LOCALE)
    )


def ranking_chart(ranking: trends.Ranking) -> alt.LayerChart:
    """All provinces by rate, ours highlighted, with the national and regional medians."""
    table = ranking.table.assign(
        gruppo=lambda d: d["ours"].map({True: "ours"}).fillna(
            d["regione"].eq(ranking.region).map({True: "region", False: "other"})),
    )
    colour = alt.Color(
        "gruppo:N", title=None,
        scale=alt.Scale(domain=["ours", "region", "other"], range=[OURS, REGION, OTHERS]),
        legend=alt.Legend(orient="top", labelExpr=(
            f"datum.value == 'ours' ? '{_js(ranking.name or ranking.nuts3)}' : "
            f"datum.value == 'region' ? 'Altre province ({_js(ranking.region or '')})' : 'Altre province'"),
        labelLimit=300),
    )
    # An explicit order (the table is sorted by rank) survives layering; a sort field would not.
    x = alt.X("territorio:N", sort=list(table["territorio"]),
              axis=alt.Axis(labels=False, ticks=False, title=f"{ranking.n} province, dal tasso più alto al più basso"))
    bars = alt.Chart(table).mark_bar().encode(
        x=x,
        y=alt.Y("tasso_per_1000:Q", title="Delitti denunciati per 1.000 abitanti"),
        color=colour,
        tooltip=[alt.Tooltip("rank:Q", title="Posizione"), alt.Tooltip("territorio:N", title="Provincia"),
                 alt.Tooltip("regione:N", title="Regione"),
                 alt.Tooltip("tasso_per_1000:Q", title="Per 1.000 abitanti", format=",.2f"),
                 alt.Tooltip("delitti:Q", title="Delitti denunciati", format=",d"),
                 alt.Tooltip("popolazione:Q", title="Popolazione", format=",d")],
    )
    layers = [bars]
    medians = pd.DataFrame([
        {"y": ranking.national_median, "etichetta": f"Mediana nazionale {fmt_dec(ranking.national_median, 1)}"},
        {"y": ranking.regional_median, "etichetta": f"{median_label(ranking.region)} "
                                                     f"{fmt_dec(ranking.regional_median, 1)}"},
    ]).dropna()
    if not medians.empty:
        rule = alt.Chart(medians).mark_rule(strokeDash=[5, 4], color="#333").encode(y="y:Q")
        text = alt.Chart(medians).mark_text(align="right", dx=0, dy=-6, x="width", fontSize=11, color="#333").encode(
            y="y:Q", text="etichetta:N")
        layers += [rule, text]
    ours = table[table["ours"]]
    if not ours.empty:
        label = alt.Chart(ours).mark_text(dy=-8, fontWeight="bold", color=OURS).encode(
            x=x, y="tasso_per_1000:Q", text=alt.value(f"{ranking.name} {ranking.rank}°"))
        layers.append(label)
    return alt.layer(*layers).properties(height=320).configure(locale=VEGA_LOCALE)


def rate_chart(series: pd.DataFrame, *, name: str, region: str | None) -> alt.Chart:
    names = {"tasso": name, "mediana_regionale": median_label(region), "mediana_nazionale": "Mediana nazionale"}
    long = series.melt(id_vars="anno", value_vars=list(names), var_name="serie", value_name="tasso_val")
    long["serie"] = long["serie"].map(names)
    return (
        alt.Chart(long, title="Delitti denunciati per 1.000 abitanti")
        .mark_line(point=True)
        .encode(
            x=alt.X("anno:O", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("tasso_val:Q", title="per 1.000 abitanti", scale=alt.Scale(zero=False)),
            color=alt.Color("serie:N", title=None,
                            scale=alt.Scale(domain=list(names.values()), range=[OURS, REGION, "#555555"]),
                            legend=alt.Legend(orient="top", symbolType="stroke", labelLimit=300)),
            strokeDash=alt.StrokeDash("serie:N", title=None,
                                      scale=alt.Scale(domain=list(names.values()), range=[[1, 0], [6, 3], [2, 2]]),
                                      legend=alt.Legend(orient="top", symbolType="stroke", labelLimit=300)),
            tooltip=[alt.Tooltip("anno:O", title="Anno"), alt.Tooltip("serie:N", title="Serie"),
                     alt.Tooltip("tasso_val:Q", title="Per 1.000 abitanti", format=",.2f")],
        )
        .properties(height=300)
        .configure(locale=VEGA_LOCALE)
    )


def calibration_chart(official: pd.DataFrame) -> alt.Chart:
    totals = official[official["categoria"] == "totale"]
    long = pd.concat([
        totals[["anno", "ufficiali"]].rename(columns={"ufficiali": "delitti"}).assign(
            serie="Ufficiali ISTAT (reali)"),
        totals.loc[totals["mesi"] == 12, ["anno", "dataset"]].rename(columns={"dataset": "delitti"}).assign(
            serie="Dataset (anni completi)"),
    ]).dropna()
    return (
        alt.Chart(long, title="Totali annui della provincia")
        .mark_bar()
        .encode(
            x=alt.X("anno:O", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset="serie:N",
            y=alt.Y("delitti:Q", title="Delitti"),
            color=alt.Color("serie:N", title=None,
                            scale=alt.Scale(domain=["Ufficiali ISTAT (reali)", "Dataset (anni completi)"],
                                            range=["#0066CC", "#E08E0B"]),
                            legend=alt.Legend(orient="bottom", labelLimit=300)),
            tooltip=[alt.Tooltip("anno:O", title="Anno"), alt.Tooltip("serie:N", title="Serie"),
                     alt.Tooltip("delitti:Q", title="Delitti", format=",d")],
        )
        .properties(height=300)
        .configure(locale=VEGA_LOCALE)
    )


def scarto_texts(rows: pd.DataFrame) -> list[str]:
    """Gap in percent (computed from the figures the role sees)."""
    return [fmt_dec(x, 1, sign=True) + " %" if not pd.isna(x) else "–" for x in rows["scarto_pct"]]


def _js(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def median_label(region: str | None) -> str:
    """``"Mediana Toscana"``; ``"Mediana regionale"`` when the region is unknown."""
    return f"Mediana {region}" if region else "Mediana regionale"


def table_height(rows: int) -> int:
    """Pixels for a dataframe showing ``rows`` rows without scrolling (header included)."""
    return 35 * (rows + 1) + 3


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

def change_table(change: pd.DataFrame, *, first_column: str) -> pd.io.formats.style.Styler:
    """The change table with arrows, signs and colours (red up, green down)."""
    shown = pd.DataFrame({
        first_column: change["label"],
        "Periodo attuale": change["current_shown"],
        "Periodo precedente": change["previous_shown"],
        "Variazione": [_delta_text(d, c, p) for d, c, p in
                       zip(change["delta"], change["current_shown"], change["previous_shown"], strict=True)],
        "Variazione %": [fmt_dec(x, 1, sign=True) + " %" if not pd.isna(x) else "–" for x in change["delta_pct"]],
        "": [trends.trend_arrow(d, p) for d, p in zip(change["delta"], change["delta_pct"], strict=True)],
    })

    def colour(row: pd.Series) -> list[str]:
        arrow = row[""]
        tint = f"color: {INCREASE}" if arrow == "▲" else f"color: {DECREASE}" if arrow == "▼" else ""
        weight = "font-weight: bold" if row[first_column] == "Totale" else ""
        return [";".join(x for x in (tint if col in ("Variazione", "Variazione %", "") else "", weight) if x)
                for col in row.index]

    return shown.style.apply(colour, axis=1)


def _delta_text(delta: float, current: str, previous: str) -> str:
    if not pd.isna(delta):
        return fmt_dec(delta, 0, sign=True)
    if previous == "n.d.":
        return "–"
    return "riservato" if not (_is_number(current) and _is_number(previous)) else "–"


def _is_number(text: str) -> bool:
    return text.replace(".", "").isdigit()


def series_table(series: pd.DataFrame, *, freq: str) -> pd.DataFrame:
    """The chart's values as a table (periods in rows), with hidden values as their label."""
    wide = series.pivot(index="period", columns="label", values="shown")
    wide = wide[list(dict.fromkeys(series["label"]))]
    if freq == "Y":  # a year cut by the period sums only some months
        wide.insert(0, "Mesi", series.groupby("period")["months"].first())
    wide.index = [month_label(p) if freq == "M" else str(p.year) for p in wide.index]
    wide.index.name = "Periodo"
    return wide.reset_index()


def change_metric(total: pd.Series) -> tuple[str, str | None]:
    """The value and the delta text of the *Variazione* metric from the total row of
    :func:`geo.overview.trends.period_change`: ``("+12,5 %", "+30 delitti")``; ``"n.d."`` when unknown."""
    value = fmt_dec(total["delta_pct"], 1, sign=True) + " %" if not pd.isna(total["delta_pct"]) else "n.d."
    delta = None if pd.isna(total["delta"]) else f"{fmt_dec(total['delta'], 0, sign=True)} delitti"
    return value, delta


def rates_table(rates: pd.DataFrame, *, name: str, region: str | None) -> pd.DataFrame:
    """The yearly rates of :func:`geo.overview.trends.rate_series` as Italian text, with the rank."""
    return pd.DataFrame({
        "Anno": rates["anno"].astype(str),
        name: [fmt_dec(x, 2) for x in rates["tasso"]],
        median_label(region): [fmt_dec(x, 2) for x in rates["mediana_regionale"]],
        "Mediana nazionale": [fmt_dec(x, 2) for x in rates["mediana_nazionale"]],
        "Posizione": [f"{int(r)}° su {int(n)}" if not pd.isna(r) else "–" for r, n in
                      zip(rates["rank"], rates["n"], strict=True)],
    })


def official_totals(official: pd.DataFrame) -> pd.DataFrame:
    """The yearly totals of :func:`geo.overview.trends.protect_official` (already protected) as a table."""
    totals = official[official["categoria"] == "totale"]
    return pd.DataFrame({
        "Anno": totals["anno"].astype(str),
        "Delitti denunciati (ufficiali)": totals["ufficiali_shown"],
        "Delitti nel dataset": totals["dataset_shown"],
        "Mesi nel dataset": totals["mesi"],
        "Scarto %": scarto_texts(totals),
        "Fonte ufficiale": totals["fonte"].fillna("–"),
    })


def official_by_category(official: pd.DataFrame) -> pd.DataFrame:
    """The categories of the years with both an official and a dataset figure (empty otherwise)."""
    both = official[(official["categoria"] != "totale") & (official["ufficiali_shown"] != privacy.MISSING_LABEL)
                    & (official["dataset_shown"] != privacy.MISSING_LABEL)]
    return pd.DataFrame({
        "Anno": both["anno"].astype(str),
        "Categoria": both["label"],
        "Ufficiali": both["ufficiali_shown"],
        "Dataset": both["dataset_shown"],
        "Scarto %": scarto_texts(both),
        "Fonte": both["fonte"],
    })
