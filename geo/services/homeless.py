"""Services for people without a home (pact art. 14): who may see and edit them, coverage, hours
without any open service, and areas with signs of marginality far from every service.

Art. 14 of the Massa-Carrara pact commits the Comuni to a census of the services for homeless
people (street meals, canteens, night shelters, showers, wardrobes, listening centres, legal,
psychological and health assistance: :data:`geo.data.schemas.SERVICE_TYPES`), asks for services open
24 hours, and asks the Prefettura and the Comuni to identify priority areas in the capoluogo.

Definitions
-----------
Walking distance
    Network-free: the great-circle (haversine) distance between two points times
    :data:`DETOUR_FACTOR` = 1.3, the ratio between street-network and straight-line distance
    usually measured in towns (circuity 1.2-1.4: Levinson & El-Geneidy 2009, *Regional Science
    and Urban Economics* 39:732; Giacomin & Levinson 2015, *Environment and Planning B*
    42:1040). No street graph is stored, so rivers, railways and hills are not seen: a distance
    is an estimate, right on average, that can be short across a barrier.
Coverage
    From the centre of every *settled* resolution-10 hexagon (at least one estimated resident)
    to the nearest service of each type, any comune (people cross comune borders). A comune's
    figures weigh hexagons by their residents.
Hours without service
    From the ``hours`` of each service (:mod:`geo.services.opening_hours`) in the typical week of a
    month: an hour of a day is *without service* when no service of the type is open at any
    minute of it; covered time is counted to the minute.
Signs of marginality
    Degradation reports of encampments or marginality, squatting and drug dealing or gatherings
    (:data:`MARGINALITY_REPORTS`; not rejected ones) and drug offences
    (:data:`MARGINALITY_INCIDENTS`), per resolution-9 hexagon (about 0.1 km²). A hexagon with at
    least :data:`MIN_SIGNALS` signs farther than ``far_m`` (default :data:`FAR_M`) from every
    service is a *gap*; touching gap hexagons form one priority area.

Who sees what
-------------
Services with ``public = false`` (shelters) are visible only to the roles in
:data:`geo.access.privacy.CLEARED_ROLES` (Prefettura, police forces) and to the Comune whose ISTAT code
they have (:func:`can_see_service`). Everything computed from their *position* (distances, gaps,
the map) uses only the services the viewer may see: distances from many hexagons to a hidden
shelter would give its place away. What does not reveal a position (how many services of each
type a comune has, their opening hours) counts every service. For roles without clearance the drug
offences among the signs are cell-key protected counts (:func:`marginality_incidents`, the values
the Mappa shows), so the gaps and their totals derive only from published figures; marginality
reports of 1-2 in an area are shown as "< 3" (true) and the area's total of signs as the range it
surely lies in. Nothing is labelled with a value it does not have.

Census maintenance
------------------
:func:`add_service`, :func:`edit_service` and :func:`close_service` check
:func:`can_manage_services` themselves (the page's hidden buttons are not the protection):
the Prefettura manages every comune, a Comune only its own ISTAT codes, nobody else. The
comune of a service is the one its position falls in. Every change is appended to the
``service_changes`` log with the state before and after; closing removes the service from the
census (its last state stays in the log).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import folium
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo import config
from geo.access import audit
from geo.access.disclosure import PROTECTED_NOTE, protect_columns
from geo.access.permissions import User, allows
from geo.access.privacy import (
    CLEARED_ROLES,
    COUNT_LABEL,
    can_see_exact,
    format_decimal,
    format_int,
    suppressed_mask,
)
from geo.data import hexgrid
from geo.data.schemas import SERVICE_TYPES
from geo.data.storage import Store
from geo.maps import layers as maps
from geo.overview.metrics import neutralise_formula
from geo.services.opening_hours import (
    DAY_LABELS,
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    OpeningHoursError,
    parse_opening_hours,
)

#: Street-network distance / straight-line distance (see the module notes for the sources).
DETOUR_FACTOR = 1.3
#: Walking speed, metres per minute (4.8 km/h, a usual planning value for adults; slower for
#: people carrying belongings or in poor health).
WALK_M_PER_MIN = 80.0
#: Default "near" threshold for the coverage shares (about 12 minutes on foot).
NEAR_M = 1000.0
#: Default distance beyond which an area with signs of marginality is a gap (about 19 minutes).
FAR_M = 1500.0
#: Walking-distance classes of the coverage map, metres (upper bounds).
DISTANCE_BANDS: tuple[float, ...] = (300.0, 600.0, 1000.0, 2000.0)
#: Colours of the classes (ColorBrewer YlOrRd, sequential, readable with colour-vision deficiencies).
DISTANCE_COLORS: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_SERVICE_COLOR = "#9e9e9e"
#: Residents an hexagon needs to count as settled.
MIN_RESIDENTS = 1.0
#: Report categories that signal marginality.
MARGINALITY_REPORTS: tuple[str, ...] = ("bivacco_marginalita", "occupazione_abusiva", "spaccio_assembramenti")
#: Incident categories that signal marginality (street drug dealing and use).
MARGINALITY_INCIDENTS: tuple[str, ...] = ("stupefacenti",)
#: Hexagon resolution of the gap analysis (resolution 9: about 0.1 km², 174 m edge).
GAP_RES = 9
#: Signs an hexagon needs to be considered (equal to the publication threshold of counts).
MIN_SIGNALS = config.SUPPRESSION_THRESHOLD
#: Pseudo type for "any service".
ANY = "tutti"
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean Earth radius
SERVICE_SOURCE = "Censimento dei servizi (Lanterna)"


# --------------------------------------------------------------------------------------------
# Roles: who sees and who manages a service
# --------------------------------------------------------------------------------------------

class ServicePermissionError(PermissionError):
    """An action the role may not do; the message is Italian."""


class ServiceValidationError(ValueError):
    """A service record with invalid fields; ``errors`` lists Italian messages."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def _codes(user_comuni: Iterable[str] | str | None) -> frozenset[str]:
    if user_comuni is None:
        return frozenset()
    if isinstance(user_comuni, str):
        user_comuni = [user_comuni]
    return frozenset(str(c).zfill(6) for c in user_comuni)


def can_manage_services(role: str | None, user_comuni: Iterable[str] | None, pro_com_t: str | None) -> bool:
    """May ``role`` add, edit or close a service of comune ``pro_com_t``?

    The Prefettura manages every comune; a Comune only the ISTAT codes it is bound to
    (``user_comuni``); police forces, Regione and observers do not manage the census.
    """
    if role == "comune" and not pro_com_t:
        return False
    # the one matrix of geo.access.permissions ("manage_services": Prefettura everywhere, Comune its own)
    return allows(User(username="", role=role or "", comuni=tuple(_codes(user_comuni))), "manage_services",
                  pro_com_t=pro_com_t)


def _actor(role: str | None, user_comuni: Iterable[str] | None, user_name: str | None) -> User:
    """Who changes the census, for the audit log."""
    return User(username=user_name or f"({role or 'sconosciuto'})", role=role or "",
                comuni=tuple(sorted(_codes(user_comuni))))


def manageable_comuni(role: str | None, user_comuni: Iterable[str] | None, comuni: Iterable[str]) -> list[str]:
    """The comuni (of ``comuni``) whose services ``role`` may manage."""
    return [c for c in comuni if can_manage_services(role, user_comuni, c)]


