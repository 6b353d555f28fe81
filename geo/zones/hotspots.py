"""Hot spots of incidents on H3 hexagons: Getis-Ord Gi*, emerging hot-spot trends, concentration.

- :func:`gi_star` computes Getis-Ord Gi* (binary weights on the first ring of H3 neighbours
  inside the territory, the cell itself included) and, by default (``method="maxt"``), decides
  which hexagons are hot or cold with a **max-statistic permutation test** (Westfall & Young
  1993, single step): the Gi* z-scores of ``log(1 + count)`` are compared with the distribution
  of the largest absolute z-score over the whole territory when the same counts are shuffled at
  random over the hexagons. The family-wise error is then at most ``alpha`` whatever the
  sparsity or overdispersion of the counts, because a shuffle of the observed counts is exactly
  what "no spatial pattern" means for them (the null that the map's noise floor shows). The log
  keeps one exceptional hexagon from dominating the maximum. The former method (analytical
  normal p-values of esda's Gi* and Benjamini-Hochberg FDR, ``method="fdr"``) is kept for
  the calibration benchmark: on sparse counts it reports hot spots in almost every run of a
  complete null (scripts/bench_calibration.py, docs/ZONES.md).
- :func:`emerging_hotspots` repeats Gi* on each quarter (or year) and classifies each hexagon
  in the manner of ArcGIS's *Emerging Hot Spot Analysis* (new, consecutive, intensifying,
  persistent, diminishing, sporadic, oscillating, historical), with a Mann-Kendall test for the
  trend of the monthly counts of the hexagon's Gi* neighbourhood.
- :func:`concentration_curve` gives the "% of incidents in % of area" curve of risk-terrain
  and hot-spot policing reports.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date
from typing import Literal

import esda
import numpy as np
import pandas as pd
import scipy.sparse as sp
from libpysal.graph import Graph
from scipy import stats

from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.storage import Store

#: Significance level of the hot-spot tests (family-wise) and of the Mann-Kendall trend test.
ALPHA = 0.05
#: Shuffles of the max-statistic test: p-values are multiples of 1/(PERMUTATIONS + 1).
PERMUTATIONS = 199
#: Hot-spot inference methods: the default and the former one (benchmark only).
METHODS = ("maxt", "fdr")
#: Share of time bins that makes a pattern "persistent" (ArcGIS EHSA's 90 %).
PERSISTENT_SHARE = 0.9

HOT, COLD, NONE = "caldo", "freddo", "non significativo"

#: EHSA pattern codes, in the order of the legend.
PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating",
            "historical")
_PATTERN_IT = {
    "new": "Nuovo punto {k}",
    "consecutive": "Punto {k} consecutivo",
    "intensifying": "Punto {k} in intensificazione",
    "persistent": "Punto {k} persistente",
    "diminishing": "Punto {k} in attenuazione",
    "sporadic": "Punto {k} sporadico",
    "oscillating": "Punto {k} oscillante",
    "historical": "Punto {k} storico",
}
NO_PATTERN_LABEL = "Nessun andamento rilevato"


def pattern_label(pattern: str | None, kind: str | None) -> str:
    """Italian label of an EHSA class, e.g. ``("new", "caldo")`` -> "Nuovo punto caldo"."""
    if not pattern or pattern == "none" or kind not in (HOT, COLD):
        return NO_PATTERN_LABEL
    return _PATTERN_IT[pattern].format(k=kind)


#: Plain-language definitions (Italian) for the legend and the method note.
PATTERN_HELP = {
    "new": "significativo nell'ultimo periodo e mai prima",
    "consecutive": "una sola serie ininterrotta di almeno due periodi significativi, fino all'ultimo, "
                   "e meno del 90% dei periodi",
    "intensifying": "significativo in almeno il 90% dei periodi, compreso l'ultimo, con tendenza "
                    "significativa (Mann-Kendall) verso valori più estremi",
    "persistent": "significativo in almeno il 90% dei periodi, senza tendenza significativa",
    "diminishing": "significativo in almeno il 90% dei periodi, compreso l'ultimo, con tendenza "
                   "significativa ad attenuarsi",
    "sporadic": "significativo nell'ultimo periodo e a intermittenza prima, mai di segno opposto, "
                "meno del 90% dei periodi",
    "oscillating": "significativo nell'ultimo periodo, ma di segno opposto in un periodo precedente, "
                   "meno del 90% dei periodi",
    "historical": "non significativo nell'ultimo periodo, ma in almeno il 90% dei periodi",
}


# --------------------------------------------------------------------------------------------
# Weights and Gi*
# --------------------------------------------------------------------------------------------

def contiguity_weights(cells: np.ndarray, *, pairs: tuple[np.ndarray, np.ndarray] | None = None) -> Graph:
    """Gi* weights among ``cells``: binary H3 contiguity (first ring) plus the cell itself.

    Ids are the positions ``0..n-1``. Only cells of the set are neighbours, so a hexagon on the
    territory's edge simply has fewer neighbours: nothing is assumed about what lies outside.
    The self-weight of 1 is what makes the statistic Gi* rather than Gi (Getis & Ord 1992;
    Ord & Getis 1995). A :class:`libpysal.graph.Graph` is used because esda re-derives the
    sparse matrix at every call and the Graph does it without Python loops. ``pairs`` are
    precomputed :func:`geo.data.hexgrid.adjacency_pairs` of ``cells``.
    """
    cells = np.asarray(cells, dtype=np.int64)
    n = len(cells)
    rows, cols = hexgrid.adjacency_pairs(cells) if pairs is None else pairs
    focal = np.concatenate([rows, np.arange(n)])
    neighbor = np.concatenate([cols, np.arange(n)])
    return Graph.from_arrays(focal, neighbor, np.ones(len(focal)))


def adjacency_matrix(cells: np.ndarray, *, self_loops: bool = False) -> sp.csr_matrix:
    """Sparse binary H3 first-ring adjacency among ``cells`` (optionally with the diagonal)."""
    n = len(cells)
    rows, cols = hexgrid.adjacency_pairs(np.asarray(cells, dtype=np.int64))
    adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return adj + sp.identity(n, format="csr") if self_loops else adj


def gi_star_stats(values: np.ndarray, w: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Gi* statistics and z-scores from ``esda.G_Local`` (binary weights with self-weight,
    star=True, analytical moments, no permutations).

    Returns zeros when the values carry no information (fewer than 3 cells, all equal, e.g. all
    zero): there is nothing to cluster.
    """
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 3 or y.sum() <= 0 or np.ptp(y) == 0:
        return np.zeros(len(y)), np.zeros(len(y))
    # islands (a hexagon alone) are legal; a neighbourhood covering the whole study area has no
    # variance and its z-score is undefined (0 below)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", UserWarning)
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    return np.asarray(g.Gs, dtype=np.float64), np.nan_to_num(np.asarray(g.Zs, dtype=np.float64))


