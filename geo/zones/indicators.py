"""Per-hexagon indicators for the pilot-zone priority (pact art. 4), with units and sources.

Every indicator is oriented so that a **higher value means more reason to intervene**, and is
turned into a score in [0, 1] by a robust rank normalisation (:func:`percentile_scores`): zero
means the phenomenon is absent, otherwise the score is the hexagon's percentile rank among the
hexagons where it is present. Ranks are insensitive to outliers and to the units, so indicators
measured in different units can be added with weights (:mod:`geo.zones.priority`).

The table :data:`INDICATORS` documents each one (Italian label, unit, source layer, definition);
``docs/ZONES.md`` repeats it for the committee. The constants below are assumptions, each with
its basis; they are parameters of the functions, not hidden in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.neighbors import BallTree

from geo import config
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.schemas import OPEN_REPORT_STATUS
from geo.data.storage import Store

# --------------------------------------------------------------------------------------------
# Constants (assumptions, with their basis)
# --------------------------------------------------------------------------------------------

#: Harm weight of one reported crime per category: the **minimum custodial sentence** of the
#: typical offence of the category in the Italian penal code, in units of six months. This is the
#: idea of the Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016, *Policing* 10(3)),
#: which weights each crime by the starting-point sentence, applied to the *codice penale* as
#: amended by L. 103/2017 and L. 36/2019. It is an assumption for ranking, not an official scale:
#:
#: - furti in abitazione: art. 624-bis c.p., 4-7 anni -> 8
#: - rapine: art. 628 c.p., 5-10 anni -> 10
#: - furti con destrezza, furti di e su veicoli: art. 625 c.p. (furto aggravato: destrezza,
#:   cose esposte alla pubblica fede), 2-6 anni -> 4
#: - furti in esercizi commerciali, altri furti: art. 624 c.p., 6 mesi-3 anni -> 1
#: - danneggiamenti (art. 635, 6 mesi-3 anni), lesioni (art. 582, 6 mesi-3 anni), stupefacenti
#:   (D.P.R. 309/1990 art. 73 c. 5, fatto di lieve entità, 6 mesi-4 anni), truffe (art. 640,
#:   6 mesi-3 anni), altri delitti -> 1
SEVERITY_WEIGHTS: dict[str, float] = {
    "furti_abitazione": 8.0,
    "furti_destrezza": 4.0,
    "furti_esercizi": 1.0,
    "furti_veicoli": 4.0,
    "furti_altri": 1.0,
    "rapine": 10.0,
    "danneggiamenti": 1.0,
    "lesioni_minacce": 1.0,
    "stupefacenti": 1.0,
    "truffe_frodi": 1.0,
    "altro": 1.0,
}

#: Target light points per 1,000 residents: the national stock, about 9.5 million points for
#: 59 million residents (ENEA, progetto Lumière / rapporto PELL-IP; ≈ 160 per 1,000). Assumption.
LIGHTS_PER_1000_RESIDENTS = 160.0
#: Target light points per settled km²: one point every ~30 m of street (UNI 11248 / EN 13201
#: spacing of 4-5 mounting heights) on ~15 km of street per km² of built-up area -> ≈ 500.
#: Assumption.
LIGHTS_PER_SETTLED_KM2 = 500.0
#: Prior strength (in incidents) of the shrinkage of the night share towards the territory's
#: share: a hexagon needs about this many incidents before its own share dominates. Assumption,
#: the usual beta-binomial pseudo-count for small areas.
NIGHT_PRIOR_INCIDENTS = 10.0
#: Report category that signals people living in the street (bivouacs, marginality).
HOMELESS_REPORT_CATEGORY = "bivacco_marginalita"
#: Confiscated assets counted as available for social reuse (L. 109/1996, D.Lgs. 159/2011
#: art. 48): real estate (not companies), except garages and parking spaces, that is still
#: managed by the ANBSC or was transferred to a local authority.
CONFISCATED_REUSE_STATES = frozenset({"in gestione", "destinato"})
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


# --------------------------------------------------------------------------------------------
# The indicator table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Indicator:
    """One indicator: its code, Italian label and unit, source layer and definition."""

    key: str
    label: str
    unit: str
    source: str
    definition: str
    short: str


INDICATORS: dict[str, Indicator] = {
    ind.key: ind
    for ind in (
        Indicator(
            "harm_rate", "Danno da delitti per residenti", "punti di danno / 1.000 residenti / anno",
            "Delitti (aggregati H3) · popolazione per cella",
            "Delitti pesati per gravità (pena minima del codice penale, in semestri) per 1.000 residenti "
            "all'anno, stimati con "
            "lo stimatore bayesiano empirico globale (Marshall 1991) per non premiare le celle con pochi "
            "abitanti; zero dove non ci sono delitti.",
            "Delitti/residenti",
        ),
        Indicator(
            "harm_density", "Danno da delitti per superficie", "punti di danno / km² / anno",
            "Delitti (aggregati H3)",
            "Delitti pesati per gravità per km² di territorio all'anno.",
            "Delitti/km²",
        ),
        Indicator(
            "night_share", "Quota notturna dei delitti", "% dei delitti tra le 20 e le 6",
            "Delitti (fascia oraria)",
            "Quota dei delitti in fascia notturna, avvicinata alla quota del territorio quando i delitti "
            "sono pochi (come se ogni esagono avesse 10 delitti in più distribuiti come nel territorio); zero "
            "dove non ci sono delitti.",
            "Notte",
        ),
        Indicator(
            "reports", "Segnalazioni di degrado aperte", "punti di gravità / km²",
            "Segnalazioni di degrado (Comuni)",
            "Somma delle gravità (1-3) delle segnalazioni ancora aperte per km².",
            "Degrado",
        ),
        Indicator(
            "lighting_deficit", "Carenza di illuminazione", "% di punti luce funzionanti mancanti",
            "Punti luce (PELL-IP) · popolazione per cella",
            "1 − punti luce funzionanti / punti luce attesi, dove i punti attesi sono la media di "
            "160 per 1.000 residenti e 500 per km² abitato; zero dove nessuno abita.",
            "Illuminazione",
        ),
        Indicator(
            "schools", "Scuole vicine", "scuole nella cella e nelle celle confinanti",
            "Anagrafe scuole (MIM) e scuole generate",
            "Numero di scuole nell'esagono e nel primo anello di esagoni confinanti (esposizione dei "
            "minori, art. 11 Scuole sicure).",
            "Scuole",
        ),
        Indicator(
            "homeless", "Presenza di persone senza dimora", "segnalazioni nella cella e nelle confinanti",
            "Segnalazioni «bivacco o marginalità»",
            "Segnalazioni di bivacco o marginalità aperte o aperte nel periodo, nell'esagono e nel primo "
            "anello (art. 14).",
            "Senza dimora",
        ),
        Indicator(
            "service_distance", "Distanza dai servizi per senza dimora", "km dal servizio più vicino",
            "Censimento servizi (art. 14) · segnalazioni «bivacco»",
            "Distanza in linea d'aria dal centro dell'esagono al servizio per persone senza dimora più "
            "vicino, contata solo dove c'è presenza di persone senza dimora.",
            "Distanza servizi",
        ),
        Indicator(
            "confiscated", "Beni confiscati riutilizzabili", "beni nella cella e nelle confinanti",
            "Beni confiscati (ANBSC / Regione Toscana)",
            "Immobili confiscati in gestione o destinati (esclusi box e posti auto), nell'esagono e nel "
            "primo anello: risorse per interventi sociali (artt. 4, 8).",
            "Beni confiscati",
        ),
        Indicator(
            "population", "Popolazione", "residenti",
            "ISTAT, popolazione per comune distribuita sulle celle",
            "Residenti stimati nell'esagono: più persone beneficiano dell'intervento.",
            "Popolazione",
        ),
    )
}
INDICATOR_KEYS: tuple[str, ...] = tuple(INDICATORS)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------

def harm_weights(categories: pd.Series, *, weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Harm weight of each incident category (unknown categories weigh 1)."""
    table = SEVERITY_WEIGHTS if weights is None else weights
    return categories.map(lambda c: table.get(c, 1.0)).to_numpy(dtype=np.float64)


