"""Pilot zones for the first phase of integrated interventions (pact art. 4).

A pilot zone is a **contiguous** set of H3 hexagons of the territory, between ``min_km2`` and
``max_km2`` in area (default 0.3-3 km²), grown from the high-priority hexagons:

1. *candidates* are the ``candidate_share`` (default 10 %) of hexagons with the highest
   priority among those with any signal (priority > 0);
2. candidates that touch (H3 first ring) form connected components;
3. a component larger than ``max_km2`` is split by seeded region growing (:func:`_split`): the
   candidate of highest priority seeds a zone that takes its best adjacent candidates, with a
   bonus for compactness, up to ``max_km2``; then the best candidate left seeds the next;
4. a piece smaller than ``min_km2`` grows by region growing: it takes the adjacent free hexagon of
   highest priority, one at a time, until it reaches ``min_km2``; a piece that cannot grow (closed
   by other zones or by the territory's edge) joins an adjacent zone if the union fits, otherwise
   it is dropped.

Only hexagons of the territory exist in the adjacency, so a zone never crosses the territory's
edge into nothing. Zones are ranked by their expected benefit, the priority mass (area x the
area-weighted mean of their hexagons' priority, which decomposes into per-indicator
contributions): ranking by the mean alone let minimum-size zones with a few extreme hexagons fill
the top 10 (``scripts/bench_ranking.py`` compares the top 10 with a greedy region-growing
baseline, :mod:`geo.zones.baseline`). Indicators a territory lacks drop out of the priority with
their weights renormalised (:func:`geo.zones.indicators.indicator_availability`). The robustness of the ranking is
measured by Monte-Carlo perturbation of the weights (:func:`robustness`) and by a Borda count
across the weight presets (:func:`borda_consensus`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from geo import config
from geo.access.disclosure import KEY_MODULUS
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.schemas import OPEN_REPORT_STATUS, REPORT_CATEGORIES, SCHOOL_LEVELS
from geo.data.storage import Store
from geo.overview import places
from geo.zones import backtest, hotspots, naming
from geo.zones.indicators import (
    INDICATOR_KEYS,
    LIGHTS_PER_1000_RESIDENTS,
    LIGHTS_PER_SETTLED_KM2,
    IndicatorTable,
    absent_summary,
    build_indicators,
    empirical_bayes,
    reliability_label,
    reusable_confiscated,
)
from geo.zones.priority import (
    PRESETS,
    cell_contributions,
    effective_weights,
    normalise_weights,
    perturbed_weights,
    preset_weights,
    top_drivers,
)

DEFAULT_MIN_KM2 = 0.3
DEFAULT_MAX_KM2 = 3.0
#: Share of the hexagons with a positive priority that may seed zones (top 10 %).
DEFAULT_CANDIDATE_SHARE = 0.10
DEFAULT_TOP = 10
#: Monte-Carlo draws and relative spread of the weights (± 20 %) for the robustness.
DEFAULT_DRAWS = 200
DEFAULT_SPREAD = 0.2
DEFAULT_RES = 9
EARTH_RADIUS_KM = 6371.0088


# --------------------------------------------------------------------------------------------
# Delineation
# --------------------------------------------------------------------------------------------

def check_bounds(min_km2: float, max_km2: float, hex_km2: float) -> None:
    """Raise ``ValueError`` (Italian) when the size bounds cannot be met at this resolution."""
    if not (math.isfinite(min_km2) and math.isfinite(max_km2)) or min_km2 < 0:
        raise ValueError("Le superfici minima e massima devono essere numeri non negativi.")
    if min_km2 > max_km2:
        raise ValueError(f"La superficie minima ({min_km2:g} km²) supera la massima ({max_km2:g} km²).")
    if max_km2 < hex_km2:
        raise ValueError(
            f"La superficie massima ({max_km2:g} km²) è minore di un esagono ({hex_km2:.3f} km²): "
            "scegliere una risoluzione più fine o una superficie massima maggiore."
        )


def candidate_mask(priority: np.ndarray, share: float) -> np.ndarray:
    """True for the ``share`` of cells with positive priority that score highest (ties at the
    threshold included)."""
    p = np.asarray(priority, dtype=np.float64)
    positive = p > 0
    n_pos = int(positive.sum())
    if n_pos == 0 or share <= 0:
        return np.zeros(len(p), dtype=bool)
    k = min(max(math.ceil(share * n_pos), 1), n_pos)
    threshold = np.partition(p[positive], n_pos - k)[n_pos - k]
    return positive & (p >= threshold)


def planar_km(cells: np.ndarray) -> np.ndarray:
    """Cell centres in km on a local equirectangular plane (n x 2): enough for compactness."""
    lat, lon = hexgrid.cell_centers(np.asarray(cells, dtype=np.int64))
    if len(lat) == 0:
        return np.zeros((0, 2))
    lat0 = np.radians(lat.mean())
    x = EARTH_RADIUS_KM * np.cos(lat0) * np.radians(lon - lon.mean())
    y = EARTH_RADIUS_KM * np.radians(lat - lat.mean())
    return np.column_stack([x, y])


def adjacency(cells: np.ndarray) -> sp.csr_matrix:
    """Binary H3 first-ring adjacency among ``cells`` (no self-loops)."""
    return hotspots.adjacency_matrix(cells)


#: Points of priority a free hexagon gains, while a zone grows, for each of its neighbours already
#: in the zone: a compactness bonus, so that a zone grows round rather than along a line of
#: slightly higher priorities (``scripts/bench_ranking.py`` measured 3, 10 and 30; 10 keeps the
#: zones at least as compact as a Ward split with more priority mass and hot hexagons).
COMPACTNESS_BONUS = 10.0


def _split(idx: np.ndarray, adj: sp.csr_matrix, xy: np.ndarray, area: np.ndarray, max_km2: float,
           priority: np.ndarray) -> list[np.ndarray]:
    """Split a connected set of cells into connected pieces no larger than ``max_km2`` by seeded
    region growing: the free cell of highest priority seeds a piece, which takes the adjacent free
    cell of highest ``priority + COMPACTNESS_BONUS x neighbours already in the piece`` (ties: the
    nearest to the seed, then the lower index) while it fits; then the next seed. A hot core is
    never cut in two by geometry alone, as a purely spatial split (Ward) would do."""
    if area[idx].sum() <= max_km2 or len(idx) == 1:
        return [idx]
    indptr, indices = adj.indptr, adj.indices
    free = np.zeros(len(area), dtype=bool)
    free[idx] = True
    member = np.zeros(len(area), dtype=bool)
    order = idx[np.lexsort((idx, -priority[idx]))]  # seeds: highest priority first
    out: list[np.ndarray] = []
    for seed in order:
        if not free[seed]:
            continue
        piece = [int(seed)]
        free[seed] = False
        member[seed] = True
        total = float(area[seed])
        heap: list[tuple[float, float, int]] = []

        def push(i: int, seed: int = int(seed), heap: list = heap) -> None:
            for j in indices[indptr[i]:indptr[i + 1]]:
                if free[j]:
                    touch = int(member[indices[indptr[j]:indptr[j + 1]]].sum())
                    d = float(np.hypot(*(xy[j] - xy[seed])))
                    heapq.heappush(heap, (-(priority[j] + COMPACTNESS_BONUS * touch), d, int(j)))

        push(int(seed))
        while heap:
            _, _, j = heapq.heappop(heap)
            if not free[j] or total + area[j] > max_km2:
                continue
            free[j] = False
            member[j] = True
            piece.append(j)
            total += float(area[j])
            push(j)
        member[piece] = False
        out.append(np.sort(np.array(piece, dtype=np.int64)))
    return out


def delineate_zones(
    cells: np.ndarray,
    priority: np.ndarray,
    area_km2: np.ndarray,
    *,
    min_km2: float = DEFAULT_MIN_KM2,
    max_km2: float = DEFAULT_MAX_KM2,
    candidate_share: float = DEFAULT_CANDIDATE_SHARE,
    adj: sp.csr_matrix | None = None,
    xy: np.ndarray | None = None,
) -> np.ndarray:
    """Contiguous pilot zones within size bounds (see the module docstring for the method).

    Parameters
    ----------
    cells
        Every H3 cell (int64) of the territory at one resolution; nothing outside exists.
    priority
        Priority of each cell (points, higher first).
    area_km2
        Area of each cell inside the territory, km².
    min_km2, max_km2
        Size bounds of a zone, km².
    candidate_share
        Share of the cells with positive priority that may seed zones.
    adj, xy
        Precomputed :func:`adjacency` and :func:`planar_km` of ``cells`` (optional).

    Returns
    -------
    numpy.ndarray
        Zone label of each cell (``0..n_zones-1``, in no particular order) or ``-1``. The result
        depends only on the inputs (ties are broken by cell order).
    """
    cells = np.asarray(cells, dtype=np.int64)
    priority = np.asarray(priority, dtype=np.float64)
    area = np.asarray(area_km2, dtype=np.float64)
    n = len(cells)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    check_bounds(min_km2, max_km2, float(area.max()))
    adj = adjacency(cells) if adj is None else adj
    xy = planar_km(cells) if xy is None else xy
    cand = np.flatnonzero(candidate_mask(priority, candidate_share))
    if len(cand) == 0:
        return labels
    n_comp, comp = connected_components(adj[cand][:, cand], directed=False)
    pieces: list[np.ndarray] = []
    for c in range(n_comp):
        pieces.extend(_split(cand[comp == c], adj, xy, area, max_km2, priority))

    members: dict[int, list[int]] = {}
    zone_area: dict[int, float] = {}
    for z, idx in enumerate(pieces):
        labels[idx] = z
        members[z] = [int(i) for i in idx]
        zone_area[z] = float(area[idx].sum())

    indptr, indices = adj.indptr, adj.indices

    def mean_priority(z: int) -> float:
        m = members[z]
        return float(np.average(priority[m], weights=area[m])) if area[m].sum() > 0 else 0.0

    # The best small pieces pick their neighbours first.
    queue = sorted((z for z in members if zone_area[z] < min_km2), key=lambda z: (-mean_priority(z), members[z][0]))
    while queue:
        z = queue.pop(0)
        if z not in members or zone_area[z] >= min_km2:
            continue
        heap: list[tuple[float, int]] = []
        for i in members[z]:
            for j in indices[indptr[i]:indptr[i + 1]]:
                if labels[j] == -1:
                    heapq.heappush(heap, (-priority[j], int(j)))
        while zone_area[z] < min_km2 and heap:
            _, j = heapq.heappop(heap)
            if labels[j] != -1 or zone_area[z] + area[j] > max_km2:
                continue
            labels[j] = z
            members[z].append(j)
            zone_area[z] += float(area[j])
            for k in indices[indptr[j]:indptr[j + 1]]:
                if labels[k] == -1:
                    heapq.heappush(heap, (-priority[k], int(k)))
        if zone_area[z] >= min_km2:
            continue
        # Closed in: join the best adjacent zone if the union fits, else drop the piece.
        touching = {int(labels[j]) for i in members[z] for j in indices[indptr[i]:indptr[i + 1]]}
        touching -= {-1, z}
        fits = [t for t in touching if zone_area[t] + zone_area[z] <= max_km2]
        cells_z = members.pop(z)
        area_z = zone_area.pop(z)
        if fits:
            t = max(fits, key=lambda t: (mean_priority(t), -members[t][0]))
            labels[cells_z] = t
            members[t].extend(cells_z)
            zone_area[t] += area_z
            if zone_area[t] < min_km2 and t not in queue:
                queue.append(t)
        else:
            labels[cells_z] = -1
    # Compact the labels to 0..n_zones-1 in order of each zone's first cell.
    out = np.full(n, -1, dtype=np.int64)
    order = sorted(members, key=lambda z: min(members[z]))
    for new, z in enumerate(order):
        out[members[z]] = new
    return out


def zone_components(cells: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Number of H3-connected components of each zone (1 for a contiguous zone)."""
    adj = adjacency(cells)
    out = {}
    for z in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == z)
        out[z] = int(connected_components(adj[idx][:, idx], directed=False)[0])
    return out


