"""The lighting investment planner: candidate interventions, the exact optimal plan, the frontier.

Candidates
----------
For every hexagon of the need table (:func:`geo.lighting.need.lighting_need`) up to three kinds of
intervention, each a yes/no decision:

``riparazione``
    repair the out-of-order points of modern technology (old ones are handled by ``led``);
``led``
    replace every old-technology lamp (working or not) with an LED luminaire;
``nuovi``
    add the new points the under-lit definition asks for, in lots of at most ``lot_size``
    points (lot 2 only after lot 1, and so on).

Each candidate has a cost (points x unit cost, :class:`geo.lighting.costs.CostParams`), an
effect share and the prevented night-time outdoor incidents per year, low / central / high
(:mod:`geo.lighting.effects`), its perceived-safety points (share x demand points of the
hexagon) and its energy balance (:class:`geo.lighting.costs.EnergyParams`).

The optimisation problem (a 0-1 integer linear programme)
---------------------------------------------------------
maximise   sum_k x_k (prevented_central_k + w * perceived_k)
subject to sum_k cost_k x_k <= budget
           sum_{k in comune g} cost_k x_k >= min_share_g * sum_k cost_k x_k     (fairness)
           sum_{k in comune g} cost_k x_k <= max_share_g * sum_k cost_k x_k
           x_lot(j+1) <= x_lot(j)             (lots of new points in order)
           x_k = 1 for forced-in, x_k = 0 for forced-out (and, with "outskirts only", for
           every candidate outside the outskirts that is not forced in)

Shares are shares of the plan's own cost, so every plan feasible for a budget stays feasible
for a larger one: the efficient frontier never decreases.

How it is solved exactly
------------------------
HiGHS (``scipy.optimize.milp``, ``mip_rel_gap = 0``) proves optimality, but on a *core* of the
candidates, the others being fixed by a proof (reduced-cost fixing, as in the core algorithms for
knapsack problems of Balas & Zemel 1980 and Pisinger 1997): HiGHS alone needs tens of seconds on
20,000 candidates, because each LP iteration scans the single dense budget row.

1. Multipliers ``y >= 0`` of the budget and fairness rows come from the LP relaxation of a
   compressed problem (the candidates of each comune grouped in classes of value per euro). Any
   ``y >= 0`` gives a valid bound; good ones make the core small.
2. Each candidate has a reduced value ``r_k = value_k - (y^T A)_k``; ``UB = y . rhs +
   sum max(r_k, 0)`` bounds every plan, and a plan that disagrees with the sign of ``r_k`` on
   candidate ``k`` is worth at most ``UB - |r_k|``.
3. A greedy plan worth ``LB`` (reduced value per euro, lots in order) is a lower bound. Every plan
   worth more agrees with the signs on all candidates with ``|r_k| > UB - LB``; HiGHS solves the
   others (the core) with those fixed, and the better of the two plans is optimal. (Without a
   feasible greedy plan, HiGHS first finds one on a small core that grows until it is feasible.)
   Fairness rows without a positive multiplier are added lazily, when HiGHS's plan breaks them;
   those in use go to HiGHS in sparse form (spend per comune and total spend as continuous
   variables), and identical candidates of the core become one integer column (same optimum,
   without the symmetric branching that slows HiGHS down).
4. A final pass adds any candidate that still fits: HiGHS treats objective coefficients below its
   tolerances (about 1e-7) as zero.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from geo.data import hexgrid
from geo.lighting.costs import CostParams, EnergyParams, payback_years
from geo.lighting.effects import FAMILIES, EffectModel, effect_shares, family_column, prevented

KINDS: dict[str, str] = {
    "riparazione": "Riparazione guasti",
    "led": "Sostituzione con LED",
    "nuovi": "Nuovi punti luce",
}
_KIND_CODE = {"riparazione": "R", "led": "L", "nuovi": "N"}
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None)  # the C library, to flush printf's buffer
except OSError:  # pragma: no cover - platforms without a global C library handle
    _LIBC = None

CANDIDATE_COLUMNS = [
    "id", "cell", "h3", "place", "pro_com_t", "kind", "lot", "points", "cost_eur", "share", "exposed_year",
    "counted_year", "prevented_low", "prevented_central", "prevented_high", "perceived", "kwh_saved", "eur_saved",
    "co2_saved_kg", "outskirts", "under_lit", "distance_km", "night_outdoor", "night_outdoor_year",
    "demand_points",
]


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 while HiGHS runs: HiGHS 1.12 prints a debugging line
    (``HighsMipSolverData::transformNewIntegerFeasibleSolution``) with ``printf``, outside its
    logger and its ``output_flag``, which would end up in the CLI's output. The redirection is
    process-wide for the duration of one solve (well under a second); Streamlit logs to stderr."""
    fd = 1  # C's stdout, where printf writes, whatever Python's sys.stdout is
    try:
        os.fstat(fd)
    except OSError:  # no standard output at all
        yield
        return
    with _STDOUT_LOCK:
        if sys.stdout is not None:
            sys.stdout.flush()  # Python's own buffered text goes out before the redirection
        saved = os.dup(fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        try:
            yield
        finally:
            if _LIBC is not None:
                _LIBC.fflush(None)
            os.dup2(saved, fd)
            os.close(saved)
            os.close(devnull)


class PlanError(ValueError):
    """A plan that cannot be made (e.g. forced interventions over the budget); Italian message."""


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------

def build_candidates(
    need: pd.DataFrame,
    *,
    costs: CostParams | None = None,
    effects: EffectModel | None = None,
    energy: EnergyParams | None = None,
    lot_size: int | None = 20,
) -> pd.DataFrame:
    """Candidate interventions of every hexagon of the need table.

    Parameters
    ----------
    need
        :func:`geo.lighting.need.compute_need` output.
    costs, effects, energy
        Unit costs (EUR), effect model, energy parameters (defaults when None).
    lot_size
        Maximum new points per candidate; None or 0: one candidate per hexagon.

    Returns
    -------
    pandas.DataFrame
        :data:`CANDIDATE_COLUMNS`; ``id`` is ``<h3>-R``, ``<h3>-L`` or ``<h3>-N<lot>``;
        ``prevented_*`` are night-time outdoor incidents per year, the sum over the crime families
        of share x family effect x the family's exposed incidents (:func:`geo.lighting.effects.prevented`);
        ``exposed_year`` are the hexagon's exposed night-time outdoor incidents per year of every
        family, ``counted_year`` those of the families with an effect above 0 (at the high end);
        ``perceived`` are demand points; ``kwh_saved``/``eur_saved``/``co2_saved_kg`` are per year (negative: more
        consumption, for repairs and new points). ``attrs["protected"]`` is the need table's
        (True: the incident counts are cell-key protected, :func:`geo.lighting.need.lighting_need`).
    """
    costs = costs or CostParams()
    effects = effects or EffectModel()
    energy = energy or EnergyParams()
    if need.empty:
        return _empty_candidates(need)
    n = need
    shares = effect_shares(
        repaired=n["modern_broken"].to_numpy(),
        replaced_working=(n["old"] - n["old_broken"]).to_numpy(),
        replaced_broken=n["old_broken"].to_numpy(),
        new_points=n["new_needed"].to_numpy(),
        points_after=n["points_after"].to_numpy(),
        under_lit=n["under_lit"].to_numpy(),
        model=effects,
    )
    exposed = n["night_outdoor_year"].to_numpy(dtype=float) + effects.diffusion * n[
        "neighbour_night_outdoor_year"].to_numpy(dtype=float) / 6.0
    missing = [family_column(f.key, "year") for f in FAMILIES if family_column(f.key, "year") not in n.columns]
    if missing:
        raise ValueError(f"Tabella del fabbisogno senza i delitti per famiglia di reato: {', '.join(missing)}.")
    exposed_by_family = {f.key: n[family_column(f.key, "year")].to_numpy(dtype=float) + effects.diffusion * n[
        family_column(f.key, "neighbours")].to_numpy(dtype=float) / 6.0 for f in FAMILIES}
    counted = effects.counted()
    exposed_counted = sum((exposed_by_family[k] for k in counted), np.zeros(len(n)))
    hexes = np.asarray(hexgrid.to_str(n["cell"].to_numpy()), dtype=object)
    place = n["place"].to_numpy(dtype=object) if "place" in n else np.full(len(n), None, dtype=object)
    kwh = {
        "riparazione": -energy.kwh_per_year(n["modern_broken_power_w"].to_numpy(dtype=float)),
        "led": energy.kwh_per_year(n["old_power_w"].to_numpy(dtype=float)) * (1.0 - energy.led_power_ratio),
        "nuovi": -energy.kwh_per_year(n["new_needed"].to_numpy(dtype=float) * energy.new_point_w),
    }
    counts = {"riparazione": n["modern_broken"].to_numpy(), "led": n["old"].to_numpy(),
              "nuovi": n["new_needed"].to_numpy()}
    unit = {"riparazione": costs.repair_eur, "led": costs.led_eur, "nuovi": costs.new_point_eur}
    share_of = {"riparazione": shares["repair"], "led": shares["led"], "nuovi": shares["new"]}
    frames = []
    for kind in KINDS:
        pts = np.asarray(counts[kind], dtype=np.int64)
        rows = np.flatnonzero(pts > 0)
        if rows.size == 0:
            continue
        if kind == "nuovi" and lot_size:
            n_lots = np.ceil(pts[rows] / lot_size).astype(np.int64)
            rows_rep = np.repeat(rows, n_lots)
            lot = np.concatenate([np.arange(1, k + 1) for k in n_lots])
            lot_points = np.minimum(lot_size, pts[rows_rep] - (lot - 1) * lot_size)
        else:
            rows_rep = rows
            lot = np.ones(rows.size, dtype=np.int64) if kind == "nuovi" else np.zeros(rows.size, dtype=np.int64)
            lot_points = pts[rows]
        fraction = lot_points / pts[rows_rep]  # this lot's part of the hexagon's intervention
        share = share_of[kind][rows_rep] * fraction
        low, central, high = prevented(share, {k: v[rows_rep] for k, v in exposed_by_family.items()}, effects)
        kwh_k = kwh[kind][rows_rep] * fraction
        code = _KIND_CODE[kind]
        ids = [f"{h}-{code}{lt}" if kind == "nuovi" else f"{h}-{code}" for h, lt in zip(hexes[rows_rep], lot,
                                                                                       strict=True)]
        frames.append(pd.DataFrame({
            "id": ids,
            "cell": n["cell"].to_numpy()[rows_rep],
            "h3": hexes[rows_rep],
            "place": place[rows_rep],
            "pro_com_t": n["pro_com_t"].to_numpy()[rows_rep],
            "kind": kind,
            "lot": lot,
            "points": lot_points.astype(np.int64),
            "cost_eur": lot_points * unit[kind],
            "share": share,
            "exposed_year": exposed[rows_rep],
            "counted_year": exposed_counted[rows_rep],
            "prevented_low": low,
            "prevented_central": central,
            "prevented_high": high,
            "perceived": share * n["demand_points"].to_numpy(dtype=float)[rows_rep],
            "kwh_saved": kwh_k,
            "eur_saved": energy.eur(kwh_k),
            "co2_saved_kg": energy.kg_co2(kwh_k),
            "outskirts": n["outskirts"].to_numpy()[rows_rep],
            "under_lit": n["under_lit"].to_numpy()[rows_rep],
            "distance_km": n["distance_km"].to_numpy()[rows_rep],
            "night_outdoor": n["night_outdoor"].to_numpy()[rows_rep],
            "night_outdoor_year": n["night_outdoor_year"].to_numpy()[rows_rep],
            "demand_points": n["demand_points"].to_numpy()[rows_rep],
        }))
    if not frames:
        return _empty_candidates(need)
    out = pd.concat(frames, ignore_index=True)
    order = np.lexsort((out["lot"].to_numpy(), out["kind"].map(list(KINDS).index).to_numpy(), out["cell"].to_numpy()))
    out = out.iloc[order][CANDIDATE_COLUMNS].reset_index(drop=True)
    out.attrs["protected"] = bool(need.attrs.get("protected", False))
    return out


def _empty_candidates(need: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(columns=CANDIDATE_COLUMNS)
    out.attrs["protected"] = bool(need.attrs.get("protected", False))
    return out


# --------------------------------------------------------------------------------------------
# Options and result
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanOptions:
    """What the planner asks for.

    Attributes
    ----------
    budget
        Budget (EUR).
    perceived_weight
        Weight of one perceived-safety demand point, in prevented incidents per year (0: only
        prevented incidents count).
    min_share, max_share
        Minimum and maximum share (0-1) of the plan's cost per comune: one value for every comune,
        or a mapping ``pro_com_t -> share`` (comuni absent from the mapping are unconstrained). The
        minimum applies only to comuni that have candidates.
    force_in, force_out
        Candidate ids the plan must include or exclude.
    outskirts_only
        Only candidates in the outskirts (forced-in candidates are kept anyway).
    """

    budget: float
    perceived_weight: float = 0.0
    min_share: float | Mapping[str, float] = 0.0
    max_share: float | Mapping[str, float] = 1.0
    force_in: tuple[str, ...] = ()
    force_out: tuple[str, ...] = ()
    outskirts_only: bool = False

    def __post_init__(self) -> None:
        if not (self.budget >= 0 and math.isfinite(self.budget)):
            raise PlanError("Il budget deve essere un numero non negativo.")
        if self.perceived_weight < 0:
            raise PlanError("Il peso della sicurezza percepita non può essere negativo.")
        for name in ("min_share", "max_share"):
            value = getattr(self, name)
            values = value.values() if isinstance(value, Mapping) else [value]
            if any(not 0 <= float(v) <= 1 for v in values):
                raise PlanError("Le quote per comune devono essere comprese tra 0 e 1.")
        both = set(self.force_in) & set(self.force_out)
        if both:
            raise PlanError(f"Interventi sia forzati sia esclusi: {', '.join(sorted(both))}.")

    def key(self) -> tuple:
        """Plain tuple (cache key)."""
        def share_key(v):
            return tuple(sorted(v.items())) if isinstance(v, Mapping) else float(v)

        return (float(self.budget), float(self.perceived_weight), share_key(self.min_share),
                share_key(self.max_share), tuple(sorted(self.force_in)), tuple(sorted(self.force_out)),
                bool(self.outskirts_only))


@dataclass
class Plan:
    """An optimal plan.

    Attributes
    ----------
    selected
        Chosen candidates ranked by value per euro, with ``rank``, ``objective``,
        ``value_per_keur`` and ``cumulative_cost_eur``.
    totals
        ``cost_eur``, ``prevented_low/central/high`` (incidents/year), ``perceived``,
        ``objective``, energy figures and ``led_payback_years``.
    by_comune
        Cost, share of the plan and prevented incidents (``prevented_low/central/high``) per comune.
    status
        ``ottimo`` when proven optimal.
    warnings
        Italian notes for the planner (e.g. a minimum share that limits the plan).
    stats
        Solver statistics: candidates, core size, HiGHS runs, seconds, bound gap.
    protected
        True when the candidates derive from cell-key protected counts (the need table of
        :func:`geo.lighting.need.lighting_need` for a role without clearance): every figure of
        the plan can then be shown to such a role (:mod:`geo.lighting.report`).
    """

    selected: pd.DataFrame
    totals: dict
    by_comune: pd.DataFrame
    status: str
    warnings: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    protected: bool = False


# --------------------------------------------------------------------------------------------
# The exact solver
# --------------------------------------------------------------------------------------------

@dataclass
class _Problem:
    """Arrays of the 0-1 programme, costs in thousands of euros for conditioning."""

    value: np.ndarray          # objective coefficient per candidate
    cost: np.ndarray           # k EUR
    group: np.ndarray          # comune index per candidate
    lo: np.ndarray             # fixed lower bound (forced in)
    hi: np.ndarray             # upper bound (0: excluded)
    budget: float              # k EUR
    s_min: np.ndarray          # per comune, nan = none
    s_max: np.ndarray          # per comune, nan = none
    prev: np.ndarray           # ordering pairs: x[nxt] <= x[prev]
    nxt: np.ndarray
    lot: np.ndarray            # lot number (0 for repairs and LED)

    @property
    def n(self) -> int:
        return self.value.size

    def rows(self) -> tuple[sp.csr_array, np.ndarray]:
        """Constraint rows ``A x <= rhs`` except ordering: budget, min shares, max shares."""
        n = self.n
        g_count = self.s_min.size
        data: list[np.ndarray] = [self.cost]
        rr: list[np.ndarray] = [np.zeros(n, dtype=np.int64)]
        cc: list[np.ndarray] = [np.arange(n)]
        rhs = [self.budget]
        r = 1
        member = self.group
        for g in range(g_count):
            if np.isfinite(self.s_min[g]):
                data.append(self.cost * (self.s_min[g] - (member == g)))
                rr.append(np.full(n, r))
                cc.append(np.arange(n))
                rhs.append(0.0)
                r += 1
        for g in range(g_count):
            if np.isfinite(self.s_max[g]):
                data.append(self.cost * ((member == g) - self.s_max[g]))
                rr.append(np.full(n, r))
                cc.append(np.arange(n))
                rhs.append(0.0)
                r += 1
        a = sp.csr_array((np.concatenate(data), (np.concatenate(rr), np.concatenate(cc))), shape=(r, n))
        return a, np.asarray(rhs, dtype=float)


def _multipliers(p: _Problem, a: sp.csr_array, rhs: np.ndarray, *, buckets: int = 96) -> np.ndarray:
    """Dual multipliers ``y >= 0`` of the rows ``A x <= rhs`` from the LP relaxation of a
    compressed problem (free candidates of each comune grouped in ``buckets`` classes of value per
    euro). Any ``y >= 0`` gives a valid bound; good ones make the core small."""
    free = np.flatnonzero((p.hi > p.lo) & (p.cost > 0))
    if free.size == 0 or a.shape[0] == 0:
        return np.zeros(a.shape[0])
    cols_val, cols_cost, cols_group = [], [], []
    for g in np.unique(p.group[free]):
        idx = free[p.group[free] == g]
        order = idx[np.argsort(-(p.value[idx] / p.cost[idx]), kind="stable")]
        for chunk in np.array_split(order, min(buckets, order.size)):
            cols_val.append(p.value[chunk].sum())
            cols_cost.append(p.cost[chunk].sum())
            cols_group.append(g)
    val = np.asarray(cols_val)
    cst = np.asarray(cols_cost)
    grp = np.asarray(cols_group)
    # One column per bucket, z in [0, 1] = the fraction of the bucket taken; its rows follow the
    # algebra of _Problem.rows on the bucket's cost, so the duals are in the same units.
    rows = [cst]
    for g in range(p.s_min.size):
        if np.isfinite(p.s_min[g]):
            rows.append(cst * (p.s_min[g] - (grp == g)))
    for g in range(p.s_max.size):
        if np.isfinite(p.s_max[g]):
            rows.append(cst * ((grp == g) - p.s_max[g]))
    forced = np.flatnonzero(p.lo > 0)
    usage = a[:, forced] @ np.ones(forced.size) if forced.size else np.zeros(a.shape[0])
    res = linprog(-val, A_ub=np.vstack(rows), b_ub=rhs - usage, bounds=(0, 1), method="highs")
    if res.status != 0 or res.ineqlin is None:
        return np.zeros(a.shape[0])  # y = 0 is still a valid (weak) bound
    # linprog minimises -value: the marginals of the <= rows are <= 0.
    return np.maximum(-np.asarray(res.ineqlin.marginals), 0.0)


def _row_meta(p: _Problem) -> list[tuple[str, int]]:
    """What each row of :meth:`_Problem.rows` is: ``("budget", -1)``, ``("min", g)``, ``("max", g)``."""
    meta = [("budget", -1)]
    meta += [("min", g) for g in range(p.s_min.size) if np.isfinite(p.s_min[g])]
    meta += [("max", g) for g in range(p.s_max.size) if np.isfinite(p.s_max[g])]
    return meta


def _share_form(p: _Problem, meta: list[tuple[str, int]], use: np.ndarray, col_group: np.ndarray,
                col_cost: np.ndarray, fixed_spend: np.ndarray,
                ordering: LinearConstraint | None) -> list[LinearConstraint]:
    """The core problem with its fairness rows in sparse form: a continuous ``S_g`` (spend in
    comune ``g``, fixed candidates included) and ``T`` (total spend) next to the item columns;
    ``S_g >= s_min T``, ``S_g <= s_max T``, ``T <= budget``. The dense rows (a cost for every
    candidate in every row) make HiGHS many times slower when the shares bind."""
    n_col = col_cost.size
    g_count = p.s_min.size
    t_col = n_col + g_count
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[float] = []
    upper: list[float] = []
    for g in range(g_count):  # S_g - sum cost x = fixed spend of g
        members = np.flatnonzero(col_group == g)
        rows.append(np.full(members.size + 1, g))
        cols.append(np.r_[members, n_col + g])
        vals.append(np.r_[-col_cost[members], 1.0])
        lower.append(float(fixed_spend[g]))
        upper.append(float(fixed_spend[g]))
    r = g_count
    rows.append(np.full(g_count + 1, r))  # T - sum S_g = 0
    cols.append(np.r_[np.arange(n_col, n_col + g_count), t_col])
    vals.append(np.r_[-np.ones(g_count), 1.0])
    lower.append(0.0)
    upper.append(0.0)
    r += 1
    for k in np.flatnonzero(use[1:]) + 1:
        kind, g = meta[k]
        share = p.s_min[g] if kind == "min" else p.s_max[g]
        rows.append(np.array([r, r]))
        cols.append(np.array([n_col + g, t_col]))
        vals.append(np.array([1.0, -share]))
        lower.append(0.0 if kind == "min" else -np.inf)
        upper.append(np.inf if kind == "min" else 0.0)
        r += 1
    n_var = t_col + 1
    matrix = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n_var))
    constraints = [LinearConstraint(matrix, lower, upper)]
    if ordering is not None:
        constraints.append(LinearConstraint(sp.hstack([ordering.A, sp.csr_array((ordering.A.shape[0], g_count + 1))]
                                                      ).tocsr(), ordering.lb, ordering.ub))
    return constraints


