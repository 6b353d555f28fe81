"""The monitoring report of the Cabina di regia: every intervention with status, spend, effect,
interval and displacement, as a printable HTML page and a CSV (``;``, Italian numbers)."""

from __future__ import annotations

import html
from datetime import date

import pandas as pd

from geo.access.permissions import User
from geo.access.privacy import format_decimal, format_int, format_percent
from geo.data.storage import Store
from geo.interventions.evaluation import METHOD_TEXT, EvaluationError, count_matrix, evaluate_matrix
from geo.interventions.register import list_interventions


def _date_it(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).strftime("%d/%m/%Y")


def monitoring_frame(store: Store, actor: User | None, *, n_placebo: int = 99) -> pd.DataFrame:
    """One row per visible intervention, with its evaluation (all crime families together)."""
    items = list_interventions(store, actor)
    matrices: dict[int, pd.DataFrame] = {}
    rows = []
    for it in items.itertuples():
        row = {"id": it.intervention_id, "titolo": it.title, "tipo": it.tipo, "stato": it.stato,
               "inizio": _date_it(it.start_date), "fine": _date_it(it.end_date), "costo_eur": it.cost_eur,
               "responsabile": it.responsible, "esagoni": int(it.n_cells), "sintetico": bool(it.synthetic),
               "effetto": None, "basso": None, "alto": None, "p": None, "wdq": None, "nota": ""}
        try:
            if it.res not in matrices:
                matrices[it.res] = count_matrix(store, int(it.res))
            out = evaluate_matrix(matrices[it.res], store.intervention_cells(it.intervention_id),
                                  pd.Timestamp(it.start_date).date(), n_placebo=n_placebo)
            row.update(effetto=out.effect, basso=out.low - 1, alto=out.high - 1, p=out.p_value, wdq=out.wdq,
                       nota="attenzione: regressione verso la media" if out.rtm_warning else "")
        except EvaluationError as exc:
            row["nota"] = str(exc)
        rows.append(row)
    return pd.DataFrame(rows, columns=["id", "titolo", "tipo", "stato", "inizio", "fine", "costo_eur", "responsabile",
                                       "esagoni", "sintetico", "effetto", "basso", "alto", "p", "wdq", "nota"])


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Italian-formatted columns for tables, CSV and HTML."""
    out = pd.DataFrame({
        "Codice": frame["id"], "Titolo": frame["titolo"], "Tipo": frame["tipo"], "Stato": frame["stato"],
        "Inizio": frame["inizio"], "Fine": frame["fine"],
        "Costo (€)": [format_int(v) if v is not None and not pd.isna(v) else "" for v in frame["costo_eur"]],
        "Responsabile": frame["responsabile"], "Esagoni": frame["esagoni"].map(format_int),
        "Dati": ["sintetici (demo)" if s else "reali" for s in frame["sintetico"]],
        "Effetto": [format_percent(v, 0) if v is not None and not pd.isna(v) else "" for v in frame["effetto"]],
        "Intervallo 95 %": [f"{format_percent(lo, 0)}; {format_percent(hi, 0)}"
                            if lo is not None and not pd.isna(lo) else "" for lo, hi in zip(frame["basso"],
                                                                                               frame["alto"],
                                                                                               strict=True)],
        "p-value": [format_decimal(v, 3) if v is not None and not pd.isna(v) else "" for v in frame["p"]],
        "WDQ": [format_decimal(v, 2) if v is not None and not pd.isna(v) else "" for v in frame["wdq"]],
        "Note": frame["nota"],
    })
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV with ``;`` (Excel in Italian), UTF-8 with BOM; cells starting with = + - @ neutralised."""
    shown = display_frame(frame).map(lambda v: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" and
                                     not v[1:2].isdigit() else v)
    return shown.to_csv(sep=";", index=False).encode("utf-8-sig")


def html_report(frame: pd.DataFrame, *, today: date | None = None) -> str:
    """A printable HTML page (every value escaped)."""
    shown = display_frame(frame)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    synthetic = bool(frame["sintetico"].any()) if len(frame) else False
    when = (today or date.today()).strftime("%d/%m/%Y")
    note = ("<p class='demo'>Contiene interventi sintetici della demo: non sono dati reali.</p>" if synthetic else "")
    return f"""<!doctype html><html lang="it"><head><meta charset="utf-8">
<title>Monitoraggio degli interventi</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:11px}}
td,th{{border:1px solid #999;padding:3px}}.demo{{color:#a00}}@media print{{body{{margin:0}}}}</style></head>
<body><h1>Monitoraggio degli interventi del Patto (art. 19)</h1><p>Cabina di regia, {when}.</p>{note}
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p>{html.escape(METHOD_TEXT)}</p><p>Effetto negativo = calo degli episodi rispetto alle aree di confronto.
WDQ &gt; 0: diffusione dei benefici nell'anello circostante; &lt; 0: spostamento.</p></body></html>"""