# --------------------------------------------------------------------------------------------
# Ranking and robustness
# --------------------------------------------------------------------------------------------

def zone_indicator_scores(labels: np.ndarray, scores: pd.DataFrame, area_km2: np.ndarray) -> pd.DataFrame:
    """Area-weighted mean of the hexagons' indicator scores per zone (zones x indicators)."""
    mask = labels >= 0
    if not mask.any():
        return pd.DataFrame(columns=list(INDICATOR_KEYS), dtype=np.float64)
    s = scores[list(INDICATOR_KEYS)].to_numpy()[mask]
    a = np.asarray(area_km2, dtype=np.float64)[mask]
    frame = pd.DataFrame(s * a[:, None], columns=list(INDICATOR_KEYS))
    frame["_a"] = a
    frame["_z"] = labels[mask]
    sums = frame.groupby("_z").sum()
    return sums[list(INDICATOR_KEYS)].div(sums["_a"].where(sums["_a"] > 0, 1.0), axis=0)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank 1 = highest value, ties broken by position; row by row for a 2-D array."""
    v = np.atleast_2d(values)
    order = np.argsort(-v, axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(v.shape[0])[:, None], order] = np.arange(1, v.shape[1] + 1)
    return ranks if np.ndim(values) == 2 else ranks[0]


def robustness(
    zone_scores: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series,
    *,
    top: int = DEFAULT_TOP,
    draws: int = DEFAULT_DRAWS,
    spread: float = DEFAULT_SPREAD,
    seed: int = 0,
) -> pd.DataFrame:
    """Monte-Carlo stability of the zone ranking when every weight varies by ± ``spread``.

    Parameters
    ----------
    zone_scores
        Zones x indicators (:func:`zone_indicator_scores`); zones are fixed, only their
        scoring changes.
    weights
        The base weights.
    top
        N of "stays in the top N".

    Returns
    -------
    DataFrame
        Per zone (same index): ``p_top`` (share of draws in which the zone ranks in the top N),
        ``rank_median``, ``rank_p05``, ``rank_p95`` (5th-95th percentile of its rank).
    """
    if zone_scores.empty:
        return pd.DataFrame(columns=["p_top", "rank_median", "rank_p05", "rank_p95"], dtype=np.float64)
    w = perturbed_weights(weights, draws=draws, spread=spread, seed=seed)
    s = w @ zone_scores[list(INDICATOR_KEYS)].to_numpy().T  # draws x zones
    ranks = _ranks(s)
    return pd.DataFrame(
        {
            "p_top": (ranks <= top).mean(axis=0),
            "rank_median": np.median(ranks, axis=0),
            "rank_p05": np.percentile(ranks, 5, axis=0),
            "rank_p95": np.percentile(ranks, 95, axis=0),
        },
        index=zone_scores.index,
    )


def footprint_stability(
    scores: pd.DataFrame,
    labels: np.ndarray,
    weights: Mapping[str, float] | pd.Series,
    *,
    candidate_share: float = DEFAULT_CANDIDATE_SHARE,
    draws: int = DEFAULT_DRAWS,
    spread: float = DEFAULT_SPREAD,
    seed: int = 0,
) -> pd.Series:
    """Mean, over a zone's hexagons, of the probability that the hexagon is still a candidate
    (top ``candidate_share``) when the weights vary by ± ``spread``: how firmly the perimeter of
    the zone is rooted in high-priority hexagons."""
    s = scores[list(INDICATOR_KEYS)].to_numpy()
    w = perturbed_weights(weights, draws=draws, spread=spread, seed=seed)
    base = s @ normalise_weights(weights).to_numpy()
    positive = base > 0  # perturbation keeps zero weights at zero, so positivity does not change
    n_pos = int(positive.sum())
    mask = labels >= 0
    if n_pos == 0 or not mask.any():
        return pd.Series(dtype=np.float64)
    k = min(max(math.ceil(candidate_share * n_pos), 1), n_pos)
    p = w @ s[positive].T  # draws x positive cells
    threshold = np.partition(p, n_pos - k, axis=1)[:, n_pos - k]
    freq = np.zeros(len(s))
    freq[positive] = (p >= threshold[:, None]).mean(axis=0)
    return pd.Series(freq[mask]).groupby(labels[mask]).mean()


def borda_consensus(
    zone_scores: pd.DataFrame,
    *,
    presets: Mapping[str, Mapping[str, float]] | None = None,
    top: int = DEFAULT_TOP,
    values: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Rank of each zone under every weight preset and their Borda consensus.

    ``values`` ({preset: one value per zone, higher first}) replaces the presets' scoring of
    ``zone_scores`` (used by :func:`rank_zones` to rank by expected benefit).

    Each preset ranks the (fixed) zones; a zone earns ``n_zones − rank`` points per preset; the
    consensus ranks zones by total points (ties: better best rank, then zone order).

    Returns
    -------
    DataFrame
        Per zone: ``rank_<preset>`` for each preset, ``borda`` (points), ``consensus_rank``,
        ``rank_spread`` (worst − best preset rank), ``presets_in_top`` (presets that put the
        zone in the top N) and ``disagreement`` (True when some presets put it in the top N and
        others do not).
    """
    presets = presets or {k: p.weights for k, p in PRESETS.items()}
    if values is not None:
        presets = {k: presets.get(k, {}) for k in values}
    cols = [f"rank_{k}" for k in presets]
    if zone_scores.empty:
        return pd.DataFrame(columns=[*cols, "borda", "consensus_rank", "rank_spread", "presets_in_top",
                                     "disagreement"])
    z = zone_scores[list(INDICATOR_KEYS)].to_numpy()
    n = len(z)
    out = pd.DataFrame(index=zone_scores.index)
    for key, weights in presets.items():
        v = (np.asarray(values[key], dtype=np.float64) if values is not None
             else z @ normalise_weights(weights).to_numpy())
        out[f"rank_{key}"] = _ranks(v)
    ranks = out[cols].to_numpy()
    out["borda"] = (n - ranks).sum(axis=1)
    best = ranks.min(axis=1)
    order = np.lexsort((np.arange(n), best, -out["borda"].to_numpy()))
    consensus = np.empty(n, dtype=np.int64)
    consensus[order] = np.arange(1, n + 1)
    out["consensus_rank"] = consensus
    out["rank_spread"] = ranks.max(axis=1) - best
    in_top = (ranks <= top).sum(axis=1)
    out["presets_in_top"] = in_top
    out["disagreement"] = (in_top > 0) & (in_top < len(cols))
    return out


