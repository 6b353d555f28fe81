"""*Scuole sicure* (pact art. 11): what happens around each school, compared with similar areas of
its comune, and a ranked list of schools with the reasons.

Art. 11 of the Massa-Carrara pact targets drug dealing and deviance near schools and the
requalification of the areas around them. For every school this module measures, on H3 cells:

* **incidents by category** in the area around it, drug offences and violence first
  (:data:`FOCUS_GROUPS`), in school hours and outside (estimated, see below);
* **open degradation reports** there (all categories; public-order ones apart);
* **lighting** there: light points, broken ones, against the comune's broken share;
* a **rate ratio** (RR) of the focus incidents per hexagon around the school to the rate in the
  *similar areas* of its comune, with a 95 % confidence interval that allows overdispersed
  counts, shown only when enough incidents are expected.

Definitions
-----------
Area around a school
    The resolution-10 hexagons (about 0.015 km², centres ~131 m apart) whose **centre** lies
    within ``walk_m / DETOUR_FACTOR`` metres in a straight line from the school, plus the
    school's own hexagon. ``walk_m`` is the walking distance the user sets (default
    :data:`DEFAULT_WALK_M` = 300 m); dividing by the street-network detour factor 1.3
    (:data:`geo.services.homeless.DETOUR_FACTOR`, same constant as the homeless services' coverage) turns
    it into the straight-line radius a walk of that length reaches on average (300 m → 231 m).
    Selecting cells by centre (not a fixed ``grid_disk`` ring) follows the distance the user set
    instead of jumping by 131 m rings; the candidate cells come from a ``grid_disk`` large enough
    to hold the circle.
School hours
    Monday-Friday 7:30-16:30, September-June. Incidents are stored as monthly aggregates with a
    day (6-20) / night (20-6) band and no weekday, so school time can only be **estimated**: the
    day-band incidents of school months times :data:`SCHOOL_TIME_SHARE` = 5/7 x 9/14 = 45/98
    (weekdays among days, 9 school hours among the 14 hours of the day band), assuming incidents
    spread evenly over the weekdays and hours of the band. The rest is "outside school hours".
    The share is a constant, so a rate ratio on the school-hours estimate equals the one on the
    day-band incidents of school months: that is what the "school hours" comparison uses.
Similar areas
    Hexagons of the school's comune whose **neighbourhood** has the same density class as the
    school's, outside the school's area. A neighbourhood is the hexagons within
    :data:`SMOOTHING_K` = 3 steps (about 400 m; it smooths the dasymetric residents estimate,
    which puts few people in squares, stations and parks); its density is residents per km²,
    classed by :data:`DENSITY_CLASSES`. So a school in a dense centre is compared with the dense
    parts of its comune, not with its countryside. With fewer than :data:`MIN_REFERENCE_CELLS`
    such hexagons the neighbouring classes are added one step at a time (``reference =
    'vicine'``), up to every inhabited hexagon of the comune (``'comune'``); ``ref_classes``
    names the classes used.
Rate ratio and interval
    RR = (O1 / E1) / (O2 / E2), O focus incidents and E hexagons (equal areas), 1 the school's
    area and 2 the similar areas, over the same period. Incident counts are **overdispersed**:
    in the demo the variance of the counts of blocks of similar hexagons is a median 3.6 times
    their mean over the whole period (up to 34; median 2.5 in 2024, ``scripts/bench_exposure.py``),
    not 1 as a Poisson model says, because incidents cluster. The interval therefore comes from a
    **negative binomial** (one gamma rate multiplier per block) fitted to the reference:
    its dispersion φ is the Pearson χ² / df of the reference hexagons grouped in *blocks* (their
    resolution-9 parents, 7 hexagons, about the size of a school's area, so the clustering between
    neighbouring hexagons counts), against their common rate, at least 1 (:func:`block_dispersion`);
    the area's own dispersion grows with its rate, ``1 + (φ - 1) c max(RR, 1)``
    (:func:`area_dispersion`, ``c`` for an area spread over several blocks). An overdispersed
    count O carries the information of O / φ Poisson events (effective count, Fay & Feuer 1997,
    *Statistics in Medicine* 16:791), so the exact conditional interval is applied to the effective
    counts and exposures: given their sum, the area's effective count is binomial and the
    Clopper-Pearson limits of its share (beta quantiles, also for non-integer counts) map back to
    RR (Breslow & Day 1987, §2.9; with φ = 1 it is R's ``poisson.test``). φ is estimated on
    blocks - 1 degrees of freedom; its uncertainty widens the level as a Student-t would
    (:func:`interval_level`). The point estimate does not change. Calibration against simulated
    truth: ``scripts/bench_exposure.py`` and docs/SCUOLE_SERVIZI.md.
Minimum expected count
    E = E1 x O2 / E2, the focus incidents expected in the area at the similar areas' rate. Below
    :data:`MIN_EXPECTED` = 5 the ratio is not a number ("dato insufficiente") in the page, the
    tables and the exports, and the school's level is ``ins``: a ratio of a handful of expected
    events (458 "times the average" on 0.1 expected incidents) says more about noise than about
    the school.
Exposure level
    ``alta`` when the interval's lower limit is above 1 (significantly more than similar
    areas), ``bassa`` when its upper limit is below 1, ``nella media`` otherwise, ``dato
    insufficiente`` below the minimum expected count, ``non valutabile`` without incidents in
    both or without a reference.
Ranking
    By level (``alta`` first), then RR lower limit (a cautious effect size: small counts do not
    top the list by chance), then focus incidents, public-order reports and broken lights.

Privacy
-------
For roles without clearance every incident count around a school, in its reference area and per
comune is protected by the cell-key method (:func:`protect_exposure`, :mod:`geo.access.disclosure`:
the same records always give the same value, so overlapping areas cannot be subtracted to pin a
small count down); the dispersion comes from the protected counts of the reference hexagons (the
values the Mappa shows), and expected counts, rate ratios, intervals, levels and ranks are
computed from them. Nothing is withheld and no label says "< 3": the figures are numbers (or
"dato insufficiente" below the minimum expected count, for every role). Cleared roles get exact
figures. Reports and light points are not about people and are exact.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import folium
import numpy as np
import pandas as pd
import shapely
from scipy.stats import beta, norm
from scipy.stats import t as student_t

from geo import config
from geo.access.disclosure import KEY_MODULUS, PROTECTED_NOTE, protect_counts
from geo.access.privacy import (
    MISSING_LABEL,
    can_see_exact,
    format_decimal,
    format_int,
    format_percent,
)
from geo.data import hexgrid
from geo.data.schemas import INCIDENT_CATEGORIES, OPEN_REPORT_STATUS, SCHOOL_LEVELS
from geo.data.storage import Store
from geo.maps import layers as maps
from geo.overview.metrics import neutralise_formula
from geo.services.homeless import DETOUR_FACTOR, bounds_of, haversine_m

DEFAULT_WALK_M = 300.0
MIN_WALK_M = 100.0
MAX_WALK_M = 1000.0
#: Focus groups of art. 11: drug dealing first, then violence against people.
FOCUS_GROUPS: dict[str, tuple[str, ...]] = {
    "spaccio": ("stupefacenti",),
    "violenza": ("lesioni_minacce", "rapine"),
}
FOCUS_LABELS: dict[str, str] = {"spaccio": "Spaccio e stupefacenti", "violenza": "Violenza (lesioni, minacce, rapine)"}
FOCUS_CATEGORIES: tuple[str, ...] = tuple(c for cats in FOCUS_GROUPS.values() for c in cats)
#: Months with lessons (Tuscan school calendar: mid-September to early June; partial months count whole).
SCHOOL_MONTHS = frozenset({1, 2, 3, 4, 5, 6, 9, 10, 11, 12})
#: Share of the day-band incidents of a school month that fall in school hours, if spread evenly:
#: 5 weekdays of 7 x 9 hours (7:30-16:30) of the 14 of the day band (6-20).
SCHOOL_TIME_SHARE = (5 / 7) * (9 / 14)
SCHOOL_HOURS_LABEL = "lun-ven 7:30-16:30, settembre-giugno"
#: Residents per km² in a hexagon's neighbourhood: lower bounds and labels of the density classes
#: (0 = uninhabited, never a reference). 250-1,000 is a small town or suburb, 1,000-2,500 a town,
#: 2,500-6,000 a dense town centre, above 6,000 a compact historic centre.
DENSITY_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "disabitata"), (1e-9, "sparsa"), (250.0, "bassa densità"), (1000.0, "media densità"),
    (2500.0, "alta densità"), (6000.0, "molto alta densità"),
)
#: Neighbourhood of the density: hexagons within 3 steps (37 cells, about 0.56 km², radius ≈ 400 m).
SMOOTHING_K = 3
#: Fewer similar hexagons than this (≈ 0.45 km²) and the reference is the whole inhabited comune.
MIN_REFERENCE_CELLS = 30
CONFIDENCE = 0.95
#: Fewer focus incidents than this expected in a school's area at the rate of its similar areas,
#: and no ratio is shown as a number ("dato insufficiente"): the ratio of a handful of events is
#: mostly noise (the rule of thumb of at least 5 expected events of chi-squared tests).
MIN_EXPECTED = 5.0
#: The dispersion of the counts is estimated on blocks of reference hexagons: their
#: resolution-9 parents (7 children, about 0.1 km², the size of a school's area at 300 m).
BLOCK_RES = 9
#: Text for a ratio that is not computed because too few incidents are expected.
INSUFFICIENT_LABEL = "dato insufficiente"
LEVELS: dict[str, str] = {"alta": "Alta", "media": "Nella media", "ins": "Dato insufficiente", "bassa": "Bassa",
                          "nd": "Non valutabile"}
LEVEL_COLORS: dict[str, str] = {"alta": "#D55E00", "media": "#E69F00", "ins": "#c9c9c9", "bassa": "#0072B2",
                                "nd": "#7a7a7a"}
#: Report categories that signal public-order problems near a school.
PUBLIC_ORDER_REPORTS = ("spaccio_assembramenti", "bivacco_marginalita", "occupazione_abusiva", "edificio_degradato")
BASES: dict[str, str] = {"tutte": "Tutte le ore", "scuola": "Orario scolastico (stima)"}


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def interval_level(confidence: float, df: np.ndarray | float = np.inf) -> np.ndarray:
    """Two-sided level that gives a normal-theory interval the width of a Student-t one on ``df``
    degrees of freedom: ``2 Φ(t_df(1 - α/2)) - 1``; ``confidence`` itself for ``df = inf``.

    The dispersion is estimated from the reference blocks, so its uncertainty widens the interval
    as in quasi-likelihood (McCullagh & Nelder 1989, §9.2: ``F``/``t`` reference distributions).
    """
    df = np.asarray(df, dtype=float)
    q = student_t.ppf(1 - (1 - confidence) / 2, np.where(np.isfinite(df) & (df > 0), df, np.inf))
    return np.where(np.isfinite(df) & (df > 0), 2 * norm.cdf(q) - 1, confidence)


def rate_ratio(o1: np.ndarray | float, e1: np.ndarray | float, o2: np.ndarray | float, e2: np.ndarray | float, *,
               dispersion: np.ndarray | float = 1.0, df: np.ndarray | float = np.inf,
               area_dispersion: np.ndarray | float | None = None,
               confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of two rates with a confidence interval that allows overdispersed counts.

    Parameters
    ----------
    o1, e1
        Events and exposure of the studied area (exposure: hexagons, or km², or person-years).
    o2, e2
        Events and exposure of the reference.
    dispersion
        Dispersion φ of the reference count (variance / mean, :func:`block_dispersion`); values
        below 1 count as 1. ``1`` (default) gives the exact Poisson interval.
    area_dispersion
        Dispersion of the area's count; None: the same as the reference's (quasi-Poisson).
        :func:`area_dispersion` gives the negative-binomial one.
    df
        Degrees of freedom of the dispersion estimate (``inf``: known); a finite value widens
        the interval as a Student-t would (:func:`interval_level`).
    confidence
        Two-sided level.

    Returns
    -------
    rr, low, high
        Arrays (broadcast). ``rr`` is ``inf`` when ``o2 = 0 < o1``; all NaN when ``o1 + o2 = 0``
        or an exposure is not positive. Limits: Clopper-Pearson on ``o1 | o1 + o2`` applied to
        the *effective* counts ``o / φ`` (module notes); with ``φ = 1`` the exact conditional
        interval of two Poisson rates.
    """
    phi1 = dispersion if area_dispersion is None else area_dispersion
    o1, e1, o2, e2, phi2, phi1, df = (np.asarray(v, dtype=float)
                                      for v in np.broadcast_arrays(o1, e1, o2, e2, dispersion, phi1, df))
    phi1, phi2 = (np.where(np.isfinite(p), np.maximum(p, 1.0), 1.0) for p in (phi1, phi2))
    alpha = 1 - interval_level(confidence, df)
    # Effective counts and exposures: O / φ events over E / φ (the rate ratio does not change).
    x1, x2 = o1 / phi1, o2 / phi2
    n = x1 + x2
    valid = (n > 0) & (e1 > 0) & (e2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (e2 / phi2) / (e1 / phi1)
        rr = np.where(o2 > 0, (o1 / e1) / (o2 / e2), np.inf)
        p_lo = np.where(x1 > 0, beta.ppf(alpha / 2, np.maximum(x1, 1e-12), n - x1 + 1), 0.0)
        p_hi = np.where(x2 > 0, beta.ppf(1 - alpha / 2, x1 + 1, np.maximum(x2, 1e-12)), 1.0)
        low = p_lo / (1 - p_lo) * scale
        high = np.where(p_hi < 1, p_hi / (1 - p_hi) * scale, np.inf)
    nan = np.full(rr.shape, np.nan)
    return np.where(valid, rr, nan), np.where(valid, low, nan), np.where(valid, high, nan)


def area_dispersion(dispersion: np.ndarray | float, rr: np.ndarray | float,
                    concentration: np.ndarray | float = 1.0) -> np.ndarray:
    """Dispersion of the area's count under the negative binomial that gives the reference its
    dispersion φ: every block has a gamma rate multiplier shared by its hexagons, so a count of
    mean μ has variance μ + μ² / k per block and the excess dispersion grows with the rate.

    ``1 + (φ − 1) · c · max(RR, 1)``: ``RR`` the point estimate (a lower one does not narrow the
    interval below ``c``; the reference's φ when not finite), ``c`` = ``concentration``
    = (Σ k_b² / n) / n̄, with k_b the area's hexagons in block b, n their total and n̄ the mean
    size of the reference blocks (an area spread over several blocks averages their multipliers:
    4 + 5 hexagons in blocks of 7 give c = 0.65; a whole block c = 1).
    """
    phi, rr, c = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(dispersion, rr, concentration))
    phi = np.where(np.isfinite(phi), np.maximum(phi, 1.0), 1.0)
    c = np.where(np.isfinite(c) & (c > 0), c, 1.0)
    r = np.maximum(np.where(np.isfinite(rr), rr, 1.0), 1.0)
    return 1 + (phi - 1) * c * r


