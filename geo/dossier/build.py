"""Build the CPOSP dossier from a database, for one user and role.

The dossier reuses the printable summaries of each capability (their ``<body>`` becomes a
section, headings one level down), so a figure reads the same in the dossier as on its page.
Every section is computed under the role's disclosure rules; a section the role may not see is
replaced by a sentence saying so. The HTML is stamped with the head of the audit chain when
it is exported (:func:`geo.access.audit.stamp`), and :func:`pdf_bytes` prints it offline with
WeasyPrint.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from geo.access import audit
from geo.access.permissions import PermissionDenied, User, allows, require
from geo.access.privacy import ROLES, can_see_exact, format_decimal, format_int, format_percent
from geo.data.filters import Filters
from geo.data.storage import Store
from geo.overview import metrics, trends
from geo.zones import backtest, hotspots
from geo.zones import pilot as zones
from geo.zones import report as zone_report
from geo.zones.priority import DEFAULT_PRESET, PRESETS, preset_weights

DEFAULT_TOP_ZONES = 5
DEFAULT_BUDGET_EUR = 1_000_000.0
#: Placebo areas of the interventions' evaluation in the dossier (the page uses the same).
N_PLACEBO = 99


class DossierError(ValueError):
    """The dossier cannot be made; ``str(exc)`` is an Italian sentence."""


@dataclass(frozen=True)
class DossierOptions:
    """What the committee asked for: the pilot-zone profile, how many zones, the lighting budget."""

    preset: str = DEFAULT_PRESET
    top_zones: int = DEFAULT_TOP_ZONES
    budget_eur: float = DEFAULT_BUDGET_EUR
    comuni: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise DossierError(f"Profilo di pesi sconosciuto: {self.preset}.")
        if not 1 <= self.top_zones <= 30:
            raise DossierError("Il numero di zone pilota deve essere tra 1 e 30.")
        if not 0 <= self.budget_eur <= 1e9:
            raise DossierError("Il budget dell'illuminazione deve essere tra 0 e 1 miliardo di euro.")


@dataclass
class Section:
    """One chapter: ``anchor`` for the table of contents, ``body`` HTML (already escaped)."""

    anchor: str
    title: str
    body: str
    available: bool = True


@dataclass
class Dossier:
    html: str
    sections: list[Section]
    made_at: datetime
    role: str
    metadata: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# HTML helpers
# --------------------------------------------------------------------------------------------

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_HEADING = re.compile(r"<(/?)h([1-5])(\b[^>]*)>", re.I)
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def fragment(document: str) -> str:
    """The ``<body>`` of a printable summary with every heading one level lower (h1 → h2 …), so
    it nests under a dossier chapter; a text without ``<body>`` is taken whole."""
    found = _BODY.search(document)
    inner = found.group(1) if found else document
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}{m.group(3)}>", inner)


def md_html(text: str) -> str:
    """A sentence of the pages' Markdown (``**bold**`` only) as escaped HTML."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(text).replace("\\*", "*"))


def _date_it(d: date | datetime) -> str:
    return d.strftime("%d/%m/%Y")