# --------------------------------------------------------------------------------------------
# Preparation from the store (heavy, cacheable) and ranking (fast, per weight change)
# --------------------------------------------------------------------------------------------

@dataclass
class Prepared:
    """Everything the ranking needs that does not depend on the weights or the zone bounds.

    Plain frames and arrays (picklable), so that a page can cache it.
    """

    filters: Filters
    cells: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    table: IndicatorTable
    hot: pd.DataFrame
    ehsa: pd.DataFrame
    months: list[date]
    history: np.ndarray
    adj_rows: np.ndarray
    adj_cols: np.ndarray
    xy: np.ndarray
    comuni: dict[str, str]
    schools: pd.DataFrame
    services: pd.DataFrame
    reports: pd.DataFrame
    confiscated: pd.DataFrame
    period: tuple[date | None, date | None]
    demo: bool = False
    #: Per cell of ``cells``: key sums of its incidents and night incidents with the filters
    #: (:mod:`geo.access.disclosure`), so that zone totals can be protected for roles without
    #: clearance (None: unknown, zone totals are then not published to them).
    incident_keys: np.ndarray | None = None
    night_keys: np.ndarray | None = None
    #: Hot hexagons that random arrangements of the same counts give, and the back-test of the
    #: previous year's hot spots on the last year (:mod:`geo.zones.backtest`).
    noise: backtest.NoiseFloor | None = None
    back: backtest.Backtest | None = None
    #: Place of each cell of ``cells`` (:func:`geo.overview.places.locate`: ``place``, ``label``...),
    #: naming the zones (None: zones are named by their comuni).
    places: pd.DataFrame | None = None

    @property
    def adj(self) -> sp.csr_matrix:
        n = len(self.cells)
        return sp.csr_matrix((np.ones(len(self.adj_rows)), (self.adj_rows, self.adj_cols)), shape=(n, n))


