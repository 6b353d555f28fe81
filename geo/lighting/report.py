"""What the Regione and the CPOSP take away from a lighting plan: the ranked table, CSV and
GeoJSON exports, the parameter sheet with sources, and a printable HTML summary.

Privacy follows :mod:`geo.access.disclosure`: for a role without clearance the plan is computed on
the cell-key protected counts of the hexagons (:func:`geo.lighting.need.lighting_need` with
``role``; :attr:`geo.lighting.plan.Plan.protected`), so every figure derived from them (prevented
incidents of each intervention, of each comune, of the plan, of every frontier budget) publishes
nothing the protected counts do not, and is shown as a number with its range. A plan computed on
exact counts is refused for such a role (:class:`ExactFiguresError`) instead of being shown with
labels. Cleared roles see the exact figures. Every text written into HTML is escaped; CSV text
cells that a spreadsheet would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Mapping
from dataclasses import fields

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd

from geo.access.disclosure import PROTECTED_NOTE
from geo.access.privacy import DERIVED_LABEL, can_see_exact, format_decimal, format_int
from geo.lighting.costs import CostParams, EnergyParams
from geo.lighting.effects import FAMILY_BY_KEY, STUDIES, EffectModel, family_column
from geo.lighting.need import BASIS_LABELS, NeedParams
from geo.lighting.plan import KINDS, Plan, PlanOptions

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Columns of the exported plan (Italian headers) in order.
PLAN_HEADERS: dict[str, str] = {
    "rank": "Posizione",
    "id": "Intervento",
    "h3": "Esagono H3",
    "comune": "Comune",
    "place": "Località",
    "pro_com_t": "Codice ISTAT",
    "kind_label": "Tipo",
    "points": "Punti luce",
    "cost_eur": "Costo (€)",
    "cumulative_cost_eur": "Costo cumulato (€)",
    "prevented_low": "Delitti evitati/anno (basso)",
    "prevented_central": "Delitti evitati/anno (centrale)",
    "prevented_high": "Delitti evitati/anno (alto)",
    "perceived": "Punti di sicurezza percepita",
    "kwh_saved": "Energia risparmiata (kWh/anno)",
    "eur_saved": "Risparmio (€/anno)",
    "co2_saved_kg": "CO₂ evitata (kg/anno)",
    "night_outdoor": "Delitti notturni all'aperto nel periodo",
    "outskirts": "Periferia",
    "under_lit": "Sottoilluminato",
    "distance_km": "Distanza dal centro (km)",
}
PREVENTED = ("prevented_low", "prevented_central", "prevented_high")
#: Why a plan is not shown to a role (Italian UI text): it was computed on exact counts.
EXACT_ONLY_NOTE = ("il piano è calcolato sui conteggi esatti, riservati ai profili autorizzati: per questo profilo va "
                   "calcolato sui conteggi protetti (Patto, art. 3)")


class ExactFiguresError(PermissionError):
    """A plan (or frontier) computed on exact counts asked for by a role without clearance."""


def privacy_note(role: str | None) -> str:
    """What the plan's incident figures are for ``role`` (Italian)."""
    if can_see_exact(role):
        return "Valori esatti (profilo autorizzato)."
    return (f"{PROTECTED_NOTE} Il piano, i delitti evitati, le quote per comune e la frontiera sono calcolati "
            "dai conteggi protetti.")


def _neutralise(value: object) -> object:
    """Prefix text a spreadsheet would run as a formula with an apostrophe (OWASP, CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def publishable(protected: bool, role: str | None) -> bool:
    """True when figures computed on exact (``protected`` False) or protected counts may be shown
    to ``role``: cleared roles see both, the others only figures on protected counts."""
    return can_see_exact(role) or bool(protected)


def _check(protected: bool, role: str | None) -> None:
    if not publishable(protected, role):
        raise ExactFiguresError(EXACT_ONLY_NOTE[0].upper() + EXACT_ONLY_NOTE[1:] + ".")


def totals_hidden(plan: Plan, role: str | None) -> bool:
    """True when ``role`` may not see the plan's figures (a plan on exact counts for a role without
    clearance: :func:`publishable`). Plans made for the role are never hidden."""
    return not publishable(plan.protected, role)


def public_by_comune(plan: Plan, role: str | None) -> pd.DataFrame:
    """``plan.by_comune`` for ``role``: cost, share, interventions and prevented incidents per
    year (low / central / high) of each comune, as numbers. Raises :class:`ExactFiguresError` for
    a plan on exact counts and a role without clearance."""
    _check(plan.protected, role)
    return plan.by_comune.copy()


def public_totals(plan: Plan, role: str | None) -> dict:
    """The plan's totals for ``role`` (see :func:`public_by_comune` for the check)."""
    _check(plan.protected, role)
    return dict(plan.totals)


