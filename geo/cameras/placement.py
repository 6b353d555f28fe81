"""Where the next cameras go under a budget: a maximal covering location model solved exactly.

Demand
------
Resolution-10 cells with incidents. The weight of cell ``j`` is

    w_j = incidents_year_j x (1 + hot_bonus x hot_j) x (1 + priority_weight x priority_j / 100) x (1 - existing_j)

``hot_j`` is 1 when the cell's resolution-9 hexagon is a Gi* hot spot, ``priority_j`` the pilot-zone
priority (0-100) of that hexagon when given, ``existing_j`` the share already covered by the
cameras in place (:mod:`geo.cameras.analysis`): the model only pays for new coverage.

Candidates
----------
Sites: the centres of the ``max_sites`` cells with the largest weight within reach (a cell's and
its neighbours' weights), plus the schools (pact art. 11). At each site one camera of each
allowed type: a dome (circle) or a fixed camera in each of ``directions`` orientations (sector).
``a_ij`` is the fraction of cell ``j``'s area inside the footprint of candidate ``i``.

Model (0-1 integer linear programme, HiGHS through ``scipy.optimize.milp``)
---------------------------------------------------------------------------
maximise   sum_j w_j y_j
subject to y_j <= sum_i a_ij x_i,   0 <= y_j <= 1          (coverage of a cell, at most whole)
           sum_i cost_i x_i <= budget
           sum_{i at site s} x_i <= 1                       (one camera per site)
           sum_{i in comune g} x_i <= cap_g                 (cameras per comune)
           x_i = 1 forced sites, x_i = 0 excluded sites,  x_i in {0, 1}

It is the maximal covering location problem of Church & ReVelle (1974) with partial coverage.
HiGHS proves optimality (``mip_rel_gap = 0``); :func:`brute_force` checks it on small instances
and :func:`greedy` is the usual heuristic it is compared with (``scripts/bench_cameras.py``).
The HiGHS call and its output handling are those of the lighting planner
(:func:`geo.lighting.plan._quiet_stdout`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.cameras import coverage as cov
from geo.cameras.analysis import CoverageAnalysis
from geo.cameras.evidence import CAMERA_COSTS, DEFAULT_SETTING, SETTINGS, effect
from geo.data import hexgrid
from geo.lighting.plan import _quiet_stdout

#: Camera types the planner places (plate readers guard access roads, not areas).
PLAN_TYPES = ("dome", "fissa")
DEFAULT_MAX_SITES = 200
DIRECTIONS = (0.0, 90.0, 180.0, 270.0)
TIME_LIMIT_S = 60.0


class PlacementError(ValueError):
    """A plan that cannot be made; Italian message."""


@dataclass(frozen=True)
class PlacementOptions:
    """What the planner asks for (see the module notes)."""

    budget: float
    costs: Mapping[str, float] = field(default_factory=lambda: {k: c.cost_eur for k, c in CAMERA_COSTS.items()})
    types: tuple[str, ...] = PLAN_TYPES
    max_per_comune: int | Mapping[str, int] | None = None
    force_in: tuple[str, ...] = ()
    force_out: tuple[str, ...] = ()
    hot_bonus: float = 1.0
    priority_weight: float = 0.0
    setting: str = DEFAULT_SETTING
    max_sites: int = DEFAULT_MAX_SITES
    directions: tuple[float, ...] = DIRECTIONS

    def __post_init__(self) -> None:
        if not (self.budget >= 0 and math.isfinite(self.budget)):
            raise PlacementError("Il budget deve essere un numero non negativo.")
        if any(float(v) <= 0 for v in self.costs.values()):
            raise PlacementError("I costi per tipo di telecamera devono essere positivi.")
        unknown = set(self.types) - set(CAMERA_COSTS)
        if unknown or not self.types:
            raise PlacementError(f"Tipi di telecamera non validi: {', '.join(sorted(unknown)) or 'nessuno'}.")
        if self.setting not in SETTINGS:
            raise PlacementError(f"Contesto sconosciuto: {self.setting}.")
        if self.hot_bonus < 0 or self.priority_weight < 0:
            raise PlacementError("I pesi dei punti caldi e della priorità non possono essere negativi.")
        both = set(self.force_in) & set(self.force_out)
        if both:
            raise PlacementError(f"Siti sia forzati sia esclusi: {', '.join(sorted(both))}.")

    def cap(self, comune: str) -> int | None:
        if self.max_per_comune is None:
            return None
        if isinstance(self.max_per_comune, Mapping):
            v = self.max_per_comune.get(comune)
            return None if v is None else int(v)
        return int(self.max_per_comune)


@dataclass
class Problem:
    """Candidates (``id``, ``site``, ``kind``, ``direction_deg``, ``lon``, ``lat``, ``cell``,
    ``pro_com_t``, ``cost_eur``, ``school``), demand (``cell``, ``weight``, ``incidents_year``,
    ``hot``, ``existing``) and the coverage matrix ``a`` (demand x candidates, area fractions)."""

    candidates: pd.DataFrame
    demand: pd.DataFrame
    a: sp.csr_matrix
    options: PlacementOptions


@dataclass
class Plan:
    """The chosen candidates and the plan's totals."""

    chosen: pd.DataFrame
    totals: dict
    status: str
    x: np.ndarray