def _at_res(points: pd.DataFrame, res: int) -> pd.DataFrame:
    out = points.copy()
    cells = out["cell"].to_numpy(dtype=np.int64)
    out["cell"] = cells if res == config.STORE_RES else hexgrid.cell_to_parent(cells, res)
    return out


def prepare(store: Store, filters: Filters, *, freq: str = "Q") -> Prepared:
    """Indicators, Gi* hot spots of the period, emerging hot spots over the whole history and the
    point layers, for the filters' resolution, comuni, categories and time band."""
    table = build_indicators(store, filters)
    cells = table.base.index.to_numpy(dtype=np.int64)
    rows, cols = hexgrid.adjacency_pairs(cells)
    w = hotspots.contiguity_weights(cells, pairs=(rows, cols))
    hot = hotspots.gi_star(cells, table.base["incidents"].to_numpy(), w=w)
    months, history = hotspots.load_history(store, filters, cells)
    ehsa = hotspots.emerging_hotspots(cells, history, freq=freq, w=w)
    comuni = store.comuni()
    chosen = list(filters.comuni) or None
    res = filters.res
    schools = _at_res(store.points("schools", comuni=chosen)[["cell", "name", "level"]], res)
    # every service of the territory: the nearest one may be across a municipal border
    services = _at_res(store.points("services")[["cell", "name", "public", "lat", "lon"]], res)
    reports = store.points("reports", comuni=chosen)
    reports = _at_res(reports[reports["status"].isin(OPEN_REPORT_STATUS)][["cell", "category", "severity"]], res)
    conf = store.points("confiscated", comuni=chosen)
    conf = _at_res(conf.assign(reusable=reusable_confiscated(conf))[["cell", "reusable"]], res)
    period = store.period()
    start = filters.start or (period[0] if period else None)
    end = filters.end or (period[1] if period else None)
    lat, lon = hexgrid.cell_centers(cells)
    keyed = store.incidents_by_cell(res, **filters.query_kwargs()).set_index("cell")
    keyed = keyed[["incidents_key", "night_key"]].reindex(cells, fill_value=0).to_numpy(dtype=np.int64)
    noise = backtest.noise_floor(hot)
    back = backtest.backtest(cells, months, history, table.base["area_km2"].to_numpy(), w=w)
    named = places.locate(store, cells, comuni=table.base["pro_com_t"].to_numpy(dtype=object))
    return Prepared(
        filters=filters, cells=cells, lat=lat, lon=lon, table=table, hot=hot, ehsa=ehsa, months=months,
        history=history, adj_rows=rows, adj_cols=cols, xy=planar_km(cells),
        comuni=dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True)),
        schools=schools, services=services, reports=reports, confiscated=conf, period=(start, end),
        demo=store.get_meta("demo") == "true", incident_keys=keyed[:, 0], night_keys=keyed[:, 1],
        noise=noise, back=back, places=named,
    )