def public_frontier(front: pd.DataFrame, role: str | None) -> pd.DataFrame:
    """The frontier for ``role``: every budget with its prevented incidents (low / central / high)
    and marginal gain. ``front.attrs["protected"]`` (set by :func:`geo.lighting.plan.frontier`)
    says whether it derives from protected counts; raises :class:`ExactFiguresError` for exact
    figures and a role without clearance."""
    _check(bool(front.attrs.get("protected", False)), role)
    return front


def plan_table(plan: Plan, names: Mapping[str, str], *, role: str | None) -> pd.DataFrame:
    """The ranked plan with Italian headers (numbers only; for a role without clearance the plan
    must be computed on protected counts, :class:`ExactFiguresError` otherwise).

    Parameters
    ----------
    plan
        :func:`geo.lighting.plan.optimise` result.
    names
        ``pro_com_t -> comune name``.
    role
        Viewer's role (:mod:`geo.access.privacy`).
    """
    _check(plan.protected, role)
    sel = plan.selected
    if sel.empty:
        return pd.DataFrame(columns=list(PLAN_HEADERS.values()))
    out = pd.DataFrame({
        "rank": sel["rank"].to_numpy(),
        "id": sel["id"].to_numpy(),
        "h3": sel["h3"].to_numpy(),
        "comune": sel["pro_com_t"].map(lambda c: names.get(c, c)).to_numpy(),
        "place": (sel["place"] if "place" in sel else pd.Series(None, index=sel.index, dtype=object)).to_numpy(
            dtype=object),
        "pro_com_t": sel["pro_com_t"].to_numpy(),
        "kind_label": sel["kind"].map(KINDS).to_numpy(),
        "points": sel["points"].astype(int).to_numpy(),
        "cost_eur": sel["cost_eur"].round(2).to_numpy(),
        "cumulative_cost_eur": sel["cumulative_cost_eur"].round(2).to_numpy(),
    })
    for col in PREVENTED:
        out[col] = sel[col].astype(float).round(3).to_numpy()
    out["perceived"] = sel["perceived"].round(2).to_numpy()
    out["kwh_saved"] = sel["kwh_saved"].round(0).to_numpy()
    out["eur_saved"] = sel["eur_saved"].round(0).to_numpy()
    out["co2_saved_kg"] = sel["co2_saved_kg"].round(0).to_numpy()
    out["night_outdoor"] = sel["night_outdoor"].astype(int).to_numpy()  # protected for roles without clearance
    out["outskirts"] = np.where(sel["outskirts"], "sì", "no")
    out["under_lit"] = np.where(sel["under_lit"], "sì", "no")
    out["distance_km"] = sel["distance_km"].round(2).to_numpy()
    return out.rename(columns=PLAN_HEADERS)


def plan_csv(plan: Plan, names: Mapping[str, str], *, role: str | None) -> bytes:
    """The plan as CSV for Italian spreadsheets: UTF-8 with BOM, ';' separator, decimal comma,
    formula-like text neutralised."""
    table = plan_table(plan, names, role=role)
    for col in table.columns:
        if pd.api.types.is_float_dtype(table[col]):
            continue
        if pd.api.types.is_integer_dtype(table[col]):
            continue
        table[col] = table[col].map(lambda v: _neutralise(format_decimal(v, 3)) if isinstance(v, float)
                                    else _neutralise(v))
    buf = io.StringIO()
    table.to_csv(buf, sep=";", decimal=",", index=False)
    return buf.getvalue().encode("utf-8-sig")