def demand_weights(analysis: CoverageAnalysis, options: PlacementOptions,
                   priority: pd.Series | None = None) -> pd.DataFrame:
    """Demand cells with their weight (cells without incidents are left out)."""
    cells = analysis.cells
    d = cells[cells["incidents"] > 0][["cell", "pro_com_t", "incidents_year", "hot", "coverage"]].rename(
        columns={"coverage": "existing"}).copy()
    w = d["incidents_year"].to_numpy(dtype=float) * (1.0 + options.hot_bonus * d["hot"].to_numpy(dtype=float))
    if priority is not None and options.priority_weight:
        parents = hexgrid.cell_to_parent(d["cell"].to_numpy(dtype=np.int64), 9)
        pr = priority.reindex(parents).fillna(0.0).to_numpy(dtype=float)
        w = w * (1.0 + options.priority_weight * pr / 100.0)
    d["weight"] = w * (1.0 - np.clip(d["existing"].to_numpy(dtype=float), 0, 1))
    return d[d["weight"] > 0].sort_values("cell").reset_index(drop=True)


def build_problem(analysis: CoverageAnalysis, metric_crs: str, options: PlacementOptions, *,
                  schools: pd.DataFrame | None = None, priority: pd.Series | None = None) -> Problem:
    """Demand, candidate sites and the coverage matrix for ``options``."""
    demand = demand_weights(analysis, options, priority)
    schools = analysis.schools if schools is None else schools
    if demand.empty:
        return Problem(_empty_candidates(), demand, sp.csr_matrix((0, 0)), options)
    dcells = demand["cell"].to_numpy(dtype=np.int64)
    # sites: the cells whose disk (the cell and its ring) holds the most weight
    weight = dict(zip(dcells.tolist(), demand["weight"].to_numpy(dtype=float).tolist(), strict=True))
    reach = {c: sum(weight.get(int(d), 0.0) for d in hexgrid.neighbours(c, 1)) for c in weight}
    ranked = sorted(reach.items(), key=lambda kv: (-kv[1], kv[0]))[:max(int(options.max_sites), 0)]
    site_cells = np.asarray([c for c, _ in ranked], dtype=np.int64)
    lat, lon = hexgrid.cell_centers(site_cells) if site_cells.size else (np.zeros(0), np.zeros(0))
    comune_of = demand.set_index("cell")["pro_com_t"]
    sites = pd.DataFrame({"site": hexgrid.to_str(site_cells), "lon": lon, "lat": lat, "cell": site_cells,
                          "pro_com_t": comune_of.reindex(site_cells).to_numpy(), "school": ""})
    if schools is not None and len(schools):
        near = schools[schools["cell"].isin(set(np.concatenate([hexgrid.neighbours(int(c), 1) for c in site_cells])))]
        if len(near):
            sites = pd.concat([sites, pd.DataFrame({
                "site": "S-" + near["code"].astype(str), "lon": near["lon"].to_numpy(), "lat": near["lat"].to_numpy(),
                "cell": near["cell"].to_numpy(dtype=np.int64), "pro_com_t": near["pro_com_t"].to_numpy(),
                "school": near["name"].astype(str).to_numpy()})], ignore_index=True)
    rows = []
    for s in sites.itertuples(index=False):
        for kind in options.types:
            dirs = [np.nan] if CAMERA_COSTS[kind].fov_deg >= 360 else list(options.directions)
            for dr in dirs:
                suffix = "D" if kind == "dome" else ("T" if kind == "lettura_targhe" else "F")
                cid = f"{s.site}-{suffix}" + ("" if np.isnan(dr) else f"{int(dr):03d}")
                rows.append({"id": cid, "site": s.site, "kind": kind, "direction_deg": dr, "lon": s.lon,
                             "lat": s.lat, "cell": s.cell, "pro_com_t": s.pro_com_t,
                             "cost_eur": float(options.costs.get(kind, CAMERA_COSTS[kind].cost_eur)),
                             "school": s.school})
    cand = pd.DataFrame(rows) if rows else _empty_candidates()
    a = coverage_matrix(cand, demand, metric_crs)
    return Problem(cand, demand, a, options)


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(columns=["id", "site", "kind", "direction_deg", "lon", "lat", "cell", "pro_com_t",
                                 "cost_eur", "school"])