@dataclass
class ZoneResult:
    """A ranking of pilot zones and everything shown about it.

    ``zones`` has one row per zone, ordered by rank, with ``zone`` (its stable id, "Z-7K3M",
    :mod:`geo.zones.naming`), ``name`` ("Marina di Carrara (Carrara)"), ``rank``,
    ``priority`` and the per-indicator contributions ``c_<indicator>`` (they add up to the
    priority), the zone's figures (see :func:`zone_table`), and the robustness columns.
    ``hexes`` has one row per cell of the territory with ``priority``, ``candidate``, ``zone``,
    the Gi* columns, the EHSA label and ``place`` ("Marina di Carrara (Carrara)").
    """

    zones: pd.DataFrame
    hexes: pd.DataFrame
    weights: pd.Series
    params: dict
    dropped_cells: int = 0
    concentration: pd.DataFrame = field(default_factory=pd.DataFrame)
    concentration_summary: dict = field(default_factory=dict)


def _effective_scores(scores: pd.DataFrame, weights: pd.Series, available: pd.DataFrame | None) -> pd.DataFrame:
    """Scores of the indicators available in each cell divided by the cell's weight normaliser at
    ``weights``: their product with any weights is the priority / 100 with the normaliser fixed."""
    s = scores[list(INDICATOR_KEYS)]
    if available is None:
        return s
    a = available[list(INDICATOR_KEYS)].to_numpy(dtype=np.float64)
    den = a @ normalise_weights(weights).to_numpy()
    inv = np.divide(1.0, den, out=np.zeros_like(den), where=den > 0)
    return pd.DataFrame(s.to_numpy() * a * inv[:, None], index=s.index, columns=list(INDICATOR_KEYS))


def rank_zones(
    prep: Prepared,
    weights: Mapping[str, float] | pd.Series,
    *,
    min_km2: float = DEFAULT_MIN_KM2,
    max_km2: float = DEFAULT_MAX_KM2,
    candidate_share: float = DEFAULT_CANDIDATE_SHARE,
    top: int = DEFAULT_TOP,
    seed: int = 0,
    draws: int = DEFAULT_DRAWS,
    spread: float = DEFAULT_SPREAD,
) -> ZoneResult:
    """Priority, zones, ranking, zone figures and robustness for one set of weights.

    Deterministic: the same inputs and ``seed`` give the same result.
    """
    w = normalise_weights(weights)
    scores = prep.table.scores
    avail = prep.table.available
    area = prep.table.base["area_km2"].to_numpy(dtype=np.float64)
    contrib_df = cell_contributions(scores, w, avail)
    contrib = contrib_df.to_numpy()
    priority = contrib.sum(axis=1)
    raw_labels = delineate_zones(prep.cells, priority, area, min_km2=min_km2, max_km2=max_km2,
                                 candidate_share=candidate_share, adj=prep.adj, xy=prep.xy)
    zscores = zone_indicator_scores(raw_labels, scores, area)
    zcontrib = zone_indicator_scores(raw_labels, contrib_df, area)
    in_any = raw_labels >= 0
    zarea = pd.Series(area[in_any]).groupby(raw_labels[in_any]).sum().reindex(zscores.index).to_numpy()
    # Zones are ranked by their expected benefit, the priority mass Σ priority x area (points x
    # km²): a zone of twice the area at the same priority reaches twice the people and places,
    # so a minimum-size zone no longer wins on a high mean alone.
    benefit = zcontrib.sum(axis=1).to_numpy() * zarea if len(zscores) else np.zeros(0)
    first_cell = pd.Series(prep.cells[in_any]).groupby(raw_labels[in_any]).min()
    order = np.lexsort((first_cell.reindex(zscores.index).to_numpy(), -benefit)) if len(zscores) else []
    rank_of = {int(zscores.index[i]): r + 1 for r, i in enumerate(order)}
    labels = np.array([rank_of.get(int(z), 0) for z in raw_labels], dtype=np.int64)  # 0 = no zone
    zscores.index = [rank_of[int(z)] for z in zscores.index]
    zcontrib.index = [rank_of[int(z)] for z in zcontrib.index]
    zscores, zcontrib = zscores.sort_index(), zcontrib.sort_index()
    zarea_ranked = pd.Series(area[labels > 0]).groupby(labels[labels > 0]).sum().reindex(zscores.index)

    zones = zone_table(prep, labels, zscores, w, zcontrib=zcontrib)
    if len(zones):
        # Robustness on the mass: per-cell normalisers fixed at the base weights (exact at the
        # base weights; the only approximation is when some indicator is missing in some cells).
        eff = _effective_scores(scores, w, avail)
        zmass = zone_indicator_scores(labels - 1, eff, area).mul(zarea_ranked.to_numpy(), axis=0)
        zmass.index = zscores.index
        rob = robustness(zmass, w, top=top, draws=draws, spread=spread, seed=seed)
        zones = zones.join(rob, on="rank")
        foot = footprint_stability(eff, labels - 1, w, candidate_share=candidate_share, draws=draws,
                                   spread=spread, seed=seed)
        zones["footprint"] = zones["rank"].map(lambda r: float(foot.get(r - 1, np.nan)))
        values = {key: zone_indicator_scores(labels - 1, cell_contributions(scores, p.weights, avail), area)
                  .sum(axis=1).to_numpy() * zarea_ranked.to_numpy() for key, p in PRESETS.items()}
        zones = zones.join(borda_consensus(zscores, top=top, values=values), on="rank")

    hexes = pd.DataFrame(
        {"priority": priority, "candidate": candidate_mask(priority, candidate_share), "zone": labels},
        index=pd.Index(prep.cells, name="cell"),
    )
    for k, key in enumerate(INDICATOR_KEYS):
        hexes[f"c_{key}"] = contrib[:, k]
    hexes = hexes.join(prep.hot[["z", "q", "hotspot"]]).join(prep.ehsa[["pattern", "kind", "label"]])
    hexes["place"] = (prep.places.set_index("cell")["label"].reindex(hexes.index).to_numpy(dtype=object)
                      if prep.places is not None else None)
    curve = hotspots.concentration_curve(prep.table.base["incidents"].to_numpy(), area)
    params = {
        "res": prep.filters.res, "min_km2": min_km2, "max_km2": max_km2, "candidate_share": candidate_share,
        "top": top, "seed": seed, "draws": draws, "spread": spread, "period": prep.period,
        "comuni": [prep.comuni.get(c, c) for c in prep.filters.comuni], "months": prep.table.months,
        "categories": list(prep.filters.categories), "time_band": prep.filters.time_band, "demo": prep.demo,
        "absent": (absent_summary(avail, prep.table.base["pro_com_t"], prep.comuni)
                   if avail is not None and "pro_com_t" in prep.table.base else {"territory": [], "comuni": {}}),
        "weights_effective": {k: float(v) for k, v in effective_weights(w, avail).items()},
    }
    return ZoneResult(
        zones=zones, hexes=hexes, weights=w, params=params,
        dropped_cells=int((candidate_mask(priority, candidate_share) & (labels == 0)).sum()),
        concentration=curve, concentration_summary=hotspots.concentration_summary(curve),
    )