def can_see_service(role: str | None, user_comuni: Iterable[str] | None, pro_com_t: str | None,
                    public: bool | None) -> bool:
    """May ``role`` see where a service is? Public ones (``public`` true or unknown): everybody;
    others: cleared roles (Prefettura, police forces) and the Comune of the service."""
    if public is None or (not isinstance(public, bool | np.bool_) and pd.isna(public)) or bool(public):
        return True
    if role in CLEARED_ROLES:
        return True
    return role == "comune" and pro_com_t is not None and str(pro_com_t).zfill(6) in _codes(user_comuni)


def visible_services(services: pd.DataFrame, role: str | None, user_comuni: Iterable[str] | None) -> pd.DataFrame:
    """The rows of ``services`` whose position ``role`` may see (same index)."""
    if services.empty:
        return services
    keep = [can_see_service(role, user_comuni, c, p) for c, p in zip(services["pro_com_t"], services["public"],
                                                                      strict=True)]
    return services[np.asarray(keep, dtype=bool)]


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------

def haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between points in WGS84 degrees (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _local_xy(lat: np.ndarray, lon: np.ndarray, lat0: float) -> np.ndarray:
    """Equirectangular metres around ``lat0`` (< 0.5 % error across a province): KD-tree only."""
    k = math.pi / 180 * EARTH_RADIUS_M
    return np.column_stack([np.asarray(lon, float) * k * math.cos(math.radians(lat0)), np.asarray(lat, float) * k])


def nearest(lat: np.ndarray, lon: np.ndarray, target_lat: np.ndarray, target_lon: np.ndarray, *,
            detour: float = DETOUR_FACTOR) -> tuple[np.ndarray, np.ndarray]:
    """Walking distance (m) from each point to the nearest target, and the target's position.

    The three nearest targets on a local plane are candidates; the exact haversine distance picks
    among them, so the result does not depend on the projection. No target: ``inf`` and -1.
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    target_lat = np.asarray(target_lat, dtype=float)
    target_lon = np.asarray(target_lon, dtype=float)
    if target_lat.size == 0 or lat.size == 0:
        return np.full(lat.size, np.inf), np.full(lat.size, -1, dtype=np.int64)
    lat0 = float(np.mean(np.concatenate([lat, target_lat])))
    tree = cKDTree(_local_xy(target_lat, target_lon, lat0))
    k = min(3, target_lat.size)
    _, idx = tree.query(_local_xy(lat, lon, lat0), k=k)
    idx = np.asarray(idx).reshape(lat.size, k)
    d = haversine_m(lat[:, None], lon[:, None], target_lat[idx], target_lon[idx])
    best = np.argmin(d, axis=1)
    rows = np.arange(lat.size)
    return d[rows, best] * detour, idx[rows, best].astype(np.int64)


def _has_type(types: object, service_type: str) -> bool:
    if types is None or (pd.api.types.is_scalar(types) and pd.isna(types)):
        return False
    return service_type in [str(t) for t in types]


def settled_cells(context: pd.DataFrame, *, min_residents: float = MIN_RESIDENTS) -> pd.DataFrame:
    """Settled hexagons of a :meth:`geo.data.storage.Store.cell_context` frame, with centre ``lat``/``lon``."""
    out = context[context["residents"] >= min_residents][["cell", "pro_com_t", "residents"]].copy()
    lat, lon = hexgrid.cell_centers(out["cell"].to_numpy())
    out["lat"] = lat
    out["lon"] = lon
    return out.reset_index(drop=True)


def coverage_distances(cells: pd.DataFrame, services: pd.DataFrame, *, detour: float = DETOUR_FACTOR,
                       types: Sequence[str] = tuple(SERVICE_TYPES)) -> pd.DataFrame:
    """Walking distance from each hexagon centre to the nearest service, overall and per type.

    Parameters
    ----------
    cells
        ``cell``, ``lat``, ``lon`` (and any other columns, kept), e.g. :func:`settled_cells`.
    services
        The services to consider (``service_id``, ``name``, ``types``, ``lat``, ``lon``).
    detour
        Network/straight-line factor (:data:`DETOUR_FACTOR`).
    types
        Service types to measure.

    Returns
    -------
    pandas.DataFrame
        ``cells`` plus ``dist_tutti`` (m, nearest service of any type), ``nearest_tutti`` (its
        ``service_id``), ``name_tutti`` (its name), and ``dist_<type>``/``name_<type>`` for every
        type; distance ``inf`` and name None when no service (of the type) exists.
    """
    out = cells.copy()
    lat, lon = out["lat"].to_numpy(), out["lon"].to_numpy()
    d, idx = nearest(lat, lon, services["lat"].to_numpy() if len(services) else [],
                     services["lon"].to_numpy() if len(services) else [], detour=detour)
    out[f"dist_{ANY}"] = d
    ids = services["service_id"].to_numpy() if len(services) else np.array([], dtype=object)
    names = services["name"].to_numpy() if len(services) else np.array([], dtype=object)
    out[f"nearest_{ANY}"] = [ids[i] if i >= 0 else None for i in idx]
    out[f"name_{ANY}"] = [names[i] if i >= 0 else None for i in idx]
    for t in types:
        sub = services[[_has_type(v, t) for v in services["types"]]] if len(services) else services
        dt, it = nearest(lat, lon, sub["lat"].to_numpy() if len(sub) else [],
                         sub["lon"].to_numpy() if len(sub) else [], detour=detour)
        sub_names = sub["name"].to_numpy() if len(sub) else np.array([], dtype=object)
        out[f"dist_{t}"] = dt
        out[f"name_{t}"] = [sub_names[i] if i >= 0 else None for i in it]
    return out


def map_cells(distances: pd.DataFrame, *, service_type: str = ANY, res: int = config.STORE_RES) -> pd.DataFrame:
    """Hexagons to draw for one type at ``res`` (10, or coarser to keep the map light).

    Returns
    -------
    pandas.DataFrame
        ``cell`` (at ``res``), ``pro_com_t``, ``residents``, ``dist`` (m: at resolution 10 the
        hexagon's own; coarser, the residents-weighted mean of its settled children, ``inf``
        when no service of the type exists) and ``nearest_name`` (name of the nearest service
        of the type; at coarser resolutions None).
    """
    col = f"dist_{service_type}"
    frame = distances[["cell", "pro_com_t", "residents", col, f"name_{service_type}"]].rename(
        columns={col: "dist", f"name_{service_type}": "nearest_name"})
    if res == config.STORE_RES or frame.empty:
        return frame.reset_index(drop=True)
    frame = frame.assign(parent=hexgrid.cell_to_parent(frame["cell"].to_numpy(), res))
    finite = np.isfinite(frame["dist"].to_numpy(float))
    frame = frame.assign(wd=np.where(finite, frame["dist"] * frame["residents"], 0.0))
    out = frame.groupby("parent").agg(
        pro_com_t=("pro_com_t", lambda s: s.mode().iloc[0]), residents=("residents", "sum"), wd=("wd", "sum"),
        any_finite=("dist", lambda s: bool(np.isfinite(s.to_numpy(float)).any())),
    ).reset_index().rename(columns={"parent": "cell"})
    out["dist"] = np.where(out["any_finite"], out["wd"] / out["residents"].where(out["residents"] > 0), np.inf)
    out["nearest_name"] = None
    return out[["cell", "pro_com_t", "residents", "dist", "nearest_name"]]


def distance_class(dist_m: np.ndarray | pd.Series) -> np.ndarray:
    """Class code of each distance in :data:`DISTANCE_BANDS` (0 nearest); -1 when no service."""
    d = np.asarray(dist_m, dtype=float)
    codes = np.searchsorted(np.asarray(DISTANCE_BANDS), d, side="left").astype(np.int64)
    codes[~np.isfinite(d)] = -1
    return codes


def distance_labels() -> list[str]:
    """Italian labels of the distance classes."""
    bands = [0.0, *DISTANCE_BANDS]
    labels = [f"fino a {format_int(bands[1])} m"]
    labels += [f"{format_int(a)}–{format_int(b)} m" for a, b in itertools.pairwise(bands[1:])]
    labels.append(f"oltre {format_int(bands[-1])} m")
    return labels


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if values.size == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2, side="left")])


def services_by_comune(services: pd.DataFrame, comuni: pd.DataFrame, *, month: int) -> pd.DataFrame:
    """Which types each comune has and lacks (every service counts: existence reveals no place).

    Returns
    -------
    pandas.DataFrame
        One row per comune of ``comuni`` (``pro_com_t``, ``nome``): ``services`` (number),
        ``types_present`` / ``types_missing`` (lists of type codes), ``n_types``, ``open_24h``
        (a service open all the week of ``month``), ``places`` (sum of ``capacity``).
    """
    schedules, _ = service_minutes(services, month=month)
    rows = []
    for code, name in zip(comuni["pro_com_t"], comuni["nome"], strict=True):
        mine = services[services["pro_com_t"] == code] if len(services) else services
        present = sorted({str(t) for types in mine.get("types", []) for t in (types if types is not None else [])},
                         key=list(SERVICE_TYPES).index)
        always = any(schedules[sid].all() for sid in mine.get("service_id", []) if sid in schedules)
        capacity = pd.to_numeric(mine.get("capacity", pd.Series(dtype=float)), errors="coerce").sum()
        rows.append({
            "pro_com_t": code, "nome": name, "services": len(mine), "types_present": present,
            "types_missing": [t for t in SERVICE_TYPES if t not in present], "n_types": len(present),
            "open_24h": bool(always), "places": int(capacity) if capacity else 0,
        })
    return pd.DataFrame(rows)


def coverage_by_comune(distances: pd.DataFrame, by_comune: pd.DataFrame, *, near_m: float = NEAR_M) -> pd.DataFrame:
    """Coverage figures per comune from :func:`coverage_distances` over settled hexagons.

    Parameters
    ----------
    distances
        Output of :func:`coverage_distances` with ``pro_com_t`` and ``residents``.
    by_comune
        Output of :func:`services_by_comune` (every comune appears, even without settled cells).
    near_m
        Walking distance counted as near (m).

    Returns
    -------
    pandas.DataFrame
        ``by_comune`` plus ``residents`` (settled), ``share_near`` (0-1, residents within
        ``near_m`` of a service of any type), ``median_m`` (residents' median walking distance to
        the nearest service), and per type ``near_<type>`` (0-1) and ``median_<type>`` (m).
    """
    out = by_comune.copy()
    types = list(SERVICE_TYPES)
    stats = []
    for code in out["pro_com_t"]:
        sub = distances[distances["pro_com_t"] == code]
        w = sub["residents"].to_numpy(float)
        total = w.sum()
        row = {"pro_com_t": code, "residents": total}
        for key in [ANY, *types]:
            d = sub[f"dist_{key}"].to_numpy(float)
            share = float(w[d <= near_m].sum() / total) if total > 0 else float("nan")
            median = _weighted_median(d, w) if total > 0 else float("nan")
            if key == ANY:
                row["share_near"], row["median_m"] = share, median
            else:
                row[f"near_{key}"], row[f"median_{key}"] = share, median
        stats.append(row)
    return out.merge(pd.DataFrame(stats), on="pro_com_t", how="left")


# --------------------------------------------------------------------------------------------
# Opening hours
# --------------------------------------------------------------------------------------------

def _text(value: object) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return str(value).strip()


def service_minutes(services: pd.DataFrame, *, month: int) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """The typical week of ``month`` of every service whose hours can be read.

    Returns
    -------
    schedules, notes
        ``schedules``: ``service_id`` → boolean (7, 1440) matrix (Monday first). A service with
        empty ``hours`` and ``open_24h`` is always open; with empty ``hours`` otherwise, or with
        hours that do not parse, it is left out. ``notes``: ``service_id``, ``name``, ``note``
        (Italian) for every service left out or whose hours deserve a look.
    """
    schedules: dict[str, np.ndarray] = {}
    notes = []
    for rec in services.to_dict("records"):
        sid, name, hours = rec["service_id"], rec.get("name"), _text(rec.get("hours"))
        flag_24h = rec.get("open_24h")
        flag_24h = bool(flag_24h) if flag_24h is not None and not pd.isna(flag_24h) else False
        if not hours:
            if flag_24h:
                schedules[sid] = np.ones((7, MINUTES_PER_DAY), dtype=bool)
            else:
                notes.append({"service_id": sid, "name": name, "note": "Orari non indicati: escluso dal calcolo."})
            continue
        try:
            parsed = parse_opening_hours(hours)
        except OpeningHoursError as exc:
            notes.append({"service_id": sid, "name": name, "note": f"Orario non leggibile ({exc}): escluso."})
            continue
        week = parsed.minutes(month=month)
        schedules[sid] = week
        notes += [{"service_id": sid, "name": name, "note": n} for n in parsed.notes]
        if flag_24h and not week.all():
            notes.append({"service_id": sid, "name": name,
                          "note": "Indicato «aperto 24 ore» ma l'orario non copre tutta la settimana: "
                                  "vale l'orario."})
    return schedules, pd.DataFrame(notes, columns=["service_id", "name", "note"])


def _services_of(services: pd.DataFrame, service_type: str) -> pd.DataFrame:
    if service_type == ANY or services.empty:
        return services
    return services[[_has_type(v, service_type) for v in services["types"]]]


def _open_counts(services: pd.DataFrame, schedules: Mapping[str, np.ndarray], service_type: str) -> np.ndarray:
    """Number of services of the type open at each minute of the week: (7, 1440) integers."""
    counts = np.zeros((7, MINUTES_PER_DAY), dtype=np.int64)
    for sid in _services_of(services, service_type)["service_id"]:
        if sid in schedules:
            counts += schedules[sid]
    return counts


def hours_chart_data(services: pd.DataFrame, *, month: int, service_type: str = ANY) -> pd.DataFrame:
    """Data of the hours x days chart for one type (or :data:`ANY`).

    Returns
    -------
    pandas.DataFrame
        168 rows, Monday 0:00 first: ``day`` (0 = Monday), ``giorno`` (Italian label), ``hour``
        (0-23), ``open_services`` (services of the type open at some minute of that hour),
        ``open_minutes`` (minutes of the hour with at least one open, 0-60), ``no_service``
        (True when ``open_minutes`` is 0).
    """
    schedules, _ = service_minutes(services, month=month)
    counts = _open_counts(services, schedules, service_type)
    sched = _services_of(services, service_type)
    per_hour_services = np.zeros((7, 24), dtype=np.int64)
    for sid in sched["service_id"]:
        if sid in schedules:
            per_hour_services += schedules[sid].reshape(7, 24, 60).any(axis=2)
    open_minutes = (counts > 0).reshape(7, 24, 60).sum(axis=2)
    day, hour = np.divmod(np.arange(7 * 24), 24)
    return pd.DataFrame({
        "day": day, "giorno": [DAY_LABELS[d] for d in day], "hour": hour,
        "open_services": per_hour_services.ravel(), "open_minutes": open_minutes.ravel(),
        "no_service": open_minutes.ravel() == 0,
    })


def _longest_gap_minutes(covered: np.ndarray) -> int:
    """Longest run of uncovered minutes in a weekly (7, 1440) matrix, wrapping Sunday → Monday."""
    flat = np.asarray(covered, dtype=bool).ravel()
    if flat.all():
        return 0
    if not flat.any():
        return flat.size
    start = int(np.argmax(flat))  # rotate so the week starts on a covered minute
    rolled = np.roll(flat, -start)
    best = run = 0
    for value in rolled:
        run = 0 if value else run + 1
        best = max(best, run)
    return best


def hours_summary(services: pd.DataFrame, *, month: int) -> pd.DataFrame:
    """Per type (and :data:`ANY`): how much of the typical week of ``month`` some service is open.

    Returns
    -------
    pandas.DataFrame
        ``type``, ``label``, ``services`` (with readable hours), ``hours_open`` (hours of the week
        with at least one service open, to the minute), ``hours_without`` (168 - ``hours_open``),
        ``empty_slots`` (hours of the day x days with no service at any minute), ``always_open``
        (24 h, 7 days: what art. 14 asks), ``longest_gap_h`` (longest stretch without service,
        hours, across midnight and the week's end), ``nights_covered`` (nights of the week with a
        service open at every minute 22:00-06:00).
    """
    schedules, _ = service_minutes(services, month=month)
    rows = []
    for key in [ANY, *SERVICE_TYPES]:
        counts = _open_counts(services, schedules, key)
        covered = counts > 0
        minutes = int(covered.sum())
        slots = int((~covered.reshape(7, 24, 60).any(axis=2)).sum())
        night = np.concatenate([covered[:, 22 * 60:], np.roll(covered[:, :6 * 60], -1, axis=0)], axis=1)
        rows.append({
            "type": key, "label": "Tutti i servizi" if key == ANY else SERVICE_TYPES[key],
            "services": int(sum(1 for s in _services_of(services, key)["service_id"] if s in schedules)),
            "hours_open": minutes / 60, "hours_without": (MINUTES_PER_WEEK - minutes) / 60, "empty_slots": slots,
            "always_open": minutes == MINUTES_PER_WEEK, "longest_gap_h": _longest_gap_minutes(covered) / 60,
            "nights_covered": int(night.all(axis=1).sum()),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Signs of marginality and gaps
# --------------------------------------------------------------------------------------------

def marginality_incidents(store, *, start: date | None = None, end: date | None = None,
                           role: str | None = None) -> pd.DataFrame:
    """Incidents of :data:`MARGINALITY_INCIDENTS` per hexagon at :data:`GAP_RES` in the period
    (``cell``, ``incidents``, ordered by cell), for :func:`marginality_signals`. For a role without police clearance
    each count is its cell-key protected value (:func:`geo.access.disclosure.protect_counts`: the
    value the Mappa shows for the same hexagon, period and categories), so the priority areas and
    their totals derive only from published figures. None: exact counts."""
    incidents = store.incidents_by_cell(GAP_RES, categories=list(MARGINALITY_INCIDENTS), start=start, end=end)
    if role is not None and not can_see_exact(role):
        incidents = protect_columns(incidents, ("incidents",), role)
    return incidents[["cell", "incidents"]].sort_values("cell", ignore_index=True)  # the store's order is not fixed


def marginality_signals(reports: pd.DataFrame, incidents: pd.DataFrame, *, res: int = GAP_RES,
                        start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """Signs of marginality per hexagon at ``res``.

    Parameters
    ----------
    reports
        Degradation reports (``cell`` at resolution 10, ``category``, ``status``, ``opened``).
        Only :data:`MARGINALITY_REPORTS` count, rejected ones (``respinta``) do not; ``start``
        and ``end`` (inclusive) limit the opening date.
    incidents
        ``cell`` (at ``res``) and ``incidents``: counts of :data:`MARGINALITY_INCIDENTS` in the
        period, e.g. ``Store.incidents_by_cell(res, categories=MARGINALITY_INCIDENTS, ...)``.

    Returns
    -------
    pandas.DataFrame
        ``cell``, ``reports``, ``incidents``, ``signals`` (their sum); hexagons without signs are
        absent.
    """
    rep = reports[reports["category"].isin(MARGINALITY_REPORTS) & (reports["status"] != "respinta")]
    if start is not None:
        rep = rep[pd.to_datetime(rep["opened"]) >= pd.Timestamp(start)]
    if end is not None:
        rep = rep[pd.to_datetime(rep["opened"]) <= pd.Timestamp(end)]
    counts = pd.Series(hexgrid.cell_to_parent(rep["cell"].to_numpy(), res)).value_counts()
    rep_frame = pd.DataFrame({"cell": counts.index.astype("int64"), "reports": counts.to_numpy()})
    inc = incidents[["cell", "incidents"]].copy() if len(incidents) else pd.DataFrame(columns=["cell", "incidents"])
    inc = inc[inc["incidents"] > 0]
    inc["cell"] = inc["cell"].astype("int64")
    out = rep_frame.merge(inc, on="cell", how="outer")
    out["reports"] = out["reports"].fillna(0).astype("int64")
    out["incidents"] = out["incidents"].fillna(0).astype("int64")
    out["signals"] = out["reports"] + out["incidents"]
    return out.sort_values("cell").reset_index(drop=True)


def capoluogo_code(localities: pd.DataFrame, comuni: pd.DataFrame) -> str | None:
    """The capoluogo: the comune of the locality of kind ``capoluogo``, else the most populated."""
    if len(localities) and "tipo" in localities:
        found = localities.loc[localities["tipo"] == "capoluogo", "pro_com_t"].dropna()
        if len(found):
            return str(found.iloc[0])
    if len(comuni):
        return str(comuni.sort_values("residenti", ascending=False)["pro_com_t"].iloc[0])
    return None


@dataclass(frozen=True)
class Gaps:
    """Result of :func:`gap_areas`.

    ``cells``: every hexagon with at least ``min_signals`` signs: ``cell``, ``pro_com_t``,
    ``reports``, ``incidents``, ``signals``, ``dist_m`` (walking, to the nearest visible service),
    ``gap`` and ``area`` (id of its priority area, -1 when not a gap). ``areas``: one row per
    priority area, best first: ``area``, ``rank``, ``pro_com_t``, ``comune``, ``capoluogo``,
    ``place`` (nearest named locality), ``cells``, ``reports``, ``incidents``, ``signals``,
    ``dist_min_m``, ``dist_max_m``, ``lat``, ``lon``.
    """

    cells: pd.DataFrame
    areas: pd.DataFrame
    far_m: float
    min_signals: int


def gap_areas(signals: pd.DataFrame, services: pd.DataFrame, *, comuni: pd.DataFrame,
              localities: pd.DataFrame | None = None, cell_comune: pd.Series | None = None, far_m: float = FAR_M,
              min_signals: int = MIN_SIGNALS, detour: float = DETOUR_FACTOR, capoluogo: str | None = None) -> Gaps:
    """Hexagons with signs of marginality far from every service, grouped into priority areas.

    Parameters
    ----------
    signals
        Output of :func:`marginality_signals`.
    services
        The services the viewer may see (positions matter here).
    comuni
        ``pro_com_t``, ``nome`` (and ``residenti`` to guess the capoluogo).
    localities
        Named places (``nome``, ``lat``, ``lon``) to name the areas.
    cell_comune
        ``pro_com_t`` per hexagon (index: cell), e.g. the mode of ``Store.cell_context(res)``.
    far_m, min_signals, detour
        Gap rule: at least ``min_signals`` signs and more than ``far_m`` metres on foot.
    capoluogo
        ISTAT code of the capoluogo (flags its areas first in the ranking).

    Returns
    -------
    Gaps
        Areas ranked: capoluogo first (art. 14 asks for priority areas there), then by signs,
        then by distance.
    """
    cells = signals[signals["signals"] >= min_signals].copy().reset_index(drop=True)
    lat, lon = hexgrid.cell_centers(cells["cell"].to_numpy())
    cells["lat"], cells["lon"] = lat, lon
    cells["pro_com_t"] = cells["cell"].map(cell_comune) if cell_comune is not None else None
    d, _ = nearest(lat, lon, services["lat"].to_numpy() if len(services) else [],
                   services["lon"].to_numpy() if len(services) else [], detour=detour)
    cells["dist_m"] = d
    cells["gap"] = cells["dist_m"] > far_m
    cells["area"] = -1
    gap_idx = np.flatnonzero(cells["gap"].to_numpy())
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    if capoluogo is None and "residenti" in comuni:
        capoluogo = capoluogo_code(pd.DataFrame(), comuni)
    columns = ["area", "rank", "pro_com_t", "comune", "capoluogo", "place", "cells", "reports", "incidents",
               "signals", "dist_min_m", "dist_max_m", "lat", "lon"]
    if gap_idx.size == 0:
        return Gaps(cells, pd.DataFrame(columns=columns), far_m, min_signals)
    rows, cols = hexgrid.adjacency_pairs(cells["cell"].to_numpy()[gap_idx])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(gap_idx.size, gap_idx.size))
    _, labels = connected_components(graph, directed=False)
    cells.loc[gap_idx, "area"] = labels
    gap = cells.loc[gap_idx]
    agg = gap.groupby("area").agg(
        cells=("cell", "size"), reports=("reports", "sum"), incidents=("incidents", "sum"),
        signals=("signals", "sum"), dist_min_m=("dist_m", "min"), dist_max_m=("dist_m", "max"),
        pro_com_t=("pro_com_t", lambda s: s.mode().iloc[0] if s.notna().any() else None),
    ).reset_index()
    weights = gap["signals"].to_numpy(float)
    centre = gap.assign(wlat=gap["lat"] * weights, wlon=gap["lon"] * weights, w=weights).groupby("area")[
        ["wlat", "wlon", "w"]].sum()
    agg["lat"] = (centre["wlat"] / centre["w"]).to_numpy()
    agg["lon"] = (centre["wlon"] / centre["w"]).to_numpy()
    agg["comune"] = agg["pro_com_t"].map(names)
    agg["capoluogo"] = agg["pro_com_t"] == capoluogo
    agg["place"] = nearest_place(agg["lat"].to_numpy(), agg["lon"].to_numpy(), localities)
    agg = agg.sort_values(["capoluogo", "signals", "dist_min_m"], ascending=[False, False, False], kind="stable")
    agg["rank"] = np.arange(1, len(agg) + 1)
    remap = dict(zip(agg["area"], agg["rank"], strict=True))
    cells["area"] = cells["area"].map(lambda a: remap.get(a, -1))
    agg["area"] = agg["rank"]
    return Gaps(cells, agg[columns].reset_index(drop=True), far_m, min_signals)


#: Locality kinds good for naming an area (not peaks or hotels).
_PLACE_KINDS = ("quartiere", "frazione", "localita", "piazza", "stazione", "parco", "paese", "citta", "capoluogo",
                "sede_comunale", "centro_commerciale", "stadio")


def nearest_place(lat: np.ndarray, lon: np.ndarray, localities: pd.DataFrame | None) -> list[str | None]:
    """Name of the nearest named locality of a useful kind, for each point (None without any)."""
    if localities is None or localities.empty:
        return [None] * len(lat)
    places = localities[localities["tipo"].isin(_PLACE_KINDS) & localities["nome"].notna()]
    if places.empty:
        return [None] * len(lat)
    _, idx = nearest(lat, lon, places["lat"].to_numpy(), places["lon"].to_numpy(), detour=1.0)
    names = places["nome"].to_numpy()
    return [str(names[i]) if i >= 0 else None for i in idx]


# --------------------------------------------------------------------------------------------
# Census maintenance (add / edit / close), with server-side permission checks
# --------------------------------------------------------------------------------------------

_RECORD_FIELDS = ("name", "operator", "types", "hours", "open_24h", "capacity", "public", "lat", "lon")


def validate_service(record: Mapping[str, object], store: Store) -> dict:
    """Check and normalise a service record from a form.

    ``record``: ``name``, ``operator``, ``types`` (codes of :data:`geo.data.schemas.SERVICE_TYPES`),
    ``hours`` (OSM ``opening_hours``; empty allowed only with ``open_24h``), ``open_24h``,
    ``capacity`` (places, optional), ``public`` (the address may be shown to everybody), ``lat``
    and ``lon`` (WGS84). The comune and the hexagon come from the position, which must be inside
    the territory.

    Raises
    ------
    ServiceValidationError
        Listing every problem in Italian.
    """
    errors = []
    name = _text(record.get("name"))
    if not name:
        errors.append("Il nome è obbligatorio.")
    elif len(name) > 200:
        errors.append("Il nome supera 200 caratteri.")
    operator = _text(record.get("operator")) or None
    if operator and len(operator) > 200:
        errors.append("Il gestore supera 200 caratteri.")
    raw_types = record.get("types")
    types = [str(t) for t in (raw_types if raw_types is not None else [])]
    unknown = [t for t in types if t not in SERVICE_TYPES]
    if not types:
        errors.append("Indicare almeno un tipo di servizio.")
    if unknown:
        errors.append(f"Tipi di servizio sconosciuti: {', '.join(unknown)}.")
    types = [t for t in SERVICE_TYPES if t in types]
    open_24h = bool(record.get("open_24h"))
    hours = _text(record.get("hours"))
    if not hours and open_24h:
        hours = "24/7"
    if not hours:
        errors.append("Indicare gli orari (sintassi OpenStreetMap, es. «Mo-Fr 09:00-12:00») o «aperto 24 ore».")
    elif len(hours) > 300:
        errors.append("Gli orari superano 300 caratteri.")
    else:
        try:
            parsed = parse_opening_hours(hours)
        except OpeningHoursError as exc:
            errors.append(f"Orari non validi: {exc}.")
        else:
            if open_24h and not all(parsed.always_open(month=m) for m in range(1, 13)):
                errors.append("«Aperto 24 ore» è indicato ma gli orari non coprono tutta la settimana: "
                              "scrivere «24/7» o togliere l'indicazione.")
    capacity = record.get("capacity")
    if capacity is None or (pd.api.types.is_scalar(capacity) and pd.isna(capacity)) or capacity == "":
        capacity = None
    else:
        try:
            capacity = int(capacity)
        except (TypeError, ValueError):
            errors.append("I posti devono essere un numero intero.")
            capacity = None
        else:
            if not 0 <= capacity <= 10_000:
                errors.append("I posti devono essere tra 0 e 10.000.")
    public = bool(record.get("public", True))
    try:
        lat = float(record.get("lat"))
        lon = float(record.get("lon"))
    except (TypeError, ValueError):
        lat = lon = float("nan")
    pro_com_t = cell = None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        errors.append("Coordinate non valide.")
    else:
        cell = int(hexgrid.points_to_cells(np.array([lat]), np.array([lon]), config.STORE_RES)[0])
        found = store.cell_lookup(np.array([cell])).iloc[0]
        if found is None or pd.isna(found):
            errors.append("La posizione è fuori dal territorio.")
        else:
            pro_com_t = str(found)
    if errors:
        raise ServiceValidationError(errors)
    return {"name": name, "operator": operator, "types": types, "hours": hours, "open_24h": open_24h,
            "capacity": capacity, "public": public, "pro_com_t": pro_com_t, "lat": round(lat, 6),
            "lon": round(lon, 6), "cell": cell}


def _json_state(row: Mapping[str, object] | None) -> str | None:
    if row is None:
        return None
    clean = {}
    for key, value in row.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, list | tuple):
            clean[key] = [str(v) for v in value]
        elif value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            clean[key] = None
        elif isinstance(value, np.generic):
            clean[key] = value.item()
        else:
            clean[key] = value
    return json.dumps(clean, ensure_ascii=False, default=str, sort_keys=True)


def _deny(action: str, pro_com_t: str | None) -> ServicePermissionError:
    where = f" del comune {pro_com_t}" if pro_com_t else ""
    return ServicePermissionError(
        f"Il profilo non può {action} servizi{where}: servono la Prefettura o il Comune stesso."
    )


def add_service(store: Store, record: Mapping[str, object], *, role: str | None,
                user_comuni: Iterable[str] | None = None, user_name: str | None = None) -> str:
    """Add a service to the census after validating it and checking the role; returns its id
    (``SRV-<pro_com_t>-NN``, the next free number of the comune).

    Raises
    ------
    ServiceValidationError, ServicePermissionError
    """
    if role not in ("prefettura", "comune"):
        raise _deny("aggiungere", None)
    clean = validate_service(record, store)
    if not can_manage_services(role, user_comuni, clean["pro_com_t"]):
        raise _deny("aggiungere", clean["pro_com_t"])
    with store.transaction() as cur:
        prefix = f"SRV-{clean['pro_com_t']}-"
        numbers = [int(s[len(prefix):]) for s in store.service_ids(cur, prefix) if s[len(prefix):].isdigit()]
        service_id = f"{prefix}{(max(numbers) if numbers else 0) + 1:02d}"
        row = {**clean, "service_id": service_id, "synthetic": False, "source": SERVICE_SOURCE, "import_id": None}
        store.insert_service(cur, row)
        store.log_service_change(cur, service_id=service_id, action="aggiunto", role=role, user_name=user_name,
                                 pro_com_t=clean["pro_com_t"], reason=None, before_json=None,
                                 after_json=_json_state(row))
        audit.record(store, cur, _actor(role, user_comuni, user_name), action="aggiunto", table="services",
                     key=service_id, pro_com_t=clean["pro_com_t"], after=row)
    return service_id


def edit_service(store: Store, service_id: str, record: Mapping[str, object], *, role: str | None,
                 user_comuni: Iterable[str] | None = None, user_name: str | None = None) -> dict:
    """Change a service (every field of :func:`validate_service`); the role must manage both its
    current comune and the comune of the new position. Returns the new row.

    Raises
    ------
    KeyError, ServiceValidationError, ServicePermissionError
    """
    if role not in ("prefettura", "comune"):
        raise _deny("modificare", None)
    before = store.service(service_id)
    if before is None:
        raise KeyError(f"Servizio {service_id} non trovato.")
    if not can_manage_services(role, user_comuni, before["pro_com_t"]):
        raise _deny("modificare", before["pro_com_t"])
    clean = validate_service(record, store)
    if not can_manage_services(role, user_comuni, clean["pro_com_t"]):
        raise _deny("spostare in questo comune", clean["pro_com_t"])
    row = {**before, **clean, "service_id": service_id}
    with store.transaction() as cur:
        if store.update_service(cur, row) != 1:
            raise KeyError(f"Servizio {service_id} non trovato.")
        store.log_service_change(cur, service_id=service_id, action="modificato", role=role, user_name=user_name,
                                 pro_com_t=clean["pro_com_t"], reason=None, before_json=_json_state(before),
                                 after_json=_json_state(row))
        audit.record(store, cur, _actor(role, user_comuni, user_name), action="modificato", table="services",
                     key=service_id, pro_com_t=clean["pro_com_t"], before=before, after=row)
    return row


def close_service(store: Store, service_id: str, *, role: str | None, user_comuni: Iterable[str] | None = None,
                  reason: str, user_name: str | None = None) -> None:
    """Close a service: it leaves the census, its last state and the reason stay in the log.

    Raises
    ------
    KeyError, ValueError (no reason), ServicePermissionError
    """
    if role not in ("prefettura", "comune"):
        raise _deny("chiudere", None)
    before = store.service(service_id)
    if before is None:
        raise KeyError(f"Servizio {service_id} non trovato.")
    if not can_manage_services(role, user_comuni, before["pro_com_t"]):
        raise _deny("chiudere", before["pro_com_t"])
    reason = _text(reason)
    if not reason:
        raise ServiceValidationError(["Indicare il motivo della chiusura."])
    with store.transaction() as cur:
        if store.delete_service(cur, service_id) != 1:
            raise KeyError(f"Servizio {service_id} non trovato.")
        store.log_service_change(cur, service_id=service_id, action="chiuso", role=role, user_name=user_name,
                                 pro_com_t=before["pro_com_t"], reason=reason[:500], before_json=_json_state(before),
                                 after_json=None)
        audit.record(store, cur, _actor(role, user_comuni, user_name), action="chiuso", table="services",
                     key=service_id, pro_com_t=before["pro_com_t"], before=before, after={"motivo": reason[:500]})


def services_version(services: pd.DataFrame) -> str:
    """A fingerprint of the census (changes with any add, edit or close), for cache keys."""
    if services.empty:
        return "0"
    cols = [c for c in ("service_id", *_RECORD_FIELDS, "pro_com_t") if c in services]
    text = services.sort_values("service_id")[cols].astype(str).to_csv(index=False)
    return f"{len(services)}-{hashlib.sha1(text.encode('utf-8'), usedforsecurity=False).hexdigest()[:16]}"


# --------------------------------------------------------------------------------------------
# Display and exports
# --------------------------------------------------------------------------------------------

def types_label(types: object) -> str:
    """Italian labels of a list of type codes."""
    if types is None or (pd.api.types.is_scalar(types) and pd.isna(types)):
        return ""
    return ", ".join(SERVICE_TYPES.get(str(t), str(t)) for t in types)


def census_table(services: pd.DataFrame, comuni: pd.DataFrame, notes: pd.DataFrame) -> pd.DataFrame:
    """The census as the page shows it (services already filtered for the viewer), Italian headers."""
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    by_service = notes.groupby("service_id")["note"].apply(" ".join) if len(notes) else pd.Series(dtype=object)
    rows = []
    for rec in services.sort_values(["pro_com_t", "service_id"]).to_dict("records"):
        capacity = rec.get("capacity")
        rows.append({
            "Codice": rec["service_id"], "Nome": rec["name"], "Comune": names.get(rec["pro_com_t"], rec["pro_com_t"]),
            "Tipi di servizio": types_label(rec.get("types")), "Orari (OSM)": _text(rec.get("hours")),
            "Aperto 24 ore": "sì" if rec.get("open_24h") is True else "no",
            "Posti": None if capacity is None or pd.isna(capacity) else int(capacity),
            "Gestore": _text(rec.get("operator")),
            "Indirizzo pubblico": "no (riservato)" if rec.get("public") is False else "sì",
            "Note sugli orari": by_service.get(rec["service_id"], ""),
        })
    return pd.DataFrame(rows, columns=["Codice", "Nome", "Comune", "Tipi di servizio", "Orari (OSM)",
                                       "Aperto 24 ore", "Posti", "Gestore", "Indirizzo pubblico", "Note sugli orari"])


def coverage_table(coverage: pd.DataFrame, *, near_m: float = NEAR_M) -> pd.DataFrame:
    """Per-comune coverage with Italian headers (no incident counts: no suppression needed)."""
    return pd.DataFrame({
        "Comune": coverage["nome"],
        "Residenti (stima)": coverage["residents"].round().astype("Int64"),
        "Servizi censiti": coverage["services"],
        "Tipi presenti (su 9)": coverage["n_types"],
        "Tipi mancanti": [", ".join(SERVICE_TYPES[t] for t in m) or "nessuno" for m in coverage["types_missing"]],
        "Servizio aperto 24 ore": ["sì" if v else "no" for v in coverage["open_24h"]],
        f"Residenti entro {format_int(near_m)} m da un servizio (%)": (coverage["share_near"] * 100).round(1),
        "Distanza mediana a piedi dal servizio più vicino (m)": coverage["median_m"].replace(np.inf, np.nan).round(),
    })


def _small_reports(areas: pd.DataFrame, role: str | None) -> np.ndarray:
    """True where an area's report count is 1-2 for ``role`` (shown as "< 3": a true label)."""
    return suppressed_mask(areas["reports"], role) if len(areas) else np.zeros(0, dtype=bool)


def _check_protected(areas: pd.DataFrame, role: str | None) -> None:
    """Incidents reach a role without clearance only as cell-key protected counts
    (:func:`marginality_incidents` with its role): sums of protected hexagon counts, never 1-2."""
    if not can_see_exact(role) and len(areas) and suppressed_mask(areas["incidents"], role).any():
        raise ValueError("conteggi di delitti non protetti per un profilo senza abilitazione: "
                         "calcolarli con marginality_incidents(..., role=ruolo)")


def gap_display(gaps: Gaps, role: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Priority areas as the role may see them: (Italian table, mask of the values given as a range).

    Drug offences are the protected counts of :func:`marginality_incidents` (never 1-2 for a role
    without clearance) and are shown as they are. Reports of 1-2 are shown as "< 3" (true: the
    count is 1 or 2) and the total of the signs as the range it then has for sure ("da 6 a 7"),
    so it does not give the reports back and says nothing untrue. Cleared roles see exact figures.
    """
    areas = gaps.areas
    _check_protected(areas, role)
    small = _small_reports(areas, role)
    mask = pd.DataFrame({"reports": small, "incidents": np.zeros(len(areas), dtype=bool), "signals": small},
                        index=areas.index)
    reports = [COUNT_LABEL if h else format_int(v) for h, v in zip(small, areas["reports"], strict=True)]
    signals = [f"da {format_int(i + 1)} a {format_int(i + config.SUPPRESSION_THRESHOLD - 1)}" if h else format_int(v)
               for h, i, v in zip(small, areas["incidents"], areas["signals"], strict=True)]
    table = pd.DataFrame({
        "Priorità": areas["rank"].astype(int),
        "Comune": areas["comune"],
        "Capoluogo": ["sì" if v else "no" for v in areas["capoluogo"]],
        "Località più vicina": areas["place"].fillna("–"),
        "Esagoni (ris. 9)": areas["cells"].astype(int),
        "Segnalazioni di marginalità": reports,
        "Delitti in materia di stupefacenti": [format_int(v) for v in areas["incidents"]],
        "Segnali in totale": signals,
        "Distanza a piedi dal servizio più vicino (m)": [
            "nessun servizio" if not math.isfinite(v) else format_int(v) for v in areas["dist_min_m"]],
    })
    return table, mask


def _csv_bytes(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.map(neutralise_formula).to_csv(buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL,
                                        lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


def table_csv(table: pd.DataFrame) -> bytes:
    """A display table as CSV for Italian spreadsheets: UTF-8 with BOM, ``;``, formulas neutralised."""
    text = table.copy()
    for col in text.columns:
        if pd.api.types.is_float_dtype(text[col]):
            text[col] = [format_decimal(v, 1) if pd.notna(v) else "" for v in text[col]]
    return _csv_bytes(text.astype(object).where(text.notna(), ""))


def services_geojson(services: pd.DataFrame, comuni: pd.DataFrame) -> bytes:
    """Visible services as GeoJSON points (UTF-8): the caller passes only what the role may see."""
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    features = []
    for rec in services.to_dict("records"):
        capacity = rec.get("capacity")
        features.append({
            "type": "Feature",
            "properties": {
                "codice": rec["service_id"], "nome": rec["name"], "gestore": _text(rec.get("operator")) or None,
                "tipi": [str(t) for t in (rec.get("types") if rec.get("types") is not None else [])],
                "orari": _text(rec.get("hours")) or None, "aperto_24h": bool(rec.get("open_24h")),
                "posti": None if capacity is None or pd.isna(capacity) else int(capacity),
                "indirizzo_pubblico": rec.get("public") is not False, "pro_com_t": rec["pro_com_t"],
                "comune": names.get(rec["pro_com_t"]),
            },
            "geometry": {"type": "Point", "coordinates": [round(float(rec["lon"]), 6), round(float(rec["lat"]), 6)]},
        })
    return json.dumps({"type": "FeatureCollection", "name": "lanterna_servizi_senza_dimora", "features": features},
                      ensure_ascii=False).encode("utf-8")


def gaps_geojson(gaps: Gaps, role: str | None) -> bytes:
    """Priority areas as GeoJSON polygons (union of their hexagons). A report count of 1-2 (for a
    role without clearance) is ``null`` with ``segnalazioni_intervallo`` [1, 2] and the total of the
    signs ``null`` with ``segnali_intervallo``: the ranges they surely lie in (:func:`gap_display`)."""
    _, mask = gap_display(gaps, role)
    t = config.SUPPRESSION_THRESHOLD
    features = []
    for (_, area), hidden in zip(gaps.areas.iterrows(), mask.to_dict("records"), strict=True):
        cells = gaps.cells.loc[gaps.cells["area"] == area["area"], "cell"].to_numpy()
        geom = shapely.union_all(hexgrid.cells_to_polygons(cells))
        props = {
            "priorita": int(area["rank"]), "comune": area["comune"], "capoluogo": bool(area["capoluogo"]),
            "localita": area["place"], "esagoni": int(area["cells"]),
            "segnalazioni": None if hidden["reports"] else int(area["reports"]),
            "delitti_stupefacenti": int(area["incidents"]),
            "segnali": None if hidden["signals"] else int(area["signals"]),
            "distanza_servizio_m": round(float(area["dist_min_m"])) if math.isfinite(area["dist_min_m"]) else None,
        }
        if hidden["reports"]:
            inc = int(area["incidents"])
            props |= {"segnalazioni_intervallo": [1, t - 1], "segnali_intervallo": [inc + 1, inc + t - 1]}
        features.append({"type": "Feature", "properties": props,
                         "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6)))})
    note = "Valori esatti (profilo autorizzato)" if can_see_exact(role) else (
        f"{PROTECTED_NOTE} Segnalazioni da 1 a {t - 1}: indicate come intervallo.")
    return json.dumps({"type": "FeatureCollection", "name": "lanterna_aree_prioritarie_marginalita",
                       "lanterna": {"riservatezza": note, "distanza_oltre_m": gaps.far_m}, "features": features},
                      ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------------------------

def _service_features(services: pd.DataFrame, comuni_names: Mapping[str, str]) -> dict:
    features = []
    for rec in services.to_dict("records"):
        capacity = rec.get("capacity")
        values = [types_label(rec.get("types")), rec.get("operator"), rec.get("hours"),
                  "" if capacity is None or pd.isna(capacity) else int(capacity),
                  comuni_names.get(rec["pro_com_t"], rec["pro_com_t"]),
                  "riservato (visibile al profilo)" if rec.get("public") is False else "pubblico"]
        features.append({
            "type": "Feature",
            "properties": {"n": _esc(rec.get("name")), "v": [_esc(v) for v in values]},
            "geometry": {"type": "Point", "coordinates": [round(float(rec["lon"]), 5), round(float(rec["lat"]), 5)]},
        })
    return {"type": "FeatureCollection", "features": features}


def _esc(value: object) -> str:
    """User text for HTML: escaped; missing values as an empty string."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def _ring(cell: int) -> list[list[float]]:
    poly = hexgrid.cells_to_polygons([cell])[0]
    return [[round(x, 5), round(y, 5)] for x, y in poly.exterior.coords]


def bounds_of(lons: Sequence[float], lats: Sequence[float]) -> list[list[float]] | None:
    """Leaflet bounds ``[[south, west], [north, east]]`` of points, None without any."""
    if len(lons) == 0:
        return None
    return [[float(np.min(lats)), float(np.min(lons))], [float(np.max(lats)), float(np.max(lons))]]


def coverage_map(
    cells: pd.DataFrame,
    *,
    service_type: str,
    services: pd.DataFrame,
    gaps: Gaps | None,
    role: str | None,
    comuni: pd.DataFrame | None = None,
    tiles: str = "osm",
    assets_url: str | None = None,
) -> folium.Map:
    """Settled hexagons coloured by walking distance to the nearest service of ``service_type``,
    the visible services, and the priority areas outlined in red.

    ``cells``: ``cell``, ``comune``, ``residents``, ``dist`` (m) and ``nearest_name`` (may be
    None); every text is HTML-escaped; signs of marginality appear only as area totals,
    suppressed for ``role`` like incident counts.
    """
    m = maps.base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)
    codes = distance_class(cells["dist"].to_numpy())
    features = []
    for cell, code, comune, residents, dist, near in zip(cells["cell"], codes, cells["comune"], cells["residents"],
                                                         cells["dist"], cells["nearest_name"], strict=True):
        dist_text = "nessun servizio" if not math.isfinite(dist) else (
            f"{format_int(dist)} m (~{format_int(dist / WALK_M_PER_MIN)} min)")
        features.append({"type": "Feature",
                         "properties": {"k": int(code), "t": [_esc(comune), dist_text,
                                                              format_int(residents), _esc(near)]},
                         "geometry": {"type": "Polygon", "coordinates": [_ring(int(cell))]}})
    lats, lons = hexgrid.cell_centers(cells["cell"].to_numpy())
    bounds = bounds_of(lons, lats)
    label = "qualsiasi servizio" if service_type == ANY else SERVICE_TYPES[service_type].lower()
    colors = dict(enumerate(DISTANCE_COLORS)) | {-1: NO_SERVICE_COLOR}
    maps.HexLayer({"type": "FeatureCollection", "features": features}, name=f"Distanza a piedi: {label}",
                  colors=colors, labels=["", "Distanza a piedi", "Residenti (stima)", "Servizio più vicino"],
                  bounds=bounds).add_to(m)
    if comuni is not None and len(comuni):
        x0, y0, x1, y1 = shapely.total_bounds(maps.comuni_shapes(comuni))
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 1.4, "opacity": 0.9},
                          bounds=[[y0, x0], [y1, x1]]).add_to(m)
    if gaps is not None and len(gaps.areas):
        table, _ = gap_display(gaps, role)
        area_features = []
        for (_, area), (_, shown) in zip(gaps.areas.iterrows(), table.iterrows(), strict=True):
            area_cells = gaps.cells.loc[gaps.cells["area"] == area["area"], "cell"].to_numpy()
            geom = shapely.union_all(hexgrid.cells_to_polygons(area_cells))
            tip = (f"<b>Area prioritaria {int(area['rank'])}</b><br>{html.escape(str(area['comune']))}"
                   f" · {html.escape(str(shown['Località più vicina']))}<br>"
                   f"Segnalazioni di marginalità: {html.escape(str(shown['Segnalazioni di marginalità']))}<br>"
                   f"Delitti stupefacenti: {html.escape(str(shown['Delitti in materia di stupefacenti']))}<br>"
                   f"Servizio più vicino: {html.escape(str(shown['Distanza a piedi dal servizio più vicino (m)']))}"
                   + (" m" if math.isfinite(area["dist_min_m"]) else ""))
            area_features.append({"type": "Feature", "properties": {"tip": tip},
                                  "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-5)))})
        folium.GeoJson(
            {"type": "FeatureCollection", "features": area_features}, name="Aree prioritarie (marginalità lontana "
            "dai servizi)",
            style_function=lambda _f: {"color": "#b10026", "weight": 3, "fillColor": "#b10026", "fillOpacity": 0.12},
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        ).add_to(m)
    if len(services):
        names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True)) if comuni is not None else {}
        data = _service_features(services, names)
        coords = [f["geometry"]["coordinates"] for f in data["features"]]
        maps.PointsLayer(data, name=f"Servizi visibili ({len(coords)})",
                         labels=("Servizi", "Gestore", "Orari", "Posti", "Comune", "Indirizzo"), color="#009E73",
                         show=True, bounds=bounds_of([c[0] for c in coords], [c[1] for c in coords])).add_to(m)
    entries = [(c, lab) for c, lab in zip(DISTANCE_COLORS, distance_labels(), strict=True)]
    entries.append((NO_SERVICE_COLOR, "nessun servizio visibile del tipo"))
    maps.Legend(f"Distanza a piedi ({label})", entries,
                f"Linea d'aria × {format_decimal(DETOUR_FACTOR, 1)}; contorno rosso: aree prioritarie.").add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    # Open on every hexagon shown (the whole territory, or the comuni filtered): opening on the
    # services alone cut off the comuni without any, which are the gaps the page is about.
    if bounds:
        m.fit_bounds(bounds)
    return m