def empirical_bayes(events: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global empirical-Bayes smoothed rates (Marshall 1991; GeoDa's "Empirical Bayes") and the
    reliability of each.

    Each raw rate ``e/b`` is shrunk towards the overall rate ``m = Σe / Σb`` with weight
    ``A / (A + m / b)``, where ``A`` is the between-area variance estimated by the method of
    moments. Areas with no population get ``m`` (no information); a negative ``A`` (less
    variation than Poisson noise) is set to zero, so every rate becomes ``m``.

    Parameters
    ----------
    events, population
        Counts (or weighted counts) and populations at risk, same length.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Smoothed rates (events per unit of population; equal to ``esda.smoothing.Empirical_Bayes``
        where every population is positive and ``A`` is positive) and the weight of each area's
        own rate in its smoothed rate, in [0, 1] (0: the rate says nothing beyond the overall
        one; 1: the area is large enough to speak for itself).
    """
    e = np.asarray(events, dtype=np.float64)
    b = np.asarray(population, dtype=np.float64)
    total_b = b.sum()
    if total_b <= 0:
        return np.zeros_like(e), np.zeros_like(e)
    m = e.sum() / total_b
    pos = b > 0
    raw = np.zeros_like(e)
    raw[pos] = e[pos] / b[pos]
    variance = (b[pos] * (raw[pos] - m) ** 2).sum() / total_b - m / b.mean()
    variance = max(variance, 0.0)
    out = np.full_like(e, m)
    weight = np.zeros_like(e)
    if variance > 0:
        weight[pos] = variance / (variance + m / b[pos])
        out[pos] = weight[pos] * raw[pos] + (1 - weight[pos]) * m
    return out, weight


def empirical_bayes_rate(events: np.ndarray, population: np.ndarray) -> np.ndarray:
    """The smoothed rates of :func:`empirical_bayes`."""
    return empirical_bayes(events, population)[0]


#: Reliability classes of a shrunk rate by the weight of the area's own rate (Italian labels).
RELIABILITY_CLASSES: tuple[tuple[float, str], ...] = ((0.8, "alta"), (0.5, "media"), (0.0, "bassa"))


def reliability_label(weight: float) -> str:
    """"alta" (the area's own data make at least 80 % of its rate), "media" (50-80 %) or "bassa"."""
    if weight is None or not np.isfinite(weight):
        return "bassa"
    return next(label for bound, label in RELIABILITY_CLASSES if weight >= bound)


def percentile_scores(values: pd.Series) -> pd.Series:
    """Robust [0, 1] score: 0 where the value is zero, negative or missing (absent), otherwise the
    percentile rank among the hexagons where it is present (ties share their average rank, the
    largest value scores 1).

    Ranks ignore the units and the size of outliers: one hexagon with an extreme count cannot
    flatten all the others, which a min-max scaling would do.
    """
    v = pd.to_numeric(values, errors="coerce")
    present = v > 0
    out = pd.Series(0.0, index=values.index)
    n = int(present.sum())
    if n:
        out[present] = v[present].rank(method="average") / n
    return out


def neighbourhood_sum(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each cell and its first ring of H3 neighbours in the set."""
    n = len(cells)
    if n == 0:
        return np.zeros(0)
    rows, cols = hexgrid.adjacency_pairs(cells)
    adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)) + sp.identity(n, format="csr")
    return adj @ np.asarray(values, dtype=np.float64)


def nearest_distance_km(cells: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) from each cell centre to the nearest of the given points; NaN
    when there are no points."""
    if len(lat) == 0:
        return np.full(len(cells), np.nan)
    clat, clon = hexgrid.cell_centers(cells)
    tree = BallTree(np.radians(np.column_stack([lat, lon])), metric="haversine")
    dist, _ = tree.query(np.radians(np.column_stack([clat, clon])), k=1)
    return dist[:, 0] * EARTH_RADIUS_KM


def reusable_confiscated(conf: pd.DataFrame) -> pd.Series:
    """True for confiscated assets available for social reuse (see
    :data:`CONFISCATED_REUSE_STATES`): real estate, not garages, managed or destined."""
    return (
        conf["tipologia"].fillna("").str.lower().str.startswith("immobili")
        & ~conf["categoria"].fillna("").str.lower().str.contains("box|garage|posto auto|autorimessa")
        & conf["stato"].fillna("").str.lower().isin(CONFISCATED_REUSE_STATES)
    )


def _to_res(cells_r10: pd.Series, res: int) -> np.ndarray:
    arr = cells_r10.to_numpy(dtype=np.int64)
    return arr if res == config.STORE_RES else hexgrid.cell_to_parent(arr, res)


def _count_by(cells: np.ndarray, index: pd.Index) -> np.ndarray:
    return pd.Series(cells).value_counts().reindex(index, fill_value=0).to_numpy(dtype=np.float64)


# --------------------------------------------------------------------------------------------
# From the store to the per-cell inputs
# --------------------------------------------------------------------------------------------

def load_inputs(store: Store, filters: Filters) -> pd.DataFrame:
    """Per-cell raw quantities at ``filters.res`` for every cell of the territory (or of the
    chosen comuni), indexed by ``cell``.

    Columns: ``pro_com_t``, ``residents``, ``area_km2`` (area inside the territory),
    ``settled_km2`` (area of the resolution-10 children with residents), ``incidents``,
    ``harm`` (severity-weighted incidents), ``night``, ``reports_open``,
    ``reports_open_severity``, ``lights``, ``lights_broken``, ``lights_old``, ``schools``,
    ``services``, ``homeless_reports``, ``reports_all`` (reports of any status and date),
    ``confiscated_reuse``, ``confiscated_all``, ``service_km``. Incident columns
    cover the filters' period, categories and time band.
    """
    res = filters.res
    comuni = list(filters.comuni) or None
    ctx = store.cell_context(res, comuni=comuni).set_index("cell").sort_index()
    base = ctx[["pro_com_t", "residents", "area_km2"]].copy()
    base["residents"] = base["residents"].astype(np.float64)

    fine = store.cell_context(config.STORE_RES, comuni=comuni)
    settled = fine[fine["residents"] > 0]
    settled_area = pd.Series(settled["area_km2"].to_numpy(), index=_to_res(settled["cell"], res))
    base["settled_km2"] = settled_area.groupby(level=0).sum().reindex(base.index, fill_value=0.0)

    q = filters.query_kwargs()
    inc = store.incidents_by_cell(res, **q).set_index("cell")
    for col in ("incidents", "night"):
        base[col] = inc[col].reindex(base.index, fill_value=0).astype(np.float64) if len(inc) else 0.0
    by_cat = store.incidents_series(by=("cell", "category"), res=res, **q)
    if len(by_cat):
        by_cat = by_cat.groupby(["cell", "category"], as_index=False)["incidents"].sum()
        by_cat["harm"] = by_cat["incidents"] * harm_weights(by_cat["category"])
        base["harm"] = by_cat.groupby("cell")["harm"].sum().reindex(base.index, fill_value=0.0)
    else:
        base["harm"] = 0.0

    stats = store.layer_stats_by_cell(res, comuni=comuni).set_index("cell")
    for col in ("reports_open", "reports_open_severity", "lights", "lights_broken", "lights_old", "schools",
                "services"):
        base[col] = stats[col].reindex(base.index, fill_value=0).astype(np.float64) if len(stats) else 0.0

    reports = store.points("reports", comuni=comuni)
    if len(reports):
        opened = pd.to_datetime(reports["opened"]).dt.date
        in_period = pd.Series(True, index=reports.index)
        if filters.start is not None:
            in_period &= opened >= filters.start
        if filters.end is not None:
            in_period &= opened <= filters.end
        homeless = reports[(reports["category"] == HOMELESS_REPORT_CATEGORY)
                           & (reports["status"].isin(OPEN_REPORT_STATUS) | in_period)]
        base["homeless_reports"] = _count_by(_to_res(homeless["cell"], res), base.index)
        base["reports_all"] = _count_by(_to_res(reports["cell"], res), base.index)
    else:
        base["homeless_reports"] = 0.0
        base["reports_all"] = 0.0

    conf = store.points("confiscated", comuni=comuni)
    if len(conf):
        reusable = conf[reusable_confiscated(conf)]
        base["confiscated_reuse"] = _count_by(_to_res(reusable["cell"], res), base.index)
        base["confiscated_all"] = _count_by(_to_res(conf["cell"], res), base.index)
    else:
        base["confiscated_reuse"] = 0.0
        base["confiscated_all"] = 0.0

    # Distance to services is measured to every service of the province, also outside the chosen
    # comuni: people cross municipal borders to reach a canteen or a shelter.
    services = store.points("services")
    base["service_km"] = nearest_distance_km(
        base.index.to_numpy(dtype=np.int64), services["lat"].to_numpy(), services["lon"].to_numpy()
    )
    base.index.name = "cell"
    return base


def period_months(store: Store, filters: Filters) -> int:
    """Months covered by the filters (the whole loaded period when open-ended); at least 1."""
    if filters.months is not None:
        return max(filters.months, 1)
    period = store.period()
    if period is None:
        return 12
    first, last = period
    start = filters.start or first
    end = filters.end or last
    return max((end.year - start.year) * 12 + end.month - start.month + 1, 1)


# --------------------------------------------------------------------------------------------
# Indicators and scores
# --------------------------------------------------------------------------------------------

def compute_indicators(
    base: pd.DataFrame,
    *,
    months: int,
    lights_per_1000: float = LIGHTS_PER_1000_RESIDENTS,
    lights_per_settled_km2: float = LIGHTS_PER_SETTLED_KM2,
    night_prior: float = NIGHT_PRIOR_INCIDENTS,
) -> pd.DataFrame:
    """Raw indicator values (columns :data:`INDICATOR_KEYS`, units as in :data:`INDICATORS`).

    Parameters
    ----------
    base
        Output of :func:`load_inputs` (or any frame with the same columns), indexed by cell.
    months
        Length of the period of the incident columns, to annualise them.
    lights_per_1000, lights_per_settled_km2
        Lighting targets (see the module constants for their basis).
    night_prior
        Pseudo-count of the night-share shrinkage.
    """
    years = months / 12.0
    idx = base.index
    cells = idx.to_numpy(dtype=np.int64)
    out = pd.DataFrame(index=idx)
    harm = base["harm"].to_numpy(dtype=np.float64)
    residents = base["residents"].to_numpy(dtype=np.float64)

    rate = empirical_bayes_rate(harm, residents) * 1000.0 / years
    out["harm_rate"] = np.where(harm > 0, rate, 0.0)
    area = base["area_km2"].to_numpy(dtype=np.float64)
    out["harm_density"] = np.divide(harm, area * years, out=np.zeros_like(harm), where=area > 0)

    incidents = base["incidents"].to_numpy(dtype=np.float64)
    night = base["night"].to_numpy(dtype=np.float64)
    p0 = night.sum() / incidents.sum() if incidents.sum() > 0 else 0.0
    out["night_share"] = np.where(incidents > 0, (night + night_prior * p0) / (incidents + night_prior), 0.0)

    sev = base["reports_open_severity"].to_numpy(dtype=np.float64)
    out["reports"] = np.divide(sev, area, out=np.zeros_like(sev), where=area > 0)

    expected = 0.5 * (lights_per_1000 * residents / 1000.0
                      + lights_per_settled_km2 * base["settled_km2"].to_numpy(dtype=np.float64))
    working = (base["lights"] - base["lights_broken"]).to_numpy(dtype=np.float64)
    deficit = np.divide(expected - working, expected, out=np.zeros_like(expected), where=expected > 0)
    out["lighting_deficit"] = np.clip(deficit, 0.0, 1.0)

    out["schools"] = neighbourhood_sum(cells, base["schools"].to_numpy())
    homeless = neighbourhood_sum(cells, base["homeless_reports"].to_numpy())
    out["homeless"] = homeless
    dist = base["service_km"].to_numpy(dtype=np.float64)
    out["service_distance"] = np.where((homeless > 0) & np.isfinite(dist), dist, 0.0)
    out["confiscated"] = neighbourhood_sum(cells, base["confiscated_reuse"].to_numpy())
    out["population"] = residents
    return out[list(INDICATOR_KEYS)]


def normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """Scores in [0, 1] for every indicator column (:func:`percentile_scores`)."""
    return pd.DataFrame({col: percentile_scores(raw[col]) for col in raw.columns}, index=raw.index)


def lighting_state(base: pd.DataFrame) -> pd.DataFrame:
    """Descriptive lighting figures per cell: ``lights_per_1000`` (per 1,000 residents),
    ``lights_per_settled_km2``, ``broken_share`` and ``old_share`` (fractions of the points)."""
    lights = base["lights"].astype(np.float64)
    res = base["residents"].astype(np.float64)
    settled = base["settled_km2"].astype(np.float64)
    return pd.DataFrame({
        "lights_per_1000": (lights * 1000 / res).where(res > 0),
        "lights_per_settled_km2": (lights / settled).where(settled > 0),
        "broken_share": (base["lights_broken"] / lights).where(lights > 0),
        "old_share": (base["lights_old"] / lights).where(lights > 0),
    }, index=base.index)


#: Source layer of each indicator, as a column of :func:`load_inputs` whose sum tells whether the
#: layer has any row (None: incidents and population, present whenever incidents are loaded).
INDICATOR_LAYER: dict[str, str] = {
    "harm_rate": "incidents", "harm_density": "incidents", "night_share": "incidents",
    "reports": "reports_all", "lighting_deficit": "lights", "schools": "schools",
    "homeless": "reports_all", "service_distance": "services", "confiscated": "confiscated_all",
    "population": "residents",
}
#: Layers gathered by each Comune (reports from its own system, the PELL lighting census): a
#: comune with no row at all has not supplied the layer, and its zero is not a measurement. The
#: other layers are complete registries or censuses of the territory (ISTAT population, the MIM
#: school registry, ANBSC confiscated assets, the pact's census of services), where a comune with
#: no row truly has none.
COMUNE_SUPPLIED: frozenset[str] = frozenset({"reports_all", "lights"})


def indicator_availability(base: pd.DataFrame) -> pd.DataFrame:
    """Which indicator carries information in which cell (cells x :data:`INDICATOR_KEYS`, bool).

    An indicator drops out everywhere when its source layer has no row in the territory (all its
    values would be zero: it cannot tell one hexagon from another), and, for the layers a Comune
    supplies (:data:`COMUNE_SUPPLIED`), in the hexagons of a comune that has supplied no row.
    The priority renormalises the weights over the indicators left in each hexagon
    (:func:`geo.zones.priority.cell_contributions`).
    """
    out = pd.DataFrame(True, index=base.index, columns=list(INDICATOR_KEYS))
    for key in INDICATOR_KEYS:
        col = INDICATOR_LAYER[key]
        values = base[col] if col in base else pd.Series(0.0, index=base.index)
        if float(values.sum()) <= 0:
            out[key] = False
        elif col in COMUNE_SUPPLIED and "pro_com_t" in base:
            present = values.groupby(base["pro_com_t"]).sum() > 0
            out[key] = base["pro_com_t"].map(present).fillna(False).to_numpy(dtype=bool)
    return out


def absent_summary(available: pd.DataFrame, comuni_of_cell: pd.Series, names: dict[str, str]) -> dict:
    """What dropped out: ``territory`` (indicators absent everywhere) and ``comuni`` ({indicator:
    names of the comuni where it is absent}, only for indicators present somewhere)."""
    territory = [k for k in available.columns if not available[k].any()]
    partial: dict[str, list[str]] = {}
    for k in available.columns:
        if available[k].any() and not available[k].all():
            missing = sorted({names.get(c, c) for c in comuni_of_cell[~available[k].to_numpy()].unique()})
            partial[k] = missing
    return {"territory": territory, "comuni": partial}


@dataclass(frozen=True)
class IndicatorTable:
    """Inputs, raw indicators, scores and indicator availability for the same cells (same index)."""

    base: pd.DataFrame
    raw: pd.DataFrame
    scores: pd.DataFrame
    months: int
    available: pd.DataFrame | None = None


def build_indicators(store: Store, filters: Filters) -> IndicatorTable:
    """Everything the priority needs, from the store, for the filters' resolution and period."""
    base = load_inputs(store, filters)
    months = period_months(store, filters)
    raw = compute_indicators(base, months=months)
    return IndicatorTable(base=base, raw=raw, scores=normalise(raw), months=months,
                          available=indicator_availability(base))
