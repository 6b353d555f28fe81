"""Lighting need per hexagon: the state of public lighting, the demand for it, the outskirts.

Lighting state (from the ``lighting`` layer, PELL-IP points)
    ``lights`` (points), ``broken`` (out of order), ``old`` (mercury, sodium, incandescent,
    halogen: :data:`geo.data.schemas.OLD_LAMP_TECHNOLOGIES`), their shares, and the density of points
    relative to a *basis*: km of road (when an OSM road layer is loaded), thousands of residents,
    or settled km² (the resolution-10 cells with residents).

Under-lit (configurable, :class:`UnderlitRule`)
    Each hexagon has a *target* number of points, ``scale * basis ** exponent``. By default scale
    and exponent are fitted on the comuni's **centres** (the hexagons that are not outskirts): art.
    5 asks that the outskirts be lit like the rest of the town, and the fit compares each hexagon
    with central ones of the same size. A fixed density can be set instead. A hexagon is
    *under-lit* when its working points are fewer than ``underlit_below`` (half) of its target
    and the target is at least ``min_points`` (3); new points then bring it up to the target.

Demand
    Night-time **outdoor** incidents per year (the ones lighting can affect), in total and per
    crime family (:data:`geo.lighting.effects.FAMILIES`: each family has its own effect), open reports of
    broken or missing lighting and of other degradation, schools, services for homeless people
    and night destinations (stations, squares, stadiums, shopping centres, parks, hotels from the
    localities layer). The perceived-safety *demand points* are a weighted count of the last five
    (:class:`NeedParams`).

Outskirts
    Distance from the hexagon's centre to its comune's centre (the ``capoluogo`` or
    ``sede_comunale`` locality; the residents' centroid when the comune has none), in km;
    outskirts from :attr:`NeedParams.outskirts_km` (1.5 km) on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import date
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from geo import config
from geo.access.disclosure import protect_columns
from geo.access.privacy import can_see_exact
from geo.data import hexgrid
from geo.data.schemas import OLD_LAMP_TECHNOLOGIES, OPEN_REPORT_STATUS
from geo.lighting.costs import lamp_power_w
from geo.lighting.effects import FAMILIES, family_column
from geo.overview import places

Basis = Literal["auto", "strade", "area", "residenti"]

BASIS_LABELS: dict[str, str] = {
    "strade": "punti luce per km di strada",
    "area": "punti luce per km² abitato",
    "residenti": "punti luce per 1.000 residenti",
}
#: Localities the population walks to at night (``tipo`` of the localities layer).
NIGHT_DESTINATIONS = frozenset({"stazione", "piazza", "stadio", "centro_commerciale", "parco", "albergo"})
#: Localities that mark a comune's centre, in order of preference.
CENTRE_KINDS = ("capoluogo", "sede_comunale")
#: OSM ``highway`` classes counted as lit streets when a road layer is loaded (motorways and
#: tracks are not lit by the comuni).
LIT_HIGHWAYS = (
    "primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "pedestrian", "service", "footway", "cycleway", "path", "steps",
)

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class UnderlitRule:
    """How "under-lit" is defined.

    A hexagon's *target* is ``scale * basis ** exponent`` light points. With ``target`` set, it is
    ``target * basis`` (a fixed density, e.g. 30 points per km of road, about one every 33 m);
    by default (``target=None``) scale and exponent are fitted on the comuni's centres
    (:func:`reference_target`): the outskirts are compared with central hexagons of the same
    size, as art. 5 asks that the outskirts be lit like the rest of the town. A hexagon is
    *under-lit* when its working points are fewer than ``underlit_below`` times its target and
    the target is at least ``min_points`` (smaller counts are noise).

    Attributes
    ----------
    basis
        ``strade`` (points per km of road), ``residenti`` (per 1,000 residents), ``area`` (per
        settled km²) or ``auto``: roads when a road layer is loaded, residents otherwise. Art. 5
        speaks of the residents' perceived safety; the settled area depends on how widely the
        population estimate spreads residents around each locality, so it is not the default.
    target
        Light points per unit of the basis; ``None``: fitted on the centres.
    underlit_below
        Share of the target under which a hexagon is under-lit (0.5: fewer than half the points).
    min_points
        Smallest target (points) for which a hexagon can be called under-lit.
    """

    basis: Basis = "auto"
    target: float | None = None
    underlit_below: float = 0.5
    min_points: float = 3.0

    LABELS: ClassVar[dict[str, str]] = {
        "basis": "Base della densità",
        "target": "Obiettivo (punti luce per unità della base)",
        "underlit_below": "Sottoilluminato sotto questa quota dell'obiettivo",
        "min_points": "Obiettivo minimo per giudicare un esagono (punti luce)",
    }

    def __post_init__(self) -> None:
        if self.basis not in ("auto", "strade", "area", "residenti"):
            raise ValueError(f"Base di densità sconosciuta: {self.basis}")
        if self.target is not None and not self.target > 0:
            raise ValueError("L'obiettivo di densità deve essere positivo.")
        if not 0 < self.underlit_below <= 1:
            raise ValueError("La soglia di sottoilluminazione deve essere tra 0 e 1.")
        if self.min_points < 0:
            raise ValueError("L'obiettivo minimo non può essere negativo.")


@dataclass(frozen=True)
class NeedParams:
    """Parameters of the need table.

    Attributes
    ----------
    rule
        Under-lit definition.
    outskirts_km
        Distance from the comune's centre (km) from which a hexagon is outskirts.
    settled_min_residents
        A resolution-10 cell counts as settled when it has more residents than this.
    w_reports_lighting, w_reports_other, w_schools, w_services, w_destinations
        Demand points per open report of broken or missing lighting, per other open report, per
        school, per homeless service and per night destination.
    """

    rule: UnderlitRule = UnderlitRule()
    outskirts_km: float = 1.5
    settled_min_residents: float = 0.0
    w_reports_lighting: float = 2.0
    w_reports_other: float = 1.0
    w_schools: float = 1.0
    w_services: float = 1.0
    w_destinations: float = 1.0

    LABELS: ClassVar[dict[str, str]] = {
        "outskirts_km": "Periferia: distanza dal centro del comune (km)",
        "w_reports_lighting": "Punti per segnalazione aperta di illuminazione guasta o assente",
        "w_reports_other": "Punti per altra segnalazione di degrado aperta",
        "w_schools": "Punti per scuola",
        "w_services": "Punti per servizio per persone senza dimora",
        "w_destinations": "Punti per luogo frequentato di sera (stazione, piazza, parco…)",
    }

    def key(self) -> tuple:
        """Plain nested tuple of the values (cache key)."""
        return astuple(self)


# --------------------------------------------------------------------------------------------
# Pieces (pure functions on DataFrames)
# --------------------------------------------------------------------------------------------

def lighting_state(points: pd.DataFrame, res: int) -> pd.DataFrame:
    """Light points per hexagon at ``res``.

    Parameters
    ----------
    points
        Rows of the ``lighting`` table (``cell`` at resolution 10, ``technology``, ``status``,
        ``power_w``).
    res
        Target resolution (7-10).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``cell`` (int64): ``lights``, ``broken``, ``old``, ``old_broken``,
        ``modern_broken`` (counts), ``old_power_w`` (nominal W of the old lamps, defaults by
        technology where missing) and ``modern_broken_power_w`` (W of the broken modern ones).
    """
    cols = ["lights", "broken", "old", "old_broken", "modern_broken", "old_power_w", "modern_broken_power_w"]
    if points.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], dtype="int64", name="cell"), dtype=float)
    cell = hexgrid.cell_to_parent(points["cell"].to_numpy(), res)
    broken = points["status"].to_numpy() == "guasto"
    old = points["technology"].isin(OLD_LAMP_TECHNOLOGIES).to_numpy()
    power = lamp_power_w(points["technology"].reset_index(drop=True), points["power_w"].reset_index(drop=True))
    power = power.to_numpy()
    frame = pd.DataFrame({
        "cell": cell,
        "lights": 1,
        "broken": broken.astype(int),
        "old": old.astype(int),
        "old_broken": (old & broken).astype(int),
        "modern_broken": (~old & broken).astype(int),
        "old_power_w": np.where(old, power, 0.0),
        "modern_broken_power_w": np.where(~old & broken, power, 0.0),
    })
    return frame.groupby("cell")[cols].sum()


def settled_area_km2(context10: pd.DataFrame, res: int, *, min_residents: float = 0.0) -> pd.Series:
    """Settled area (km²) per hexagon at ``res``: resolution-10 children with more residents
    than ``min_residents``, times the average resolution-10 cell area."""
    settled = context10[context10["residents"] > min_residents]
    parent = hexgrid.cell_to_parent(settled["cell"].to_numpy(), res)
    counts = pd.Series(1, index=parent).groupby(level=0).sum()
    counts.index.name = "cell"
    return counts * hexgrid.cell_area_km2(config.STORE_RES)


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) between points in WGS84 degrees."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def comune_centres(localities: pd.DataFrame, comuni: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """Centre of each comune: its ``capoluogo`` or ``sede_comunale`` locality (the one named like the
    comune when there are several), else the residents' centroid of its hexagons.

    Parameters
    ----------
    localities
        ``nome``, ``tipo``, ``pro_com_t``, ``lat``, ``lon``.
    comuni
        ``pro_com_t``, ``nome``.
    context
        Hexagons with ``cell``, ``pro_com_t``, ``residents`` (any resolution).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``pro_com_t``: ``lat``, ``lon``, ``centre`` (the locality's name, or
        ``"baricentro dei residenti"``).
    """
    names = dict(zip(comuni["pro_com_t"], comuni["nome"].astype(str).str.lower(), strict=True))
    rows: dict[str, dict] = {}
    cand = localities[localities["tipo"].isin(CENTRE_KINDS)].copy()
    if not cand.empty:
        cand["rank_kind"] = cand["tipo"].map({k: i for i, k in enumerate(CENTRE_KINDS)})
        cand["rank_name"] = (cand["nome"].astype(str).str.lower() != cand["pro_com_t"].map(names)).astype(int)
        cand = cand.sort_values(["pro_com_t", "rank_kind", "rank_name", "nome"])
        for r in cand.drop_duplicates("pro_com_t").itertuples():
            rows[r.pro_com_t] = {"lat": float(r.lat), "lon": float(r.lon), "centre": str(r.nome)}
    missing = [c for c in comuni["pro_com_t"] if c not in rows]
    if missing:
        ctx = context[context["pro_com_t"].isin(missing)]
        lat, lon = hexgrid.cell_centers(ctx["cell"].to_numpy())
        w = ctx["residents"].to_numpy(dtype=float)
        for code in missing:
            sel = (ctx["pro_com_t"] == code).to_numpy()
            if not sel.any():
                continue
            weights = w[sel] if w[sel].sum() > 0 else np.ones(sel.sum())
            rows[code] = {"lat": float(np.average(lat[sel], weights=weights)),
                          "lon": float(np.average(lon[sel], weights=weights)),
                          "centre": "baricentro dei residenti"}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["lat", "lon", "centre"])
    out.index.name = "pro_com_t"
    return out


def point_counts(points: pd.DataFrame, res: int, name: str) -> pd.Series:
    """Number of points (rows with a resolution-10 ``cell``) per hexagon at ``res``."""
    if points.empty:
        return pd.Series(dtype="int64", name=name, index=pd.Index([], dtype="int64", name="cell"))
    parent = hexgrid.cell_to_parent(points["cell"].to_numpy(), res)
    out = pd.Series(1, index=parent, name=name).groupby(level=0).sum()
    out.index.name = "cell"
    return out


def neighbour_sum(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each cell, the sum of ``values`` over its six neighbours that are in ``cells``."""
    cells = np.asarray(cells, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    out = np.zeros(cells.size)
    if cells.size == 0:
        return out
    rows, cols = hexgrid.adjacency_pairs(cells)
    np.add.at(out, rows, values[cols])
    return out


#: Fewest central hexagons with points for fitting the reference; below it the reference is the
#: centres' plain ratio (exponent 1).
MIN_REFERENCE_CELLS = 10
#: Range the fitted exponent is kept in (a sanity bound, not a prior).
EXPONENT_RANGE = (0.3, 1.5)


def reference_target(need: pd.DataFrame) -> tuple[float, float]:
    """Lighting of the centres as a function of the basis: ``points = scale * basis ** exponent``.

    Fitted by least squares on logarithms over the hexagons that are not outskirts and have both
    light points and basis (``log points = log scale + exponent * log basis``). Light points grow
    less than proportionally with residents (a street through a hamlet needs lamps whatever its
    density), so a plain ratio would call every dense block under-lit; the fit compares each
    hexagon with central hexagons *of the same size*. With fewer than
    :data:`MIN_REFERENCE_CELLS` such hexagons the reference is the centres' ratio of sums
    (exponent 1).

    Returns
    -------
    (scale, exponent)
        ``scale`` in points per unit of basis (at one unit); ``(nan, 1.0)`` when the centres have
        no light points.
    """
    central = need[~need["outskirts"] & (need["basis_qty"] > 0)]
    fit = central[central["lights"] > 0]
    if len(fit) >= MIN_REFERENCE_CELLS and fit["basis_qty"].nunique() > 1:
        exponent, log_scale = np.polyfit(np.log(fit["basis_qty"]), np.log(fit["lights"]), 1)
        exponent = float(np.clip(exponent, *EXPONENT_RANGE))
        log_scale = float(np.mean(np.log(fit["lights"]) - exponent * np.log(fit["basis_qty"])))
        return float(np.exp(log_scale)), exponent
    total = float(central["basis_qty"].sum())
    return (float(central["lights"].sum()) / total if total > 0 else float("nan")), 1.0


def compute_need(
    *,
    context: pd.DataFrame,
    state: pd.DataFrame,
    incidents: pd.DataFrame,
    months: int,
    settled_km2: pd.Series,
    road_km: pd.Series | None,
    demand: pd.DataFrame,
    centres: pd.DataFrame,
    params: NeedParams,
) -> pd.DataFrame:
    """Assemble the need table from its pieces (no database access).

    Parameters
    ----------
    context
        Hexagons of the territory at the working resolution: ``cell``, ``pro_com_t``,
        ``residents``, ``area_km2`` (:meth:`geo.data.storage.Store.cell_context`).
    state
        :func:`lighting_state` at the same resolution.
    incidents
        ``cell``, ``night_outdoor`` (count over the period) and, for each crime family, its count
        :func:`geo.lighting.effects.family_column` (``night_outdoor__<family>``; required when
        there are incidents).
    months
        Length of the period (months), to express incidents per year.
    settled_km2, road_km
        Series indexed by cell; ``road_km`` None or empty when no road layer is loaded.
    demand
        Indexed by cell: ``reports_lighting``, ``reports_other``, ``schools``, ``services``,
        ``destinations`` (counts).
    centres
        :func:`comune_centres`.
    params
        Need parameters.

    Returns
    -------
    pandas.DataFrame
        One row per hexagon that is settled or has light points or incidents, with the lighting
        state, the densities, ``target_points``, ``under_lit``, ``new_needed``, ``points_after``,
        the demand and ``demand_points``, ``night_outdoor`` (period count), ``night_outdoor_year``,
        ``neighbour_night_outdoor_year``, the same three per crime family
        (:func:`geo.lighting.effects.family_column`), ``distance_km``, ``outskirts``. The chosen basis and the
        target are in ``attrs`` (``basis``, ``target``, ``target_source``).
    """
    if months <= 0:
        raise ValueError("Il periodo deve contenere almeno un mese.")
    df = context.set_index("cell")[["pro_com_t", "residents", "area_km2"]].copy()
    df = df.join(state, how="left")
    for col in state.columns:
        df[col] = df[col].fillna(0)
    fam_cols = [family_column(f.key) for f in FAMILIES]
    if not incidents.empty and incidents["night_outdoor"].sum() > 0 and not set(fam_cols) <= set(incidents.columns):
        raise ValueError("Mancano i delitti notturni all'aperto per famiglia di reato (night_outdoor__<famiglia>).")
    inc = incidents.set_index("cell") if not incidents.empty else pd.DataFrame(columns=["night_outdoor", *fam_cols])
    for col in ("night_outdoor", *fam_cols):
        values = inc[col] if col in inc.columns else pd.Series(dtype=float)
        df[col] = values.reindex(df.index).fillna(0).astype(int)
    df["settled_km2"] = settled_km2.reindex(df.index).fillna(0.0)
    has_roads = road_km is not None and len(road_km) > 0 and float(road_km.sum()) > 0
    df["road_km"] = road_km.reindex(df.index).fillna(0.0) if has_roads else 0.0
    for col in ("reports_lighting", "reports_other", "schools", "services", "destinations"):
        df[col] = demand[col].reindex(df.index).fillna(0).astype(int) if col in demand else 0
    keep = (df["settled_km2"] > 0) | (df["lights"] > 0) | (df["night_outdoor"] > 0)
    df = df[keep].copy()
    df.index.name = "cell"

    df["working"] = df["lights"] - df["broken"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["broken_share"] = np.where(df["lights"] > 0, df["broken"] / df["lights"], 0.0)
        df["old_share"] = np.where(df["lights"] > 0, df["old"] / df["lights"], 0.0)
        df["per_km2"] = np.where(df["settled_km2"] > 0, df["lights"] / df["settled_km2"], np.nan)
        df["per_1000_residents"] = np.where(df["residents"] > 0, 1000 * df["lights"] / df["residents"], np.nan)
        df["per_km_road"] = np.where(df["road_km"] > 0, df["lights"] / df["road_km"], np.nan)

    # Outskirts: distance from the comune's centre.
    lat, lon = hexgrid.cell_centers(df.index.to_numpy())
    c_lat = df["pro_com_t"].map(centres["lat"]).to_numpy(dtype=float)
    c_lon = df["pro_com_t"].map(centres["lon"]).to_numpy(dtype=float)
    df["distance_km"] = haversine_km(lat, lon, c_lat, c_lon)
    df["outskirts"] = np.nan_to_num(df["distance_km"].to_numpy(), nan=0.0) >= params.outskirts_km

    rule = params.rule
    basis = rule.basis if rule.basis != "auto" else ("strade" if has_roads else "residenti")
    if basis == "strade" and not has_roads:
        raise ValueError("La base 'strade' richiede un livello stradale importato (python -m geo import strade …).")
    df["basis_qty"] = {"strade": df["road_km"], "area": df["settled_km2"], "residenti": df["residents"] / 1000.0}[
        basis]
    if rule.target is not None:
        scale, exponent, source = float(rule.target), 1.0, "obiettivo impostato"
    else:
        scale, exponent = reference_target(df)
        source = "centri a parità di " + {"strade": "km di strada", "area": "superficie abitata",
                                          "residenti": "residenti"}[basis]
        if not np.isfinite(scale) or scale <= 0:
            scale, exponent, source = 0.0, 1.0, "nessun centro con punti luce: obiettivo nullo"
    q = df["basis_qty"].to_numpy(dtype=float)
    df["target_points"] = np.where(q > 0, scale * np.power(np.where(q > 0, q, 1.0), exponent), 0.0)
    df["under_lit"] = (df["working"] < rule.underlit_below * df["target_points"]) & (
        df["target_points"] >= rule.min_points)
    gap = np.floor(df["target_points"] - df["lights"] + 0.5)
    df["new_needed"] = np.where(df["under_lit"], np.maximum(gap, 0), 0).astype(int)
    df["points_after"] = np.maximum(df["lights"] + df["new_needed"], 1)

    df["night_outdoor_year"] = df["night_outdoor"] * 12.0 / months
    df["neighbour_night_outdoor_year"] = neighbour_sum(df.index.to_numpy(), df["night_outdoor_year"].to_numpy())
    for fam in FAMILIES:
        year = df[family_column(fam.key)] * 12.0 / months
        df[family_column(fam.key, "year")] = year
        df[family_column(fam.key, "neighbours")] = neighbour_sum(df.index.to_numpy(), year.to_numpy())
    df["demand_points"] = (
        params.w_reports_lighting * df["reports_lighting"] + params.w_reports_other * df["reports_other"]
        + params.w_schools * df["schools"] + params.w_services * df["services"]
        + params.w_destinations * df["destinations"]
    ).astype(float)
    for col in ("lights", "broken", "old", "old_broken", "modern_broken", "working"):
        df[col] = df[col].astype(int)
    df.attrs.update({"basis": basis, "basis_label": BASIS_LABELS[basis], "target_scale": float(scale),
                     "target_exponent": float(exponent), "target_source": source, "months": int(months),
                     "has_roads": has_roads, "underlit_below": rule.underlit_below, "min_points": rule.min_points})
    return df.reset_index()


def demand_counts(
    reports: pd.DataFrame, schools: pd.DataFrame, services: pd.DataFrame, localities: pd.DataFrame, res: int
) -> pd.DataFrame:
    """Demand counts per hexagon at ``res``: open reports of broken or missing lighting
    (``reports_lighting``) and other open reports (``reports_other``), ``schools``, ``services``
    and night ``destinations``."""
    open_ = reports[reports["status"].isin(OPEN_REPORT_STATUS)] if not reports.empty else reports
    parts = [
        point_counts(open_[open_["category"] == "illuminazione_guasta"] if not open_.empty else open_, res,
                     "reports_lighting"),
        point_counts(open_[open_["category"] != "illuminazione_guasta"] if not open_.empty else open_, res,
                     "reports_other"),
        point_counts(schools, res, "schools"),
        point_counts(services, res, "services"),
        point_counts(localities[localities["tipo"].isin(NIGHT_DESTINATIONS)] if not localities.empty else localities,
                     res, "destinations"),
    ]
    out = pd.concat(parts, axis=1).fillna(0).astype(int)
    out.index.name = "cell"
    return out


def months_between(start: date, end: date) -> int:
    """Months from ``start`` to ``end`` inclusive (first days of months)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


# --------------------------------------------------------------------------------------------
# Entry point on a store
# --------------------------------------------------------------------------------------------

def _protected(incidents: pd.DataFrame, protected: bool, role: str | None) -> pd.DataFrame:
    """``incidents_by_cell`` rows with their counts protected for ``role`` (when ``protected``) and
    without the key sums (never published)."""
    if protected:
        incidents = protect_columns(incidents, ("incidents", "night", "night_outdoor"), role)
    return incidents.drop(columns=[c for c in incidents.columns if c.endswith("_key")])


def lighting_need(
    store,
    *,
    res: int,
    comuni: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    categories: Sequence[str] | None = None,
    params: NeedParams | None = None,
    role: str | None = None,
) -> pd.DataFrame:
    """The need table of a territory (see :func:`compute_need`), read from a
    :class:`geo.data.storage.Store`.

    Incidents are the night-time outdoor ones of the period ``start``-``end`` (the whole period
    with data when None) and of ``categories`` (all when None), expressed per year, in total and
    per crime family (one query per family, each with the categories of the family that are in
    ``categories``).

    ``role`` is the viewer: for a role without police clearance every incident count per hexagon
    is its cell-key protected value (:func:`geo.access.disclosure.protect_counts`, the value the
    Mappa shows for the same hexagon and filters), so the plan, its prevented incidents, their
    shares per comune and the frontier derive only from published figures. None: the exact
    counts (library use by a cleared caller; the table's ``attrs["protected"]`` says which).
    """
    params = params or NeedParams()
    comuni = list(comuni) if comuni else None
    period = store.period()
    if period is None:
        start = start or date.today().replace(day=1)
        end = end or start
    else:
        start = start or period[0]
        end = end or period[1]
    months = months_between(start, end)
    context = store.cell_context(res, comuni=comuni)
    context10 = context if res == config.STORE_RES else store.cell_context(config.STORE_RES, comuni=comuni)
    inside = set(context10["cell"].tolist())

    def in_territory(table: str) -> pd.DataFrame:
        # Filter on the cell, not on the comune code: points without a code are kept too.
        rows = store.points(table)
        return rows[rows["cell"].isin(inside)] if not rows.empty else rows

    state = lighting_state(in_territory("lighting"), res)
    protected = role is not None and not can_see_exact(role)
    incidents = _protected(store.incidents_by_cell(res, comuni=comuni, start=start, end=end, categories=categories),
                           protected, role).set_index("cell")
    chosen = set(categories) if categories else None
    for fam in FAMILIES:
        cats = [c for c in fam.categories if chosen is None or c in chosen]
        col = family_column(fam.key)
        if not cats:
            incidents[col] = 0
            continue
        # one query per family: its counts (and cell keys) are the Mappa's for the family's categories
        rows = _protected(store.incidents_by_cell(res, comuni=comuni, start=start, end=end, categories=cats),
                          protected, role).set_index("cell")["night_outdoor"]
        incidents[col] = rows.reindex(incidents.index).fillna(0).astype("int64")
    incidents = incidents.reset_index()
    road = store.road_length_by_cell(res, comuni=comuni, highways=LIT_HIGHWAYS)
    road_km = road.set_index("cell")["road_km"] if not road.empty else None
    demand = demand_counts(
        in_territory("reports"), in_territory("schools"), in_territory("services"), in_territory("localities"), res
    )
    all_comuni = store.comuni()
    centres = comune_centres(store.points("localities"), all_comuni, context)
    out = compute_need(
        context=context, state=state, incidents=incidents, months=months,
        settled_km2=settled_area_km2(context10, res, min_residents=params.settled_min_residents),
        road_km=road_km, demand=demand, centres=centres, params=params,
    )
    # the place of each hexagon ("Marina di Carrara"), for the plan's tables and tooltips
    out["place"] = places.locate(store, out["cell"].to_numpy(), comuni=out["pro_com_t"].to_numpy(dtype=object),
                                 comune_names=dict(zip(all_comuni["pro_com_t"], all_comuni["nome"], strict=True))
                                 )["place"].to_numpy(dtype=object)
    out.attrs["protected"] = protected
    return out