def block_dispersion(block_counts: np.ndarray, block_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quasi-Poisson dispersion of the reference, estimated on blocks of hexagons.

    Parameters
    ----------
    block_counts, block_sizes
        Events and hexagons of each block (the reference hexagons grouped by their
        resolution-:data:`BLOCK_RES` parent, about the size of a school's area); the last axis
        runs over the blocks (leading axes: independent references, e.g. simulations). Blocks
        of size 0 are ignored.

    Returns
    -------
    phi, df
        ``phi`` = Pearson χ² / df of the block counts against their common rate
        (χ² = Σ (y_b − μ n_b)² / (μ n_b), μ = Σ y / Σ n, df = blocks − 1), at least 1; ``phi = 1``
        and ``df = inf`` without events or with fewer than 2 blocks (nothing to estimate from).
        Shape: the leading axes (0-d for one reference).
    """
    y = np.asarray(block_counts, dtype=float)
    n = np.asarray(block_sizes, dtype=float)
    y, n = np.broadcast_arrays(y, n)
    used = n > 0
    total = np.where(used, y, 0.0).sum(axis=-1)
    size = np.where(used, n, 0.0).sum(axis=-1)
    blocks = used.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = total / size
        expected = mu[..., None] * n
        chi2 = np.where(used & (expected > 0), (y - expected) ** 2 / expected, 0.0).sum(axis=-1)
        df = (blocks - 1).astype(float)
        ok = (blocks >= 2) & (total > 0)
        phi = np.where(ok, np.maximum(1.0, chi2 / np.where(ok, df, 1.0)), 1.0)
    return phi, np.where(ok, df, np.inf)


def expected_count(o2: np.ndarray | float, e1: np.ndarray | float, e2: np.ndarray | float) -> np.ndarray:
    """Events expected in the area at the reference's rate: ``E1 · O2 / E2`` (0 without a reference)."""
    o2, e1, e2 = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(o2, e1, e2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e2 > 0, e1 * o2 / e2, 0.0)


def exposure_level(rr: np.ndarray, low: np.ndarray, high: np.ndarray,
                   expected: np.ndarray | None = None, *, min_expected: float | None = None) -> np.ndarray:
    """Level code of each interval (:data:`LEVELS`): ``ins`` (dato insufficiente) where fewer than
    ``min_expected`` events are expected at the reference's rate, ``nd`` where there is nothing
    to compare."""
    rr, low, high = (np.asarray(v, dtype=float) for v in (rr, low, high))
    out = np.full(rr.shape, "media", dtype=object)
    out[low > 1] = "alta"
    out[high < 1] = "bassa"
    if expected is not None:
        limit = MIN_EXPECTED if min_expected is None else min_expected
        out[np.asarray(expected, dtype=float) < limit] = "ins"
    out[np.isnan(rr)] = "nd"
    return out


# --------------------------------------------------------------------------------------------
# Geometry: the area around a school, density classes
# --------------------------------------------------------------------------------------------

def radius_m(walk_m: float, *, detour: float = DETOUR_FACTOR) -> float:
    """Straight-line radius (m) reached by a walk of ``walk_m`` metres on a street network."""
    return float(walk_m) / detour


def disk_k(radius: float, res: int = config.STORE_RES) -> int:
    """``grid_disk`` size whose cells surely hold every cell centre within ``radius`` metres.

    Neighbouring centres are √3 x edge apart; H3 edges vary by about ±20 % around the average
    over the globe, so 0.8 x the average edge is a safe minimum; one more ring for the point's
    offset inside its own cell.
    """
    import h3

    spacing = math.sqrt(3) * 0.8 * h3.average_hexagon_edge_length(res, unit="m")
    return math.ceil(radius / spacing) + 1


def school_cells(schools: pd.DataFrame, *, walk_m: float = DEFAULT_WALK_M, detour: float = DETOUR_FACTOR,
                 res: int = config.STORE_RES) -> pd.DataFrame:
    """The hexagons of the area around each school.

    Parameters
    ----------
    schools
        ``code``, ``lat``, ``lon`` (WGS84).
    walk_m
        Walking distance, metres.

    Returns
    -------
    pandas.DataFrame
        Long frame ``code``, ``cell`` (int64, resolution ``res``), ``distance_m`` (straight line
        from the school to the cell centre); the school's own cell is always included.
    """
    radius = radius_m(walk_m, detour=detour)
    k = disk_k(radius, res)
    rows = []
    lat_all, lon_all = schools["lat"].to_numpy(float), schools["lon"].to_numpy(float)
    own = hexgrid.points_to_cells(lat_all, lon_all, res)
    for code, lat, lon, cell in zip(schools["code"], lat_all, lon_all, own, strict=True):
        disk = hexgrid.neighbours(int(cell), k)
        clat, clon = hexgrid.cell_centers(disk)
        d = haversine_m(lat, lon, clat, clon)
        keep = (d <= radius) | (disk == cell)
        rows.append(pd.DataFrame({"code": code, "cell": disk[keep], "distance_m": d[keep]}))
    if not rows:
        return pd.DataFrame({"code": pd.Series(dtype=object), "cell": pd.Series(dtype="int64"),
                             "distance_m": pd.Series(dtype=float)})
    return pd.concat(rows, ignore_index=True)


def density_class(density: np.ndarray | pd.Series) -> np.ndarray:
    """Class code (index of :data:`DENSITY_CLASSES`, 0 = uninhabited) of each density
    (residents per km²)."""
    d = np.nan_to_num(np.asarray(density, dtype=float), nan=0.0)
    bounds = np.asarray([b for b, _ in DENSITY_CLASSES])
    return np.clip(np.searchsorted(bounds, d, side="right") - 1, 0, len(bounds) - 1).astype(np.int64)


def smoothed_density(context: pd.DataFrame, *, k: int = SMOOTHING_K) -> pd.Series:
    """Residents per km² within ``k`` steps of each hexagon (its neighbourhood; cells outside the
    territory count as empty), indexed like ``context`` (``cell``, ``residents``, ``area_km2``).

    Computed from the settled hexagons outwards (a settled cell adds its residents to every cell
    of its disk), which is the same sum and needs a ``grid_disk`` per settled cell only.
    """
    cells = context["cell"].to_numpy(np.int64)
    residents = context["residents"].to_numpy(float)
    area = float(context["area_km2"].iloc[0]) if len(context) else hexgrid.cell_area_km2(config.STORE_RES)
    order = np.argsort(cells)
    sorted_cells = cells[order]
    totals = np.zeros(cells.size)
    for cell, value in zip(cells[residents > 0], residents[residents > 0], strict=True):
        disk = hexgrid.neighbours(int(cell), k)
        pos = np.clip(np.searchsorted(sorted_cells, disk), 0, max(cells.size - 1, 0))
        hit = sorted_cells[pos] == disk
        np.add.at(totals, order[pos[hit]], value)
    n_disk = 1 + 3 * k * (k + 1)
    return pd.Series(totals / (n_disk * area), index=context.index)


# --------------------------------------------------------------------------------------------
# Exposure
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    """Result of :func:`school_exposure`.

    ``schools``: one row per school, ranked (``rank`` 1 = most exposed); columns in
    :func:`school_exposure`. ``cells``: the long frame of :func:`school_cells`. ``by_comune``:
    figures per comune (:func:`comune_summary`). ``params``: what was computed (walking distance,
    radius, period, months, basis).
    """

    schools: pd.DataFrame
    cells: pd.DataFrame
    by_comune: pd.DataFrame
    params: dict = field(default_factory=dict)


def _incident_columns(incidents: pd.DataFrame) -> pd.DataFrame:
    """Per resolution-10 cell: ``cat_<category>`` (all hours) and, per focus group, ``<g>_all``
    and ``<g>_scuola`` (day band, school months)."""
    inc = incidents.copy()
    if inc.empty:
        return pd.DataFrame({"cell": pd.Series(dtype="int64")})
    inc["cell"] = inc["cell"].astype("int64")
    months = pd.to_datetime(inc["month"]).dt.month
    inc["school"] = (inc["time_band"] == "giorno").to_numpy() & months.isin(SCHOOL_MONTHS).to_numpy()
    wide = inc.pivot_table(index="cell", columns="category", values="incidents", aggfunc="sum", fill_value=0)
    wide.columns = [f"cat_{c}" for c in wide.columns]
    for c in INCIDENT_CATEGORIES:
        if f"cat_{c}" not in wide:
            wide[f"cat_{c}"] = 0
    school = inc[inc["school"]].pivot_table(index="cell", columns="category", values="incidents", aggfunc="sum",
                                            fill_value=0)
    for g, cats in FOCUS_GROUPS.items():
        wide[f"{g}_all"] = wide[[f"cat_{c}" for c in cats]].sum(axis=1)
        present = [c for c in cats if c in school.columns]
        wide[f"{g}_scuola"] = school[present].sum(axis=1).reindex(wide.index, fill_value=0) if present else 0
    return wide.reset_index()


def _ratios(sch: pd.DataFrame, basis: str, confidence: float, *,
            min_expected: float | None = None) -> pd.DataFrame:
    """Expected counts, rate ratios with their overdispersion-aware intervals and the exposure
    level of every school (``sch`` has the counts, the reference and its dispersion). A ratio
    whose expected count is below ``min_expected`` is NaN: it is not shown as a number."""
    suffix = "all" if basis == "tutte" else "scuola"
    min_expected = MIN_EXPECTED if min_expected is None else min_expected
    sch = sch.copy()
    e1 = sch["n_cells"].to_numpy(float)
    e2 = np.where(sch["reference"] == "nessuno", 0.0, sch["ref_cells"].to_numpy(float))
    df = sch["dispersion_df"].to_numpy(float)
    level = None
    for prefix, o1, o2, phi, exp in (
            ("rr", f"focus_{suffix}", "ref_focus", "dispersion", "expected"),
            *((f"rr_{g}", f"{g}_{suffix}", f"ref_{g}_{suffix}", f"dispersion_{g}", f"expected_{g}")
              for g in FOCUS_GROUPS)):
        with np.errstate(divide="ignore", invalid="ignore"):
            point = (sch[o1].to_numpy(float) / e1) / (sch[o2].to_numpy(float) / e2)
        area_phi = area_dispersion(sch[phi], point, sch["concentration"])
        rr, lo, hi = rate_ratio(sch[o1], e1, sch[o2], e2, dispersion=sch[phi], df=df, area_dispersion=area_phi,
                                confidence=confidence)
        expected = expected_count(sch[o2], e1, e2)
        if prefix == "rr":
            level = exposure_level(rr, lo, hi, expected, min_expected=min_expected)
        few = expected < min_expected
        sch[exp] = expected
        sch[prefix], sch[f"{prefix}_low"], sch[f"{prefix}_high"] = (np.where(few, np.nan, v) for v in (rr, lo, hi))
    sch["exposure_level"] = level
    return sch


def _count_columns() -> list[str]:
    cols = [f"cat_{c}" for c in INCIDENT_CATEGORIES]
    for g in FOCUS_GROUPS:
        cols += [f"{g}_all", f"{g}_scuola"]
    return cols


def school_exposure(
    schools: pd.DataFrame,
    incidents: pd.DataFrame,
    context: pd.DataFrame,
    *,
    layer_stats: pd.DataFrame | None = None,
    reports: pd.DataFrame | None = None,
    comuni: pd.DataFrame | None = None,
    walk_m: float = DEFAULT_WALK_M,
    basis: str = "tutte",
    months: int | None = None,
    detour: float = DETOUR_FACTOR,
    confidence: float = CONFIDENCE,
    dispersion_counts: pd.DataFrame | None = None,
) -> Exposure:
    """Exposure of every school (module notes for every definition).

    Parameters
    ----------
    schools
        ``code``, ``name``, ``level``, ``pro_com_t``, ``lat``, ``lon`` (``students`` optional).
    incidents
        Monthly counts at resolution 10: ``month``, ``cell``, ``category``, ``time_band``,
        ``incidents`` (``Store.incidents_series(by=('cell', 'category', 'time_band'), res=10)``).
    context
        Every resolution-10 hexagon of the comuni concerned: ``cell``, ``pro_com_t``,
        ``residents``, ``area_km2`` (``Store.cell_context(10)``).
    layer_stats
        ``cell``, ``lights``, ``lights_broken`` (``Store.layer_stats_by_cell(10)``); None: no
        lighting figures.
    reports
        Degradation reports (``cell``, ``category``, ``status``); only open ones count.
    comuni
        ``pro_com_t``, ``nome`` for the names.
    walk_m
        Walking distance around each school, metres.
    basis
        ``"tutte"`` (all hours) or ``"scuola"`` (school-hours estimate) for the rate ratios.
    months
        Length of the period in months (for rates per km² per year); None: no yearly rates.
    dispersion_counts
        Per-hexagon counts (``cell`` and the ``<group>_all`` / ``<group>_scuola`` columns) from
        which the dispersion of the reference is estimated; None: the counts of ``incidents``.
        :func:`compute_exposure` passes the cell-key protected counts of each hexagon for roles
        without clearance.

    Returns
    -------
    Exposure
        ``schools`` has, per school: ``code``, ``name``, ``level``, ``pro_com_t``, ``comune``,
        ``lat``, ``lon``, ``students``, ``n_cells``, ``area_km2``, ``residents``, ``density``,
        ``density_class``; incident counts ``cat_<category>`` (all hours), per focus group
        ``<g>_all``/``<g>_scuola`` and ``focus_all``/``focus_scuola``; ``other`` (non-focus
        incidents); ``focus_school_est`` and ``focus_outside_est`` (estimates, all focus
        categories); ``focus_per_km2_year``; ``reference`` (``simili``, ``vicine``, ``comune`` or
        ``nessuno``), ``ref_classes`` (labels of the density classes used), ``ref_cells``,
        ``ref_focus``; ``dispersion``, ``dispersion_<g>`` (quasi-Poisson φ of the reference
        blocks) and ``dispersion_df``; ``expected``, ``expected_<g>`` (events expected at the
        reference's rate); ``rr``, ``rr_low``, ``rr_high`` (focus, on ``basis``; NaN when
        ``expected`` < :data:`MIN_EXPECTED`) and ``rr_<g>``, ``rr_<g>_low``, ``rr_<g>_high``; ``reports_open``,
        ``reports_public_order``, ``reports_lighting``; ``lights``, ``lights_broken``,
        ``lights_broken_share``, ``comune_broken_share``; ``exposure_level`` (:data:`LEVELS` code);
        ``rank``.
    """
    if basis not in BASES:
        raise ValueError(f"base di confronto sconosciuta: {basis}")
    suffix = "all" if basis == "tutte" else "scuola"
    counts = _count_columns()
    per_cell = _incident_columns(incidents)
    ctx = context[["cell", "pro_com_t", "residents", "area_km2"]].copy()
    ctx["cell"] = ctx["cell"].astype("int64")
    ctx["density"] = smoothed_density(ctx).to_numpy()
    ctx["dclass"] = density_class(ctx["density"])
    ctx = ctx.merge(per_cell, on="cell", how="left")
    for col in counts:
        ctx[col] = ctx[col].fillna(0).astype("int64") if col in ctx else 0
    cell_area = hexgrid.cell_area_km2(config.STORE_RES)

    sch = schools.reset_index(drop=True).copy()
    sch["pro_com_t"] = sch["pro_com_t"].astype(str)
    cells = school_cells(sch, walk_m=walk_m, detour=detour)
    long = cells.merge(ctx, on="cell", how="left")
    long["residents"] = long["residents"].fillna(0.0)
    for col in counts:
        long[col] = long[col].fillna(0).astype("int64")
    agg = long.groupby("code").agg(n_cells=("cell", "size"), residents=("residents", "sum"),
                                   **{col: (col, "sum") for col in counts})
    sch = sch.merge(agg.reset_index(), on="code", how="left")
    sch["area_km2"] = sch["n_cells"] * cell_area
    own = hexgrid.points_to_cells(sch["lat"].to_numpy(float), sch["lon"].to_numpy(float), config.STORE_RES)
    sch["density"] = pd.Series(own).map(ctx.set_index("cell")["density"]).fillna(0.0).to_numpy()
    sch["density_class"] = density_class(sch["density"])
    for s in ("all", "scuola"):
        sch[f"focus_{s}"] = sch[[f"{g}_{s}" for g in FOCUS_GROUPS]].sum(axis=1)
    sch["other"] = sch[[f"cat_{c}" for c in INCIDENT_CATEGORIES if c not in FOCUS_CATEGORIES]].sum(axis=1)
    sch["focus_school_est"] = sch["focus_scuola"] * SCHOOL_TIME_SHARE
    sch["focus_outside_est"] = sch["focus_all"] - sch["focus_school_est"]
    per_year = 12 / months if months else np.nan
    sch["focus_per_km2_year"] = sch["focus_all"] / sch["area_km2"] * per_year

    # Reference: hexagons of the school's comune in the same density class, outside its area;
    # neighbouring classes are added until there are enough of them. Its dispersion is estimated
    # on its blocks (resolution-9 parents) from ``dispersion_counts``.
    rate_cols = [f"{g}_{suffix}" for g in FOCUS_GROUPS]
    disp = ctx[["cell", "pro_com_t", "dclass"]].copy()
    if dispersion_counts is None:
        disp[rate_cols] = ctx[rate_cols].to_numpy()
    else:
        dc = dispersion_counts[["cell", *rate_cols]].copy()
        dc["cell"] = dc["cell"].astype("int64")
        disp = disp.merge(dc, on="cell", how="left")
        disp[rate_cols] = disp[rate_cols].fillna(0).to_numpy()
    disp["focus"] = disp[rate_cols].sum(axis=1)
    disp["block"] = hexgrid.cell_to_parent(disp["cell"].to_numpy(np.int64), BLOCK_RES)
    disp_cols = [*rate_cols, "focus"]
    disp_by_cell = disp.set_index("cell")
    inhabited = ctx[ctx["dclass"] > 0]
    by_class = inhabited.groupby(["pro_com_t", "dclass"])[rate_cols].sum()
    by_class["n"] = inhabited.groupby(["pro_com_t", "dclass"]).size()
    blocks = disp[disp["dclass"] > 0].groupby(["pro_com_t", "dclass", "block"])[disp_cols].sum()
    blocks["n"] = disp[disp["dclass"] > 0].groupby(["pro_com_t", "dclass", "block"]).size()
    n_classes = len(DENSITY_CLASSES) - 1
    ref_rows = []
    block_cache: dict[tuple, pd.DataFrame] = {}
    area_cells = {code: group["cell"].to_numpy(np.int64) for code, group in cells.groupby("code")}
    for rec in sch.to_dict("records"):
        mine = long[(long["code"] == rec["code"]) & (long["pro_com_t"] == rec["pro_com_t"])]
        start = max(int(rec["density_class"]), 1)
        kind, ref_n, ref, classes = "nessuno", 0, dict.fromkeys(rate_cols, 0), ()
        comune_rows = by_class.loc[rec["pro_com_t"]] if rec["pro_com_t"] in by_class.index.get_level_values(0) \
            else by_class.iloc[0:0]
        for width in range(n_classes):
            classes = tuple(c for c in range(start - width, start + width + 1) if 1 <= c <= n_classes)
            chosen = comune_rows[comune_rows.index.isin(classes)]
            inside = mine[mine["dclass"].isin(classes)]
            n = int(chosen["n"].sum()) - len(inside)
            if n >= MIN_REFERENCE_CELLS or (len(classes) == n_classes and n > 0):
                kind = "simili" if width == 0 else ("comune" if len(classes) == n_classes else "vicine")
                ref_n = n
                ref = {c: int(chosen[c].sum()) - int(inside[c].sum()) for c in rate_cols}
                break
        phis = dict.fromkeys(disp_cols, 1.0)
        phi_df, concentration = math.inf, 1.0
        if kind != "nessuno":
            key = (rec["pro_com_t"], classes)
            if key not in block_cache:
                sel = blocks.loc[rec["pro_com_t"]]
                block_cache[key] = sel[sel.index.get_level_values("dclass").isin(classes)].groupby(level="block").sum()
            sel = block_cache[key]
            inside_disp = disp_by_cell.loc[inside["cell"].to_numpy(np.int64)]
            out = inside_disp.groupby("block")[disp_cols].sum()
            out["n"] = inside_disp.groupby("block").size()
            sel = sel.sub(out.reindex(sel.index, fill_value=0), fill_value=0)
            for col in disp_cols:
                phi, df = block_dispersion(sel[col].to_numpy(), sel["n"].to_numpy())
                phis[col], phi_df = float(phi), float(df)
            sizes = sel["n"].to_numpy(float)
            area_blocks = np.unique(hexgrid.cell_to_parent(area_cells[rec["code"]], BLOCK_RES), return_counts=True)[1]
            if (sizes > 0).any() and area_blocks.size:
                concentration = float((area_blocks.astype(float) ** 2).sum() / area_blocks.sum()
                                      / sizes[sizes > 0].mean())
        ref_rows.append({"reference": kind, "ref_classes": ", ".join(DENSITY_CLASSES[c][1] for c in classes)
                         if kind != "nessuno" else "", "ref_cells": ref_n, **{f"ref_{c}": v for c, v in ref.items()},
                         "dispersion": phis["focus"], "dispersion_df": phi_df, "concentration": concentration,
                         **{f"dispersion_{g}": phis[f"{g}_{suffix}"] for g in FOCUS_GROUPS}})
    disp_names = ["dispersion", "dispersion_df", "concentration", *(f"dispersion_{g}" for g in FOCUS_GROUPS)]
    ref_frame = pd.DataFrame(ref_rows, index=sch.index,
                             columns=["reference", "ref_classes", "ref_cells", *(f"ref_{c}" for c in rate_cols),
                                      *disp_names])
    sch = pd.concat([sch, ref_frame], axis=1)
    sch["ref_focus"] = sch[[f"ref_{c}" for c in rate_cols]].sum(axis=1)
    sch = _ratios(sch, basis, confidence)

    # Open reports and lighting in the area.
    sch = sch.merge(_reports_in(cells, reports), on="code", how="left")
    for col in ("reports_open", "reports_public_order", "reports_lighting"):
        sch[col] = sch[col].fillna(0).astype("int64")
    if layer_stats is not None and len(layer_stats):
        stats = layer_stats[["cell", "lights", "lights_broken"]].copy()
        stats["cell"] = stats["cell"].astype("int64")
        lit = cells.merge(stats, on="cell", how="left").fillna({"lights": 0, "lights_broken": 0})
        lit = lit.groupby("code")[["lights", "lights_broken"]].sum().reset_index()
        sch = sch.merge(lit, on="code", how="left")
        comune_lights = ctx[["cell", "pro_com_t"]].merge(stats, on="cell").groupby("pro_com_t")[
            ["lights", "lights_broken"]].sum()
        share = (comune_lights["lights_broken"] / comune_lights["lights"].where(comune_lights["lights"] > 0))
        sch["comune_broken_share"] = sch["pro_com_t"].map(share)
    else:
        sch["lights"] = 0
        sch["lights_broken"] = 0
        sch["comune_broken_share"] = np.nan
    sch["lights"] = sch["lights"].fillna(0).astype("int64")
    sch["lights_broken"] = sch["lights_broken"].fillna(0).astype("int64")
    sch["lights_broken_share"] = np.where(sch["lights"] > 0, sch["lights_broken"] / sch["lights"].clip(lower=1),
                                          np.nan)

    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True)) if comuni is not None else {}
    sch["comune"] = [names.get(c, c) for c in sch["pro_com_t"]]
    if "students" not in sch:
        sch["students"] = pd.NA
    sch = rank_schools(sch)
    params = {"walk_m": float(walk_m), "radius_m": radius_m(walk_m, detour=detour), "basis": basis,
              "months": months, "confidence": confidence, "detour": detour}
    return Exposure(schools=sch, cells=cells, by_comune=comune_summary(sch, cells, ctx), params=params)