def _solve_core(
    p: _Problem, a: sp.csr_array, rhs: np.ndarray, core: np.ndarray, fixed_x: np.ndarray,
    active: np.ndarray | None = None,
) -> np.ndarray | None:
    """Optimal 0-1 values on the ``core`` candidates with the others at ``fixed_x``; None when
    infeasible.

    Fairness rows are added lazily: HiGHS first sees the budget and the ``active`` rows (those
    with a positive multiplier); rows the solution breaks are added and HiGHS runs again. The
    final solution satisfies every row, and it is optimal because a relaxation's optimum that is
    feasible is optimal."""
    others = ~core
    usage = a[:, np.flatnonzero(others)] @ fixed_x[others] if others.any() else np.zeros(a.shape[0])
    idx = np.flatnonzero(core)
    lo = p.lo[idx].astype(float).copy()
    hi = p.hi[idx].astype(float).copy()
    pos = -np.ones(p.n, dtype=np.int64)
    pos[idx] = np.arange(idx.size)
    ord_rows, ord_cols, ord_vals = [], [], []
    n_ord = 0
    for pr, nx in zip(p.prev, p.nxt, strict=True):
        in_p, in_n = core[pr], core[nx]
        if in_p and in_n:
            ord_rows += [n_ord, n_ord]
            ord_cols += [pos[nx], pos[pr]]
            ord_vals += [1.0, -1.0]
            n_ord += 1
        elif in_n and not in_p and fixed_x[pr] == 0:
            hi[pos[nx]] = 0.0
        elif in_p and not in_n and fixed_x[nx] == 1:
            lo[pos[pr]] = 1.0
        elif not in_p and not in_n and fixed_x[nx] > fixed_x[pr]:
            return None
    if np.any(lo > hi):
        return None
    x = fixed_x.astype(float).copy()
    if idx.size == 0:
        if np.all(usage <= rhs + 1e-9):
            return x
        return None
    m = idx.size
    # Identical candidates (same value and cost, and comune when shares apply; free; not in a chain
    # of lots) become one integer column bounded by their number: interchangeable 0-1 columns make
    # HiGHS branch on symmetric solutions for a long time; the reformulation has the same optimum.
    chained = np.zeros(m, dtype=bool)
    chained[np.asarray(ord_cols, dtype=np.int64)] = True
    simple = (lo == 0) & (hi == 1) & ~chained
    fair = bool(np.isfinite(p.s_min).any() or np.isfinite(p.s_max).any())
    keys = pd.DataFrame({"v": p.value[idx], "c": p.cost[idx], "g": p.group[idx] if fair else 0})
    column = np.arange(m)
    if simple.any():
        first = keys[simple].groupby(["v", "c", "g"], sort=False).ngroup().to_numpy()
        column[simple] = first
        column[~simple] = first.max() + 1 + np.arange(int((~simple).sum()))
    n_col = int(column.max()) + 1
    rep = np.zeros(n_col, dtype=np.int64)
    rep[column[::-1]] = np.arange(m)[::-1]                    # first item of each column
    col_hi = np.bincount(column, weights=hi, minlength=n_col)
    col_lo = np.bincount(column, weights=lo, minlength=n_col)
    sub = a[:, idx[rep]].tocsr()
    limit = rhs - usage
    use = np.zeros(a.shape[0], dtype=bool) if active is None else np.asarray(active, dtype=bool).copy()
    use[0] = True
    ordering = (LinearConstraint(sp.csr_array((ord_vals, (ord_rows, column[np.asarray(ord_cols, dtype=np.int64)])),
                                              shape=(n_ord, n_col)), -np.inf, 0.0) if n_ord else None)
    meta = _row_meta(p)
    col_group = p.group[idx[rep]]
    col_cost = p.cost[idx[rep]]
    fixed_spend = np.bincount(p.group[others], weights=p.cost[others] * fixed_x[others], minlength=p.s_min.size)
    g_count = p.s_min.size
    while True:
        if use[1:].any():
            constraints = _share_form(p, meta, use, col_group, col_cost, fixed_spend, ordering)
            objective = np.r_[-p.value[idx[rep]], np.zeros(g_count + 1)]
            integrality = np.r_[np.ones(n_col), np.zeros(g_count + 1)]
            bounds = Bounds(np.r_[col_lo, np.zeros(g_count + 1)], np.r_[col_hi, np.full(g_count, np.inf), p.budget])
        else:
            constraints = [LinearConstraint(sub[[0]], -np.inf, limit[[0]])]
            if ordering is not None:
                constraints.append(ordering)
            objective, integrality, bounds = -p.value[idx[rep]], np.ones(n_col), Bounds(col_lo, col_hi)
        with warnings.catch_warnings(), _quiet_stdout():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = milp(objective, integrality=integrality, bounds=bounds, constraints=constraints,
                       options={"mip_rel_gap": 0.0, "presolve": False})
        if res.status == 2 or res.x is None:
            return None
        if res.status != 0:
            raise PlanError(f"Il risolutore non ha trovato l'ottimo: {res.message}")
        counts = np.round(res.x[:n_col])
        broken = (sub @ counts > limit + 1e-9) & ~use
        if not broken.any():
            # the first `count` items of each column are chosen
            order = np.argsort(column, kind="stable")
            rank_in_col = np.empty(m, dtype=np.int64)
            starts = np.searchsorted(column[order], np.arange(n_col))
            rank_in_col[order] = np.arange(m) - starts[column[order]]
            x[idx] = (rank_in_col < counts[column]).astype(float)
            return x
        use |= broken


