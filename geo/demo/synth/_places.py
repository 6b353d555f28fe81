"""Shared spatial helpers for the demo generators: where people live, where they go.

A :class:`PlaceContext` is built once from the territory's resolution-10 ``cells`` (with
``residents`` and ``pro_com_t``) and its ``localities`` (``nome``, ``tipo``, ``abitanti``,
``pro_com_t``, ``lon``, ``lat``). It knows, for every cell,

* its residents (the dasymetric estimate of :mod:`geo.data.population`);
* a *centre* kernel: Gaussian kernels around the populated localities, tighter than the ones used
  for population (a town's centre is smaller than the town);
* one *attractor* kernel per locality kind (stations, squares, shopping centres, stadiums, hotels,
  parks): the places where people who do not live there gather;
* its *peripherality*: the share of the comune's residents who live closer to the comune's main
  centre than the cell does (0 in the centre, close to 1 in the farthest settled outskirts).

Generators mix these surfaces (:class:`Mix`) into one probability per cell. Only locality *kinds*
are used, never names or coordinates written in code, so any territory folder works.

Distances use a local equirectangular projection around the territory's centre (error below
0.5 % over a province-sized area), which keeps the helpers free of any CRS argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo import config
from geo.data import hexgrid
from geo.data.population import KIND_SPREAD_M, KIND_WEIGHTS

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

#: Populated locality kinds (the kinds weighted by :data:`geo.data.population.KIND_WEIGHTS`).
CENTRE_KINDS = tuple(KIND_WEIGHTS)
#: Kinds of the main centre of a comune, in order of preference when weights tie.
MAIN_CENTRE_KINDS = ("capoluogo", "citta", "sede_comunale", "paese", "quartiere", "frazione", "localita")
#: Attractor kinds: places that draw people who do not live there.
ATTRACTOR_KINDS = ("stazione", "piazza", "centro_commerciale", "stadio", "albergo", "parco")

#: Spread (standard deviation, metres) of the kernel around each attractor kind. Assumptions:
#: a station's influence (forecourt, underpass, bus stops, nearby bars) reaches a few hundred
#: metres; a square or park is about one block; a shopping centre includes its car parks.
ATTRACTOR_SPREAD_M: dict[str, float] = {
    "stazione": 250.0,
    "piazza": 150.0,
    "centro_commerciale": 200.0,
    "stadio": 250.0,
    "albergo": 200.0,
    "parco": 150.0,
}
#: The centre kernel uses the population spread of :data:`geo.data.population.KIND_SPREAD_M` times
#: this factor (a historic core is roughly the inner 40 % of the built-up radius), at least
#: :data:`CENTRE_MIN_SPREAD_M` (about two resolution-10 cells).
CENTRE_SPREAD_FACTOR = 0.4
CENTRE_MIN_SPREAD_M = 120.0

#: Weight multiplier of a locality that has the same name as its comune when choosing the
#: comune's main centre (the seat of a small comune is often no bigger than its hamlets).
NAME_MATCH_BONUS = 2.0

#: Radius (metres) of the random displacement of a point inside its resolution-10 cell. The
#: average H3 resolution-10 edge is 75.9 m, so the inscribed circle has a radius of ~66 m;
#: points that still fall outside the cell (small cells) are put at the cell centre.
JITTER_RADIUS_M = 45.0


@dataclass(frozen=True)
class Mix:
    """Weights of the spatial surfaces a generator mixes inside each comune.

    Parameters
    ----------
    residents
        Weight of the residents surface (``residents ** residents_power``).
    centre
        Weight of the centre kernel of the populated localities.
    attractors
        Weight of the attractor surface, made of the kernels of ``kinds`` (kind → relative
        weight); comuni without any attractor of those kinds use the centre kernel instead.
    residents_power
        Exponent on residents; below 1 spreads points towards sparsely settled cells.
    """

    residents: float = 0.0
    centre: float = 0.0
    attractors: float = 0.0
    kinds: Mapping[str, float] = field(default_factory=dict)
    residents_power: float = 1.0


def local_xy(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular coordinates in metres around (``lat0``, ``lon0``), WGS84 degrees in."""
    k = np.pi / 180.0
    x = EARTH_RADIUS_M * np.cos(lat0 * k) * (np.asarray(lon, dtype=float) - lon0) * k
    y = EARTH_RADIUS_M * (np.asarray(lat, dtype=float) - lat0) * k
    return x, y


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` (Hamilton / largest remainder).

    The result sums exactly to ``total``; ties between equal remainders go to the lower index,
    so the split is deterministic. All-zero weights split evenly.

    Parameters
    ----------
    total
        Non-negative integer to split.
    weights
        Non-negative weights, one per part.
    """
    w = np.asarray(weights, dtype=float)
    if total < 0 or np.any(w < 0):
        raise ValueError("totale e pesi devono essere non negativi")
    if w.size == 0:
        if total:
            raise ValueError("nessuna parte su cui ripartire il totale")
        return np.zeros(0, dtype=np.int64)
    if w.sum() <= 0:
        w = np.ones_like(w)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    if left:
        order = np.lexsort((np.arange(w.size), -(quota - base)))
        base[order[:left]] += 1
    return base


def _float_col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name].astype(object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def localities_frame(localities: pd.DataFrame) -> pd.DataFrame:
    """Localities with plain ``lon``/``lat`` columns (from a geometry column when needed),
    ``tipo`` as text, ``abitanti`` as float and ``pro_com_t``."""
    loc = pd.DataFrame(localities).copy()
    if ("lon" not in loc.columns or "lat" not in loc.columns) and "geometry" in loc.columns:
        loc["lon"] = [g.x for g in loc["geometry"]]
        loc["lat"] = [g.y for g in loc["geometry"]]
    for col in ("nome", "tipo", "pro_com_t"):
        if col not in loc.columns:
            loc[col] = None
    loc["abitanti"] = _float_col(loc, "abitanti")
    loc["tipo"] = loc["tipo"].astype(object).where(loc["tipo"].notna(), "").astype(str)
    loc["nome"] = loc["nome"].astype(object).where(loc["nome"].notna(), "").astype(str)
    loc = loc[np.isfinite(_float_col(loc, "lon")) & np.isfinite(_float_col(loc, "lat"))]
    cols = ["nome", "tipo", "abitanti", "pro_com_t", "lon", "lat"]
    return loc[cols].reset_index(drop=True)


class PlaceContext:
    """Cells of a territory with their residents, kernels, comuni and peripherality.

    Build it with :meth:`build`; arrays are aligned on the row order of the ``cells`` frame.
    """

    def __init__(
        self,
        cells: pd.DataFrame,
        localities: pd.DataFrame,
        comuni: pd.DataFrame | None = None,
        *,
        capoluogo: str | None = None,
    ) -> None:
        self.cells = np.asarray(cells["cell"], dtype=np.int64)
        self.codes = cells["pro_com_t"].astype(str).to_numpy()
        self.residents = np.asarray(cells["residents"], dtype=float)
        if "lat" in cells.columns and "lon" in cells.columns:
            self.lat = np.asarray(cells["lat"], dtype=float)
            self.lon = np.asarray(cells["lon"], dtype=float)
        else:
            self.lat, self.lon = hexgrid.cell_centers(self.cells)
        self.lat0, self.lon0 = float(np.mean(self.lat)), float(np.mean(self.lon))
        self.x, self.y = local_xy(self.lat, self.lon, self.lat0, self.lon0)
        self.tree = cKDTree(np.column_stack([self.x, self.y]))
        self._order = np.argsort(self.cells, kind="stable")
        self._sorted = self.cells[self._order]

        self.comuni, self.comune_idx = np.unique(self.codes, return_inverse=True)
        by_res = np.bincount(self.comune_idx, weights=self.residents, minlength=self.comuni.size)
        if comuni is not None and "residenti" in comuni.columns:
            official = pd.Series(np.asarray(comuni["residenti"], dtype=float),
                                 index=comuni["pro_com_t"].astype(str).to_numpy())
            pop = official.reindex(self.comuni).to_numpy()
            self.population = np.where(np.isfinite(pop), pop, by_res)
        else:
            self.population = by_res
        self.names = {str(c): str(c) for c in self.comuni}
        if comuni is not None and "nome" in comuni.columns:
            self.names.update(dict(zip(comuni["pro_com_t"].astype(str), comuni["nome"].astype(str), strict=True)))
        if capoluogo is None or capoluogo not in set(self.comuni):
            capoluogo = str(self.comuni[int(np.argmax(self.population))]) if self.comuni.size else None
        self.capoluogo = capoluogo

        loc = localities_frame(localities)
        loc["x"], loc["y"] = local_xy(loc["lat"].to_numpy(), loc["lon"].to_numpy(), self.lat0, self.lon0)
        self.localities = loc
        populated = loc[loc["tipo"].isin(CENTRE_KINDS)].copy()
        pop_known = populated["abitanti"].to_numpy()
        # Same weight unit as geo.data.population.locality_weights: 1 = about 250 residents.
        populated["w"] = np.where(pop_known > 0, pop_known / 250.0, populated["tipo"].map(KIND_WEIGHTS))
        populated["spread_m"] = populated["tipo"].map(KIND_SPREAD_M)
        self.populated = populated.reset_index(drop=True)
        centre_sigma = np.maximum(self.populated["spread_m"].to_numpy() * CENTRE_SPREAD_FACTOR, CENTRE_MIN_SPREAD_M)
        self.centre_kernel = self._kernel(
            self.populated["x"].to_numpy(), self.populated["y"].to_numpy(), self.populated["w"].to_numpy(),
            centre_sigma,
        )
        self._kinds: dict[str, np.ndarray] = {}
        self._shares: dict[tuple[str, float], np.ndarray] = {}
        self.centre_points = self._main_centres()
        self.peripherality = self._peripherality()

    @classmethod
    def build(
        cls, cells: pd.DataFrame, localities: pd.DataFrame, comuni: pd.DataFrame | None = None, *,
        capoluogo: str | None = None,
    ) -> PlaceContext:
        """Context for ``cells`` (``cell``, ``pro_com_t``, ``residents``; optional ``lat``/``lon``)
        and ``localities``; ``comuni`` (``pro_com_t``, ``nome``, ``residenti``) gives official
        populations and names; ``capoluogo`` defaults to the most populated comune."""
        return cls(cells, localities, comuni, capoluogo=capoluogo)

    # -- kernels ---------------------------------------------------------------------------
    def _kernel(self, px: np.ndarray, py: np.ndarray, w: np.ndarray, sigma: np.ndarray | float) -> np.ndarray:
        """Sum over points of ``w * exp(-d^2 / (2 sigma^2))`` at every cell, truncated at 3 sigma."""
        out = np.zeros(self.cells.size)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), np.shape(px))
        for x, y, wi, s in zip(px, py, w, sigma, strict=True):
            idx = np.asarray(self.tree.query_ball_point([x, y], 3.0 * s), dtype=np.int64)
            if idx.size == 0:
                continue
            d2 = (self.x[idx] - x) ** 2 + (self.y[idx] - y) ** 2
            out[idx] += wi * np.exp(-d2 / (2.0 * s * s))
        return out

    def kind_kernel(self, kind: str) -> np.ndarray:
        """Kernel surface of the localities of one attractor kind (zeros when there are none)."""
        if kind not in self._kinds:
            pts = self.localities[self.localities["tipo"] == kind]
            sigma = ATTRACTOR_SPREAD_M.get(kind, 200.0)
            self._kinds[kind] = self._kernel(pts["x"].to_numpy(), pts["y"].to_numpy(), np.ones(len(pts)), sigma)
        return self._kinds[kind]

    def within_comune(self, values: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
        """``values`` normalised to sum 1 inside each comune; comuni where they sum to zero take
        ``fallback`` (already normalised) or a uniform share of their cells."""
        values = np.asarray(values, dtype=float)
        sums = np.bincount(self.comune_idx, weights=values, minlength=self.comuni.size)
        share = np.divide(values, sums[self.comune_idx], out=np.zeros_like(values), where=sums[self.comune_idx] > 0)
        empty = sums[self.comune_idx] <= 0
        if empty.any():
            if fallback is None:
                counts = np.bincount(self.comune_idx, minlength=self.comuni.size)
                fallback = 1.0 / counts[self.comune_idx]
            share[empty] = np.asarray(fallback)[empty]
        return share

    def residents_share(self, power: float = 1.0) -> np.ndarray:
        """Residents (to ``power``) normalised inside each comune (cached; do not modify)."""
        key = ("residents", float(power))
        if key not in self._shares:
            self._shares[key] = self.within_comune(np.where(self.residents > 0, self.residents, 0.0) ** power)
        return self._shares[key]

    def centre_share(self) -> np.ndarray:
        """Centre kernel normalised inside each comune, residents where a comune has none
        (cached; do not modify)."""
        key = ("centre", 1.0)
        if key not in self._shares:
            self._shares[key] = self.within_comune(self.centre_kernel, self.residents_share())
        return self._shares[key]

    def comune_factor(self, exponent: float = 1.0, capoluogo_premium: float = 1.0) -> np.ndarray:
        """Share of each comune (aligned on :attr:`comuni`): ``population ** exponent``, times
        ``capoluogo_premium`` for the capoluogo, normalised to 1."""
        f = np.power(np.maximum(self.population, 0.0), exponent)
        f = f * np.where(self.comuni == self.capoluogo, capoluogo_premium, 1.0)
        return f / f.sum()

    def weights(self, mix: Mix, *, comune_exponent: float = 1.0, capoluogo_premium: float = 1.0) -> np.ndarray:
        """Probability of each cell (sums to 1): comuni weighted by :meth:`comune_factor`, cells
        inside each comune by the mixture ``mix``."""
        total = mix.residents + mix.centre + mix.attractors
        if total <= 0:
            raise ValueError("la miscela spaziale non ha pesi positivi")
        centre = self.centre_share()
        inner = np.zeros(self.cells.size)
        if mix.residents:
            inner += mix.residents * self.residents_share(mix.residents_power)
        if mix.centre:
            inner += mix.centre * centre
        if mix.attractors:
            raw = np.zeros(self.cells.size)
            for kind, w in mix.kinds.items():
                raw += w * self.kind_kernel(kind)
            inner += mix.attractors * self.within_comune(raw, centre)
        inner /= total
        p = inner * self.comune_factor(comune_exponent, capoluogo_premium)[self.comune_idx]
        return p / p.sum()

    # -- centres and peripherality ---------------------------------------------------------
    def _main_centres(self) -> pd.DataFrame:
        """Main centre of each comune: its heaviest populated locality (kind order breaks ties),
        or its most populated cell when it has no locality."""
        rank = {k: i for i, k in enumerate(MAIN_CENTRE_KINDS)}
        rows = []
        for k, code in enumerate(self.comuni):
            mine = self.populated[self.populated["pro_com_t"].astype(str) == code]
            if len(mine):
                # A locality named like its comune is its seat: it wins ties with same-size places.
                same_name = mine["nome"].str.casefold() == self.names.get(code, code).casefold()
                score = mine["w"].to_numpy() * np.where(same_name, NAME_MATCH_BONUS, 1.0)
                order = np.lexsort((mine["tipo"].map(rank).fillna(99).to_numpy(), -score))
                best = mine.iloc[int(order[0])]
                rows.append({"pro_com_t": code, "nome": best["nome"], "x": best["x"], "y": best["y"],
                             "lat": best["lat"], "lon": best["lon"]})
            else:
                idx = np.flatnonzero(self.comune_idx == k)
                i = int(idx[np.argmax(self.residents[idx])])
                rows.append({"pro_com_t": code, "nome": self.names.get(code, code), "x": self.x[i], "y": self.y[i],
                             "lat": self.lat[i], "lon": self.lon[i]})
        return pd.DataFrame(rows)

    def distance_to_centre(self) -> np.ndarray:
        """Distance (metres) from each cell to its comune's main centre."""
        cx = self.centre_points["x"].to_numpy()[self.comune_idx]
        cy = self.centre_points["y"].to_numpy()[self.comune_idx]
        return np.hypot(self.x - cx, self.y - cy)

    def _peripherality(self) -> np.ndarray:
        """Share of the comune's residents living closer to its main centre than each cell."""
        d = self.distance_to_centre()
        out = np.ones(self.cells.size)
        for k in range(self.comuni.size):
            idx = np.flatnonzero(self.comune_idx == k)
            order = idx[np.argsort(d[idx], kind="stable")]
            res = np.maximum(self.residents[order], 0.0)
            total = res.sum()
            if total <= 0:
                out[order] = np.linspace(0.0, 1.0, order.size)
                continue
            out[order] = (np.cumsum(res) - res) / total
        return out

    # -- points ----------------------------------------------------------------------------
    def index_of(self, cells: np.ndarray) -> np.ndarray:
        """Row positions of resolution-10 cells (``-1`` for cells outside the territory)."""
        cells = np.asarray(cells, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, cells), max(self._sorted.size - 1, 0))
        if self._sorted.size == 0:
            return np.full(cells.size, -1, dtype=np.int64)
        return np.where(self._sorted[at] == cells, self._order[at], -1).astype(np.int64)

    def footprint(self, cell: int, ring_weights: tuple[float, ...] = (1.0, 0.5, 0.2)) -> tuple[np.ndarray, np.ndarray]:
        """Positions and weights of the cells within ``len(ring_weights) - 1`` steps of ``cell``
        (weight by ring), restricted to the territory."""
        pos, wts = [], []
        for ring, w in enumerate(ring_weights):
            cells = [int(cell)] if ring == 0 else list(h3n.grid_ring(int(cell), ring))
            idx = self.index_of(np.asarray(cells, dtype=np.int64))
            idx = idx[idx >= 0]
            pos.append(idx)
            wts.append(np.full(idx.size, w))
        return np.concatenate(pos), np.concatenate(wts)

    def jitter(self, positions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Random (lat, lon) inside the cells at ``positions``: uniform in a disc of
        :data:`JITTER_RADIUS_M` around the centre; points falling outside their cell are moved
        back to the centre, so the stored ``cell`` always matches the coordinates."""
        positions = np.asarray(positions, dtype=np.int64)
        n = positions.size
        radius = JITTER_RADIUS_M * np.sqrt(rng.random(n))
        angle = 2.0 * np.pi * rng.random(n)
        lat0 = self.lat[positions]
        lon0 = self.lon[positions]
        k = 180.0 / (np.pi * EARTH_RADIUS_M)
        lat = lat0 + radius * np.sin(angle) * k
        lon = lon0 + radius * np.cos(angle) * k / np.cos(np.radians(lat0))
        back = hexgrid.points_to_cells(lat, lon, config.STORE_RES) != self.cells[positions]
        lat[back] = lat0[back]
        lon[back] = lon0[back]
        return np.round(lat, 7), np.round(lon, 7)

    def nearest_locality(self, positions: np.ndarray, kinds: tuple[str, ...] = CENTRE_KINDS,
                         *, same_comune: bool = True) -> np.ndarray:
        """Name of the nearest locality of ``kinds`` to each cell (preferably in the same comune);
        the comune's name when there is none."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.array([self.names.get(c, c) for c in self.codes[positions]], dtype=object)
        if positions.size == 0:
            return out
        trees = self._locality_trees(tuple(kinds), same_comune)
        if not trees:
            return out
        if not same_comune:
            tree, names = trees[None]
            _, j = tree.query(np.column_stack([self.x[positions], self.y[positions]]))
            out[:] = names[j]
            return out
        codes = self.codes[positions]
        for code in np.unique(codes):
            if code not in trees:
                continue
            mask = codes == code
            tree, names = trees[code]
            _, j = tree.query(np.column_stack([self.x[positions[mask]], self.y[positions[mask]]]))
            out[mask] = names[j]
        return out

    def _locality_trees(self, kinds: tuple[str, ...], same_comune: bool) -> dict:
        """KD-trees of the named localities of ``kinds``, per comune (or one, key None), built once:
        the generators ask for the nearest locality many times on large provinces."""
        cache = self.__dict__.setdefault("_trees_cache", {})
        key = (kinds, same_comune)
        if key not in cache:
            loc = self.localities[self.localities["tipo"].isin(kinds) & (self.localities["nome"] != "")]
            trees: dict = {}
            if not loc.empty:
                groups = loc.groupby(loc["pro_com_t"].astype(str)) if same_comune else [(None, loc)]
                for code, pts in groups:
                    trees[code] = (cKDTree(np.column_stack([pts["x"].to_numpy(), pts["y"].to_numpy()])),
                                   pts["nome"].to_numpy())
            cache[key] = trees
        return cache[key]

    def cells_within(self, x: float, y: float, radius_m: float) -> np.ndarray:
        """Positions of cells whose centre is within ``radius_m`` of a point (local metres)."""
        return np.asarray(sorted(self.tree.query_ball_point([x, y], radius_m)), dtype=np.int64)

    def locality_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Local metric coordinates of a WGS84 point."""
        x, y = local_xy(np.asarray([lat]), np.asarray([lon]), self.lat0, self.lon0)
        return float(x[0]), float(y[0])