def coverage_matrix(cand: pd.DataFrame, demand: pd.DataFrame, metric_crs: str) -> sp.csr_matrix:
    """``a[j, i]``: fraction of demand cell ``j`` inside the footprint of candidate ``i``."""
    n_d, n_c = len(demand), len(cand)
    if n_d == 0 or n_c == 0:
        return sp.csr_matrix((n_d, n_c))
    cams = cand.assign(fov_deg=[CAMERA_COSTS[k].fov_deg for k in cand["kind"]],
                       range_m=[CAMERA_COSTS[k].range_m for k in cand["kind"]], status="attiva")
    foot = cov.footprints(cams, metric_crs).geometry.to_numpy()
    polys = cov.cell_polygons(demand["cell"].to_numpy(dtype=np.int64), metric_crs)
    areas = shapely.area(polys)
    tree = shapely.STRtree(polys)
    i_idx, j_idx = tree.query(foot, predicate="intersects")
    if i_idx.size == 0:
        return sp.csr_matrix((n_d, n_c))
    frac = shapely.area(shapely.intersection(foot[i_idx], polys[j_idx])) / areas[j_idx]
    keep = frac > 1e-6
    return sp.csr_matrix((np.clip(frac[keep], 0, 1), (j_idx[keep], i_idx[keep])), shape=(n_d, n_c))


def value_of(problem: Problem, x: np.ndarray) -> float:
    """Objective of a 0-1 choice: covered demand weight."""
    if problem.a.shape[0] == 0:
        return 0.0
    cover = np.minimum(problem.a @ np.asarray(x, dtype=float), 1.0)
    return float(problem.demand["weight"].to_numpy() @ cover)