def _greedy(p: _Problem, a: sp.csr_array, rhs: np.ndarray, reduced: np.ndarray) -> np.ndarray | None:
    """A good feasible plan to start from: forced candidates, then the others by reduced value
    per euro while the budget lasts (lots of a hexagon in order). None when it breaks a fairness
    row (the solver then finds a first plan itself)."""
    x = p.lo.astype(float).copy()
    remaining = p.budget - float(p.cost @ x)
    prev_of = -np.ones(p.n, dtype=np.int64)
    prev_of[p.nxt] = p.prev
    ratio = reduced / np.maximum(p.cost, 1e-12)
    head = np.arange(p.n)
    for _ in range(p.nxt.size):  # chains are short: follow them back to their first lot
        back = prev_of[head]
        if not (back >= 0).any():
            break
        head = np.where(back >= 0, back, head)
    cand = np.flatnonzero((p.hi > p.lo) & (p.value > 0))
    order = cand[np.lexsort((p.lot[cand], -ratio[head[cand]]))]
    cost = p.cost
    for k in order.tolist():
        if cost[k] <= remaining + 1e-12 and (prev_of[k] < 0 or x[prev_of[k]] > 0):
            x[k] = 1.0
            remaining -= cost[k]
    if np.all(a @ x <= rhs + 1e-9) and np.all(x[p.nxt] <= x[p.prev]):
        return x
    return None


