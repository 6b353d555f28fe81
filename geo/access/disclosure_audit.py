"""An adversary for the disclosure control: every view a role without clearance can ask for, and a
solver that combines them.

The views are those the dashboard publishes (docs/AUTH.md, *Disclosure control*): for each
*slice* (a period, a set of categories, a time band) the incident count of every hexagon at
resolutions 7-10, for the whole territory and under each comune filter, the KPI total of the
territory and of each comune, and the monthly totals of the trends (per comune and for the
territory). They are computed from the stored rows exactly as the pages compute them (the store's
aggregates with their key sums, then :func:`geo.access.disclosure.protect_counts`); the tests
check on samples that they equal what :func:`geo.overview.metrics.protect_frame` shows.

The attacker knows the method, the p-table and its noise bound
(:func:`geo.access.disclosure.preimage`), the H3 hierarchy, which hexagon lies in which comune,
and that every view is a sum of the same unknown counts: a parent hexagon is the sum of its
children, the territory's hexagon the sum of its comune parts, all hours the sum of day and night,
a period the sum of its parts, all categories the sum of a category and the others, a total the
sum of its hexagons and of its months. :func:`propagate` is integer bound propagation over these
linear equalities (interval constraint propagation, iterated to a fixed point): it is sound (the
true value never leaves its interval) and gives every count the interval the attacker can prove.
An *exact recovery* is a count whose interval has shrunk to its true value.

:func:`suppression_intervals` gives the intervals of the older protection (counts 1 to
``threshold - 1`` shown as "< 3", everything else exact), so the same solver shows what
differencing did to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from geo import config
from geo.access import disclosure
from geo.data import hexgrid
from geo.data.storage import Store

#: Resolutions of the map (:data:`geo.config.VIEW_RESOLUTIONS`); 0 stands for a total (KPI strip,
#: a comune's total on *Andamento*).
TOTAL = 0


@dataclass(frozen=True)
class Slice:
    """What a view filters on: a period (first days of months, inclusive), categories (empty:
    all), a time band (None: day and night). ``totals_only`` slices publish only the totals
    (the monthly values of the trends)."""

    start: date
    end: date
    categories: tuple[str, ...] = ()
    time_band: str | None = None
    totals_only: bool = False

    def label(self) -> str:
        cats = "+".join(self.categories) if self.categories else "tutte"
        return f"{self.start:%Y-%m}..{self.end:%Y-%m} | {cats} | {self.time_band or 'tutte'}"


@dataclass
class Views:
    """Every published count of the attack: one row per view cell in ``nodes`` (``slice``,
    ``res``, ``hex``, ``comune`` ('' for the territory), ``true``, ``key``, ``published``) and the
    equalities between them (``relations``: parent index, CSR offsets, child indices)."""

    nodes: pd.DataFrame
    relations: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)


def _month_add(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


@dataclass
class _Template:
    """The view cells every full slice publishes, in a fixed order, and how the resolution-10
    cells map onto them (``codes``: one array per level, the view cell of each cell)."""

    keys: pd.DataFrame  # res, hex, comune
    cells: pd.DataFrame
    members: list[tuple[np.ndarray, np.ndarray]]  # (cell row, view cell) pairs
    n_totals: int  # the first rows: the totals (territory, then each comune)


def _template(cells: pd.DataFrame) -> _Template:
    keys, members, offset = [], [], 0
    rows = np.arange(len(cells))
    for res in [TOTAL, *config.VIEW_RESOLUTIONS]:
        hexes = np.zeros(len(cells), dtype="int64") if res == TOTAL else cells[f"r{res}"].to_numpy()
        for comune in (False, True):
            by = pd.DataFrame({"hex": hexes, "comune": cells["pro_com_t"].to_numpy() if comune else ""})
            groups = by.groupby(["hex", "comune"], sort=True)
            codes = groups.ngroup().to_numpy()
            frame = groups.size().reset_index()[["hex", "comune"]]
            keys.append(frame.assign(res=res)[["res", "hex", "comune"]])
            members.append((rows, codes + offset))
            offset += len(frame)
    n_totals = len(keys[0]) + len(keys[1])
    return _Template(keys=pd.concat(keys, ignore_index=True), cells=cells, members=members, n_totals=n_totals)


def _slice_values(store: Store, sl: Slice, tpl: _Template, role: str | None) -> pd.DataFrame:
    """True count, key sum and published count of every view cell of one slice."""
    raw = store.incidents_by_cell(config.STORE_RES, start=sl.start, end=sl.end,
                                  categories=list(sl.categories) or None, time_band=sl.time_band)
    base = tpl.cells[["cell"]].merge(raw[["cell", "incidents", "incidents_key"]], on="cell", how="left")
    counts = base["incidents"].fillna(0).to_numpy(dtype="float64")
    keys = base["incidents_key"].fillna(0).to_numpy(dtype="float64")  # sums stay below 2**53
    n = tpl.n_totals if sl.totals_only else len(tpl.keys)
    true, ksum = np.zeros(len(tpl.keys)), np.zeros(len(tpl.keys))
    for rows, codes in tpl.members:
        true += np.bincount(codes, weights=counts[rows], minlength=len(tpl.keys))
        ksum += np.bincount(codes, weights=keys[rows], minlength=len(tpl.keys))
    out = tpl.keys.iloc[:n].copy()
    out["true"] = true[:n].round().astype("int64")
    out["key"] = np.mod(ksum[:n].round().astype("int64"), disclosure.KEY_MODULUS)
    out["published"] = disclosure.protect_counts(out["true"].to_numpy(), out["key"].to_numpy(), role)
    return out


def _csr(parents: np.ndarray, children: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relations as (unique parents, offsets, children) from parent/child pairs."""
    order = np.lexsort((children, parents))
    parents, children = parents[order], children[order]
    uniq, start = np.unique(parents, return_index=True)
    return uniq, np.append(start, len(children)), children