def hex_ring(cell: int, decimals: int = 5) -> list[list[float]]:
    """Closed GeoJSON ring (lon, lat) of an int64 H3 cell, coordinates rounded to ``decimals``
    (5 decimals of a degree are about 1 m)."""
    ring = [[round(lng, decimals), round(lat, decimals)] for lat, lng in h3n.cell_to_boundary(int(cell))]
    return [*ring, ring[0]]


def _json_value(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def plan_geojson(plan: Plan, names: Mapping[str, str], *, role: str | None,
                 metadata: Mapping[str, object] | None = None) -> str:
    """The plan as a GeoJSON FeatureCollection (WGS84, RFC 7946): one hexagon per intervention with
    the table's fields; ``metadata`` (parameters, totals) goes in the top-level ``lanterna`` member."""
    table = plan_table(plan, names, role=role)
    features = []
    for cell, row in zip(plan.selected["cell"], table.to_dict("records"), strict=True):
        features.append({"type": "Feature", "properties": {k: _json_value(v) for k, v in row.items()},
                         "geometry": {"type": "Polygon", "coordinates": [hex_ring(int(cell), 6)]}})
    meta = {k: _json_value(v) for k, v in (metadata or {}).items()}
    meta["riservatezza"] = "Valori esatti (profilo autorizzato)" if can_see_exact(role) else PROTECTED_NOTE
    return json.dumps({"type": "FeatureCollection", "name": "lanterna_piano_illuminazione", "lanterna": meta,
                       "features": features}, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Parameters with their sources
# --------------------------------------------------------------------------------------------

def _fmt_param(value: object) -> str:
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, int | float):
        v = float(value)
        return format_int(v) if v.is_integer() and abs(v) >= 10 else format_decimal(v, 3).rstrip("0").rstrip(",")
    return str(value)


def format_percent_value(share: float) -> str:
    """A relative effect (0-1) as an Italian percentage with at most one decimal: 0.215 → "21,5 %"."""
    text = format_decimal(share * 100, 1)
    return (text[:-2] if text.endswith(",0") else text) + " %"


def family_table(effects: EffectModel, need: pd.DataFrame | None = None) -> pd.DataFrame:
    """The effects per crime family (Italian headers): categories, low / central / high, whether
    the plan counts the family, its night-time outdoor incidents per year in ``need`` (the
    figures the role sees) and their share of the pool, and the source of the values."""
    rows = []
    year = {k: float(need[family_column(k, "year")].sum()) if need is not None and len(need) else 0.0
            for k, *_ in effects.families}
    pool = sum(year.values())
    for key, lo, c, h in effects.families:
        fam = FAMILY_BY_KEY[key]
        row = {"Famiglia": fam.label, "Categorie": ", ".join(fam.categories),
               "Basso": format_percent_value(lo), "Centrale": format_percent_value(c), "Alto": format_percent_value(h),
               "Conta nel piano": "sì" if h > 0 else "no"}
        if need is not None:
            row["Delitti notturni all'aperto/anno"] = format_decimal(year[key], 1)
            row["Quota del totale"] = f"{format_decimal(100 * year[key] / pool, 1)} %" if pool > 0 else "–"
        row["Fonte"] = fam.source if (lo, c, h) == (fam.low, fam.central, fam.high) else (
            "Valore modificato dal pianificatore. Predefinito: " + fam.source)
        rows.append(row)
    return pd.DataFrame(rows)


def pool_coverage(effects: EffectModel, need: pd.DataFrame) -> dict:
    """Night-time outdoor incidents per year of ``need``: ``pool`` (every family), ``counted``
    (families with an effect above 0 at the high end), ``share`` (counted / pool, NaN without
    incidents) and ``families`` (the counted families' labels)."""
    counted = effects.counted()
    year = {k: float(need[family_column(k, "year")].sum()) if len(need) else 0.0 for k, *_ in effects.families}
    pool = sum(year.values())
    inside = sum(year[k] for k in counted)
    return {"pool": pool, "counted": inside, "share": inside / pool if pool > 0 else float("nan"),
            "families": [FAMILY_BY_KEY[k].label for k in counted]}


def coverage_sentence(coverage: Mapping[str, object]) -> str:
    """Which families count and how much of the night-time outdoor incidents they are (Italian)."""
    fams = coverage["families"]
    if not fams:
        return "Nessuna famiglia di reato ha un effetto: il piano non conta delitti evitati."
    share = coverage["share"]
    share_text = "" if not isinstance(share, float) or math.isnan(share) else (
        f" ({format_decimal(float(coverage['counted']), 1)} dei {format_decimal(float(coverage['pool']), 1)} delitti "
        f"notturni all'aperto all'anno, {format_decimal(100 * share, 1)} %)")
    return (f"Contano le famiglie di reato misurate dagli studi: {', '.join(fams)}{share_text}; le altre hanno "
            "effetto 0, salvo modifica.")


def parameters_table(costs: CostParams, energy: EnergyParams, effects: EffectModel,
                     need: NeedParams | None = None, need_attrs: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Every parameter of the plan with its value and source (Italian): ``Gruppo``, ``Parametro``,
    ``Valore``, ``Fonte``."""
    rows = []
    for group, obj in (("Costi unitari", costs), ("Energia", energy)):
        for f in fields(obj):
            rows.append({"Gruppo": group, "Parametro": obj.LABELS[f.name], "Valore": _fmt_param(getattr(obj, f.name)),
                         "Fonte": obj.SOURCES[f.name]})
    for key, lo, c, h in effects.families:
        fam = FAMILY_BY_KEY[key]
        rows.append({"Gruppo": "Effetti per famiglia di reato",
                     "Parametro": f"{fam.label} (basso / centrale / alto)",
                     "Valore": " / ".join(format_percent_value(v) for v in (lo, c, h)),
                     "Fonte": fam.source if (lo, c, h) == (fam.low, fam.central, fam.high)
                     else "Valore modificato dal pianificatore. Predefinito: " + fam.source})
    for name in ("repair_lit", "led", "diffusion"):
        rows.append({"Gruppo": "Effetti", "Parametro": effects.LABELS[name],
                     "Valore": _fmt_param(getattr(effects, name)), "Fonte": effects.SOURCES[name]})
    if need is not None:
        rule = need.rule
        attrs = dict(need_attrs or {})
        basis = str(attrs.get("basis", rule.basis))
        reference = (f"{_fmt_param(attrs['target_scale'])} × base^{_fmt_param(attrs['target_exponent'])}"
                     if "target_scale" in attrs else "")
        if rule.target is None:
            reference_source = (f"{attrs.get('target_source', 'centri')}: gli esagoni sono confrontati con quelli dei "
                                "centri di pari dimensione (regressione sui logaritmi).")
        else:
            reference_source = "Densità fissata dall'utente (punti luce per unità della base)."
        rows += [
            {"Gruppo": "Fabbisogno", "Parametro": rule.LABELS["basis"], "Valore": BASIS_LABELS.get(basis, basis),
             "Fonte": "Strade se è caricato un livello stradale, altrimenti residenti (sicurezza percepita dei "
                      "residenti, art. 5)."},
            {"Gruppo": "Fabbisogno", "Parametro": "Obiettivo di punti luce per esagono",
             "Valore": reference or ("fissato" if rule.target else "dai centri"), "Fonte": reference_source},
            {"Gruppo": "Fabbisogno", "Parametro": rule.LABELS["underlit_below"],
             "Valore": _fmt_param(rule.underlit_below),
             "Fonte": "Sottoilluminato: punti luce funzionanti sotto questa quota dell'obiettivo."},
            {"Gruppo": "Fabbisogno", "Parametro": rule.LABELS["min_points"], "Valore": _fmt_param(rule.min_points),
             "Fonte": "Sotto questo numero di punti attesi le differenze sono casuali."},
            {"Gruppo": "Fabbisogno", "Parametro": need.LABELS["outskirts_km"], "Valore": _fmt_param(need.outskirts_km),
             "Fonte": "Distanza dal municipio (località capoluogo o sede comunale); art. 5 nomina le periferie."},
        ]
        for key in ("w_reports_lighting", "w_reports_other", "w_schools", "w_services", "w_destinations"):
            rows.append({"Gruppo": "Domanda percepita", "Parametro": need.LABELS[key],
                         "Valore": _fmt_param(getattr(need, key)),
                         "Fonte": "Peso di lavoro della domanda di sicurezza percepita (ipotesi, modificabile)."})
    return pd.DataFrame(rows, columns=["Gruppo", "Parametro", "Valore", "Fonte"])


# --------------------------------------------------------------------------------------------
# Printable summary
# --------------------------------------------------------------------------------------------

def _eur(v: float) -> str:
    return f"{format_int(v)} €"


def _range(t: Mapping[str, float], decimals: int = 1) -> str:
    return (f"{format_decimal(t['prevented_central'], decimals)} (intervallo "
            f"{format_decimal(t['prevented_low'], decimals)}–{format_decimal(t['prevented_high'], decimals)})")


def effect_sentence(totals: Mapping[str, float], *, hidden: bool = False) -> str:
    """The plan's expected effect in one Italian sentence, always with its range (``hidden``: the
    plan may not be shown to the role, see :func:`totals_hidden`; never for a plan made for it)."""
    if hidden or totals.get("prevented_central") is None:
        return f"Delitti notturni all'aperto evitati all'anno: {DERIVED_LABEL} ({EXACT_ONLY_NOTE})."
    return (f"Delitti notturni all'aperto evitati all'anno: {_range(totals)}. Il valore centrale è un'attesa, "
            "non una promessa: l'intervallo riflette le prove disponibili.")


def energy_sentence(totals: Mapping[str, float]) -> str:
    """Energy figures of the plan in one Italian sentence."""
    payback = totals["led_payback_years"]
    pay = "–" if not math.isfinite(payback) else f"{format_decimal(payback, 1)} anni"
    return (f"Sostituzioni LED: −{format_int(totals['led_kwh_saved'])} kWh/anno, {_eur(totals['led_eur_saved'])}/anno, "
            f"−{format_decimal(totals['led_co2_saved_kg'] / 1000, 1)} t CO₂/anno; ritorno semplice dell'investimento "
            f"LED {pay}. Riparazioni e nuovi punti consumano {format_int(totals['extra_kwh'])} kWh/anno in più; "
            f"saldo netto {format_int(totals['net_kwh_saved'])} kWh/anno ({_eur(totals['net_eur_saved'])}/anno).")


def citations_html() -> str:
    """The evidence used, with full citations and how each is used (escaped HTML list)."""
    e = html.escape
    items = "".join(f"<li><b>{e(s.short)}</b> – {e(s.finding)} <i>Uso: {e(s.use)}.</i><br>"
                    f"<span class='muted'>{e(s.citation)}</span></li>" for s in STUDIES)
    return f"<ol>{items}</ol>"


def families_html(parameters: pd.DataFrame) -> str:
    """The per-family effect rows of a :func:`parameters_table` as an escaped HTML table."""
    e = html.escape
    rows = parameters[parameters["Gruppo"] == "Effetti per famiglia di reato"] if len(parameters) else parameters
    if not len(rows):
        return "<p>–</p>"
    body = "".join(f"<tr><td>{e(r['Parametro'])}</td><td>{e(str(r['Valore']))}</td><td>{e(r['Fonte'])}</td></tr>"
                   for r in rows.to_dict("records"))
    return f"<table><tr><th>Famiglia</th><th>Basso / centrale / alto</th><th>Fonte</th></tr>{body}</table>"


def summary_html(
    plan: Plan,
    *,
    names: Mapping[str, str],
    role: str | None,
    options: PlanOptions,
    parameters: pd.DataFrame,
    frontier: pd.DataFrame | None = None,
    context: Mapping[str, object] | None = None,
    top: int = 60,
) -> str:
    """A printable HTML summary for the CPOSP (printed to PDF from the browser): the plan, its
    effect with the range, energy, the frontier, every parameter with its source, the citations."""
    e = html.escape
    t = plan.totals
    _check(plan.protected, role)
    ctx = dict(context or {})
    table = plan_table(plan, names, role=role).head(top)
    cols = [PLAN_HEADERS[k] for k in ("rank", "comune", "place", "h3", "kind_label", "points", "cost_eur",
                                      "cumulative_cost_eur", "prevented_low", "prevented_central", "prevented_high",
                                      "kwh_saved", "outskirts", "under_lit")]
    body = "".join("<tr>" + "".join(f"<td>{e(_text(r[c]))}</td>" for c in cols) + "</tr>"
                   for r in table.to_dict("records"))
    by = public_by_comune(plan, role)
    comuni_rows = "".join(
        f"<tr><td>{e(names.get(r['pro_com_t'], r['pro_com_t']))}</td><td>{e(_eur(r['cost_eur']))}</td>"
        f"<td>{e(format_decimal(r['share'] * 100, 1))} %</td><td>{r['interventions']}</td>"
        f"<td>{e(_decimal(r['prevented_central'], 1))} ({e(_decimal(r['prevented_low'], 1))}–"
        f"{e(_decimal(r['prevented_high'], 1))})</td></tr>" for r in by.to_dict("records"))
    kinds = "".join(f"<tr><td>{e(KINDS[k])}</td><td>{format_int(t['points'][k])}</td>"
                    f"<td>{e(_eur(t['cost_by_kind'][k]))}</td></tr>" for k in KINDS)
    params = "".join(f"<tr><td>{e(r['Gruppo'])}</td><td>{e(r['Parametro'])}</td><td>{e(str(r['Valore']))}</td>"
                     f"<td>{e(r['Fonte'])}</td></tr>" for r in parameters.to_dict("records"))
    front = ""
    if frontier is not None and len(frontier):
        shown = public_frontier(frontier, role)
        front_rows = "".join(
            f"<tr><td>{e(_eur(r['budget_eur']))}</td><td>{e(_decimal(r['prevented_low'], 1))}</td>"
            f"<td>{e(_decimal(r['prevented_central'], 1))}</td>"
            f"<td>{e(_decimal(r['prevented_high'], 1))}</td>"
            f"<td>{e(_decimal(r['marginal_central'], 2))}</td></tr>" for r in shown.to_dict("records"))
        front = ("<h2>Frontiera efficiente</h2><p>Delitti evitati all'anno con il piano ottimo per ogni budget; "
                 "l'ultima colonna è quanto aggiunge ogni passo di budget.</p><table><tr><th>Budget</th><th>Basso</th>"
                 f"<th>Centrale</th><th>Alto</th><th>In più rispetto al passo precedente</th></tr>{front_rows}</table>")
    constraints = []
    if options.outskirts_only:
        constraints.append("solo periferie")
    if options.min_share or options.max_share != 1.0:
        constraints.append(f"quote per comune: minimo {e(_share_text(options.min_share))}, massimo "
                           f"{e(_share_text(options.max_share))} del costo del piano")
    if options.force_in:
        constraints.append(f"{len(options.force_in)} interventi imposti")
    if options.force_out:
        constraints.append(f"{len(options.force_out)} interventi esclusi")
    if options.perceived_weight:
        constraints.append(f"peso della sicurezza percepita {e(format_decimal(options.perceived_weight, 3))} delitti "
                           "equivalenti per punto di domanda")
    notes = "".join(f"<li>{e(n)}</li>" for n in plan.warnings)
    demo = ('<p class="warn"><b>Dati dimostrativi</b>: delitti, punti luce e segnalazioni sono generati.</p>'
            if ctx.get("demo") else "")
    return f"""<!DOCTYPE html><html lang="it"><head><meta charset="utf-8"><title>Piano illuminazione</title>
<style>
body{{font-family:system-ui,sans-serif;font-size:11pt;margin:2em;color:#1a1a1a}}
h1{{font-size:18pt}} h2{{font-size:14pt;margin-top:1.4em}}
table{{border-collapse:collapse;width:100%;font-size:9pt}}
td,th{{border:1px solid #bbb;padding:3px 5px;vertical-align:top}} th{{background:#eef3f8}}
.warn{{background:#fff3cd;padding:6px;border:1px solid #e0c36a}} .muted{{color:#555;font-size:9pt}}
.key{{font-size:13pt;border-left:4px solid #0066CC;padding-left:10px}}
@media print{{body{{margin:0}}}}
</style></head><body>
<h1>Piano di investimento nell'illuminazione pubblica – Patto per la sicurezza urbana, art. 5</h1>{demo}
<p>{e(str(ctx.get('territory', '')))} · Comuni: <b>{e(str(ctx.get('comuni', 'tutto il territorio')))}</b> · periodo dei
delitti {e(str(ctx.get('period', '')))} · esagoni H3 di risoluzione {e(str(ctx.get('res', '')))}</p>
<p class="key"><b>Budget {e(_eur(options.budget))}</b> · piano ottimo: <b>{e(_eur(t['cost_eur']))}</b> in
{t['interventions']} interventi.<br>{e(effect_sentence(t))}</p>
<p>{e(energy_sentence(t))}</p>
<p>Vincoli: {e('; '.join(constraints)) if constraints else 'nessuno oltre al budget'}.
Ottimo esatto (programmazione lineare intera, HiGHS).</p>
{f'<ul>{notes}</ul>' if notes else ''}
<h2>Interventi per tipo</h2><table><tr><th>Tipo</th><th>Punti luce</th><th>Costo</th></tr>{kinds}</table>
<h2>Ripartizione per comune</h2><table><tr><th>Comune</th><th>Costo</th><th>Quota</th><th>Interventi</th>
<th>Delitti evitati/anno (centrale, intervallo basso–alto)</th></tr>{comuni_rows}</table>
<h2>Interventi in ordine di resa (primi {min(top, len(plan.selected))} di {len(plan.selected)})</h2>
<table><tr>{''.join(f'<th>{e(c)}</th>' for c in cols)}</tr>{body}</table>
{front}
<h2>Metodo</h2>
<p>Per ogni esagono: stato dell'illuminazione (punti luce, guasti, tecnologie vecchie), domanda (delitti notturni
all'aperto, segnalazioni, scuole, servizi, luoghi frequentati di sera) e distanza dal centro del comune. Tre tipi di
intervento: riparare i guasti, sostituire le lampade vecchie con LED, aggiungere punti luce dove l'esagono è
sottoilluminato. L'effetto di un intervento è la quota dei punti luce dell'esagono che migliora (pesata per tipo)
per l'effetto atteso sui delitti notturni all'aperto; il piano massimizza i delitti evitati attesi entro il budget
ed è risolto in modo esatto.</p>
<h2>Parametri e fonti</h2><table><tr><th>Gruppo</th><th>Parametro</th><th>Valore</th><th>Fonte</th></tr>{params}</table>
<h2>Effetti per famiglia di reato</h2>{families_html(parameters)}
<h2>Prove sull'effetto dell'illuminazione</h2>{citations_html()}
<p class="muted">Generato da Lanterna. Aggregati anonimi (Patto, art. 3). {e(privacy_note(role))}</p>
</body></html>"""


def _decimal(value: object, decimals: int) -> str:
    """A number with ``decimals`` decimals; a value that does not exist (None, NaN) as "–"."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "–"
    return format_decimal(float(value), decimals)


def _share_text(value: float | Mapping[str, float]) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {format_decimal(v * 100, 0)} %" for k, v in value.items())
    return f"{format_decimal(float(value) * 100, 0)} %"


def _text(v: object) -> str:
    if isinstance(v, float):
        return format_decimal(v, 2)
    if isinstance(v, int | np.integer):
        return format_int(v)
    return str(v)


def comune_names(comuni: pd.DataFrame) -> dict[str, str]:
    """``pro_com_t -> nome`` from :meth:`geo.data.storage.Store.comuni`."""
    return dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))


def options_metadata(options: PlanOptions, extra: Mapping[str, object] | None = None) -> dict:
    """Plain metadata of a plan's options for the GeoJSON export."""
    def share(v: float | Mapping[str, float]) -> object:
        return dict(v) if isinstance(v, Mapping) else float(v)

    meta: dict[str, object] = {
        "budget_eur": float(options.budget), "peso_sicurezza_percepita": float(options.perceived_weight),
        "quota_minima_comune": share(options.min_share), "quota_massima_comune": share(options.max_share),
        "solo_periferie": bool(options.outskirts_only), "interventi_imposti": list(options.force_in),
        "interventi_esclusi": list(options.force_out),
    }
    meta.update(dict(extra or {}))
    return meta