def _table(frame: pd.DataFrame, *, empty: str) -> str:
    if frame.empty:
        return f"<p>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in r) + "</tr>"
                   for r in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cell(value: object) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, (date, datetime)):
        return _date_it(value)
    if isinstance(value, float):
        return format_decimal(value, 1)
    if isinstance(value, int):
        return format_int(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------

def _province_section(store: Store, nuts3: str | None, name: str) -> str:
    years = trends.province_years(store)
    if not years:
        return "<p>La tabella nazionale delle province (ISTAT) non è caricata.</p>"
    ranking = trends.province_ranking(store, years[-1], nuts3)
    if ranking.rank is None:
        return (f"<p>La provincia {html.escape(name)} (NUTS3 {html.escape(nuts3 or 'non indicato')}) non è nella "
                f"tabella ISTAT del {years[-1]}.</p>")
    rates = trends.rate_series(store, nuts3)
    table = pd.DataFrame({
        "Anno": rates["anno"].astype(str),
        "Delitti per 1.000 abitanti": [format_decimal(v, 2) for v in rates["tasso"]],
        f"Mediana {ranking.region}": [format_decimal(v, 2) for v in rates["mediana_regionale"]],
        "Mediana nazionale": [format_decimal(v, 2) for v in rates["mediana_nazionale"]],
        "Posizione (1° = tasso più alto)": [f"{int(r)}° su {int(n)}" if pd.notna(r) else "n.d."
                                            for r, n in zip(rates["rank"], rates["n"], strict=True)],
    })
    return (
        f"<p class='key'>Nel {ranking.year} {html.escape(ranking.name or name)} ha registrato "
        f"<b>{format_decimal(ranking.rate, 2)} delitti denunciati ogni 1.000 abitanti</b>: "
        f"{html.escape(ranking.rank_label)} tra le province italiane; mediana della regione "
        f"{format_decimal(ranking.regional_median, 2)}, mediana nazionale {format_decimal(ranking.national_median, 2)}."
        "</p>" + _table(table, empty="")
        + "<p class='muted'>Fonte: ISTAT, delitti denunciati dalle forze di polizia all'autorità giudiziaria "
          "(DCCV_DELITTIPS) e popolazione residente; dati reali, non dipendono dal dataset della dashboard.</p>"
    )


def _hotspot_section(result: zones.ZoneResult, prep: zones.Prepared, names: dict[str, str]) -> str:
    hexes = result.hexes
    hot = hexes["hotspot"] == hotspots.HOT
    n_hot, n_cold = int(hot.sum()), int((hexes["hotspot"] == hotspots.COLD).sum())
    lines = backtest.evidence_lines(n_hot, prep.noise, prep.back)
    comune = prep.table.base["pro_com_t"].reindex(hexes.index)
    by_comune = (comune[hot].value_counts().rename("Esagoni caldi").rename_axis("pro_com_t").reset_index()
                 .assign(Comune=lambda f: f["pro_com_t"].map(names).fillna(f["pro_com_t"]))
                 .sort_values(["Esagoni caldi", "Comune"], ascending=[False, True])[["Comune", "Esagoni caldi"]]
                 if n_hot else pd.DataFrame())
    classes = (hexes[hexes["pattern"] != "none"]["label"].value_counts().rename_axis("Tendenza (EHSA)")
               .reset_index(name="Esagoni"))
    return (
        f"<p class='key'><b>{format_int(n_hot)} esagoni punto caldo</b> e {format_int(n_cold)} punti freddi "
        "(Gi* con test di permutazione sul massimo: senza struttura spaziale, al più 5 analisi su 100 mostrano "
        "anche un solo esagono caldo o freddo).</p>"
        + "".join(f"<p>{md_html(line)}</p>" for line in lines)
        + f"<p>{html.escape(zone_report.concentration_text(result.concentration_summary))}</p>"
        + "<h3>Esagoni caldi per comune</h3>" + _table(by_comune, empty="Nessun esagono caldo.")
        + "<h3>Tendenze degli esagoni</h3>"
        + _table(classes, empty="Nessun esagono con un andamento significativo.")
    )


def _lighting_section(store: Store, role: str, options: DossierOptions, names: dict[str, str]) -> str:
    from geo.lighting import report as lighting_report
    from geo.lighting.costs import CostParams, EnergyParams
    from geo.lighting.effects import EffectModel
    from geo.lighting.need import NeedParams, lighting_need
    from geo.lighting.plan import PlanOptions, build_candidates, optimise

    need_params, costs, energy, effects = NeedParams(), CostParams(), EnergyParams(), EffectModel()
    need = lighting_need(store, res=zones.DEFAULT_RES, comuni=options.comuni, params=need_params, role=role)
    plan = optimise(build_candidates(need, costs=costs, effects=effects, energy=energy),
                    PlanOptions(budget=options.budget_eur))
    period = store.period()
    context = {"territory": store.get_meta("territory_name") or "", "res": zones.DEFAULT_RES,
               "demo": store.get_meta("demo") == "true",
               "comuni": ", ".join(names.get(c, c) for c in options.comuni) or "tutto il territorio",
               "period": f"{period[0]:%m/%Y} – {period[1]:%m/%Y}" if period else "–"}
    params = lighting_report.parameters_table(costs, energy, effects, need_params, need.attrs)
    return fragment(lighting_report.summary_html(plan, names=names, role=role, options=PlanOptions(
        budget=options.budget_eur), parameters=params, context=context, top=20))


#: Waiting-time bands of the agenda (days since the report was opened).
WAIT_BANDS = ((0, 30, "fino a 30 giorni"), (31, 90, "31–90 giorni"), (91, 365, "91–365 giorni"),
              (366, None, "oltre un anno"))
AGENDA_ROWS = 40


def _agenda_section(store: Store, actor: User) -> str:
    from geo.reports import workflow as reports

    table = reports.agenda(store, actor)
    discuss = table["Stato"] == reports.REPORT_STATUS["in_agenda_cposp"]
    lead = (f"<p class='key'><b>{format_int(int(discuss.sum()))} segnalazioni da discutere</b>, "
            f"{format_int(int((~discuss).sum()))} con intervento programmato.")
    if discuss.any():
        waiting = table.loc[discuss, "Giorni"]
        lead += (f" Attesa dall'apertura di quelle da discutere: mediana {format_int(int(waiting.median()))} giorni, "
                 f"la più vecchia {format_int(int(waiting.max()))} giorni.")
    lead += "</p>"
    bands = pd.DataFrame([
        {"Attesa dall'apertura": label,
         **{name: format_int(int(((table["Giorni"] >= lo) & (True if hi is None else table["Giorni"] <= hi)
                                  & mask).sum()))
            for name, mask in (("Da discutere", discuss), ("Intervento programmato", ~discuss))}}
        for lo, hi, label in WAIT_BANDS])
    by_comune = (table[discuss].groupby("Comune")["Giorni"].agg(["size", "median", "max"]).reset_index()
                 .sort_values(["size", "Comune"], ascending=[False, True]))
    by_comune = pd.DataFrame({"Comune": by_comune["Comune"], "Da discutere": by_comune["size"].map(format_int),
                              "Attesa mediana (giorni)": by_comune["median"].map(lambda v: format_int(int(v))),
                              "Attesa massima (giorni)": by_comune["max"].map(lambda v: format_int(int(v)))})
    oldest = table[discuss].sort_values(["Giorni", "Codice"], ascending=[False, True]).head(AGENDA_ROWS)
    shown = oldest[["Codice", "Comune", "Categoria", "Gravità", "Aperta il", "Giorni",
                    "All'ordine del giorno dal"]].rename(columns={"Giorni": "Giorni di attesa"})
    rest = int(discuss.sum()) - len(shown)
    return (lead + "<h3>Tempi di attesa</h3>" + _table(bands, empty="")
            + "<h3>Da discutere, per comune</h3>" + _table(by_comune, empty="Nessuna segnalazione da discutere.")
            + f"<h3>Le {format_int(len(shown))} in attesa da più tempo</h3>"
            + _table(shown, empty="Nessuna segnalazione all'ordine del giorno.")
            + (f"<p class='muted'>Altre {format_int(rest)} segnalazioni da discutere sono nell'agenda completa "
               "(pagina Agenda CPOSP, esportazione CSV).</p>" if rest > 0 else ""))


def _interventions_section(store: Store, actor: User) -> str:
    from geo.interventions import report as monitoring

    frame = monitoring.monitoring_frame(store, actor, n_placebo=N_PLACEBO)
    spend = pd.to_numeric(frame["costo_eur"], errors="coerce").sum()
    lead = (f"<p class='key'><b>{format_int(len(frame))} interventi</b> nel registro, spesa prevista "
            f"{format_int(spend)} €.</p>" if len(frame) else "")
    shown = monitoring.display_frame(frame).drop(columns=["Responsabile", "Note"], errors="ignore")
    return (lead + _table(shown, empty="Nessun intervento registrato.")
            + f"<p class='muted'>{html.escape(monitoring.METHOD_TEXT)}</p>")


def _cameras_section(store: Store, role: str, options: DossierOptions) -> str:
    from geo.cameras import views as camera_views
    from geo.cameras.analysis import analyse
    from geo.cameras.evidence import costs_table, territory_costs
    from geo.cameras.roads import access_gaps
    from geo.data.territory import territory_of_store

    terr = territory_of_store(store)
    analysis = analyse(store, terr.metric_crs, role=role, comuni=list(options.comuni) or None)
    if not analysis.kpis.get("cameras"):
        return "<p>Nessuna telecamera nel censimento.</p>"
    uncovered = camera_views.uncovered_table(analysis).head(15)
    gates = access_gaps(store, terr.metric_crs, role=role, comuni=list(options.comuni) or None)
    costs = costs_table(territory_costs(terr))
    return ("".join(f"<p>{html.escape(line)}</p>" for line in camera_views.kpi_lines(analysis))
            + "<h3>Delitti nel campo visivo per famiglia di reati e fascia oraria</h3>"
            + _table(camera_views.group_table(analysis, role), empty="Nessun delitto nel periodo.")
            + "<h3>Punti caldi senza copertura (primi 15)</h3>"
            + _table(uncovered, empty="Ogni esagono caldo è coperto.")
            + "<h3>Accessi stradali e lettura targhe</h3>"
            + "".join(f"<p>{html.escape(line)}</p>" for line in camera_views.access_lines(gates))
            + (_table(camera_views.access_table(gates.gaps, analysis.comuni), empty="") if len(gates.gaps) else "")
            + "<h3>Costi per tipo di telecamera e loro fonte</h3>" + _table(costs, empty=""))


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------

CSS = """
@page{size:A4;margin:16mm 14mm 18mm;@bottom-right{content:"pagina " counter(page) " di " counter(pages);
font-size:8pt;color:#555}}
body{font-family:'DejaVu Sans',system-ui,sans-serif;font-size:10pt;line-height:1.35;color:#1a1a1a;margin:2em}
h1{font-size:18pt;margin:0 0 .2em} h2{font-size:14pt;margin:1.2em 0 .4em;border-bottom:2px solid #0066CC}
h3{font-size:11.5pt;margin:1em 0 .3em} h4{font-size:10.5pt;margin:.8em 0 .2em}
section.chapter{break-before:page} section.chapter:first-of-type{break-before:auto}
table{border-collapse:collapse;width:100%;font-size:8.5pt;margin:.3em 0 .8em}
td,th{border:1px solid #bbb;padding:2px 4px;vertical-align:top;text-align:left} th{background:#eef3f8}
tr{break-inside:avoid} .card{border:1px solid #999;padding:6px 10px;margin:8px 0;break-inside:avoid}
.warn{background:#fff3cd;padding:6px;border:1px solid #e0c36a} .muted{color:#555;font-size:8.5pt}
.key{font-size:11pt;border-left:4px solid #0066CC;padding-left:8px} .na{color:#555;font-style:italic}
svg{max-width:100%;height:auto}
@media print{body{margin:0}}
"""


def build_dossier(store: Store, actor: User | None, options: DossierOptions | None = None, *,
                  today: date | None = None) -> Dossier:
    """The dossier for ``actor`` (``view_dossier``), each section under the role's rules."""
    require(actor, "view_dossier")
    options = options or DossierOptions()
    made_at = audit.utcnow()
    today = today or date.today()
    role = actor.role
    from geo.data.territory import TerritoryError, territory_of_store

    try:
        territory = territory_of_store(store)
        territory_name, nuts3 = territory.name, territory.nuts3
    except TerritoryError:
        territory_name, nuts3 = store.get_meta("territory_name") or "", None
    comuni_table = store.comuni()
    names = dict(zip(comuni_table["pro_com_t"], comuni_table["nome"], strict=True))
    filters = Filters(res=zones.DEFAULT_RES, comuni=tuple(options.comuni))
    prep = zones.prepare(store, filters)
    result = zones.rank_zones(prep, preset_weights(options.preset), top=options.top_zones, seed=options.seed)
    result.zones = result.zones.head(options.top_zones)

    def guarded(action: str | None, make: Callable[[], str]) -> tuple[str, bool]:
        if action is not None and not allows(actor, action):
            return (f"<p class='na'>Sezione non disponibile per il profilo {html.escape(ROLES.get(role, role))}.</p>",
                    False)
        try:
            return make(), True
        except PermissionDenied:
            return (f"<p class='na'>Sezione non disponibile per il profilo {html.escape(ROLES.get(role, role))}.</p>",
                    False)

    specs = [
        ("situazione", "Situazione della provincia e confronto con le altre", None,
         lambda: _province_section(store, nuts3, territory_name)),
        ("punti-caldi", "Punti caldi, soglia del caso e verifica retrospettiva", "view_zones",
         lambda: _hotspot_section(result, prep, names)),
        ("zone-pilota", f"Zone pilota (prime {options.top_zones}, profilo {PRESETS[options.preset].label})",
         "view_zones", lambda: fragment(zone_report.summary_html(result, role=role, top=options.top_zones,
                                                   comuni=store.comuni_geometries()))),
        ("illuminazione", "Piano dell'illuminazione pubblica", "plan_lighting",
         lambda: _lighting_section(store, role, options, names)),
        ("agenda", "Segnalazioni all'ordine del giorno", "view_agenda", lambda: _agenda_section(store, actor)),
        ("interventi", "Interventi e loro esito", "view_interventions",
         lambda: _interventions_section(store, actor)),
        ("videosorveglianza", "Videosorveglianza", "view_cameras", lambda: _cameras_section(store, role, options)),
    ]
    sections = []
    for anchor, title, action, make in specs:
        body, available = guarded(action, make)
        sections.append(Section(anchor, title, body, available))

    built_at = store.get_meta("built_at") or ""
    metadata = {
        "Territorio": territory_name or "–",
        "Redatto il": _date_it(today),
        "Profilo": ROLES.get(role, role),
        "Utente": actor.label,
        "Impronta dei dati": hashlib.sha256(metrics.data_version(store).encode()).hexdigest()[:12],
        "Base dati costruita il": _built_text(built_at) if built_at else "–",
        "Periodo dei delitti": _period_text(store),
    }
    sections.append(Section("dati", "Dati e versioni", _data_section(store)))
    return Dossier(html=_document(sections, metadata, demo=store.get_meta("demo") == "true",
                                  cleared=can_see_exact(role)),
                   sections=sections, made_at=made_at, role=role, metadata=metadata)


def _data_section(store: Store) -> str:
    from geo.data import sources
    from geo.data.territory import TerritoryError, territory_of_store

    try:
        territory = territory_of_store(store)
    except TerritoryError:
        return "<p>Il territorio della base dati non è disponibile: fonti non elencate.</p>"
    layers = sources.layer_catalogue(store, territory)
    shown = pd.DataFrame({
        "Livello": layers["livello"], "Righe": layers["righe"].map(format_int),
        "Periodo": [f"{_month_it(a)} – {_month_it(b)}" if a and b else "" for a, b in
                    zip(layers["dal"], layers["al"], strict=True)],
        "Generate (demo)": [format_percent(v / 100, 0) if pd.notna(v) else "" for v in layers["generati_pct"]],
        "Fonte": layers["fonte"], "Licenza": layers["licenza"],
    })
    return (_table(shown, empty="Nessun livello caricato.")
            + "<p class='muted'>L'impronta dei dati cambia con ogni costruzione, importazione o modifica registrata: "
              "due dossier con la stessa impronta poggiano sugli stessi dati.</p>")


def _month_it(value: object) -> str:
    try:
        return pd.Timestamp(value).strftime("%m/%Y")
    except (TypeError, ValueError):
        return str(value)


def _built_text(value: str) -> str:
    try:
        return _date_it(datetime.fromisoformat(value[:19]))
    except ValueError:
        return value


def _period_text(store: Store) -> str:
    period = store.period()
    return f"{period[0]:%m/%Y} – {period[1]:%m/%Y}" if period else "nessun delitto caricato"


def _document(sections: list[Section], metadata: dict[str, str], *, demo: bool, cleared: bool) -> str:
    e = html.escape
    toc = "".join(f"<li><a href='#{s.anchor}'>{e(s.title)}</a>{'' if s.available else ' (non disponibile)'}</li>"
                  for s in sections)
    meta = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in metadata.items())
    demo_text = ("<p class='warn'><b>Dati dimostrativi</b>: delitti, punti luce, segnalazioni, interventi, "
                 "telecamere e parte di scuole e servizi sono generati (righe marcate come sintetiche); "
                 "confini, popolazione e statistiche ufficiali sono reali.</p>") if demo else ""
    privacy = ("Valori esatti (profilo autorizzato)." if cleared else
               "Conteggi protetti: i valori sotto la soglia di riservatezza sono soppressi o arrotondati, come "
               "sulle pagine della dashboard per questo profilo.")
    chapters = "".join(f"<section class='chapter' id='{s.anchor}'><h2>{i}. {e(s.title)}</h2>{s.body}</section>"
                       for i, s in enumerate(sections, 1))
    return (
        "<!DOCTYPE html><html lang='it'><head><meta charset='utf-8'>"
        f"<title>Dossier CPOSP – {e(metadata.get('Territorio', ''))} – {e(metadata['Redatto il'])}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>Dossier per il Comitato provinciale per l'ordine e la sicurezza pubblica</h1>"
        f"<p><b>{e(metadata.get('Territorio', ''))}</b> · redatto il {e(metadata['Redatto il'])} · "
        f"profilo {e(metadata['Profilo'])}</p>{demo_text}"
        f"<table class='meta'>{meta}</table><p class='muted'>{e(privacy)} Aggregati anonimi: nessun dato "
        "personale.</p>"
        f"<h2>Indice</h2><ol>{toc}</ol>{chapters}"
        "<p class='muted'>Generato da Lanterna. L'ultima riga riporta la voce del registro delle modifiche in vigore "
        "alla stampa: chi riceve il documento può verificarla con il Registro.</p></body></html>"
    )


def pdf_available() -> str | None:
    """None when PDFs can be made here; otherwise the Italian reason (WeasyPrint or Pango missing)."""
    try:
        import weasyprint  # noqa: F401 - the import itself loads Pango
    except (ImportError, OSError) as exc:
        return (f"Il PDF non si può generare su questa macchina: manca la libreria WeasyPrint o Pango ({exc}). "
                "Scaricare l'HTML e stamparlo dal browser.")
    return None


def pdf_bytes(document: str, *, base_url: str | Path | None = None) -> bytes:
    """The dossier printed to PDF offline (WeasyPrint; no network: no remote resources)."""
    problem = pdf_available()
    if problem:
        raise DossierError(problem)
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only inline ``data:`` resources: a dossier never reaches the network or the file system.
    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)
    return HTML(string=document, base_url=str(base_url) if base_url else None, url_fetcher=fetcher).write_pdf()