def _within(tpl: _Template) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local (parent, child) pairs of one full slice: hierarchy (with totals) and comune split."""
    index = pd.Series(np.arange(len(tpl.keys)), index=pd.MultiIndex.from_frame(tpl.keys))

    def ids(res: int, hexes: np.ndarray, comune: np.ndarray | str) -> np.ndarray:
        frame = pd.DataFrame({"res": res, "hex": hexes, "comune": comune})
        return index.reindex(pd.MultiIndex.from_frame(frame)).to_numpy().astype("int64")

    cells = tpl.cells
    hier_p, hier_c = [], []
    levels = [TOTAL, *config.VIEW_RESOLUTIONS]
    for coarse, fine in itertools.pairwise(levels):
        hc = np.zeros(len(cells), dtype="int64") if coarse == TOTAL else cells[f"r{coarse}"].to_numpy()
        link = pd.DataFrame({"c": hc, "f": cells[f"r{fine}"].to_numpy(), "k": cells["pro_com_t"].to_numpy()})
        link = link.drop_duplicates()
        terr = link.drop_duplicates(["c", "f"])
        hier_p += [ids(coarse, terr["c"].to_numpy(), ""), ids(coarse, link["c"].to_numpy(), link["k"].to_numpy())]
        hier_c += [ids(fine, terr["f"].to_numpy(), ""), ids(fine, link["f"].to_numpy(), link["k"].to_numpy())]
    split = tpl.keys[tpl.keys["comune"] != ""]
    split_p = index.reindex(pd.MultiIndex.from_frame(split.assign(comune=""))).to_numpy().astype("int64")
    split_c = split.index.to_numpy().astype("int64")
    return np.concatenate(hier_p), np.concatenate(hier_c), split_p, split_c


def build_views(
    store: Store,
    slices: Sequence[Slice],
    *,
    role: str | None = "regione",
) -> Views:
    """Every view cell of ``slices`` with its true and published count, and the equalities the
    attacker can write between them.

    Within a slice: hexagon = its children at the next resolution (territory and each comune),
    total = its resolution-7 hexagons, territory view = its comune parts (every resolution and the
    total). Between slices (same view cell): a slice equal to the disjoint union of others (all
    hours = day + night; a period = its parts; all categories = one category + the rest) is found
    from the slices' periods, categories and bands; the totals of a period equal the sum of its
    months' totals (``totals_only`` slices).
    """
    slices = list(slices)
    ctx = store.cell_context(config.STORE_RES)[["cell", "pro_com_t"]]
    cells = ctx.assign(**{f"r{r}": hexgrid.cell_to_parent(ctx["cell"].to_numpy(), r) for r in (7, 8, 9)})
    cells["r10"] = cells["cell"]
    # Resolution-7 hexagons without any incident in the slices publish 0 everywhere; they are left
    # out and the attacker is told they are empty (a stronger attacker than the real one).
    first, last = min(sl.start for sl in slices), max(sl.end for sl in slices)
    busy = store.incidents_by_cell(7, start=first, end=last)
    cells = cells[cells["r7"].isin(busy.loc[busy["incidents"] > 0, "cell"])]
    tpl = _template(cells.sort_values("cell").reset_index(drop=True))
    frames, offsets, off = [], [], 0
    for i, sl in enumerate(slices):
        values = _slice_values(store, sl, tpl, role).assign(slice=i)
        frames.append(values)
        offsets.append(off)
        off += len(values)
    nodes = pd.concat(frames, ignore_index=True)
    views = Views(nodes=nodes, slices=slices)
    hp, hc, sp, sc = _within(tpl)
    full = [i for i, sl in enumerate(slices) if not sl.totals_only]
    views.relations.append(_csr(np.concatenate([hp + offsets[i] for i in full]),
                                np.concatenate([hc + offsets[i] for i in full])))
    tot = sp < tpl.n_totals  # the split of the totals holds in every slice
    views.relations.append(_csr(
        np.concatenate([sp + offsets[i] if i in full else sp[tot] + offsets[i] for i in range(len(slices))]),
        np.concatenate([sc + offsets[i] if i in full else sc[tot] + offsets[i] for i in range(len(slices))])))
    all_cats = set(config_categories())
    for i in range(len(slices)):
        for parts in _partitions(i, slices, all_cats):
            n = min(len(frames[j]) for j in [i, *parts])  # the view cells every part publishes
            local = np.arange(n)
            views.relations.append(_csr(np.concatenate([local + offsets[i]] * len(parts)),
                                        np.concatenate([local + offsets[j] for j in parts])))
    return views


def config_categories() -> list[str]:
    from geo.data.schemas import INCIDENT_CATEGORIES

    return list(INCIDENT_CATEGORIES)


def _months(sl: Slice) -> set[date]:
    out, d = set(), sl.start
    while d <= sl.end:
        out.add(d)
        d = _month_add(d, 1)
    return out


def _partitions(i: int, slices: list[Slice], all_cats: set[str]) -> list[list[int]]:
    """Sets of slices whose disjoint union is slice ``i`` along exactly one dimension (band,
    categories or months), each set found greedily among the slices sharing the other two."""
    whole = slices[i]
    cats = set(whole.categories) or all_cats
    months = _months(whole)
    bands = {whole.time_band} if whole.time_band else {"giorno", "notte"}
    found: list[list[int]] = []
    for dim in ("band", "cats", "months"):
        cands = []
        for j, sl in enumerate(slices):
            if j == i or (sl.totals_only and not whole.totals_only and dim != "months"):
                continue
            sc, sm = set(sl.categories) or all_cats, _months(sl)
            sb = {sl.time_band} if sl.time_band else {"giorno", "notte"}
            same = {"band": sb == bands, "cats": sc == cats, "months": sm == months}
            if all(same[d] for d in same if d != dim) and not same[dim]:
                part = {"band": sb, "cats": sc, "months": sm}[dim]
                if part < {"band": bands, "cats": cats, "months": months}[dim]:
                    cands.append((j, frozenset(part)))
        target = {"band": bands, "cats": cats, "months": months}[dim]
        # exact covers by disjoint candidates (small search: few candidates per dimension)
        best = _cover(sorted(cands, key=lambda c: -len(c[1])), frozenset(target))
        if best:
            found.append(best)
    return found


def _cover(cands: list[tuple[int, frozenset]], target: frozenset) -> list[int] | None:
    if not target:
        return []
    for k, (j, part) in enumerate(cands):
        if part <= target:
            rest = _cover([c for c in cands[k + 1:] if not (c[1] & part)], target - part)
            if rest is not None:
                return [j, *rest]
    return None


# --------------------------------------------------------------------------------------------
# What the attacker starts from, and the solver
# --------------------------------------------------------------------------------------------

def protected_intervals(published: np.ndarray, *, t: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each published count's preimage under the public p-table (:func:`geo.access.disclosure.preimage`)."""
    t = disclosure.threshold() if t is None else t
    pub = np.asarray(published, dtype="int64")
    lo, hi = np.empty_like(pub), np.empty_like(pub)
    cache: dict[int, tuple[int, int]] = {}
    for v in np.unique(pub):
        cache[int(v)] = disclosure.preimage(int(v), t=t)
    for v, (a, b) in cache.items():
        sel = pub == v
        lo[sel], hi[sel] = a, b
    return lo, hi