def _fixed(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    ids = problem.candidates["id"].astype(str)
    sites = problem.candidates["site"].astype(str)
    o = problem.options
    forced = ids.isin(o.force_in).to_numpy() | sites.isin(o.force_in).to_numpy()
    excluded = ids.isin(o.force_out).to_numpy() | sites.isin(o.force_out).to_numpy()
    return forced, excluded


def _check_forced(problem: Problem, forced: np.ndarray) -> None:
    o = problem.options
    known = set(problem.candidates["id"].astype(str)) | set(problem.candidates["site"].astype(str))
    unknown = sorted(set(o.force_in) - known)
    if unknown:
        raise PlacementError(f"Siti forzati non tra i candidati: {', '.join(unknown)}.")
    cost = float(problem.candidates["cost_eur"].to_numpy()[forced].sum())
    if cost > o.budget + 1e-6:
        raise PlacementError(f"Le telecamere forzate costano {cost:,.0f} €, più del budget.".replace(",", "."))


def feasible(problem: Problem, x: np.ndarray, *, require_forced: bool = True) -> bool:
    """True when a 0-1 choice respects budget, sites, caps and forced/excluded candidates
    (``require_forced=False``: a partial plan, forced candidates may still be missing)."""
    x = np.asarray(x, dtype=bool)
    c = problem.candidates
    if float(c["cost_eur"].to_numpy()[x].sum()) > problem.options.budget + 1e-6:
        return False
    if c["site"][x].duplicated().any():
        return False
    for g, n in c["pro_com_t"][x].value_counts().items():
        cap = problem.options.cap(str(g))
        if cap is not None and n > cap:
            return False
    _, excluded = _fixed(problem)
    if (x & excluded).any():
        return False
    if not require_forced:
        return True
    o = problem.options
    if (~x & c["id"].astype(str).isin(o.force_in).to_numpy()).any():
        return False
    # a forced site needs one of its candidates
    for site in set(c["site"].astype(str)) & set(o.force_in):
        if not x[(c["site"].astype(str) == site).to_numpy()].any():
            return False
    return True


def solve(problem: Problem, *, time_limit: float = TIME_LIMIT_S) -> Plan:
    """The optimal plan (HiGHS), see the module notes."""
    c = problem.candidates
    n_c, n_d = len(c), len(problem.demand)
    o = problem.options
    forced, excluded = _fixed(problem)
    _check_forced(problem, forced)
    if n_c == 0 or n_d == 0:
        return _plan(problem, np.zeros(n_c, dtype=bool), "vuoto")
    w = problem.demand["weight"].to_numpy(dtype=float)
    scale = max(float(w.max()), 1e-12)
    obj = np.concatenate([np.zeros(n_c), -w / scale])
    a = problem.a.tocsr()
    cover_rows = sp.hstack([-a, sp.identity(n_d, format="csr")], format="csr")  # y - A x <= 0
    cons = [LinearConstraint(cover_rows, -np.inf, 0.0)]
    cost = c["cost_eur"].to_numpy(dtype=float)
    cons.append(LinearConstraint(sp.hstack([sp.csr_matrix(cost), sp.csr_matrix((1, n_d))], format="csr"),
                                 -np.inf, o.budget))
    site_codes, site_idx = np.unique(c["site"].astype(str).to_numpy(), return_inverse=True)
    site_rows = sp.csr_matrix((np.ones(n_c), (site_idx, np.arange(n_c))), shape=(site_codes.size, n_c))
    lo_site = np.zeros(site_codes.size)
    forced_sites = set(c["site"][forced])
    lo_site[[i for i, s in enumerate(site_codes) if s in forced_sites]] = 1.0
    cons.append(LinearConstraint(sp.hstack([site_rows, sp.csr_matrix((site_codes.size, n_d))], format="csr"),
                                 lo_site, 1.0))
    if o.max_per_comune is not None:
        comuni = c["pro_com_t"].astype(str).to_numpy()
        for g in np.unique(comuni):
            cap = o.cap(str(g))
            if cap is None:
                continue
            row = sp.csr_matrix((comuni == g).astype(float))
            cons.append(LinearConstraint(sp.hstack([row, sp.csr_matrix((1, n_d))], format="csr"), -np.inf, cap))
    lb = np.zeros(n_c + n_d)
    ub = np.ones(n_c + n_d)
    ids_forced = c["id"].astype(str).isin(o.force_in).to_numpy()
    lb[:n_c][ids_forced] = 1.0
    ub[:n_c][excluded] = 0.0
    integrality = np.concatenate([np.ones(n_c), np.zeros(n_d)])
    with _quiet_stdout():
        res = milp(obj, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub),
                   options={"mip_rel_gap": 0.0, "time_limit": time_limit, "disp": False})
    if res.x is None:
        raise PlacementError("Nessun piano ammissibile con questi vincoli (budget, limiti per comune, siti forzati).")
    x = res.x[:n_c] > 0.5
    status = "ottimo" if res.status == 0 else "limite di tempo (migliore soluzione trovata)"
    return _plan(problem, x, status)


def _plan(problem: Problem, x: np.ndarray, status: str) -> Plan:
    c = problem.candidates
    chosen = c[x].copy()
    if len(problem.demand) and problem.a.shape[1]:
        cover = np.minimum(problem.a @ x.astype(float), 1.0)
        gain = problem.a.multiply(problem.demand["incidents_year"].to_numpy()[:, None]).tocsc()
        chosen["incidents_year_seen"] = np.asarray(gain.sum(axis=0)).ravel()[x]
    else:
        cover = np.zeros(len(problem.demand))
        chosen["incidents_year_seen"] = 0.0
    inc = problem.demand["incidents_year"].to_numpy(dtype=float) if len(problem.demand) else np.zeros(0)
    existing = problem.demand["existing"].to_numpy(dtype=float) if len(problem.demand) else np.zeros(0)
    new_cov = np.minimum(cover, 1.0 - existing)
    covered_inc = float((new_cov * inc).sum())
    lo, ce, hi = effect(problem.options.setting)
    w = problem.demand["weight"].to_numpy(dtype=float) if len(problem.demand) else np.zeros(0)
    totals = {
        "cameras": int(x.sum()), "cost_eur": float(c["cost_eur"].to_numpy(dtype=float)[x].sum()) if len(c) else 0.0,
        "budget_eur": float(problem.options.budget),
        "value": float(w @ cover) if len(w) else 0.0, "value_max": float(w.sum()),
        "incidents_year_covered": covered_inc, "incidents_year_total": float(inc.sum()),
        "prevented_low": covered_inc * lo, "prevented_central": covered_inc * ce, "prevented_high": covered_inc * hi,
        "by_kind": {k: int((chosen["kind"] == k).sum()) for k in problem.options.types},
        "schools": int((chosen["school"].astype(str) != "").sum()) if len(chosen) else 0,
    }
    chosen = chosen.sort_values(["pro_com_t", "id"]).reset_index(drop=True)
    return Plan(chosen=chosen, totals=totals, status=status, x=x)


