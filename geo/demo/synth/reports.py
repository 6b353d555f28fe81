"""Synthetic degradation reports calibrated on the real reports of the Comune di Alessandria.

No geocoded degradation reports exist for the bundled territory. The Comune di Alessandria
publishes every report of its Municipium app (``data/national/segnalazioni_alessandria_municipium.csv``,
4,651 reports May 2023 - January 2026, CC-BY 4.0): :func:`calibrate` computes from that file, not
from hard-coded numbers,

* the reports per resident per year, counting only the categories that are *degradation* in
  Lanterna's sense (:data:`ALESSANDRIA_CATEGORY_MAP`; potholes, traffic lights, manholes and
  other road or utility maintenance are out of scope);
* the mix of the in-scope categories, mapped onto :data:`geo.data.schemas.REPORT_CATEGORIES`;
* the status shares by age of the report (a recent report is more often still open);
* the empirical distribution of the days from opening to closing of the closed reports.

Alessandria's app has no channel for waste, public order or nightlife (waste goes to the waste
utility, public order to the police), so those Lanterna categories get assumed shares
(:data:`EXTRA_CATEGORY_SHARES`) *on top* of Alessandria's in-scope rate. :func:`generate_reports`
then draws reports for every comune in proportion to its residents (an urban premium for
marginality, drug dealing and nightlife), places them near residents, centres and attractors,
puts homeless camps and drug-dealing reports near stations and the incident hot spots and
broken-lighting reports near the broken light points, and writes Italian descriptions from
templates (plain text, no personal data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from geo import config
from geo.data.schemas import DEMO_SOURCE, REPORT_CATEGORIES
from geo.demo.synth._places import ATTRACTOR_KINDS, CENTRE_KINDS, Mix, PlaceContext, largest_remainder
from geo.reports.municipium import ALESSANDRIA_CATEGORY_MAP

#: Residents of the Comune di Alessandria (ISTAT, 2023: about 89,800 – rounded figure of the ISTAT
#: resident population used as the denominator of Alessandria's report rate).
ALESSANDRIA_RESIDENTS = 89_800

#: Shares of the final mix for the Lanterna categories that Alessandria's app does not collect.
#: Assumptions (``docs/DEMO.md``): abandoned waste is among the most frequent urban-decorum
#: complaints where apps collect it; public-order categories are rarer.
EXTRA_CATEGORY_SHARES: dict[str, float] = {
    "rifiuti_abbandonati": 0.20,
    "edificio_degradato": 0.04,
    "occupazione_abusiva": 0.02,
    "bivacco_marginalita": 0.05,
    "spaccio_assembramenti": 0.03,
    "movida_rumore": 0.04,
}
#: Alessandria status → status group used for calibration.
STATUS_GROUPS: dict[str, str] = {
    "chiusa": "risolta", "archiviata": "risolta", "aperta": "aperta", "in carico": "in_carico",
    "annullata": "respinta", "eliminata": "respinta",
}
STATUS_GROUP_ORDER = ("risolta", "aperta", "in_carico", "respinta")
#: Ages (whole years before the snapshot) distinguished by the status shares; older reports are
#: pooled in the last class.
MAX_AGE_YEARS = 2
#: Share of Alessandria's "aperta" reports shown as ``nuova`` (the rest ``presa_in_carico``).
#: Assumption: Municipium's "aperta" covers both not-yet-read and acknowledged reports.
APERTA_NUOVA_SHARE = 0.4
#: Share of open reports with an intervention already scheduled (assumption).
PROGRAMMED_SHARE = 0.08
#: Share of open public-order reports put on the CPOSP agenda (assumption), and the categories.
CPOSP_SHARE = 0.15
CPOSP_CATEGORIES = frozenset(
    {"bivacco_marginalita", "spaccio_assembramenti", "occupazione_abusiva", "edificio_degradato", "movida_rumore"}
)

#: Severity (1 low, 2 medium, 3 high) probabilities by category. Assumptions: risks to people
#: (drug dealing, occupied or unsafe buildings, dark streets) weigh more than decorum.
SEVERITY: dict[str, tuple[float, float, float]] = {
    "rifiuti_abbandonati": (0.45, 0.45, 0.10),
    "edificio_degradato": (0.20, 0.50, 0.30),
    "occupazione_abusiva": (0.10, 0.40, 0.50),
    "bivacco_marginalita": (0.20, 0.50, 0.30),
    "illuminazione_guasta": (0.25, 0.50, 0.25),
    "vandalismo_graffiti": (0.55, 0.35, 0.10),
    "verde_incolto": (0.55, 0.40, 0.05),
    "spaccio_assembramenti": (0.05, 0.40, 0.55),
    "movida_rumore": (0.35, 0.50, 0.15),
    "altro": (0.50, 0.40, 0.10),
}
#: Where each category is reported inside a comune.
SPACE: dict[str, Mix] = {
    "rifiuti_abbandonati": Mix(residents=0.70, centre=0.30, residents_power=0.5),
    "edificio_degradato": Mix(residents=0.50, centre=0.50),
    "occupazione_abusiva": Mix(residents=0.40, centre=0.30, attractors=0.30, kinds={"stazione": 1}),
    "bivacco_marginalita": Mix(centre=0.30, attractors=0.70, kinds={"stazione": 3, "piazza": 2, "parco": 2}),
    "illuminazione_guasta": Mix(residents=1.0),
    "vandalismo_graffiti": Mix(residents=0.25, centre=0.40, attractors=0.35,
                               kinds={"piazza": 2, "parco": 2, "stazione": 1}),
    "verde_incolto": Mix(residents=0.70, attractors=0.30, kinds={"parco": 1}),
    "spaccio_assembramenti": Mix(centre=0.40, attractors=0.60, kinds={"stazione": 3, "parco": 2, "piazza": 2}),
    "movida_rumore": Mix(centre=0.50, attractors=0.50, kinds={"piazza": 2, "albergo": 1}),
    "altro": Mix(residents=0.70, centre=0.30),
}
#: Urban scaling of each category across comuni (population ** exponent; 1 = per resident).
COMUNE_EXPONENT: dict[str, float] = {
    "bivacco_marginalita": 1.3, "spaccio_assembramenti": 1.3, "movida_rumore": 1.2, "occupazione_abusiva": 1.2,
}
#: Share of a category's reports placed at the incident hot spots (persistent and emerging).
HOTSPOT_SHARE: dict[str, float] = {"bivacco_marginalita": 0.30, "spaccio_assembramenti": 0.50}
#: Share of broken-lighting reports placed at a broken light point (the rest follow residents).
BROKEN_LIGHT_SHARE = 0.85
#: Monthly profile (January..December) of seasonal categories: grass grows in spring and summer,
#: nightlife noise peaks in summer, dark streets are noticed in the long winter evenings.
SEASONALITY: dict[str, tuple[float, ...]] = {
    "verde_incolto": (0.5, 0.5, 0.8, 1.3, 1.7, 1.6, 1.4, 1.1, 1.0, 0.8, 0.6, 0.5),
    "movida_rumore": (0.6, 0.6, 0.7, 0.9, 1.1, 1.5, 1.8, 1.8, 1.1, 0.8, 0.6, 0.6),
    "illuminazione_guasta": (1.3, 1.2, 1.0, 0.8, 0.7, 0.6, 0.6, 0.7, 0.9, 1.2, 1.4, 1.4),
}
#: Period of the demo reports (the calibration file covers May 2023 - January 2026).
PERIOD = (date(2023, 1, 1), date(2025, 12, 31))

#: Italian description templates per category; ``{luogo}`` is the nearest locality or attractor.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "rifiuti_abbandonati": (
        "Cumulo di rifiuti ingombranti abbandonati sul marciapiede",
        "Sacchi di rifiuti lasciati accanto ai cassonetti da diversi giorni",
        "Materiale edile e calcinacci abbandonati a bordo strada",
        "Elettrodomestici abbandonati vicino alla campana del vetro",
        "Discarica abusiva di rifiuti misti in un terreno incolto",
    ),
    "edificio_degradato": (
        "Edificio abbandonato con finestre rotte e accessi non chiusi",
        "Capannone dismesso in stato di degrado, recinzione divelta",
        "Facciata pericolante con distacco di intonaco sul marciapiede",
        "Ex negozio chiuso da anni con vetrine rotte e rifiuti all'interno",
    ),
    "occupazione_abusiva": (
        "Presunta occupazione abusiva di un immobile disabitato",
        "Locale seminterrato occupato senza titolo, frequenti ingressi notturni",
        "Alloggio pubblico sfitto occupato abusivamente",
    ),
    "bivacco_marginalita": (
        "Bivacco notturno sotto il porticato con materassi e coperte",
        "Persone senza dimora che dormono in un riparo di fortuna",
        "Accampamento di fortuna in un'area verde, rifiuti e resti di fuochi",
        "Bivacco stabile nell'androne di un edificio abbandonato",
    ),
    "illuminazione_guasta": (
        "Lampione spento da più giorni, tratto di strada completamente al buio",
        "Punto luce guasto che si accende e si spegne di continuo",
        "Più lampioni spenti lungo la via, scarsa visibilità per i pedoni",
        "Palo della luce danneggiato e lampada non funzionante",
    ),
    "vandalismo_graffiti": (
        "Scritte e graffiti sui muri di un edificio pubblico",
        "Panchine danneggiate e cestini divelti",
        "Pensilina dell'autobus con vetri rotti",
        "Arredo urbano vandalizzato, fioriere rovesciate",
    ),
    "verde_incolto": (
        "Erba alta e sterpaglie nell'aiuola pubblica",
        "Area verde incolta con rovi che invadono il marciapiede",
        "Giochi del parco danneggiati e area non curata",
        "Siepe non potata che copre la visuale all'incrocio",
    ),
    "spaccio_assembramenti": (
        "Sospetta attività di spaccio con continuo via vai di persone",
        "Assembramenti serali con consumo di alcol e sostanze",
        "Gruppi che stazionano a lungo con atteggiamenti intimidatori",
    ),
    "movida_rumore": (
        "Schiamazzi e musica ad alto volume fino a notte fonda",
        "Rumore e bottiglie abbandonate dopo la chiusura dei locali",
        "Assembramenti rumorosi davanti ai locali nel fine settimana",
    ),
    "altro": (
        "Situazione di degrado da verificare",
        "Segnaletica danneggiata e area trascurata",
        "Recinzione di cantiere abbandonata sul marciapiede",
    ),
}

REPORT_COLUMNS = [
    "report_id", "pro_com_t", "lon", "lat", "cell", "area_wkt", "category", "severity", "status", "opened",
    "closed", "description", "synthetic", "source", "import_id",
]


@dataclass(frozen=True)
class ReportCalibration:
    """Figures computed from the Alessandria reports (:func:`calibrate`).

    Attributes
    ----------
    residents
        Residents used as denominator.
    years_observed
        Length of the observed period, years (first to last report).
    reports_per_resident_year
        All reports per resident per year.
    in_scope_share
        Share of reports in categories mapped to Lanterna (degradation).
    in_scope_rate
        In-scope reports per resident per year.
    category_shares
        Share of each Lanterna category in the generated mix (mapped Alessandria categories
        scaled by ``1 - sum(EXTRA_CATEGORY_SHARES)``, plus the extra categories).
    rate
        Reports per resident per year generated: ``in_scope_rate / (1 - sum(extra shares))``, so
        that the mapped categories keep Alessandria's rate per resident.
    status_by_age
        Share of each status group (:data:`STATUS_GROUP_ORDER`) by age class (0 .. MAX_AGE_YEARS).
    close_probs, close_days
        Empirical quantiles of days from opening to closing of the closed reports.
    """

    residents: int
    years_observed: float
    reports_per_resident_year: float
    in_scope_share: float
    in_scope_rate: float
    category_shares: dict[str, float]
    rate: float
    status_by_age: pd.DataFrame = field(repr=False)
    close_probs: np.ndarray = field(repr=False)
    close_days: np.ndarray = field(repr=False)


def load_alessandria(path: str | Path | None = None) -> pd.DataFrame:
    """The Alessandria Municipium reports (``Id``, ``Stato``, ``Anno``, ``Creato``, ``Chiusa``,
    ``DescrizioneBreve``, ``Categoria``) with dates parsed."""
    p = Path(path) if path else config.NATIONAL_DIR / "segnalazioni_alessandria_municipium.csv"
    df = pd.read_csv(p, sep=";")
    for col in ("Creato", "Chiusa"):
        df[col] = pd.to_datetime(df[col], errors="coerce")
    return df


def _age_years(opened: pd.Series, snapshot: pd.Timestamp) -> np.ndarray:
    days = (pd.Timestamp(snapshot) - pd.to_datetime(opened)).dt.days.to_numpy()
    return np.clip(np.floor(days / 365.25).astype(int), 0, MAX_AGE_YEARS)


def calibrate(alessandria: pd.DataFrame, *, residents: int = ALESSANDRIA_RESIDENTS) -> ReportCalibration:
    """Rates, category mix, status shares and closing times from the Alessandria reports.

    Status shares and closing times use all categories (the same office handles them; the larger
    sample is steadier); rates and the category mix use the in-scope categories only.
    """
    df = alessandria.dropna(subset=["Creato"]).copy()
    start, end = df["Creato"].min(), df["Creato"].max()
    years = max((end - start).days + 1, 1) / 365.25
    mapped = df["Categoria"].map(ALESSANDRIA_CATEGORY_MAP)
    in_scope = mapped.notna()
    counts = mapped[in_scope].value_counts()
    extra = sum(EXTRA_CATEGORY_SHARES.values())
    shares = dict.fromkeys(REPORT_CATEGORIES, 0.0)
    for cat, n in counts.items():
        shares[str(cat)] = (1.0 - extra) * float(n) / float(counts.sum())
    shares.update(EXTRA_CATEGORY_SHARES)
    in_scope_rate = float(in_scope.sum()) / years / residents

    df["gruppo"] = df["Stato"].map(STATUS_GROUPS)
    df = df[df["gruppo"].notna()]
    df["age"] = _age_years(df["Creato"], end)
    status = pd.crosstab(df["age"], df["gruppo"], normalize="index").reindex(
        index=range(MAX_AGE_YEARS + 1), columns=list(STATUS_GROUP_ORDER)).fillna(0.0)
    closed = df[(df["Stato"] == "chiusa") & df["Chiusa"].notna()]
    days = (closed["Chiusa"] - closed["Creato"]).dt.days.clip(lower=0).to_numpy(float)
    probs = np.linspace(0.0, 1.0, 101)
    quantiles = np.quantile(days, probs) if days.size else np.zeros_like(probs)
    return ReportCalibration(
        residents=int(residents),
        years_observed=float(years),
        reports_per_resident_year=float(len(alessandria)) / years / residents,
        in_scope_share=float(in_scope.mean()),
        in_scope_rate=in_scope_rate,
        category_shares=shares,
        rate=in_scope_rate / (1.0 - extra),
        status_by_age=status,
        close_probs=probs,
        close_days=quantiles,
    )


def _close_after(calibration: ReportCalibration, max_days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Days to closing drawn from the empirical distribution, conditioned on ``<= max_days``
    (inverse-CDF sampling on the quantile table)."""
    q, p = calibration.close_days, calibration.close_probs
    idx = np.searchsorted(q, max_days, side="right") - 1
    p_max = np.where(idx >= 0, p[np.clip(idx, 0, p.size - 1)], 0.0)
    u = rng.random(max_days.size) * p_max
    days = np.round(np.interp(u, p, q)).astype(np.int64)
    return np.minimum(days, max_days).clip(0)