def _zone_places(prep: Prepared, cores: np.ndarray, ranks: np.ndarray, members: pd.DataFrame
                 ) -> tuple[list[str | None], list[str]]:
    """Place and name of each zone: those of its core cell (:attr:`Prepared.places`); without
    places, the zone's main comune (the one with most of its hexagons)."""
    if prep.places is not None and len(prep.places):
        found = prep.places.set_index("cell").reindex(cores)
        return (found["place"].astype(object).where(found["place"].notna(), None).tolist(),
                [str(v) if isinstance(v, str) and v else "" for v in found["label"]])
    main = members.groupby("zone")["pro_com_t"].agg(lambda v: v.mode().iloc[0] if len(v.mode()) else None)
    names = [prep.comuni.get(main.get(int(r)), "") or "" for r in ranks]
    return [None] * len(ranks), names


_EHSA_ORDER = ("intensifying", "persistent", "new", "consecutive", "sporadic", "oscillating", "diminishing",
               "historical")


def _dominant_patterns(zone: np.ndarray, patterns: pd.Series, kinds: pd.Series) -> pd.DataFrame:
    """Per zone, the EHSA class that best describes it: the most frequent hot-spot class among its
    hexagons (cold classes only if there is no hot one), ties by severity; and how many hexagons
    have it. Zones without any class get :data:`geo.zones.hotspots.NO_PATTERN_LABEL` and 0."""
    frame = pd.DataFrame({"zone": zone, "pattern": patterns.to_numpy(), "kind": kinds.to_numpy()})
    frame = frame[frame["kind"].isin([hotspots.HOT, hotspots.COLD])]
    out: dict[int, tuple[str, int]] = {}
    if len(frame):
        counts = frame.groupby(["zone", "kind", "pattern"]).size().reset_index(name="n")
        counts["kind_order"] = (counts["kind"] != hotspots.HOT).astype(int)
        counts["severity"] = counts["pattern"].map(_EHSA_ORDER.index)
        counts = counts.sort_values(["zone", "kind_order", "n", "severity"], ascending=[True, True, False, True])
        for row in counts.drop_duplicates("zone").itertuples():
            out[int(row.zone)] = (hotspots.pattern_label(row.pattern, row.kind), int(row.n))
    return pd.DataFrame.from_dict(out, orient="index", columns=["trend_class", "trend_class_cells"])


def _lists(values: pd.Series, zone: pd.Series) -> pd.Series:
    """Sorted lists of the values per zone."""
    return values.groupby(zone.to_numpy()).agg(lambda v: sorted(v.astype(str)))