def suppression_intervals(true: np.ndarray, *, t: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """What a reader knew under plain threshold suppression: ``1 .. t-1`` for a "< 3", the
    exact value otherwise."""
    t = disclosure.threshold() if t is None else t
    x = np.asarray(true, dtype="int64")
    small = (x >= 1) & (x < t)
    return np.where(small, 1, x), np.where(small, t - 1, x)


def propagate(lo: np.ndarray, hi: np.ndarray, relations: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
              *, max_rounds: int = 200) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer bound propagation over ``parent = sum(children)`` equalities, to a fixed point.

    Returns the tightened ``lo``, ``hi`` and the number of rounds.
    """
    lo, hi = lo.astype("int64").copy(), hi.astype("int64").copy()
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        changed = False
        for parents, offsets, children in relations:
            if len(parents) == 0:
                continue
            starts = offsets[:-1]
            slo = np.add.reduceat(lo[children], starts)
            shi = np.add.reduceat(hi[children], starts)
            new_lo = np.maximum(lo[parents], slo)
            new_hi = np.minimum(hi[parents], shi)
            if (new_lo != lo[parents]).any() or (new_hi != hi[parents]).any():
                changed = True
            lo[parents], hi[parents] = new_lo, new_hi
            rep = np.repeat(np.arange(len(parents)), np.diff(offsets))
            c_lo = lo[parents][rep] - (shi[rep] - hi[children])
            c_hi = hi[parents][rep] - (slo[rep] - lo[children])
            before_lo, before_hi = lo[children].copy(), hi[children].copy()
            np.maximum.at(lo, children, c_lo)
            np.minimum.at(hi, children, c_hi)
            if (lo[children] != before_lo).any() or (hi[children] != before_hi).any():
                changed = True
        if (lo > hi).any():
            raise ValueError("vincoli incoerenti: l'attacco ha un errore")
        if not changed:
            break
    return lo, hi, rounds


@dataclass(frozen=True)
class AttackResult:
    """How the attacker did on the small counts (true value 1 .. threshold - 1)."""

    views: int
    small: int
    exact: int
    wrong: int
    widths: pd.Series  # interval width (hi - lo) per small count

    def summary(self) -> dict[str, float]:
        w = self.widths
        return {"view_cells": self.views, "small_counts": self.small, "exact_recoveries": self.exact,
                "wrong": self.wrong, "width_min": int(w.min()) if len(w) else 0,
                "width_median": float(w.median()) if len(w) else 0.0,
                "share_width_le_1": float((w <= 1).mean()) if len(w) else 0.0}


def attack(views: Views, *, baseline: bool = False) -> AttackResult:
    """Run the solver on ``views``: the protected counts, or (``baseline``) plain suppression."""
    true = views.nodes["true"].to_numpy()
    if baseline:
        lo, hi = suppression_intervals(true)
    else:
        lo, hi = protected_intervals(views.nodes["published"].to_numpy())
    lo, hi, _ = propagate(lo, hi, views.relations)
    t = disclosure.threshold()
    small = (true >= 1) & (true < t)
    exact = small & (lo == hi) & (lo == true)
    wrong = (true < lo) | (true > hi)
    return AttackResult(views=len(true), small=int(small.sum()), exact=int(exact.sum()), wrong=int(wrong.sum()),
                        widths=pd.Series((hi - lo)[small]))


def demo_slices(year: int, *, category: str = "furti_abitazione", months: bool = True,
                halves: bool = True) -> list[Slice]:
    """The slices of the attack on one year: the year and (``halves``) its two halves, all
    categories, ``category`` and the other categories, each for day and night and both; the
    monthly totals of the trends (``months``) for all categories and both bands."""
    cats_sets = [(), (category,), tuple(c for c in config_categories() if c != category)]
    periods = [(date(year, 1, 1), date(year, 12, 1))]
    if halves:
        periods += [(date(year, 1, 1), date(year, 6, 1)), (date(year, 7, 1), date(year, 12, 1))]
    out = [Slice(s, e, c, b) for s, e in periods for c in cats_sets for b in (None, "giorno", "notte")]
    if months:
        for m in range(1, 13):
            d = date(year, m, 1)
            out += [Slice(d, d, (), b, totals_only=True) for b in (None, "giorno", "notte")]
    return out