def _category_probabilities(
    places: PlaceContext, category: str, hotspots: pd.DataFrame | None, broken: np.ndarray,
) -> np.ndarray:
    p = places.weights(SPACE[category], comune_exponent=COMUNE_EXPONENT.get(category, 1.0))
    share = HOTSPOT_SHARE.get(category, 0.0)
    if share > 0 and hotspots is not None and not hotspots.empty:
        extra = np.zeros_like(p)
        for cell in hotspots["cell"]:
            pos, w = places.footprint(int(cell))
            if pos.size:
                extra[pos] += w / w.sum()
        if extra.sum() > 0:
            p = (1 - share) * p + share * extra / extra.sum()
    if category == "illuminazione_guasta" and broken.sum() > 0:
        p = (1 - BROKEN_LIGHT_SHARE) * p + BROKEN_LIGHT_SHARE * broken / broken.sum()
    return p


def generate_reports(
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame | None,
    calibration: ReportCalibration,
    *,
    rng: np.random.Generator,
    lighting: pd.DataFrame | None = None,
    hotspots: pd.DataFrame | None = None,
    capoluogo: str | None = None,
    period: tuple[date, date] = PERIOD,
    places: PlaceContext | None = None,
) -> pd.DataFrame:
    """Synthetic degradation reports.

    Parameters
    ----------
    cells, localities, comuni
        Territory frames (see :func:`geo.demo.synth.incidents.generate_incidents`).
    calibration
        :func:`calibrate` output.
    rng
        Random generator (the ``reports`` stream).
    lighting
        Light points (``cell``, ``status``); broken-lighting reports go near the broken ones.
    hotspots
        Incident hot spots (``cell``); homeless-camp and drug-dealing reports cluster there.
    capoluogo
        PRO_COM_T of the capoluogo (for the place context).
    period
        First and last day of the reports; the last day is the status snapshot.
    places
        Prebuilt place context for these cells.

    Returns
    -------
    pandas.DataFrame
        Columns of the ``reports`` table; ``report_id`` like ``DEMO-045010-2024-00042``
        (numbered by opening date within comune and year), ``closed`` set for ``risolta`` and
        ``respinta`` and never after the snapshot.
    """
    places = places or PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)
    start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
    days = pd.date_range(start, end, freq="D")
    years = len(days) / 365.25
    n_total = round(calibration.rate * float(places.population.sum()) * years)
    cats = list(REPORT_CATEGORIES)
    per_cat = largest_remainder(n_total, np.array([calibration.category_shares.get(c, 0.0) for c in cats]))

    broken = np.zeros(places.cells.size)
    if lighting is not None and len(lighting):
        bad = lighting.loc[lighting["status"] == "guasto", "cell"].to_numpy(np.int64)
        pos = places.index_of(bad)
        np.add.at(broken, pos[pos >= 0], 1.0)

    parts = []
    for cat, n in zip(cats, per_cat, strict=True):
        if n <= 0:
            continue
        p = _category_probabilities(places, cat, hotspots, broken)
        support = np.flatnonzero(p > 0)
        pos = support[rng.choice(support.size, size=int(n), p=p[support] / p[support].sum())]
        month_w = np.asarray(SEASONALITY.get(cat, (1.0,) * 12))[days.month.to_numpy() - 1]
        day = days[rng.choice(len(days), size=int(n), p=month_w / month_w.sum())]
        sev = rng.choice(np.array([1, 2, 3]), size=int(n), p=np.asarray(SEVERITY[cat]) / sum(SEVERITY[cat]))
        text = np.asarray(TEMPLATES[cat], dtype=object)[rng.integers(0, len(TEMPLATES[cat]), size=int(n))]
        parts.append(pd.DataFrame({"pos": pos, "category": cat, "opened": day, "severity": sev, "text": text}))
    if not parts:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    rep = pd.concat(parts, ignore_index=True).sort_values(["opened", "category", "pos"], kind="stable")
    rep = rep.reset_index(drop=True)
    n = len(rep)

    age = _age_years(rep["opened"], end)
    shares = calibration.status_by_age.to_numpy()[age]
    cdf = np.cumsum(shares, axis=1)
    group = np.asarray(STATUS_GROUP_ORDER, dtype=object)[
        np.minimum((cdf < rng.random(n)[:, None] * cdf[:, -1:]).sum(axis=1), len(STATUS_GROUP_ORDER) - 1)]
    status = np.where(group == "risolta", "risolta", np.where(group == "respinta", "respinta", "presa_in_carico"))
    is_open = (group == "aperta") | (group == "in_carico")
    u = rng.random(n)
    status = np.where((group == "aperta") & (u < APERTA_NUOVA_SHARE), "nuova", status)
    u = rng.random(n)
    cposp = is_open & rep["category"].isin(CPOSP_CATEGORIES).to_numpy() & (u < CPOSP_SHARE)
    programmed = is_open & ~cposp & (u >= 1 - PROGRAMMED_SHARE)
    status = np.where(cposp, "in_agenda_cposp", np.where(programmed, "intervento_programmato", status))

    max_days = (end - rep["opened"]).dt.days.to_numpy()
    close_days = _close_after(calibration, max_days, rng)
    closed = rep["opened"] + pd.to_timedelta(close_days, unit="D")
    closed = closed.where(np.isin(status, ["risolta", "respinta"]))

    pos = rep["pos"].to_numpy()
    place_names = places.nearest_locality(pos, CENTRE_KINDS + ATTRACTOR_KINDS)
    description = [f"{t} nei pressi di {p}." for t, p in zip(rep["text"], place_names, strict=True)]
    lat, lon = places.jitter(pos, rng)
    codes = places.codes[pos]
    year = rep["opened"].dt.year.to_numpy()
    seq = pd.Series(np.arange(n)).groupby([codes, year]).cumcount().to_numpy() + 1
    report_id = [f"DEMO-{c}-{y}-{s:05d}" for c, y, s in zip(codes, year, seq, strict=True)]

    out = pd.DataFrame({
        "report_id": report_id,
        "pro_com_t": codes.astype(str),
        "lon": lon,
        "lat": lat,
        "cell": places.cells[pos].astype("int64"),
        "area_wkt": pd.Series([None] * n, dtype=object),
        "category": rep["category"].astype(str).to_numpy(),
        "severity": rep["severity"].astype("int32").to_numpy(),
        "status": status.astype(str),
        "opened": rep["opened"].astype("datetime64[s]").to_numpy(),
        "closed": closed.astype("datetime64[s]").to_numpy(),
        "description": description,
        "synthetic": True,
        "source": DEMO_SOURCE,
        "import_id": pd.array([pd.NA] * n, dtype="Int32"),
    })
    return out[REPORT_COLUMNS]
