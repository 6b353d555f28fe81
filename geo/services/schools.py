"""*Scuole sicure* (pact art. 11): what happens around each school, compared with similar areas of
its comune, and a ranked list of schools with the reasons.

Art. 11 of the Massa-Carrara pact targets drug dealing and deviance near schools and the
requalification of the areas around them. For every school this module measures, on H3 cells:

* **incidents by category** in the area around it, drug offences and violence first
  (:data:`FOCUS_GROUPS`), in school hours and outside (estimated, see below);
* **open degradation reports** there (all categories; public-order ones apart);
* **lighting** there: light points, broken ones, against the comune's broken share;
* a **rate ratio** (RR) of the focus incidents per hexagon around the school to the rate in the
  *similar areas* of its comune, with an exact 95 % confidence interval.

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
    area and 2 the similar areas, over the same period. The 95 % interval is the **exact
    conditional** one: given O1 + O2 = n, O1 is binomial with p = RR E1 / (RR E1 + E2), so the
    Clopper-Pearson limits of p (beta quantiles) map to RR = p / (1 - p) x E2 / E1 (Breslow &
    Day 1987, *Statistical methods in cancer research* II, §2.9; what R's ``poisson.test`` gives
    for two rates). It stays valid with few events, where Wald intervals on the log scale do not,
    and gives a lower limit of 0 when O1 = 0.
Exposure level
    ``alta`` when the interval's lower limit is above 1 (significantly more than similar
    areas), ``bassa`` when its upper limit is below 1, ``nella media`` otherwise, ``non
    valutabile`` without incidents in both or without a reference.
Ranking
    By level (``alta`` first), then RR lower limit (a cautious effect size: small counts do not
    top the list by chance), then focus incidents, public-order reports and broken lights.

Privacy
-------
For roles without clearance every incident count around a school, in its reference area and per
comune is protected by the cell-key method (:func:`protect_exposure`, :mod:`geo.access.disclosure`:
the same records always give the same value, so overlapping areas cannot be subtracted to pin a
small count down), and rate ratios, intervals, levels and ranks are computed from the protected
counts. Reports and light points are not about people and are exact.
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
from scipy.stats import beta

from geo import config
from geo.access.disclosure import KEY_MODULUS, protect_counts
from geo.access.privacy import (
    COUNT_LABEL,
    DERIVED_LABEL,
    MISSING_LABEL,
    apply_suppression,
    can_see_exact,
    format_decimal,
    format_int,
    format_percent,
    suppressed_mask,
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
LEVELS: dict[str, str] = {"alta": "Alta", "media": "Nella media", "ris": "Riservata", "bassa": "Bassa",
                          "nd": "Non valutabile"}
LEVEL_COLORS: dict[str, str] = {"alta": "#D55E00", "media": "#E69F00", "ris": "#c9c9c9", "bassa": "#0072B2",
                                "nd": "#7a7a7a"}
#: Report categories that signal public-order problems near a school.
PUBLIC_ORDER_REPORTS = ("spaccio_assembramenti", "bivacco_marginalita", "occupazione_abusiva", "edificio_degradato")
BASES: dict[str, str] = {"tutte": "Tutte le ore", "scuola": "Orario scolastico (stima)"}


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

def rate_ratio(o1: np.ndarray | float, e1: np.ndarray | float, o2: np.ndarray | float, e2: np.ndarray | float, *,
               confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of two Poisson rates with its exact conditional confidence interval.

    Parameters
    ----------
    o1, e1
        Events and exposure of the studied area (exposure: hexagons, or km², or person-years).
    o2, e2
        Events and exposure of the reference.
    confidence
        Two-sided level.

    Returns
    -------
    rr, low, high
        Arrays (broadcast). ``rr`` is ``inf`` when ``o2 = 0 < o1``; all NaN when ``o1 + o2 = 0``
        or an exposure is not positive. Limits from Clopper-Pearson on ``o1 | o1 + o2``
        (module notes).
    """
    o1, e1, o2, e2 = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(o1, e1, o2, e2))
    n = o1 + o2
    alpha = 1 - confidence
    valid = (n > 0) & (e1 > 0) & (e2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(o2 > 0, (o1 / e1) / (o2 / e2), np.inf)
        p_lo = np.where(o1 > 0, beta.ppf(alpha / 2, np.maximum(o1, 1e-12), n - o1 + 1), 0.0)
        p_hi = np.where(o1 < n, beta.ppf(1 - alpha / 2, o1 + 1, np.maximum(n - o1, 1e-12)), 1.0)
        low = p_lo / (1 - p_lo) * e2 / e1
        high = np.where(p_hi < 1, p_hi / (1 - p_hi) * e2 / e1, np.inf)
    nan = np.full(rr.shape, np.nan)
    return np.where(valid, rr, nan), np.where(valid, low, nan), np.where(valid, high, nan)


def exposure_level(rr: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Level code of each interval (:data:`LEVELS`)."""
    rr, low, high = (np.asarray(v, dtype=float) for v in (rr, low, high))
    out = np.full(rr.shape, "media", dtype=object)
    out[low > 1] = "alta"
    out[high < 1] = "bassa"
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
    return int(math.ceil(radius / spacing)) + 1


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
        ``ref_focus``; ``rr``, ``rr_low``, ``rr_high`` (focus, on ``basis``) and
        ``rr_<g>``, ``rr_<g>_low``, ``rr_<g>_high``; ``reports_open``,
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
    # neighbouring classes are added until there are enough of them.
    inhabited = ctx[ctx["dclass"] > 0]
    rate_cols = [f"{g}_{suffix}" for g in FOCUS_GROUPS]
    by_class = inhabited.groupby(["pro_com_t", "dclass"])[rate_cols].sum()
    by_class["n"] = inhabited.groupby(["pro_com_t", "dclass"]).size()
    n_classes = len(DENSITY_CLASSES) - 1
    ref_rows = []
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
        ref_rows.append({"reference": kind, "ref_classes": ", ".join(DENSITY_CLASSES[c][1] for c in classes)
                         if kind != "nessuno" else "", "ref_cells": ref_n, **{f"ref_{c}": v for c, v in ref.items()}})
    ref_frame = pd.DataFrame(ref_rows, index=sch.index,
                             columns=["reference", "ref_classes", "ref_cells", *(f"ref_{c}" for c in rate_cols)])
    sch = pd.concat([sch, ref_frame], axis=1)
    sch["ref_focus"] = sch[[f"ref_{c}" for c in rate_cols]].sum(axis=1)
    e1 = sch["n_cells"].to_numpy(float)
    e2 = np.where(sch["reference"] == "nessuno", 0.0, sch["ref_cells"].to_numpy(float))
    sch["rr"], sch["rr_low"], sch["rr_high"] = rate_ratio(sch[f"focus_{suffix}"], e1, sch["ref_focus"], e2,
                                                          confidence=confidence)
    for g in FOCUS_GROUPS:
        rr, lo, hi = rate_ratio(sch[f"{g}_{suffix}"], e1, sch[f"ref_{g}_{suffix}"], e2, confidence=confidence)
        sch[f"rr_{g}"], sch[f"rr_{g}_low"], sch[f"rr_{g}_high"] = rr, lo, hi
    sch["exposure_level"] = exposure_level(sch["rr"], sch["rr_low"], sch["rr_high"])

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


_LEVEL_ORDER = {"alta": 0, "media": 1, "ris": 2, "bassa": 3, "nd": 4}


def rank_schools(frame: pd.DataFrame, *, hidden: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Sort schools by exposure (module notes) and number them in ``rank``.

    ``hidden``: True for schools whose ratio the viewer may not see; their hidden figures do not
    take part in the ordering (they follow the schools "nella media", in a fixed order), so the
    position cannot betray them.
    """
    hide = np.zeros(len(frame), dtype=bool) if hidden is None else np.asarray(hidden, dtype=bool)
    out = frame.assign(
        _lv=frame["exposure_level"].map(_LEVEL_ORDER),
        _lo=np.where(hide, -1.0, frame["rr_low"].fillna(-1.0)),
        _focus=np.where(hide, -1, frame["focus_all"]),
    )
    out = out.sort_values(["_lv", "_lo", "_focus", "reports_public_order", "lights_broken", "code"],
                          ascending=[True, False, False, False, False, True], kind="stable")
    out = out.drop(columns=["_lv", "_lo", "_focus"]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def role_view(exposure: Exposure, role: str | None) -> Exposure:
    """The result as ``role`` may see it: schools whose ratio is hidden get the level ``ris``
    (riservata) and are ranked without their hidden figures; per-comune counts of schools at
    high exposure count only the visible ones. Cleared roles get the result unchanged."""
    if can_see_exact(role):
        return exposure
    _, mask = suppressed(exposure, role)
    hidden = mask["rr"].to_numpy()
    schools = exposure.schools.assign(exposure_level=np.where(hidden, "ris", exposure.schools["exposure_level"]))
    schools = rank_schools(schools, hidden=hidden)
    alta = schools[schools["exposure_level"] == "alta"].groupby("pro_com_t").size()
    by_comune = exposure.by_comune.assign(alta=exposure.by_comune["pro_com_t"].map(alta).fillna(0).astype(int))
    return Exposure(schools=schools, cells=exposure.cells, by_comune=by_comune,
                    params={**exposure.params, "role": role})


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
    keyed = school_exposure(schools, incidents.assign(incidents=incidents["incidents_key"]), context, **kwargs)
    return protect_exposure(exact, keyed, role)


def protect_exposure(exact: Exposure, keyed: Exposure, role: str | None) -> Exposure:
    """``exact`` with its incident counts protected for ``role`` (:mod:`geo.access.disclosure`; the
    key sums are the same columns of ``keyed``) and every value derived from them recomputed:
    estimates, yearly density, rate ratios with their intervals, levels, ranks, per-comune figures."""
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
    e1 = sch["n_cells"].to_numpy(float)
    e2 = np.where(sch["reference"] == "nessuno", 0.0, sch["ref_cells"].to_numpy(float))
    sch["rr"], sch["rr_low"], sch["rr_high"] = rate_ratio(sch[f"focus_{suffix}"], e1, sch["ref_focus"], e2,
                                                          confidence=confidence)
    for g in FOCUS_GROUPS:
        rr, lo, hi = rate_ratio(sch[f"{g}_{suffix}"], e1, sch[f"ref_{g}_{suffix}"], e2, confidence=confidence)
        sch[f"rr_{g}"], sch[f"rr_{g}_low"], sch[f"rr_{g}_high"] = rr, lo, hi
    sch["exposure_level"] = exposure_level(sch["rr"], sch["rr_low"], sch["rr_high"])
    sch = rank_schools(sch.drop(columns="rank"))
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


def derived_columns(basis: str) -> dict[str, tuple[str, ...]]:
    """Values derived from the incident counts, with the counts each reveals: the rate ratios
    reveal the count of their ``basis`` (all hours or school time)."""
    suffix = "all" if basis == "tutte" else "scuola"
    out: dict[str, tuple[str, ...]] = {}
    for prefix, group in (("rr", "focus"), ("rr_spaccio", "spaccio"), ("rr_violenza", "violenza")):
        for tail in ("", "_low", "_high"):
            out[f"{prefix}{tail}"] = (f"{group}_{suffix}",)
    out |= {"focus_school_est": ("focus_scuola",), "focus_outside_est": ("focus_all", "focus_scuola"),
            "focus_per_km2_year": ("focus_all",)}
    return out


def suppressed(exposure: Exposure, role: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Display strings of the schools table for ``role`` and the mask of hidden values."""
    derived = derived_columns(exposure.params.get("basis", "tutte"))
    formats = {c: _rr_text for c in derived if c.startswith("rr")}
    formats |= {"focus_school_est": lambda v: format_decimal(v, 1), "focus_outside_est": lambda v: format_decimal(v, 1),
                "focus_per_km2_year": lambda v: format_decimal(v, 1)}
    return apply_suppression(exposure.schools, COUNT_COLUMNS, derived, role, formats=formats)


def reference_hidden(row: Mapping[str, object], role: str | None, *, basis: str = "tutte") -> dict[str, bool]:
    """Ratios whose reference-area count O2 is small (1-2) for ``role``.

    RR = (O1 / E1) / (O2 / E2): with O1, E1 (hexagons of the area) and E2 (hexagons of the
    reference) published, a ratio gives O2 back, so it (and E1, E2) must be hidden when O2 is
    small. Keys ``rr``, ``rr_spaccio``, ``rr_violenza``; always False for cleared roles.
    """
    suffix = "all" if basis == "tutte" else "scuola"
    refs = {"rr": "ref_focus", **{f"rr_{g}": f"ref_{g}_{suffix}" for g in FOCUS_GROUPS}}
    values = [row.get(col, 0) for col in refs.values()]
    return dict(zip(refs, (bool(x) for x in suppressed_mask(values, role)), strict=True))


def reasons(row: Mapping[str, object], shown: Mapping[str, str], hidden: Mapping[str, bool], *,
            basis: str = "tutte") -> list[str]:
    """Italian reasons of a school's position, using only what the viewer may see.

    ``row``: exact figures; ``shown``/``hidden``: the display strings and mask of
    :func:`suppressed` for that row.
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
    "rr": "Rapporto con aree simili", "ci": "IC 95 %", "reports_open": "Segnalazioni aperte",
    "lights_text": "Punti luce (guasti)", "reasons": "Motivi", "code": "Codice meccanografico",
}


def ranked_table(exposure: Exposure, role: str | None) -> pd.DataFrame:
    """The ranked list as ``role`` may see it: Italian headers, display strings, the reasons."""
    exposure = role_view(exposure, role)
    shown, mask = suppressed(exposure, role)
    sch = exposure.schools
    basis = exposure.params.get("basis", "tutte")
    rows = []
    for i, rec in enumerate(sch.to_dict("records")):
        s = shown.iloc[i].to_dict()
        h = mask.iloc[i].to_dict()
        ci = DERIVED_LABEL if h["rr_low"] else _ci_text(rec["rr_low"], rec["rr_high"])
        why = reasons(rec, s, h, basis=basis)
        rows.append({
            "rank": int(rec["rank"]), "name": rec["name"], "level_label": SCHOOL_LEVELS.get(rec["level"], rec["level"]),
            "comune": rec["comune"], "exposure": LEVELS[rec["exposure_level"]],
            "spaccio_all": s["spaccio_all"], "violenza_all": s["violenza_all"], "other": s["other"],
            "focus_school_est": s["focus_school_est"], "focus_outside_est": s["focus_outside_est"],
            "rr": s["rr"], "ci": ci, "reports_open": format_int(rec["reports_open"]),
            "lights_text": f"{format_int(rec['lights'])} ({format_int(rec['lights_broken'])})",
            "reasons": "; ".join(why) if why else "Nessun elemento sopra la media", "code": rec["code"],
        })
    return pd.DataFrame(rows, columns=list(TABLE_HEADERS)).rename(columns=TABLE_HEADERS)


#: Numeric columns of the ranked table: source column and decimals.
_NUMERIC: dict[str, tuple[str, int]] = {
    "spaccio_all": ("spaccio_all", 0), "violenza_all": ("violenza_all", 0), "other": ("other", 0),
    "focus_school_est": ("focus_school_est", 1), "focus_outside_est": ("focus_outside_est", 1), "rr": ("rr", 2),
}


def ranked_styler(exposure: Exposure, role: str | None):
    """The ranked list as a pandas ``Styler`` for the page: figures stay numbers (the table sorts
    them correctly), hidden ones are NaN shown as "< 3" or "riservato"; same headers as
    :func:`ranked_table`."""
    view = role_view(exposure, role)
    text = ranked_table(view, role)
    _, mask = suppressed(view, role)
    values = text.copy()
    hidden = pd.DataFrame(False, index=text.index, columns=text.columns)
    for key, (col, _) in _NUMERIC.items():
        header = TABLE_HEADERS[key]
        numbers = view.schools[col].astype("float64").replace([np.inf, -np.inf], np.nan)
        values[header] = numbers.mask(mask[col].to_numpy()).to_numpy()
        hidden[header] = mask[col].to_numpy()
    values[TABLE_HEADERS["reports_open"]] = view.schools["reports_open"].to_numpy()
    formatters = {TABLE_HEADERS[k]: (format_int if d == 0 else (lambda v, d=d: _rr_text(v) if d == 2
                                                                 else format_decimal(v, d)))
                  for k, (_, d) in _NUMERIC.items()}
    formatters[TABLE_HEADERS["reports_open"]] = format_int
    styler = values.style.format(formatters, na_rep=MISSING_LABEL)
    for header in hidden.columns:
        rows = hidden.index[hidden[header]]
        if len(rows):
            label = COUNT_LABEL if header in {TABLE_HEADERS[k] for k in ("spaccio_all", "violenza_all", "other")} \
                else DERIVED_LABEL
            styler = styler.format(lambda _v, label=label: label, subset=pd.IndexSlice[rows, [header]])
    return styler.hide(axis="index")


def category_table(exposure: Exposure, role: str | None) -> pd.DataFrame:
    """Incidents by category around each school (all hours), focus categories first."""
    exposure = role_view(exposure, role)
    shown, _ = suppressed(exposure, role)
    order = list(FOCUS_CATEGORIES) + [c for c in INCIDENT_CATEGORIES if c not in FOCUS_CATEGORIES]
    out = pd.DataFrame({"Rango": exposure.schools["rank"], "Scuola": exposure.schools["name"],
                        "Comune": exposure.schools["comune"]})
    for c in order:
        out[INCIDENT_CATEGORIES[c]] = shown[f"cat_{c}"].to_numpy()
    return out


def comune_table(exposure: Exposure, role: str | None) -> pd.DataFrame:
    """Figures per comune as ``role`` may see them."""
    exposure = role_view(exposure, role)
    frame = exposure.by_comune
    display, _ = apply_suppression(frame, ("focus_near", "focus_total"),
                                   {"focus_share": ("focus_near", "focus_total")}, role,
                                   formats={"focus_share": lambda v: format_percent(v, 0)})
    walk = format_int(exposure.params.get("walk_m", DEFAULT_WALK_M))
    return pd.DataFrame({
        "Comune": frame["comune"], "Scuole": frame["schools"], "Alunni": frame["students"],
        "Scuole a esposizione alta": frame["alta"],
        f"Spaccio e violenza entro {walk} m dalle scuole": display["focus_near"],
        "Spaccio e violenza nel comune": display["focus_total"],
        "Quota vicino alle scuole": display["focus_share"],
        "Superficie abitata vicino alle scuole": [format_percent(v, 0) for v in frame["area_share"]],
    })


def table_csv(table: pd.DataFrame) -> bytes:
    """A display table as CSV for Italian spreadsheets: UTF-8 with BOM, ``;``, formulas neutralised."""
    buffer = io.StringIO()
    table.astype(object).where(table.notna(), "").map(neutralise_formula).to_csv(
        buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


def _json_number(value: object, hidden: bool) -> object:
    if hidden or value is None or pd.isna(value):
        return None
    value = float(value)
    if math.isinf(value):
        return None
    return int(value) if value.is_integer() else round(value, 4)


def schools_geojson(exposure: Exposure, role: str | None) -> bytes:
    """Schools as GeoJSON points with their exposure figures (hidden values ``null``, listed in
    ``valori_riservati``); the areas' walking distance and basis in the collection's metadata."""
    exposure = role_view(exposure, role)
    _, mask = suppressed(exposure, role)
    table = ranked_table(exposure, role)
    keys = {"spaccio_all": "spaccio", "violenza_all": "violenza", "other": "altri_delitti",
            "focus_school_est": "in_orario_scolastico_stima", "focus_outside_est": "fuori_orario_stima",
            "rr": "rapporto_aree_simili", "rr_low": "ic95_min", "rr_high": "ic95_max"}
    features = []
    for i, rec in enumerate(exposure.schools.to_dict("records")):
        hid = mask.iloc[i].to_dict()
        props = {"rango": int(rec["rank"]), "codice": rec["code"], "scuola": rec["name"], "grado": rec["level"],
                 "comune": rec["comune"], "esposizione": None if hid["rr"] else LEVELS[rec["exposure_level"]],
                 "segnalazioni_aperte": int(rec["reports_open"]), "punti_luce": int(rec["lights"]),
                 "punti_luce_guasti": int(rec["lights_broken"]), "motivi": table.iloc[i]["Motivi"]}
        props |= {key: _json_number(rec[col], hid[col]) for col, key in keys.items()}
        props["valori_riservati"] = [keys[c] for c in keys if hid[c]]
        features.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Point", "coordinates": [round(float(rec["lon"]), 6), round(float(rec["lat"]), 6)]}})
    note = ("Valori esatti (profilo autorizzato)" if can_see_exact(role) else
            f"Conteggi da 1 a {config.SUPPRESSION_THRESHOLD - 1} e valori derivati non pubblicati (art. 3 del Patto)")
    meta = {"riservatezza": note, "distanza_a_piedi_m": exposure.params.get("walk_m"),
            "raggio_linea_aria_m": round(exposure.params.get("radius_m", 0), 1),
            "base_confronto": BASES[exposure.params.get("basis", "tutte")], "orario_scolastico": SCHOOL_HOURS_LABEL}
    return json.dumps({"type": "FeatureCollection", "name": "lanterna_scuole_sicure", "lanterna": meta,
                       "features": features}, ensure_ascii=False, default=str).encode("utf-8")


def rr_chart_data(exposure: Exposure, role: str | None, *, top: int = 15) -> pd.DataFrame:
    """The first ``top`` schools whose ratio the role may see: ``rank``, ``label``, ``rr``,
    ``low``, ``high`` (finite values only), ``level``."""
    exposure = role_view(exposure, role)
    _, mask = suppressed(exposure, role)
    sch = exposure.schools
    ok = ~mask["rr"].to_numpy() & np.isfinite(sch["rr"].to_numpy(float)) & np.isfinite(sch["rr_high"].to_numpy(float))
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
    exposure = role_view(exposure, role)
    location, zoom = maps.start_view(comuni)
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, prefer_canvas=True, control_scale=True)
    maps.use_assets(m, assets_url)
    m.get_root().header.add_child(folium.Element(f"<style>{maps.MAP_CSS}</style>"), name="lanterna_css")
    if tiles == "osm":
        folium.TileLayer(maps.OSM_URL, attr=maps.OSM_ATTRIBUTION, name=maps.TILES["osm"], max_zoom=19,
                         control=False).add_to(m)
    sch = exposure.schools
    shown, mask = suppressed(exposure, role)
    level_shown = [("ris" if h else lv) for lv, h in zip(sch["exposure_level"], mask["rr"], strict=True)]
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
            ci = "" if mask["rr_low"].iloc[i] else f" (IC {_ci_text(rec['rr_low'], rec['rr_high'])})"
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
    note = (f"Rapporto tra spaccio e violenza entro {walk} m e le aree simili del comune (IC 95 %). "
            + ("" if can_see_exact(role) else f"Con {COUNT_LABEL} delitti l'esposizione è riservata."))
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