def brute_force(problem: Problem, *, max_candidates: int = 18) -> Plan:
    """The optimum by enumerating every subset (small instances only: tests and benchmark)."""
    n = len(problem.candidates)
    if n > max_candidates:
        raise ValueError(f"troppi candidati per la forza bruta: {n} > {max_candidates}")
    best, best_x = -1.0, np.zeros(n, dtype=bool)
    for k in range(n + 1):
        for combo in itertools.combinations(range(n), k):
            x = np.zeros(n, dtype=bool)
            x[list(combo)] = True
            if not feasible(problem, x):
                continue
            v = value_of(problem, x)
            if v > best + 1e-12:
                best, best_x = v, x
    return _plan(problem, best_x, "forza bruta")


def greedy(problem: Problem) -> Plan:
    """Largest marginal covered weight per euro first, while it fits (the usual heuristic)."""
    c = problem.candidates
    n = len(c)
    x = np.zeros(n, dtype=bool)
    if n == 0 or len(problem.demand) == 0:
        return _plan(problem, x, "euristica greedy")
    o = problem.options
    _, excluded = _fixed(problem)
    a = problem.a.tocsc()
    w = problem.demand["weight"].to_numpy(dtype=float)
    cost = c["cost_eur"].to_numpy(dtype=float)
    site = pd.factorize(c["site"].astype(str))[0]
    comune_codes, comune = np.unique(c["pro_com_t"].astype(str).to_numpy(), return_inverse=True)
    caps = np.array([o.cap(str(g)) if o.cap(str(g)) is not None else n + 1 for g in comune_codes])
    used_site = np.zeros(site.max() + 1, dtype=bool)
    per_comune = np.zeros(comune_codes.size, dtype=np.int64)
    cover = np.zeros(len(w))
    spent = 0.0

    def take(i: int) -> None:
        nonlocal spent
        x[i] = True
        used_site[site[i]] = True
        per_comune[comune[i]] += 1
        spent += cost[i]
        lo, hi = a.indptr[i], a.indptr[i + 1]
        cover[a.indices[lo:hi]] += a.data[lo:hi]

    for i in np.flatnonzero(c["id"].astype(str).isin(o.force_in).to_numpy()):
        take(int(i))
    while True:
        ok = (~x & ~excluded & ~used_site[site] & (per_comune[comune] < caps[comune])
              & (spent + cost <= o.budget + 1e-6))
        best_i, best_ratio = -1, 0.0
        for i in np.flatnonzero(ok):
            lo, hi = a.indptr[i], a.indptr[i + 1]
            rows = a.indices[lo:hi]
            before = np.minimum(cover[rows], 1.0)
            gain = float(w[rows] @ (np.minimum(cover[rows] + a.data[lo:hi], 1.0) - before))
            ratio = gain / cost[i]
            if ratio > best_ratio + 1e-15:
                best_i, best_ratio = int(i), ratio
        if best_i < 0:
            break
        take(best_i)
    return _plan(problem, x, "euristica greedy")


def frontier(problem: Problem, budgets: Sequence[float], *, time_limit: float = TIME_LIMIT_S) -> pd.DataFrame:
    """Optimal plan at each budget: ``budget_eur``, ``cameras``, ``cost_eur``, ``value_share``
    (covered share of the demand weight), ``incidents_year_covered``, ``prevented_*``."""
    rows = []
    for b in budgets:
        opts = PlacementOptions(**{**problem.options.__dict__, "budget": float(b)})
        try:
            plan = solve(Problem(problem.candidates, problem.demand, problem.a, opts), time_limit=time_limit)
        except PlacementError:
            continue
        t = plan.totals
        rows.append({"budget_eur": float(b), "cameras": t["cameras"], "cost_eur": t["cost_eur"],
                     "value_share": t["value"] / t["value_max"] if t["value_max"] else 0.0,
                     "incidents_year_covered": t["incidents_year_covered"],
                     "prevented_low": t["prevented_low"], "prevented_central": t["prevented_central"],
                     "prevented_high": t["prevented_high"]})
    return pd.DataFrame(rows)


def frontier_budgets(budget: float, steps: int = 8) -> list[float]:
    """Budgets from 0 to twice ``budget`` (at least 8 steps)."""
    top = max(float(budget) * 2, 1.0)
    return [top * k / steps for k in range(steps + 1)]