def gi_star_z(values: np.ndarray, w: Graph) -> np.ndarray:
    """Gi* z-scores only (see :func:`gi_star_stats`)."""
    return gi_star_stats(values, w)[1]


def fdr_classes(z: np.ndarray, *, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-sided normal p-values of ``z``, BH-adjusted q-values, and the class of each value
    (:data:`HOT`, :data:`COLD` or :data:`NONE`, significant when q <= alpha)."""
    z = np.asarray(z, dtype=np.float64)
    p = 2.0 * stats.norm.sf(np.abs(z))
    q = stats.false_discovery_control(p, method="bh") if len(p) else p
    sig = q <= alpha
    cls = np.where(sig & (z > 0), HOT, np.where(sig & (z < 0), COLD, NONE))
    return p, q, cls


def local_z(values: np.ndarray, neigh: sp.csr_matrix) -> np.ndarray:
    """Gi* z-scores (analytical moments under random permutation, Ord & Getis 1995) of the
    columns of ``values`` (cells x k) for the binary weights ``neigh`` (self-loops included).

    Equal to esda's ``Zs`` for one column; vectorised so that hundreds of shuffles cost one
    sparse-matrix product. Columns without variance give zeros."""
    y = np.asarray(values, dtype=np.float64)
    one = y.ndim == 1
    y = y[:, None] if one else y
    n = y.shape[0]
    k = np.asarray(neigh.sum(axis=1)).ravel()
    mean = y.mean(axis=0)
    sd = y.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = sd[None, :] * np.sqrt(k * (n - k) / max(n - 1, 1))[:, None]
        z = (neigh @ y - k[:, None] * mean[None, :]) / scale
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
    return z[:, 0] if one else z


def maxt_test(values: np.ndarray, neigh: sp.csr_matrix, *, permutations: int = PERMUTATIONS,
              seed: int = 0, chunk: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single-step max-statistic permutation test of the Gi* z-scores of ``values``.

    Returns the z-scores, the family-wise adjusted p-values ``(1 + #{max_r |z^r| >= |z_i|}) /
    (permutations + 1)`` and the null maxima. The shuffles are seeded, so the same counts always
    give the same hot spots."""
    z, p, maxima, _ = _maxt(values, neigh, permutations=permutations, seed=seed, chunk=chunk)
    return z, p, maxima


#: Largest |z| kept per shuffle, to count the significant hexagons of each shuffle (noise floor).
_TOP = 256


def _maxt(values: np.ndarray, neigh: sp.csr_matrix, *, permutations: int, seed: int, chunk: int = 50,
          alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`maxt_test` plus, for each shuffle, how many hexagons pass the test's critical value
    (capped at 256): the hot and cold hexagons that a random arrangement of the same counts gives."""
    y = np.asarray(values, dtype=np.float64)
    z = local_z(y, neigh)
    if len(y) < 3 or np.ptp(y) == 0:
        return z, np.ones(len(y)), np.zeros(0), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    maxima = np.empty(permutations)
    k = min(_TOP, len(y))
    tops = np.empty((permutations, k))
    done = 0
    while done < permutations:
        m = min(chunk, permutations - done)
        shuffled = np.column_stack([rng.permutation(y) for _ in range(m)])
        absz = np.abs(local_z(shuffled, neigh))
        tops[done:done + m] = -np.sort(-np.partition(absz, len(y) - k, axis=0)[len(y) - k:], axis=0).T
        maxima[done:done + m] = tops[done:done + m, 0]
        done += m
    sorted_max = np.sort(maxima)
    exceed = permutations - np.searchsorted(sorted_max, np.abs(z) - 1e-12, side="left")
    p = (1.0 + exceed) / (permutations + 1.0)
    # a value is significant when fewer than alpha * (permutations + 1) maxima reach it
    allowed = int(np.floor(alpha * (permutations + 1) - 1 + 1e-9))
    critical = np.sort(maxima)[::-1][allowed] if 0 <= allowed < permutations else np.inf
    noise = (tops > critical + 1e-12).sum(axis=1)
    return z, p, maxima, noise


def neighbourhood_matrix(w: Graph) -> sp.csr_matrix:
    """The binary weights of a :func:`contiguity_weights` graph as a CSR matrix."""
    return sp.csr_matrix(w.sparse)


def gi_star(
    cells: np.ndarray,
    values: np.ndarray,
    *,
    w: Graph | None = None,
    alpha: float = ALPHA,
    method: str = "maxt",
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> pd.DataFrame:
    """Getis-Ord Gi* hot spots, family-wise calibrated by a max-statistic permutation test
    (``method="maxt"``, default) or, for comparison only, BH-FDR on normal p-values (``"fdr"``).

    Parameters
    ----------
    cells
        H3 cells (int64) of the study area: every hexagon of the territory, zeros included.
    values
        Counts (incidents) per cell, same order.
    w
        Weights from :func:`contiguity_weights` for the same cells (built when omitted).
    alpha
        False discovery rate.

    Returns
    -------
    DataFrame
        Indexed by ``cell``: ``value``, ``g`` (Gi*, esda's ``Gs``), ``z`` (its z-score, esda's
        ``Zs``), ``p`` (two-sided,
        normal), ``q`` (BH-adjusted), ``hotspot`` (``caldo``/``freddo``/``non significativo``).
        With ``"maxt"``, ``z`` is the Gi* z-score of ``log(1 + value)`` and ``p`` = ``q`` is the
        family-wise adjusted permutation p-value.
    """
    cells = np.asarray(cells, dtype=np.int64)
    y = np.asarray(values, dtype=np.float64)
    if method not in METHODS:
        raise ValueError(f"metodo sconosciuto: {method!r}")
    if w is None:
        w = contiguity_weights(cells)
    if method == "fdr":
        g, z = gi_star_stats(y, w)
        p, q, cls = fdr_classes(z, alpha=alpha)
    else:
        g, _ = gi_star_stats(y, w)
        noise = np.zeros(0, dtype=np.int64)
        if len(y) < 3 or y.sum() <= 0 or np.ptp(y) == 0:
            z, q = np.zeros(len(y)), np.ones(len(y))
        else:
            z, q, _, noise = _maxt(np.log1p(np.clip(y, 0, None)), neighbourhood_matrix(w),
                                   permutations=permutations, seed=seed, alpha=alpha)
        p = q
        sig = q <= alpha
        cls = np.where(sig & (z > 0), HOT, np.where(sig & (z < 0), COLD, NONE))
        out = pd.DataFrame({"value": y, "g": g, "z": z, "p": p, "q": q, "hotspot": cls},
                           index=pd.Index(cells, name="cell"))
        #: hot + cold hexagons in each shuffle of the test (the noise floor, geo.zones.backtest)
        out.attrs["noise"] = noise
        return out
    return pd.DataFrame({"value": y, "g": g, "z": z, "p": p, "q": q, "hotspot": cls},
                        index=pd.Index(cells, name="cell"))


# --------------------------------------------------------------------------------------------
# Emerging hot spots
# --------------------------------------------------------------------------------------------

def time_bins(n_months: int, freq: Literal["Q", "Y"] = "Q") -> np.ndarray:
    """Bin number of each month (``-1`` for months left out) for complete quarters or years
    counted back from the last month, so that the final bin is the most recent full one."""
    size = {"Q": 3, "Y": 12}[freq]
    n_bins = n_months // size
    out = np.full(n_months, -1, dtype=np.int64)
    first = n_months - n_bins * size
    out[first:] = np.repeat(np.arange(n_bins), size)
    return out


def _final_run(flags: np.ndarray) -> int:
    """Length of the run of True at the end of ``flags``."""
    run = 0
    for f in flags[::-1]:
        if not f:
            break
        run += 1
    return run


def _classify_side(sig: np.ndarray, other: np.ndarray, trend: int) -> str | None:
    n = len(sig)
    share = sig.mean() if n else 0.0
    if not sig[-1]:
        return "historical" if share >= PERSISTENT_SHARE else None
    if share >= PERSISTENT_SHARE:
        return "intensifying" if trend > 0 else "diminishing" if trend < 0 else "persistent"
    run = _final_run(sig)
    before = slice(0, n - run)
    if not sig[before].any() and not other[before].any():
        return "new" if run == 1 else "consecutive"
    return "oscillating" if other[before].any() else "sporadic"


def classify_pattern(hot: Sequence[bool], cold: Sequence[bool], trend: int) -> tuple[str, str | None]:
    """EHSA class of one location from its per-bin significance and its count trend.

    Parameters
    ----------
    hot, cold
        Per time bin (oldest first): significant hot spot / cold spot.
    trend
        +1 significant increase of counts, -1 significant decrease, 0 none (Mann-Kendall).

    Returns
    -------
    (pattern, kind)
        ``pattern`` in :data:`PATTERNS` or ``"none"``; ``kind`` :data:`HOT`, :data:`COLD` or None.
        For cold spots "intensifying" means counts decreasing (colder), as in ArcGIS.
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    if len(hot) == 0:
        return "none", None
    pattern = _classify_side(hot, cold, trend)
    if pattern:
        return pattern, HOT
    pattern = _classify_side(cold, hot, -trend)
    if pattern:
        return pattern, COLD
    return "none", None


def _mk_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann-Kendall S, its variance (with the tie correction) and the pairwise slopes, for every
    row of ``x`` (rows x time), vectorised."""
    m, n = x.shape
    i, j = np.triu_indices(n, k=1)
    diff = x[:, j] - x[:, i]
    s = np.sign(diff).sum(axis=1)
    slopes = diff / (j - i)
    # Tie groups: runs of equal values in each sorted row.
    srt = np.sort(x, axis=1)
    start = np.ones((m, n), dtype=bool)
    start[:, 1:] = srt[:, 1:] != srt[:, :-1]
    flat_start = np.flatnonzero(start.ravel())
    lengths = np.diff(np.append(flat_start, m * n)).astype(np.float64)
    ties = np.bincount(flat_start // n, weights=lengths * (lengths - 1) * (2 * lengths + 5), minlength=m)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    return s, var, slopes


def mann_kendall_batch(
    x: np.ndarray, *, alpha: float = ALPHA, seasonal: bool | None = None, period: int = 12
) -> pd.DataFrame:
    """Mann-Kendall trend test of every row of a matrix of monthly series, vectorised.

    The original test (Mann 1945; Kendall 1975) with the tie-corrected variance, or the seasonal
    test (Hirsch, Slack & Smith 1982): S and its variance summed over the months of the year, so
    that the usual summer peak is not read as a trend. The seasonal test is used by default
    when there are at least 24 months; it takes the most recent whole years (the oldest
    ``n mod 12`` months are left out). Results equal ``pymannkendall.original_test`` and
    ``pymannkendall.seasonal_test`` on the same series.

    Returns
    -------
    DataFrame
        One row per series: ``trend`` (+1 / -1 significant at ``alpha``, else 0), ``p``
        (two-sided), ``z``, ``slope_per_year`` (Sen's slope; the seasonal one is between the same
        month of consecutive years, the original one per month times 12).
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    m, n = x.shape
    use_seasonal = (n >= 2 * period) if seasonal is None else seasonal
    if m == 0 or n < 3:
        return pd.DataFrame({"trend": np.zeros(m, dtype=np.int64), "p": np.ones(m), "z": np.zeros(m),
                             "slope_per_year": np.zeros(m)})
    if use_seasonal:
        years = n // period
        x = x[:, n - years * period:]
        seasons = x.reshape(m, years, period).transpose(0, 2, 1).reshape(m * period, years)
        s, var, slopes = _mk_rows(seasons)
        s = s.reshape(m, period).sum(axis=1)
        var = var.reshape(m, period).sum(axis=1)
        slope = np.median(slopes.reshape(m, -1), axis=1)
    else:
        s, var, slopes = _mk_rows(x)
        slope = np.median(slopes, axis=1) * 12.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.nan_to_num(z)
    p = 2 * (1 - stats.norm.cdf(np.abs(z)))
    significant = np.abs(z) > stats.norm.ppf(1 - alpha / 2)
    trend = np.where(significant, np.sign(z), 0).astype(np.int64)
    return pd.DataFrame({"trend": trend, "p": p, "z": z, "slope_per_year": slope})


def mann_kendall(series: np.ndarray, *, alpha: float = ALPHA, seasonal: bool | None = None) -> tuple[int, float, float]:
    """Mann-Kendall trend of one monthly series: (direction, p-value, Sen's slope per year);
    see :func:`mann_kendall_batch`."""
    row = mann_kendall_batch(np.asarray(series, dtype=np.float64)[None, :], alpha=alpha, seasonal=seasonal).iloc[0]
    return int(row["trend"]), float(row["p"]), float(row["slope_per_year"])


def monthly_matrix(series: pd.DataFrame, cells: np.ndarray, months: Sequence[date]) -> np.ndarray:
    """Counts per cell (rows, in ``cells`` order) and month (columns, in ``months`` order) from a
    long frame with ``cell``, ``month``, ``incidents``; missing combinations are zero."""
    cells = np.asarray(cells, dtype=np.int64)
    out = np.zeros((len(cells), len(months)), dtype=np.float64)
    if series.empty:
        return out
    row = pd.Index(cells).get_indexer(series["cell"].to_numpy(dtype=np.int64))
    month_keys = pd.to_datetime(pd.Series(list(months))).dt.to_period("M")
    col = pd.Index(month_keys).get_indexer(pd.to_datetime(series["month"]).dt.to_period("M"))
    keep = (row >= 0) & (col >= 0)
    np.add.at(out, (row[keep], col[keep]), series["incidents"].to_numpy(dtype=np.float64)[keep])
    return out


def emerging_hotspots(
    cells: np.ndarray,
    counts: np.ndarray,
    *,
    freq: Literal["Q", "Y"] = "Q",
    alpha: float = ALPHA,
    w: Graph | None = None,
    method: str = "maxt",
    permutations: int = PERMUTATIONS,
) -> pd.DataFrame:
    """Emerging hot-spot classes per cell, in the spirit of ArcGIS EHSA.

    For each complete quarter (or year) Gi* is computed on the counts of the bin and corrected
    with BH-FDR within the bin. With the default ``method="maxt"`` the classes are
    **gatekept** so that they inherit the family-wise calibration of :func:`gi_star`: only a
    hexagon that is a hot (cold) spot of the whole period or of the final bin, each tested by
    the max-statistic permutation test at ``alpha / 2``, can carry a hot (cold) class, so under
    no spatial pattern at most ``alpha`` of the runs show any class (Bonferroni over the two
    gates); the bins then describe the time profile of the calibrated hot spots with the power
    of the per-bin test. ``method="fdr"`` is the former, ungated classification. Each cell
    then gets a class from its sequence of significant bins (:func:`classify_pattern`) and the
    Mann-Kendall trend of the monthly counts of its Gi* neighbourhood (the cell and its first
    ring), i.e. of the local sum Gi* is made of. ArcGIS
    tests the trend of the bins' z-scores instead; the monthly counts give the test more points.

    Parameters
    ----------
    cells
        Cells of the study area (int64).
    counts
        Matrix cells x months (oldest first), e.g. from :func:`monthly_matrix`.
    freq
        ``"Q"`` quarters (default) or ``"Y"`` years. Months before the first complete bin are
        left out. With fewer than 10 bins no location can be "historical" (90 % of the bins but
        not the last is impossible), as in ArcGIS.

    Returns
    -------
    DataFrame
        Indexed by ``cell``: ``pattern``, ``kind``, ``label`` (Italian), ``n_bins``,
        ``hot_bins``, ``cold_bins``, ``last_z`` (Gi* z of the final bin), ``trend``
        (+1/0/-1), ``trend_p``, ``slope_per_year`` (Sen's slope of the neighbourhood counts).
    """
    cells = np.asarray(cells, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.float64)
    n, n_months = counts.shape
    bins = time_bins(n_months, freq)
    n_bins = int(bins.max() + 1) if n_months and bins.max() >= 0 else 0
    if w is None:
        w = contiguity_weights(cells)
    hot = np.zeros((n, n_bins), dtype=bool)
    cold = np.zeros((n, n_bins), dtype=bool)
    last_z = np.zeros(n)
    if method not in METHODS:
        raise ValueError(f"metodo sconosciuto: {method!r}")
    gate_hot = np.ones(n, dtype=bool)
    gate_cold = np.ones(n, dtype=bool)
    if method == "maxt" and n_bins:
        gate_hot[:], gate_cold[:] = False, False
        for seed, col in enumerate((bins >= 0, bins == n_bins - 1)):
            gate = gi_star(cells, counts[:, col].sum(axis=1), w=w, alpha=alpha / 2, method="maxt",
                           permutations=permutations, seed=seed)["hotspot"].to_numpy()
            gate_hot |= gate == HOT
            gate_cold |= gate == COLD
    for b in range(n_bins):
        z = gi_star_z(counts[:, bins == b].sum(axis=1), w)
        _, _, cls = fdr_classes(z, alpha=alpha)
        hot[:, b] = (cls == HOT) & gate_hot
        cold[:, b] = (cls == COLD) & gate_cold
        last_z = z
    used = counts[:, bins >= 0]
    neighbourhood = adjacency_matrix(cells, self_loops=True) @ used
    trend = np.zeros(n, dtype=np.int64)
    trend_p = np.ones(n)
    slope = np.zeros(n)
    patterns: list[str] = ["none"] * n
    kinds: list[str | None] = [None] * n
    ever = np.flatnonzero(hot.any(axis=1) | cold.any(axis=1))
    if len(ever):
        mk_res = mann_kendall_batch(neighbourhood[ever], alpha=alpha)
        trend[ever] = mk_res["trend"].to_numpy()
        trend_p[ever] = mk_res["p"].to_numpy()
        slope[ever] = mk_res["slope_per_year"].to_numpy()
    for i in ever:
        patterns[i], kinds[i] = classify_pattern(hot[i], cold[i], int(trend[i]))
    return pd.DataFrame(
        {
            "pattern": patterns,
            "kind": kinds,
            "label": [pattern_label(p, k) for p, k in zip(patterns, kinds, strict=True)],
            "n_bins": n_bins,
            "hot_bins": hot.sum(axis=1),
            "cold_bins": cold.sum(axis=1),
            "last_z": last_z,
            "trend": trend,
            "trend_p": trend_p,
            "slope_per_year": slope,
        },
        index=pd.Index(cells, name="cell"),
    )


# --------------------------------------------------------------------------------------------
# Concentration
# --------------------------------------------------------------------------------------------

def concentration_curve(incidents: np.ndarray, area_km2: np.ndarray) -> pd.DataFrame:
    """Cumulative share of incidents against cumulative share of area, hexagons taken from the
    highest incident density down; starts at (0, 0) and ends at (1, 1).

    Returns
    -------
    DataFrame
        ``share_area`` and ``share_incidents`` (fractions, non-decreasing).
    """
    inc = np.asarray(incidents, dtype=np.float64)
    area = np.asarray(area_km2, dtype=np.float64)
    density = np.divide(inc, area, out=np.zeros_like(inc), where=area > 0)
    order = np.lexsort((np.arange(len(inc)), -density))
    total_inc, total_area = inc.sum(), area.sum()
    cum_area = np.concatenate([[0.0], np.cumsum(area[order])]) / (total_area if total_area > 0 else 1.0)
    cum_inc = np.concatenate([[0.0], np.cumsum(inc[order])]) / (total_inc if total_inc > 0 else 1.0)
    return pd.DataFrame({"share_area": cum_area, "share_incidents": cum_inc})


def concentration_summary(
    curve: pd.DataFrame,
    *,
    area_shares: Sequence[float] = (0.01, 0.05, 0.10),
    incident_shares: Sequence[float] = (0.5, 0.8),
) -> dict:
    """Key figures of a concentration curve.

    Returns
    -------
    dict
        ``incidents_in_area``: {area share: incident share in the densest that share of area};
        ``area_for_incidents``: {incident share: smallest area share holding it};
        ``gini``: concentration index, 0 (even) to 1 (all in one place), ``2·AUC − 1``.
    """
    a = curve["share_area"].to_numpy()
    s = curve["share_incidents"].to_numpy()
    in_area = {float(x): float(np.interp(x, a, s)) for x in area_shares}
    # the first point where the cumulated share reaches q, interpolated within that hexagon
    for_inc = {}
    for q in incident_shares:
        k = int(np.searchsorted(s, q, side="left"))
        if k == 0 or s[-1] < q:
            for_inc[float(q)] = float("nan") if s[-1] < q else 0.0
            continue
        frac = (q - s[k - 1]) / (s[k] - s[k - 1]) if s[k] > s[k - 1] else 0.0
        for_inc[float(q)] = float(a[k - 1] + frac * (a[k] - a[k - 1]))
    auc = float(np.trapezoid(s, a))
    return {"incidents_in_area": in_area, "area_for_incidents": for_inc, "gini": 2 * auc - 1}


# --------------------------------------------------------------------------------------------
# From the store
# --------------------------------------------------------------------------------------------

def history_months(store: Store) -> list[date]:
    """Every month from the first to the last one with incidents."""
    period = store.period()
    if period is None:
        return []
    first, last = period
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def load_history(store: Store, filters: Filters, cells: np.ndarray) -> tuple[list[date], np.ndarray]:
    """Monthly incident counts per cell over the **whole** loaded history (the trend needs more
    than the selected period), with the filters' comuni, categories and time band."""
    months = history_months(store)
    if not months:
        return [], np.zeros((len(cells), 0))
    q = filters.query_kwargs()
    q["start"] = q["end"] = None
    series = store.incidents_series(by=("cell",), res=filters.res, **q)
    return months, monthly_matrix(series, cells, months)