def _reports_in(cells: pd.DataFrame, reports: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["code", "reports_open", "reports_public_order", "reports_lighting"]
    if reports is None or reports.empty or cells.empty:
        return pd.DataFrame(columns=columns)
    rep = reports[reports["status"].isin(OPEN_REPORT_STATUS)][["cell", "category"]].copy()
    rep["cell"] = rep["cell"].astype("int64")
    joined = cells[["code", "cell"]].merge(rep, on="cell")
    if joined.empty:
        return pd.DataFrame(columns=columns)
    joined["public_order"] = joined["category"].isin(PUBLIC_ORDER_REPORTS)
    joined["lighting"] = joined["category"] == "illuminazione_guasta"
    out = joined.groupby("code").agg(reports_open=("cell", "size"), reports_public_order=("public_order", "sum"),
                                     reports_lighting=("lighting", "sum"))
    return out.reset_index()[columns]


_LEVEL_ORDER = {"alta": 0, "media": 1, "ins": 2, "bassa": 3, "nd": 4}


def rank_schools(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort schools by exposure (module notes) and number them in ``rank``."""
    out = frame.assign(
        _lv=frame["exposure_level"].map(_LEVEL_ORDER),
        _lo=frame["rr_low"].fillna(-1.0),
        _focus=frame["focus_all"],
    )
    out = out.sort_values(["_lv", "_lo", "_focus", "reports_public_order", "lights_broken", "code"],
                          ascending=[True, False, False, False, False, True], kind="stable")
    out = out.drop(columns=["_lv", "_lo", "_focus"]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def role_view(exposure: Exposure, role: str | None) -> Exposure:
    """The result as ``role`` may see it: unchanged, after checking that a role without clearance
    gets a result computed on protected counts (:func:`compute_exposure` with its ``role``).

    Nothing is withheld (issue 11): for a role without clearance every count, ratio, level and
    rank comes from the cell-key protected counts, so it publishes nothing beyond them.

    Raises
    ------
    ValueError
        An exact result asked for a role without clearance.
    """
    if not can_see_exact(role) and not exposure.params.get("protected"):
        raise ValueError("esposizione con conteggi esatti richiesta per un profilo senza abilitazione: "
                         "calcolarla con compute_exposure(..., role=ruolo)")
    return exposure


def comune_summary(schools: pd.DataFrame, cells: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Figures per comune: ``schools``, ``students``, ``alta`` (schools at high exposure),
    ``focus_near`` (focus incidents, all hours, in the union of the areas of the comune's
    schools, each hexagon once and only its part inside the comune), ``focus_total`` (in the
    comune), ``focus_share`` (0-1) and ``area_share`` (0-1: school areas among the inhabited
    hexagons of the comune)."""
    rows = []
    ctx = context.set_index("cell")
    for code, group in schools.groupby("pro_com_t", sort=True):
        union = pd.Index(cells.loc[cells["code"].isin(group["code"]), "cell"].unique())
        in_comune = union[union.isin(ctx.index)]
        in_comune = in_comune[(ctx.loc[in_comune, "pro_com_t"] == code).to_numpy()]
        comune_cells = ctx[ctx["pro_com_t"] == code]
        inhabited = comune_cells[comune_cells["dclass"] > 0]
        focus_cols = [f"{g}_all" for g in FOCUS_GROUPS]
        near = int(ctx.loc[in_comune, focus_cols].to_numpy().sum()) if len(in_comune) else 0
        total = int(comune_cells[focus_cols].to_numpy().sum())
        students = pd.to_numeric(group["students"], errors="coerce").sum()
        rows.append({
            "pro_com_t": code, "comune": group["comune"].iloc[0], "schools": len(group),
            "students": int(students) if students else 0, "alta": int((group["exposure_level"] == "alta").sum()),
            "focus_near": near, "focus_total": total,
            "focus_share": near / total if total else np.nan,
            "area_share": len(in_comune) / len(inhabited) if len(inhabited) else np.nan,
        })
    return pd.DataFrame(rows, columns=["pro_com_t", "comune", "schools", "students", "alta", "focus_near",
                                       "focus_total", "focus_share", "area_share"])


def compute_exposure(store: Store, *, walk_m: float = DEFAULT_WALK_M, start: date | None = None,
                     end: date | None = None, comuni: Sequence[str] | None = None, levels: Sequence[str] | None = None,
                     basis: str = "tutte", months: int | None = None, role: str | None = None) -> Exposure:
    """:func:`school_exposure` on the database: schools of ``comuni`` (all when empty) and of
    ``levels``, incidents of the period ``start``-``end`` (first days of months, inclusive).

    ``role``: for a role without police clearance every incident count of the result (around each
    school, in its reference area, per comune) is protected by the cell-key method and the rate
    ratios, their intervals, levels and ranks are recomputed from the protected counts
    (:func:`protect_exposure`). None: exact figures (``params["protected"]`` says which)."""
    schools = store.points("schools", comuni=list(comuni) if comuni else None)
    if levels:
        schools = schools[schools["level"].isin(list(levels))]
    incidents = store.incidents_series(by=("cell", "category", "time_band"), res=config.STORE_RES, start=start,
                                       end=end)
    context = store.cell_context(config.STORE_RES)
    layer_stats = store.layer_stats_by_cell(config.STORE_RES)
    reports = store.points("reports")
    kwargs = {"layer_stats": layer_stats, "reports": reports, "comuni": store.comuni(), "walk_m": walk_m,
              "basis": basis, "months": months}
    exact = school_exposure(schools, incidents, context, **kwargs)
    if role is None or can_see_exact(role):
        return exact
    # The key sums of every count add up exactly as the counts do: the same computation on them
    # gives the key sum of each published count (around a school, its reference, its comune).
    # Its dispersion columns come from the protected counts of each hexagon (the Mappa's values).
    keyed_incidents = incidents.assign(incidents=incidents["incidents_key"])
    cells = protected_cells(incidents, keyed_incidents, role)
    keyed = school_exposure(schools, keyed_incidents, context, dispersion_counts=cells, **kwargs)
    return protect_exposure(exact, keyed, role)


def protected_cells(incidents: pd.DataFrame, keyed: pd.DataFrame, role: str | None) -> pd.DataFrame:
    """Per resolution-10 hexagon, the focus counts of :func:`_incident_columns` (``<group>_all``,
    ``<group>_scuola``) as ``role`` may see them: each the cell-key protected value of its records
    (``keyed``: the same rows with their key sums as ``incidents``)."""
    exact = _incident_columns(incidents)
    keys = _incident_columns(keyed).set_index("cell").reindex(exact["cell"])
    out = exact[["cell"]].copy()
    for g in FOCUS_GROUPS:
        for s in ("all", "scuola"):
            col = f"{g}_{s}"
            if col not in exact:
                out[col] = 0
                continue
            k = np.mod(keys[col].fillna(0).to_numpy(dtype="int64"), KEY_MODULUS)
            out[col] = protect_counts(exact[col].to_numpy(), k, role)
    return out


def protect_exposure(exact: Exposure, keyed: Exposure, role: str | None) -> Exposure:
    """``exact`` with its incident counts protected for ``role`` (:mod:`geo.access.disclosure`; the
    key sums are the same columns of ``keyed``) and every value derived from them recomputed:
    estimates, yearly density, rate ratios with their intervals, levels, ranks, per-comune figures.
    The dispersion columns are taken from ``keyed`` (estimated there on protected hexagon counts)."""
    basis = exact.params.get("basis", "tutte")
    suffix = "all" if basis == "tutte" else "scuola"
    confidence = exact.params.get("confidence", CONFIDENCE)
    sch = exact.schools.copy()
    ks = keyed.schools.set_index("code").reindex(sch["code"])
    ref_cols = [f"ref_{g}_{suffix}" for g in FOCUS_GROUPS] + ["ref_focus"]
    for col in (*COUNT_COLUMNS, *ref_cols):
        keys = np.mod(ks[col].fillna(0).to_numpy(dtype="int64"), KEY_MODULUS)
        sch[col] = protect_counts(sch[col].to_numpy(), keys, role)
    sch["focus_school_est"] = sch["focus_scuola"] * SCHOOL_TIME_SHARE
    sch["focus_outside_est"] = sch["focus_all"] - sch["focus_school_est"]
    months = exact.params.get("months")
    per_year = 12 / months if months else np.nan
    sch["focus_per_km2_year"] = sch["focus_all"] / sch["area_km2"] * per_year
    # The dispersion of the reference: from the protected counts of its hexagons (``keyed`` was
    # computed with them, see compute_exposure).
    for col in ("dispersion", "dispersion_df", "concentration", *(f"dispersion_{g}" for g in FOCUS_GROUPS)):
        sch[col] = ks[col].to_numpy(float)
    sch = rank_schools(_ratios(sch, basis, confidence).drop(columns="rank"))
    by = exact.by_comune.copy()
    kb = keyed.by_comune.set_index("pro_com_t").reindex(by["pro_com_t"])
    for col in ("focus_near", "focus_total"):
        by[col] = protect_counts(by[col].to_numpy(), np.mod(kb[col].fillna(0).to_numpy(dtype="int64"), KEY_MODULUS),
                                 role)
    by["focus_share"] = (by["focus_near"] / by["focus_total"].where(by["focus_total"] > 0)).clip(upper=1.0)
    alta = sch[sch["exposure_level"] == "alta"].groupby("pro_com_t").size()
    by["alta"] = by["pro_com_t"].map(alta).fillna(0).astype(int)
    return Exposure(schools=sch, cells=exact.cells, by_comune=by, params={**exact.params, "protected": True})


# --------------------------------------------------------------------------------------------
# What a role sees: table, reasons, exports
# --------------------------------------------------------------------------------------------

#: Incident counts of the schools table, and the values derived from them.
COUNT_COLUMNS: tuple[str, ...] = (
    "spaccio_all", "violenza_all", "focus_all", "focus_scuola", "other", "spaccio_scuola", "violenza_scuola",
    *(f"cat_{c}" for c in INCIDENT_CATEGORIES),
)


def _rr_text(v: float) -> str:
    if v is None or pd.isna(v):
        return MISSING_LABEL
    if math.isinf(v):
        return "∞"
    return format_decimal(v, 2 if v < 10 else 1)


def _ci_text(low: float, high: float) -> str:
    if pd.isna(low) or pd.isna(high):
        return MISSING_LABEL
    return f"{_rr_text(low)}–{_rr_text(high)}"


#: Ratio columns: shown as :data:`INSUFFICIENT_LABEL` when too few incidents are expected.
RATIO_COLUMNS: tuple[str, ...] = tuple(f"{p}{t}" for p in ("rr", "rr_spaccio", "rr_violenza")
                                       for t in ("", "_low", "_high"))


def _expected_of(ratio_col: str) -> str:
    prefix = ratio_col.removesuffix("_low").removesuffix("_high")
    return "expected" if prefix == "rr" else f"expected_{prefix[3:]}"


def insufficient(schools: pd.DataFrame) -> pd.DataFrame:
    """True where a ratio (:data:`RATIO_COLUMNS`) is not a number because fewer than
    :data:`MIN_EXPECTED` focus incidents are expected in the school's area at the rate of its
    similar areas (schools without a reference are *non valutabile*, not insufficient)."""
    out = pd.DataFrame(index=schools.index)
    has_ref = (schools["reference"] != "nessuno").to_numpy()
    for col in RATIO_COLUMNS:
        out[col] = (schools[_expected_of(col)].to_numpy(float) < MIN_EXPECTED) & has_ref
    return out


def shown_values(exposure: Exposure, role: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Display strings of the schools table for ``role`` and the mask of ratios that are not
    numbers (:func:`insufficient`: shown as :data:`INSUFFICIENT_LABEL`).

    Counts are shown as they are in ``exposure``: exact for cleared roles, cell-key protected for
    the others (:func:`role_view` checks it); no count is withheld."""
    exposure = role_view(exposure, role)
    sch = exposure.schools
    few = insufficient(sch)
    shown = sch.copy()
    for col in COUNT_COLUMNS:
        shown[col] = [format_int(v) for v in sch[col]]
    for col in ("focus_school_est", "focus_outside_est", "focus_per_km2_year"):
        shown[col] = [format_decimal(v, 1) for v in sch[col]]
    for col in RATIO_COLUMNS:
        shown[col] = [INSUFFICIENT_LABEL if f else _rr_text(v) for f, v in zip(few[col], sch[col], strict=True)]
    shown["expected"] = [format_decimal(v, 1) for v in sch["expected"]]
    return shown, few


def reasons(row: Mapping[str, object], shown: Mapping[str, str], hidden: Mapping[str, bool], *,
            basis: str = "tutte") -> list[str]:
    """Italian reasons of a school's position.

    ``row``: the figures the viewer may see (protected for roles without clearance);
    ``shown``/``hidden``: the display strings and the mask of :func:`shown_values` for that row
    (hidden: the ratio is not a number, too few incidents expected).
    """
    out = []
    where = "in orario scolastico (stima), " if basis == "scuola" else ""
    if row["exposure_level"] == "alta" and not hidden["rr"]:
        out.append(f"Spaccio e violenza {where}{shown['rr']} volte la media delle aree simili del comune "
                   f"(IC 95 % {_ci_text(row['rr_low'], row['rr_high'])})")
    for g, label in (("spaccio", "Spaccio"), ("violenza", "Violenza")):
        low = row[f"rr_{g}_low"]
        if not hidden[f"rr_{g}"] and pd.notna(low) and low > 1:
            out.append(f"{label}: {shown[f'{g}_all']} delitti nel periodo, {_rr_text(row[f'rr_{g}'])} volte "
                       "le aree simili")
    if row["exposure_level"] == "media" and not hidden["rr"] and pd.notna(row["rr"]) and row["rr"] > 1.5:
        out.append(f"Spaccio e violenza sopra la media ({_rr_text(row['rr'])} volte) ma non in modo significativo")
    suffix = "all" if basis == "tutte" else "scuola"
    if row["exposure_level"] == "ins" and row[f"focus_{suffix}"] > 0:
        out.append(f"{format_int(row[f'focus_{suffix}'])} delitti di spaccio e violenza {where}nel periodo, dove le "
                   f"aree simili ne farebbero attendere {format_decimal(row['expected'], 1)}: troppo pochi per un "
                   f"rapporto (ne servono almeno {format_int(MIN_EXPECTED)} attesi)")
    if row["reports_public_order"] > 0:
        out.append(f"{format_int(row['reports_public_order'])} segnalazioni aperte di spaccio, bivacco, occupazione "
                   "o edifici degradati")
    elif row["reports_open"] >= 3:
        out.append(f"{format_int(row['reports_open'])} segnalazioni di degrado aperte")
    broken, lights = int(row["lights_broken"]), int(row["lights"])
    comune_share = row.get("comune_broken_share")
    if broken > 0 and (pd.isna(comune_share) or broken / max(lights, 1) > comune_share):
        out.append(f"{format_int(broken)} punti luce guasti su {format_int(lights)} "
                   f"({format_percent(broken / max(lights, 1))}; comune {format_percent(comune_share)})")
    if row["reports_lighting"] > 0:
        out.append(f"{format_int(row['reports_lighting'])} segnalazioni aperte di illuminazione guasta")
    if lights == 0 and row["residents"] >= 1:
        out.append("Nessun punto luce censito nell'area")
    return out


#: Columns of the ranked table (and its CSV), with Italian headers.
TABLE_HEADERS: dict[str, str] = {
    "rank": "Rango", "name": "Scuola", "level_label": "Grado", "comune": "Comune", "exposure": "Esposizione",
    "spaccio_all": "Spaccio (delitti)", "violenza_all": "Violenza (delitti)", "other": "Altri delitti",
    "focus_school_est": "Spaccio e violenza in orario scolastico (stima)",
    "focus_outside_est": "Spaccio e violenza fuori orario (stima)",
    "expected": "Attesi alla media delle aree simili",
    "rr": "Rapporto con aree simili", "ci": "IC 95 %", "reports_open": "Segnalazioni aperte",
    "lights_text": "Punti luce (guasti)", "reasons": "Motivi", "code": "Codice meccanografico",
}


def ranked_table(exposure: Exposure, role: str | None) -> pd.DataFrame:
    """The ranked list as ``role`` may see it: Italian headers, display strings, the reasons."""
    shown, mask = shown_values(exposure, role)
    sch = exposure.schools
    basis = exposure.params.get("basis", "tutte")
    rows = []
    for i, rec in enumerate(sch.to_dict("records")):
        s = shown.iloc[i].to_dict()
        h = mask.iloc[i].to_dict()
        ci = INSUFFICIENT_LABEL if h["rr_low"] else _ci_text(rec["rr_low"], rec["rr_high"])
        why = reasons(rec, s, h, basis=basis)
        rows.append({
            "rank": int(rec["rank"]), "name": rec["name"], "level_label": SCHOOL_LEVELS.get(rec["level"], rec["level"]),
            "comune": rec["comune"], "exposure": LEVELS[rec["exposure_level"]],
            "spaccio_all": s["spaccio_all"], "violenza_all": s["violenza_all"], "other": s["other"],
            "focus_school_est": s["focus_school_est"], "focus_outside_est": s["focus_outside_est"],
            "expected": s["expected"], "rr": s["rr"], "ci": ci, "reports_open": format_int(rec["reports_open"]),
            "lights_text": f"{format_int(rec['lights'])} ({format_int(rec['lights_broken'])})",
            "reasons": "; ".join(why) if why else "Nessun elemento sopra la media", "code": rec["code"],
        })
    return pd.DataFrame(rows, columns=list(TABLE_HEADERS)).rename(columns=TABLE_HEADERS)


#: Numeric columns of the ranked table: source column and decimals.
_NUMERIC: dict[str, tuple[str, int]] = {
    "spaccio_all": ("spaccio_all", 0), "violenza_all": ("violenza_all", 0), "other": ("other", 0),
    "focus_school_est": ("focus_school_est", 1), "focus_outside_est": ("focus_outside_est", 1),
    "expected": ("expected", 1), "rr": ("rr", 2),
}


def ranked_styler(exposure: Exposure, role: str | None):
    """The ranked list as a pandas ``Styler`` for the page: figures stay numbers (the table sorts
    them correctly); a ratio with too few expected incidents is NaN shown as
    :data:`INSUFFICIENT_LABEL`; same headers as :func:`ranked_table`."""
    text = ranked_table(exposure, role)
    _, few = shown_values(exposure, role)
    values = text.copy()
    for key, (col, _) in _NUMERIC.items():
        numbers = exposure.schools[col].astype("float64").replace([np.inf, -np.inf], np.nan)
        values[TABLE_HEADERS[key]] = numbers.to_numpy()
    values[TABLE_HEADERS["reports_open"]] = exposure.schools["reports_open"].to_numpy()
    formatters = {TABLE_HEADERS[k]: (format_int if d == 0 else (lambda v, d=d: _rr_text(v) if d == 2
                                                                 else format_decimal(v, d)))
                  for k, (_, d) in _NUMERIC.items()}
    formatters[TABLE_HEADERS["reports_open"]] = format_int
    styler = values.style.format(formatters, na_rep=MISSING_LABEL)
    rows = text.index[few["rr"].to_numpy()]
    if len(rows):
        styler = styler.format(lambda _v: INSUFFICIENT_LABEL, subset=pd.IndexSlice[rows, [TABLE_HEADERS["rr"]]])
    return styler.hide(axis="index")


def category_table(exposure: Exposure, role: str | None) -> pd.DataFrame:
    """Incidents by category around each school (all hours), focus categories first."""
    shown, _ = shown_values(exposure, role)
    order = list(FOCUS_CATEGORIES) + [c for c in INCIDENT_CATEGORIES if c not in FOCUS_CATEGORIES]
    out = pd.DataFrame({"Rango": exposure.schools["rank"], "Scuola": exposure.schools["name"],
                        "Comune": exposure.schools["comune"]})
    for c in order:
        out[INCIDENT_CATEGORIES[c]] = shown[f"cat_{c}"].to_numpy()
    return out


def comune_table(exposure: Exposure, role: str | None) -> pd.DataFrame:
    """Figures per comune as ``role`` may see them (protected counts for roles without clearance)."""
    frame = role_view(exposure, role).by_comune
    walk = format_int(exposure.params.get("walk_m", DEFAULT_WALK_M))
    return pd.DataFrame({
        "Comune": frame["comune"], "Scuole": frame["schools"], "Alunni": frame["students"],
        "Scuole a esposizione alta": frame["alta"],
        f"Spaccio e violenza entro {walk} m dalle scuole": [format_int(v) for v in frame["focus_near"]],
        "Spaccio e violenza nel comune": [format_int(v) for v in frame["focus_total"]],
        "Quota vicino alle scuole": [format_percent(v, 0) for v in frame["focus_share"]],
        "Superficie abitata vicino alle scuole": [format_percent(v, 0) for v in frame["area_share"]],
    })


def table_csv(table: pd.DataFrame) -> bytes:
    """A display table as CSV for Italian spreadsheets: UTF-8 with BOM, ``;``, formulas neutralised."""
    buffer = io.StringIO()
    table.astype(object).where(table.notna(), "").map(neutralise_formula).to_csv(
        buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


def _json_number(value: object) -> object:
    if value is None or pd.isna(value):
        return None
    value = float(value)
    if math.isinf(value):
        return None
    return int(value) if value.is_integer() else round(value, 4)


def privacy_note(role: str | None) -> str:
    """What the figures are, for the exports and the captions."""
    return "Valori esatti (profilo autorizzato)" if can_see_exact(role) else PROTECTED_NOTE


def schools_geojson(exposure: Exposure, role: str | None) -> bytes:
    """Schools as GeoJSON points with their exposure figures; a ratio with too few expected
    incidents is ``null`` with ``dato_insufficiente`` true; the areas' walking distance, basis and
    minimum expected count in the collection's metadata."""
    _, few = shown_values(exposure, role)
    table = ranked_table(exposure, role)
    keys = {"spaccio_all": "spaccio", "violenza_all": "violenza", "other": "altri_delitti",
            "focus_school_est": "in_orario_scolastico_stima", "focus_outside_est": "fuori_orario_stima",
            "expected": "attesi_aree_simili", "dispersion": "dispersione",
            "rr": "rapporto_aree_simili", "rr_low": "ic95_min", "rr_high": "ic95_max"}
    features = []
    for i, rec in enumerate(exposure.schools.to_dict("records")):
        props = {"rango": int(rec["rank"]), "codice": rec["code"], "scuola": rec["name"], "grado": rec["level"],
                 "comune": rec["comune"], "esposizione": LEVELS[rec["exposure_level"]],
                 "segnalazioni_aperte": int(rec["reports_open"]), "punti_luce": int(rec["lights"]),
                 "punti_luce_guasti": int(rec["lights_broken"]), "motivi": table.iloc[i]["Motivi"]}
        props |= {key: _json_number(rec[col]) for col, key in keys.items()}
        props["dato_insufficiente"] = bool(few["rr"].iloc[i])
        features.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Point", "coordinates": [round(float(rec["lon"]), 6), round(float(rec["lat"]), 6)]}})
    meta = {"riservatezza": privacy_note(role), "distanza_a_piedi_m": exposure.params.get("walk_m"),
            "raggio_linea_aria_m": round(exposure.params.get("radius_m", 0), 1),
            "base_confronto": BASES[exposure.params.get("basis", "tutte")], "orario_scolastico": SCHOOL_HOURS_LABEL,
            "minimo_attesi": MIN_EXPECTED,
            "intervallo": "quasi-Poisson: dispersione stimata sui blocchi (ris. 9) delle aree simili"}
    return json.dumps({"type": "FeatureCollection", "name": "lanterna_scuole_sicure", "lanterna": meta,
                       "features": features}, ensure_ascii=False, default=str).encode("utf-8")


def rr_chart_data(exposure: Exposure, role: str | None, *, top: int = 15) -> pd.DataFrame:
    """The first ``top`` schools with a ratio (enough expected incidents): ``rank``, ``label``,
    ``rr``, ``low``, ``high`` (finite values only), ``level``."""
    sch = role_view(exposure, role).schools
    ok = np.isfinite(sch["rr"].to_numpy(float)) & np.isfinite(sch["rr_high"].to_numpy(float))
    sub = sch[ok].head(top)
    return pd.DataFrame({"rank": sub["rank"].to_numpy(), "label": [f"{r}. {n}" for r, n in zip(sub["rank"],
                                                                                                sub["name"],
                                                                                                strict=True)],
                         "rr": sub["rr"].to_numpy(float), "low": sub["rr_low"].to_numpy(float),
                         "high": sub["rr_high"].to_numpy(float), "level": [LEVELS[v] for v in sub["exposure_level"]]})


# --------------------------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------------------------

def exposure_map(exposure: Exposure, *, role: str | None, comuni: pd.DataFrame | None = None,
                 selected: str | None = None, tiles: str = "osm", assets_url: str | None = None) -> folium.Map:
    """Schools coloured by exposure level (one toggleable layer per level), the area around each
    school, the selected school's area highlighted, the comuni boundaries. Every text is escaped;
    figures are those ``role`` may see."""
    shown, few = shown_values(exposure, role)
    m = maps.base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)
    sch = exposure.schools
    level_shown = list(sch["exposure_level"])
    bounds = bounds_of(sch["lon"].to_numpy(), sch["lat"].to_numpy())
    if comuni is not None and len(comuni):
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 1.4, "opacity": 0.9}, bounds=None).add_to(m)
    polygons = []
    for code, lv in zip(sch["code"], level_shown, strict=True):
        cells = exposure.cells.loc[exposure.cells["code"] == code, "cell"].to_numpy()
        geom = shapely.union_all(hexgrid.cells_to_polygons(cells))
        polygons.append({"type": "Feature", "properties": {"c": LEVEL_COLORS[lv], "s": 1 if code == selected else 0},
                         "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-5)))})
    walk = format_int(exposure.params.get("walk_m", DEFAULT_WALK_M))
    folium.GeoJson(
        {"type": "FeatureCollection", "features": polygons}, name=f"Aree entro {walk} m a piedi",
        style_function=lambda f: {"color": "#111111" if f["properties"]["s"] else f["properties"]["c"],
                                  "weight": 3 if f["properties"]["s"] else 0.8, "fillColor": f["properties"]["c"],
                                  "fillOpacity": 0.18},
        interactive=False,
    ).add_to(m)
    labels = ("Grado", "Comune", "Esposizione", "Spaccio (delitti)", "Violenza (delitti)",
              "Rapporto con aree simili", "Segnalazioni aperte", "Punti luce (guasti)")
    for lv in LEVELS:
        idx = [i for i, v in enumerate(level_shown) if v == lv]
        if not idx:
            continue
        features = []
        for i in idx:
            rec, s = sch.iloc[i], shown.iloc[i]
            ci = "" if few["rr_low"].iloc[i] else f" (IC {_ci_text(rec['rr_low'], rec['rr_high'])})"
            values = [SCHOOL_LEVELS.get(rec["level"], rec["level"]), rec["comune"], LEVELS[lv], s["spaccio_all"],
                      s["violenza_all"],
                      f"{s['rr']}{ci}", format_int(rec["reports_open"]),
                      f"{format_int(rec['lights'])} ({format_int(rec['lights_broken'])})"]
            features.append({"type": "Feature",
                             "properties": {"n": html.escape(f"{int(rec['rank'])}. {rec['name']}"),
                                            "v": [html.escape(str(v)) for v in values]},
                             "geometry": {"type": "Point", "coordinates": [round(float(rec["lon"]), 5),
                                                                           round(float(rec["lat"]), 5)]}})
        maps.PointsLayer({"type": "FeatureCollection", "features": features},
                         name=f"Scuole – esposizione {LEVELS[lv].lower()} ({len(idx)})", labels=labels,
                         color=LEVEL_COLORS[lv], show=True, bounds=None).add_to(m)
    entries = [(LEVEL_COLORS[k], v) for k, v in LEVELS.items() if k in level_shown]
    note = (f"Rapporto tra spaccio e violenza entro {walk} m e le aree simili del comune (IC 95 %); "
            f"con meno di {format_int(MIN_EXPECTED)} delitti attesi: dato insufficiente."
            + ("" if can_see_exact(role) else " Calcolato dai conteggi protetti."))
    maps.Legend("Esposizione delle scuole", entries, note).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if selected is not None and (sch["code"] == selected).any():
        rec = sch[sch["code"] == selected].iloc[0]
        r = exposure.params.get("radius_m", 250) / 111_000
        m.location = [float(rec["lat"]), float(rec["lon"])]
        m.fit_bounds([[rec["lat"] - 3 * r, rec["lon"] - 4 * r], [rec["lat"] + 3 * r, rec["lon"] + 4 * r]])
    elif bounds:
        m.fit_bounds(bounds)
    return m