def _polish(p: _Problem, a: sp.csr_array, rhs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Add any candidate that still fits (most valuable first). HiGHS treats objective
    coefficients below its tolerances (~1e-7) as zero; this makes the plan maximal anyway."""
    usage = a @ x
    slack = p.budget - float(p.cost @ x)
    prev_of = -np.ones(p.n, dtype=np.int64)
    prev_of[p.nxt] = p.prev
    cand = np.flatnonzero((x < 0.5) & (p.hi > 0.5) & (p.value > 0) & (p.cost <= slack + 1e-12))
    if cand.size == 0:
        return x
    cols = a.tocsc()
    x = x.copy()
    for k in cand[np.lexsort((p.lot[cand], -p.value[cand]))].tolist():
        if prev_of[k] >= 0 and x[prev_of[k]] < 0.5:
            continue
        col = cols[:, [k]].toarray().ravel()
        if np.all(usage + col <= rhs + 1e-9):
            x[k] = 1.0
            usage = usage + col
    return x


def _solve(p: _Problem, *, initial_core: int = 400) -> tuple[np.ndarray, dict]:
    """Exact optimum of the 0-1 programme (see the module docstring)."""
    started = time.perf_counter()
    a, rhs = p.rows()
    y = _multipliers(p, a, rhs)
    reduced = p.value - a.T @ y                      # r_k = value_k - (y^T A)_k
    free = p.hi > p.lo
    fixed_one = (~free) & (p.lo > 0)
    ub = float(y @ rhs + np.maximum(reduced[free], 0).sum() + reduced[fixed_one].sum())
    xbar = np.where(free, (reduced > 0).astype(float), p.lo.astype(float))
    mag = np.abs(reduced)
    free_mag = np.sort(mag[free])
    active = y > 1e-12
    tol = 1e-9 * max(1.0, abs(ub)) + 1e-9
    runs = 0
    best = _greedy(p, a, rhs, reduced)
    solved_delta = -1.0   # threshold of a core already solved to optimality
    if best is None:
        delta = free_mag[min(initial_core, free_mag.size) - 1] if free_mag.size else 0.0
        while best is None:
            core = free & (mag <= delta)
            runs += 1
            best = _solve_core(p, a, rhs, core, xbar, active)
            if best is None:
                if core.sum() == free.sum():
                    raise PlanError(
                        "Nessun piano rispetta insieme budget, quote per comune e interventi forzati: "
                        "ridurre gli interventi forzati o le quote minime, o aumentare il budget."
                    )
                delta = max(delta * 4, free_mag[min(free_mag.size - 1, 4 * max(int(core.sum()), 1))])
            else:
                solved_delta = delta
    gap = ub - float(p.value @ best)
    # Every plan worth more than `best` agrees with xbar on the candidates with |r| > gap.
    core = free & (mag <= gap + tol)
    if solved_delta < gap + tol and core.any():
        runs += 1
        x = _solve_core(p, a, rhs, core, xbar, active)
        if x is not None and float(p.value @ x) > float(p.value @ best):
            best = x
    best = _polish(p, a, rhs, best)
    stats = {"candidates": int(p.n), "free": int(free.sum()), "core": int(core.sum()), "runs": runs,
             "bound": ub, "objective": float(p.value @ best), "seconds": time.perf_counter() - started}
    return best, stats


def _share_array(value: float | Mapping[str, float], comuni: list[str], default: float) -> np.ndarray:
    if isinstance(value, Mapping):
        return np.asarray([float(value[c]) if c in value else np.nan for c in comuni])
    v = float(value)
    return np.full(len(comuni), np.nan if v == default else v)


def _problem(cands: pd.DataFrame, options: PlanOptions) -> tuple[_Problem, list[str], list[str]]:
    """Arrays of the programme and Italian warnings."""
    notes: list[str] = []
    ids = cands["id"].to_numpy()
    known = set(ids)
    unknown = [i for i in (*options.force_in, *options.force_out) if i not in known]
    if unknown:
        raise PlanError(f"Interventi sconosciuti: {', '.join(unknown[:10])}" + (" …" if len(unknown) > 10 else ""))
    value = (cands["prevented_central"].to_numpy(dtype=float)
             + options.perceived_weight * cands["perceived"].to_numpy(dtype=float))
    cost = cands["cost_eur"].to_numpy(dtype=float) / 1000.0
    force_in = np.isin(ids, list(options.force_in))
    force_out = np.isin(ids, list(options.force_out))
    # Forcing lot j of new points forces lots 1..j-1 too, excluding it excludes the later ones:
    # the ordering constraints imply it, and saying it up front keeps the starting plan feasible.
    cell_of = cands["cell"].to_numpy()
    lot_of = cands["lot"].to_numpy()
    new_kind = cands["kind"].to_numpy() == "nuovi"
    for k in np.flatnonzero(force_in & new_kind):
        force_in |= new_kind & (cell_of == cell_of[k]) & (lot_of < lot_of[k])
    for k in np.flatnonzero(force_out & new_kind):
        force_out |= new_kind & (cell_of == cell_of[k]) & (lot_of > lot_of[k])
    if (force_in & force_out).any():
        raise PlanError("Un lotto di nuovi punti luce è imposto mentre un lotto precedente dello stesso esagono è "
                        "escluso.")
    hi = np.ones(ids.size)
    hi[force_out] = 0
    if options.outskirts_only:
        hi[~cands["outskirts"].to_numpy(dtype=bool) & ~force_in] = 0
    hi[(value <= 0) & ~force_in] = 0   # an intervention worth nothing is never proposed
    lo = force_in.astype(float)
    comuni = sorted(cands["pro_com_t"].astype(str).unique())
    group = pd.Categorical(cands["pro_com_t"].astype(str), categories=comuni).codes.astype(np.int64)
    s_min = _share_array(options.min_share, comuni, 0.0)
    s_max = _share_array(options.max_share, comuni, 1.0)
    available = np.bincount(group, weights=cost * (hi > 0), minlength=len(comuni))
    s_min[(available <= 0) & np.isfinite(s_min)] = np.nan  # comuni with nothing to do
    budget = options.budget / 1000.0
    for g, code in enumerate(comuni):
        if np.isfinite(s_min[g]) and s_min[g] > 0 and available[g] < s_min[g] * budget:
            notes.append(
                f"Il comune {code} ha interventi possibili per {available[g] * 1000:,.0f} €: con una quota minima "
                f"del {s_min[g]:.0%} il piano non può superare {available[g] * 1000 / s_min[g]:,.0f} €."
                .replace(",", ".")
            )
    if lo @ cost > budget + 1e-9:
        raise PlanError(
            f"Gli interventi forzati costano {lo @ cost * 1000:,.0f} €, più del budget di {options.budget:,.0f} €."
            .replace(",", ".")
        )
    # Lots of new points in order: lot j+1 only after lot j of the same hexagon.
    new = cands["kind"].to_numpy() == "nuovi"
    prev_idx, next_idx = [], []
    if new.any():
        sub = cands.loc[new, ["cell", "lot"]].copy()
        sub["row"] = np.flatnonzero(new)
        sub = sub.sort_values(["cell", "lot"])
        same = sub["cell"].to_numpy()[1:] == sub["cell"].to_numpy()[:-1]
        prev_idx = sub["row"].to_numpy()[:-1][same]
        next_idx = sub["row"].to_numpy()[1:][same]
    prob = _Problem(value=value, cost=cost, group=group, lo=lo, hi=hi, budget=budget, s_min=s_min, s_max=s_max,
                    prev=np.asarray(prev_idx, dtype=np.int64), nxt=np.asarray(next_idx, dtype=np.int64),
                    lot=cands["lot"].to_numpy(dtype=np.int64))
    return prob, comuni, notes


def optimise(candidates: pd.DataFrame, options: PlanOptions) -> Plan:
    """The optimal plan for a budget (exact, see the module docstring).

    Parameters
    ----------
    candidates
        :func:`build_candidates` output (energy figures included).
    options
        Budget and constraints.

    Returns
    -------
    Plan
        Raises :class:`PlanError` when no plan satisfies the constraints.
    """
    protected = bool(candidates.attrs.get("protected", False))
    if candidates.empty:
        return _plan(candidates.iloc[0:0], options, [], {"candidates": 0, "core": 0, "runs": 0, "seconds": 0.0},
                     protected)
    prob, _, notes = _problem(candidates, options)
    x, stats = _solve(prob)
    return _plan(candidates[x > 0.5], options, notes, stats, protected)


def _plan(chosen: pd.DataFrame, options: PlanOptions, notes: list[str], stats: dict, protected: bool) -> Plan:
    sel = chosen.copy()
    sel["objective"] = sel["prevented_central"] + options.perceived_weight * sel["perceived"]
    sel["value_per_keur"] = np.where(sel["cost_eur"] > 0, 1000 * sel["objective"] / sel["cost_eur"].where(
        sel["cost_eur"] > 0, 1), 0.0)
    sel = sel.sort_values(["value_per_keur", "id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    sel.insert(0, "rank", np.arange(1, len(sel) + 1))
    sel["cumulative_cost_eur"] = sel["cost_eur"].cumsum()
    totals = plan_totals(sel)
    totals["budget_eur"] = float(options.budget)
    totals["objective"] = float(sel["objective"].sum())
    if len(sel):
        by = sel.groupby("pro_com_t").agg(cost_eur=("cost_eur", "sum"), interventions=("id", "size"),
                                          prevented_low=("prevented_low", "sum"),
                                          prevented_central=("prevented_central", "sum"),
                                          prevented_high=("prevented_high", "sum")).reset_index()
        by["share"] = by["cost_eur"] / by["cost_eur"].sum()
    else:
        by = pd.DataFrame(columns=["pro_com_t", "cost_eur", "interventions", "prevented_low", "prevented_central",
                                   "prevented_high", "share"])
    return Plan(selected=sel, totals=totals, by_comune=by, status="ottimo", warnings=notes, stats=stats,
                protected=protected)


def plan_totals(selected: pd.DataFrame) -> dict:
    """Totals of a set of candidates: cost, prevented incidents (low/central/high per year),
    perceived points, energy (LED savings, extra consumption of repairs and new points, net) and
    the simple payback of the LED replacements."""
    kind = selected["kind"]
    led = selected[kind == "led"]
    extra = selected[kind != "led"]
    led_eur = float(led["eur_saved"].sum())
    return {
        "cost_eur": float(selected["cost_eur"].sum()),
        "interventions": len(selected),
        "points": {k: int(selected.loc[kind == k, "points"].sum()) for k in KINDS},
        "cost_by_kind": {k: float(selected.loc[kind == k, "cost_eur"].sum()) for k in KINDS},
        "prevented_low": float(selected["prevented_low"].sum()),
        "prevented_central": float(selected["prevented_central"].sum()),
        "prevented_high": float(selected["prevented_high"].sum()),
        "perceived": float(selected["perceived"].sum()),
        "led_kwh_saved": float(led["kwh_saved"].sum()),
        "led_eur_saved": led_eur,
        "led_co2_saved_kg": float(led["co2_saved_kg"].sum()),
        "extra_kwh": float(-extra["kwh_saved"].sum()),
        "net_kwh_saved": float(selected["kwh_saved"].sum()),
        "net_eur_saved": float(selected["eur_saved"].sum()),
        "net_co2_saved_kg": float(selected["co2_saved_kg"].sum()),
        "led_cost_eur": float(led["cost_eur"].sum()),
        "led_payback_years": payback_years(float(led["cost_eur"].sum()), led_eur),
    }


# --------------------------------------------------------------------------------------------
# Efficient frontier
# --------------------------------------------------------------------------------------------

def frontier_budgets(candidates: pd.DataFrame, *, max_budget: float, step: float = 100_000.0,
                     max_points: int = 40) -> np.ndarray:
    """Budgets of the frontier: multiples of ``step`` (widened to keep at most ``max_points``)
    from 0 to ``max_budget`` or the cost of all candidates, whichever is lower."""
    total = float(candidates["cost_eur"].sum()) if len(candidates) else 0.0
    top = max(0.0, min(max_budget, total))
    if top <= 0:
        return np.zeros(1)
    step = max(step, step * math.ceil(top / step / max_points))
    budgets = np.arange(0.0, top + step * 0.999, step)
    return budgets


def frontier(candidates: pd.DataFrame, options: PlanOptions, budgets: Iterable[float]) -> pd.DataFrame:
    """The efficient frontier: the optimal plan for each budget (other options unchanged).

    Returns
    -------
    pandas.DataFrame
        ``budget_eur``, ``cost_eur``, ``objective``, ``prevented_low/central/high``, ``perceived``,
        ``interventions`` and ``marginal_central`` (extra prevented incidents per year
        bought by the step from the previous budget). Non-decreasing in ``objective`` (shares are shares
        of the plan's own cost, so feasible plans stay feasible as the budget grows).
    """
    rows = []
    for b in budgets:
        opts = PlanOptions(budget=float(b), perceived_weight=options.perceived_weight, min_share=options.min_share,
                           max_share=options.max_share, force_in=options.force_in, force_out=options.force_out,
                           outskirts_only=options.outskirts_only)
        try:
            plan = optimise(candidates, opts)
        except PlanError:
            continue  # e.g. forced interventions above this budget
        t = plan.totals
        rows.append({"budget_eur": float(b), "cost_eur": t["cost_eur"], "objective": t["objective"],
                     "prevented_low": t["prevented_low"], "prevented_central": t["prevented_central"],
                     "prevented_high": t["prevented_high"], "perceived": t["perceived"],
                     "interventions": t["interventions"]})
    out = pd.DataFrame(rows, columns=["budget_eur", "cost_eur", "objective", "prevented_low", "prevented_central",
                                      "prevented_high", "perceived", "interventions"])
    out["marginal_central"] = out["prevented_central"].diff().fillna(out["prevented_central"])
    out.attrs["protected"] = bool(candidates.attrs.get("protected", False))
    return out