def zone_table(prep: Prepared, labels: np.ndarray, zscores: pd.DataFrame, w: pd.Series,
               zcontrib: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per zone (``labels`` ``1..n``, 0 = none), ordered by rank: priority (area-weighted
    mean of the hexagons' priority, 0-100), ``benefit`` (expected benefit, the ranking measure:
    priority x area, points x km²), contributions ``c_<indicator>`` (``zcontrib``, the
    area-weighted means of the hexagons' contributions; by default ``zscores`` x weights) and zone
    scores ``s_<indicator>``, top-3 ``drivers``, and the figures of the
    card: ``comuni``, ``n_cells``, ``area_km2``, ``residents``, ``incidents``, ``night``,
    ``night_share``, ``harm_rate`` (per 1,000 residents per year, Empirical-Bayes shrunk among the
    zones, with ``harm_rate_raw`` and ``harm_rate_weight``, the weight of the zone's own rate, and
    ``harm_rate_reliability``, "alta"/"media"/"bassa"), ``harm_density`` (per km² per
    year), ``hot_cells``, ``trend_class`` (EHSA), ``trend``/``trend_p``/``trend_slope`` (Mann-Kendall
    on the zone's monthly counts), ``schools`` and ``school_names``, ``services``,
    ``service_names`` (public addresses), ``service_names_reserved``, ``nearest_service(_km,
    _public)``, ``homeless_reports``, ``reports_open``, ``reports_severity``,
    ``report_categories`` (top 3), lighting (``lights``, ``lights_broken_share``,
    ``lights_old_share``, ``lighting_deficit``, ``lights_per_1000``), ``confiscated``
    (reusable) and ``confiscated_all``, ``cells``, ``incidents_key`` and ``night_key`` (key sums of
    the zone totals, :attr:`Prepared.incident_keys`: roles without clearance see the totals
    protected, :func:`geo.zones.report.zone_figures`), ``services_public`` and
    ``nearest_public_service(_km)`` (what roles without clearance are shown)."""
    if zscores.empty:
        return pd.DataFrame()
    base = prep.table.base
    years = prep.table.months / 12.0
    ranks = zscores.index.to_numpy()
    in_zone = labels > 0
    zone = labels[in_zone]
    b = base.iloc[np.flatnonzero(in_zone)].assign(zone=zone)
    sums = b.groupby("zone")[["residents", "area_km2", "settled_km2", "harm", "incidents", "night", "lights",
                              "lights_broken", "lights_old", "homeless_reports"]].sum().reindex(ranks)
    out = pd.DataFrame(index=pd.Index(ranks, name="rank"))
    cores = naming.core_cells(prep.cells, labels, prep.xy)
    ids = naming.zone_ids(cores)
    out["zone"] = [ids[int(r)] for r in ranks]
    out["rank"] = ranks
    out["core_cell"] = [cores[int(r)] for r in ranks]
    out["place"], out["name"] = _zone_places(prep, out["core_cell"].to_numpy(), ranks, b)
    contrib = (zscores[list(INDICATOR_KEYS)] * (w * 100.0) if zcontrib is None
               else zcontrib[list(INDICATOR_KEYS)].reindex(ranks))
    out["priority"] = contrib.sum(axis=1)
    for k in INDICATOR_KEYS:
        out[f"c_{k}"] = contrib[k]
    for k in INDICATOR_KEYS:
        out[f"s_{k}"] = zscores[k]
    out["drivers"] = [[k for k, _ in top_drivers(dict(zip(INDICATOR_KEYS, row, strict=True)), 3)]
                      for row in contrib.to_numpy().tolist()]
    # comuni of a zone, the one with most of its hexagons first
    by_comune = b.groupby(["zone", "pro_com_t"]).size().reset_index(name="n").sort_values(
        ["zone", "n", "pro_com_t"], ascending=[True, False, True])
    comuni = by_comune.groupby("zone")["pro_com_t"].agg(list)
    out["comuni"] = [[prep.comuni.get(c, c) for c in comuni[r]] for r in ranks]
    out["n_cells"] = b.groupby("zone").size().reindex(ranks).to_numpy()
    res_ = sums["residents"]
    out["area_km2"] = sums["area_km2"]
    out["residents"] = res_
    out["incidents"] = sums["incidents"].astype("int64")
    out["night"] = sums["night"].astype("int64")
    out["night_share"] = (sums["night"] / sums["incidents"]).where(sums["incidents"] > 0)
    out["benefit"] = out["priority"] * sums["area_km2"]
    out["harm_rate_raw"] = (sums["harm"] * 1000.0 / res_ / years).where(res_ >= 1)
    shrunk, weight = empirical_bayes(sums["harm"].to_numpy(dtype=np.float64), res_.to_numpy(dtype=np.float64))
    out["harm_rate"] = pd.Series(shrunk * 1000.0 / years, index=ranks).where(res_ >= 1)
    out["harm_rate_weight"] = pd.Series(weight, index=ranks).where(res_ >= 1)
    out["harm_rate_reliability"] = [reliability_label(v) for v in out["harm_rate_weight"].to_numpy()]
    out["harm_density"] = (sums["harm"] / sums["area_km2"] / years).where(sums["area_km2"] > 0)
    hot = pd.Series(prep.hot["hotspot"].to_numpy()[in_zone] == hotspots.HOT)
    out["hot_cells"] = hot.groupby(zone).sum().reindex(ranks).astype("int64")
    dominant = _dominant_patterns(zone, prep.ehsa["pattern"][in_zone], prep.ehsa["kind"][in_zone])
    out["trend_class"] = dominant["trend_class"].reindex(ranks).fillna(hotspots.NO_PATTERN_LABEL)
    out["trend_class_cells"] = dominant["trend_class_cells"].reindex(ranks).fillna(0).astype("int64")
    member = sp.csr_matrix((np.ones(len(zone)), (zone - 1, np.flatnonzero(in_zone))),
                           shape=(int(ranks.max()), len(prep.cells)))
    series = member @ prep.history if prep.history.size else np.zeros((int(ranks.max()), 0))
    mk_res = hotspots.mann_kendall_batch(series[ranks - 1])
    out["trend"] = mk_res["trend"].to_numpy()
    out["trend_p"] = mk_res["p"].to_numpy()
    out["trend_slope"] = mk_res["slope_per_year"].to_numpy()

    zone_of = pd.Series(labels, index=prep.cells)
    empty_list = pd.Series([[] for _ in ranks], index=ranks, dtype=object)

    def in_zones(points: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        z = zone_of.reindex(points["cell"].to_numpy()).fillna(0).astype("int64")
        keep = (z > 0).to_numpy()
        return points[keep], z[keep]

    sch, sch_z = in_zones(prep.schools)
    out["schools"] = sch_z.value_counts().reindex(ranks, fill_value=0).to_numpy()
    names = pd.Series([f"{n} ({SCHOOL_LEVELS.get(lv, lv)})" for n, lv in zip(sch["name"], sch["level"], strict=True)],
                      dtype=object)
    out["school_names"] = _lists(names, sch_z).reindex(ranks).combine_first(empty_list)
    srv, srv_z = in_zones(prep.services)
    public = srv["public"].map(_true).to_numpy(dtype=bool)
    out["services"] = srv_z.value_counts().reindex(ranks, fill_value=0).to_numpy()
    out["service_names"] = _lists(srv["name"][public], srv_z[public]).reindex(ranks).combine_first(empty_list)
    out["service_names_reserved"] = _lists(srv["name"][~public], srv_z[~public]).reindex(ranks).combine_first(
        empty_list)
    nearest = _nearest_services(prep, labels, ranks)
    out["nearest_service_km"] = nearest["km"].to_numpy()
    out["nearest_service"] = nearest["name"].to_numpy()
    out["nearest_service_public"] = nearest["public"].to_numpy()
    out["services_public"] = srv_z[public].value_counts().reindex(ranks, fill_value=0).to_numpy()
    all_public = prep.services["public"].map(_true).to_numpy(dtype=bool)
    nearest_public = _nearest_services(prep, labels, ranks, services=prep.services[all_public])
    out["nearest_public_service_km"] = nearest_public["km"].to_numpy()
    out["nearest_public_service"] = nearest_public["name"].to_numpy()
    out["homeless_reports"] = sums["homeless_reports"].astype("int64")
    rep, rep_z = in_zones(prep.reports)
    out["reports_open"] = rep_z.value_counts().reindex(ranks, fill_value=0).to_numpy()
    out["reports_severity"] = rep["severity"].fillna(2).groupby(rep_z.to_numpy()).sum().reindex(
        ranks, fill_value=0).astype("int64").to_numpy()
    cats = rep["category"].groupby(rep_z.to_numpy()).agg(
        lambda v: [REPORT_CATEGORIES.get(c, c) for c in v.value_counts().index[:3]])
    out["report_categories"] = cats.reindex(ranks).combine_first(empty_list)
    lights = sums["lights"]
    out["lights"] = lights.astype("int64")
    out["lights_broken_share"] = (sums["lights_broken"] / lights).where(lights > 0)
    out["lights_old_share"] = (sums["lights_old"] / lights).where(lights > 0)
    expected = 0.5 * (LIGHTS_PER_1000_RESIDENTS * res_ / 1000.0 + LIGHTS_PER_SETTLED_KM2 * sums["settled_km2"])
    working = sums["lights"] - sums["lights_broken"]
    out["lighting_deficit"] = ((expected - working) / expected).clip(0.0, 1.0).where(expected > 0, 0.0)
    out["lights_per_1000"] = (lights * 1000.0 / res_).where(res_ >= 1)
    conf, conf_z = in_zones(prep.confiscated)
    reusable = conf["reusable"].to_numpy(dtype=bool)
    out["confiscated"] = conf_z[reusable].value_counts().reindex(ranks, fill_value=0).to_numpy()
    out["confiscated_all"] = conf_z.value_counts().reindex(ranks, fill_value=0).to_numpy()
    cells_of = pd.Series(prep.cells[in_zone]).groupby(zone).agg(lambda v: [int(c) for c in v])
    out["cells"] = cells_of.reindex(ranks).to_numpy()
    # key sums of the zone totals (None when unknown: a Prepared built by hand)
    for col, keys in (("incidents_key", prep.incident_keys), ("night_key", prep.night_keys)):
        out[col] = (None if keys is None else pd.Series(keys[in_zone] % KEY_MODULUS).groupby(zone).sum()
                    .reindex(ranks, fill_value=0).to_numpy(dtype=np.int64) % KEY_MODULUS)
    return out.reset_index(drop=True)


def _true(value: object) -> bool:
    return value is True or (isinstance(value, (int, np.integer, np.bool_)) and bool(value))


def _nearest_services(prep: Prepared, labels: np.ndarray, ranks: np.ndarray,
                      services: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per zone: great-circle distance (km) from the zone's centre (mean of its hexagon centres)
    to the nearest homeless service (of ``services``, default all), the service's name and
    whether its address is public."""
    srv = prep.services if services is None else services
    in_zone = labels > 0
    centre = pd.DataFrame({"lat": prep.lat[in_zone], "lon": prep.lon[in_zone], "zone": labels[in_zone]}).groupby(
        "zone").mean().reindex(ranks)
    if srv.empty:
        return pd.DataFrame({"km": np.nan, "name": "", "public": False}, index=ranks)
    clat, clon = np.radians(centre["lat"].to_numpy())[:, None], np.radians(centre["lon"].to_numpy())[:, None]
    slat = np.radians(srv["lat"].to_numpy(dtype=float))[None, :]
    slon = np.radians(srv["lon"].to_numpy(dtype=float))[None, :]
    a = np.sin((slat - clat) / 2) ** 2 + np.cos(clat) * np.cos(slat) * np.sin((slon - clon) / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))
    best = d.argmin(axis=1)
    return pd.DataFrame({
        "km": d[np.arange(len(ranks)), best],
        "name": srv["name"].astype(str).to_numpy()[best],
        "public": [_true(v) for v in srv["public"].to_numpy()[best]],
    }, index=ranks)


def analyse(
    store: Store,
    filters: Filters,
    weights: Mapping[str, float] | str,
    **options,
) -> ZoneResult:
    """One call from the store to a ranking: :func:`prepare` then :func:`rank_zones`.

    ``weights`` is a mapping or a preset name; ``options`` go to :func:`rank_zones`.
    """
    w = preset_weights(weights) if isinstance(weights, str) else normalise_weights(weights)
    return rank_zones(prepare(store, filters), w, **options)
