"""Figures per hexagon for the integrated map: incidents, rates, lighting, reports, services.

:func:`hex_metrics` joins, at the filters' H3 resolution, the incident aggregates, the residents
and area of each hexagon and the counts of the point layers; :func:`kpis` gives the totals of the
KPI strip; :func:`cell_details` the figures and monthly series of one hexagon. The ``*_table``,
``kpi_cards`` and ``details_*`` functions turn them into what a role may see (:mod:`geo.access.privacy`).

Units
-----
``rate_per_1000``
    incidents per 1,000 residents **per year**: ``incidents / residents * 1000 * 12 / months``,
    so periods of different length compare. NaN where fewer than
    :data:`MIN_RESIDENTS_FOR_RATE` people live: with 50 residents one crime a year is already
    20 per 1,000, and hexagons of beaches, stations or industrial areas have many crimes and
    almost no residents, so their rate would top every map while saying nothing about risk
    (their count and density still show them).
``per_km2``
    incidents per km² per year, over the part of the hexagon inside the territory.
``night_share``
    share (0-1) of the incidents in the night band 20:00-06:00 (:data:`geo.data.schemas.TIME_BANDS`).
``lights_broken_share``
    share (0-1) of the light points out of order.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from geo.access.disclosure import KEY_MODULUS, PROTECTED_NOTE, combine_keys, protect_counts
from geo.access.privacy import (
    MISSING_LABEL,
    can_see_exact,
    format_decimal,
    format_int,
    format_percent,
)
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.storage import Store
from geo.overview import places, trends

#: Fewer residents than this and the rate per 1,000 is not computed (see the module notes).
MIN_RESIDENTS_FOR_RATE = 50


class Metric(NamedTuple):
    """A figure the choropleth can show: Italian label, unit, column of :func:`hex_metrics`,
    whether a higher value is worse (chooses the colour ramp), and its kind (``count``,
    ``rate`` or ``share``: how it is formatted)."""

    label: str
    unit: str
    column: str
    higher_is_worse: bool
    kind: str = "count"


#: Metrics offered by the map's picker, in order.
METRICS: dict[str, Metric] = {
    "incidents": Metric("Delitti nel periodo", "delitti", "incidents", True),
    "rate": Metric("Delitti ogni 1.000 residenti (all'anno)", "per 1.000 residenti all'anno", "rate_per_1000",
                   True, "rate"),
    "density": Metric("Delitti per km² (all'anno)", "per km² all'anno", "per_km2", True, "rate"),
    "night_share": Metric("Quota di delitti notturni (20-6)", "%", "night_share", True, "share"),
    "reports_open": Metric("Segnalazioni di degrado aperte", "segnalazioni", "reports_open", True),
    "lights": Metric("Punti luce", "punti luce", "lights", False),
    "lights_broken_share": Metric("Punti luce guasti", "% dei punti luce", "lights_broken_share", True, "share"),
    "schools": Metric("Scuole", "scuole", "schools", False),
    "services": Metric("Servizi per persone senza dimora", "servizi", "services", False),
}

#: Incident counts per hexagon, and the values derived from them with the counts each reveals.
INCIDENT_COUNTS = ("incidents", "night", "day")
INCIDENT_DERIVED: dict[str, tuple[str, ...]] = {
    "rate_per_1000": ("incidents",),
    "per_km2": ("incidents",),
    "night_share": ("night", "day"),
}

#: Columns of the map's table (and its CSV and GeoJSON exports), with Italian headers.
TABLE_COLUMNS: dict[str, str] = {
    "h3": "Esagono H3",
    "comune": "Comune",
    "place": "Località",
    "residents": "Residenti (stima)",
    "incidents": "Delitti",
    "rate_per_1000": "Delitti ogni 1.000 residenti all'anno",
    "per_km2": "Delitti per km² all'anno",
    "night_share": "Quota notturna (%)",
    "reports_open": "Segnalazioni aperte",
    "lights": "Punti luce",
    "lights_broken_share": "Punti luce guasti (%)",
    "schools": "Scuole",
    "services": "Servizi senza dimora",
    "confiscated": "Beni confiscati",
}

_KEY_COLUMNS = ("incidents_key", "night_key")
_POINT_COUNTS = ("lights", "lights_broken", "lights_old", "reports_open", "reports_open_severity", "schools",
                 "services", "confiscated")


def _format_share(value: float) -> str:
    return format_percent(value, 0)


def _format_rate(value: float) -> str:
    return format_decimal(value, 1)


#: Display functions per column (counts default to :func:`geo.access.privacy.format_int`).
FORMATS = {
    "rate_per_1000": _format_rate,
    "per_km2": _format_rate,
    "night_share": _format_share,
    "lights_broken_share": _format_share,
    "residents": format_int,
    "area_km2": lambda v: format_decimal(v, 2),
}
_TEXT_COLUMNS = ("cell", "h3", "pro_com_t", "comune", "place")


def format_metric(value: float | None, metric: Metric) -> str:
    """A metric's value in Italian (no privacy: callers pass only publishable values)."""
    if metric.kind == "share":
        return _format_share(value)
    if metric.kind == "rate":
        return _format_rate(value)
    return format_int(value)


def data_version(store: Store) -> str:
    """A short fingerprint of the data, for cache keys: it changes with every build, import or
    recorded change of data (every write is in the audit log, so a report's new status counts
    too; logins and exports do not)."""
    parts = [store.get_meta("built_at") or "-"]
    parts += [str(store.count(t)) for t in ("imports", "incidents", "lighting", "reports", "schools", "services",
                                            "confiscated")]
    parts.append(str(store.audit_count(data_only=True)))
    return "|".join(parts)


def period_months(store: Store, filters: Filters) -> int | None:
    """Months of the filters' period, open ends filled with the data period (None: no data)."""
    window = trends.comparison_window(store, filters)
    return None if window is None else window.months


def _public_services_by_cell(store: Store, filters: Filters) -> pd.Series:
    """Services whose address is public (``public`` not False), counted per cell at ``filters.res``."""
    pts = store.points("services", comuni=list(filters.comuni) or None)
    pts = pts[pts["public"].fillna(True).astype(bool)]
    if pts.empty:
        return pd.Series(dtype="int64")
    parents = hexgrid.cell_to_parent(pts["cell"].to_numpy(), filters.res)
    return pd.Series(parents).value_counts()


def hex_metrics(store: Store, filters: Filters, *, include_private_services: bool = True) -> pd.DataFrame:
    """One row per hexagon of the territory (or of the chosen comuni) at ``filters.res``.

    Parameters
    ----------
    store
        The database.
    filters
        Resolution, comuni, period, categories and time band (incident columns only; the point
        layers are their current state).
    include_private_services
        False counts only homeless services whose address is public (roles without clearance).

    Returns
    -------
    DataFrame
        ``cell`` (int64), ``h3`` (string id), ``pro_com_t``, ``comune``, ``place`` (nearest locality,
        :mod:`geo.overview.places`), ``residents``,
        ``area_km2``, ``incidents``, ``night``, ``day``, ``rate_per_1000``, ``per_km2``,
        ``night_share``, ``reports_open``, ``reports_open_severity``, ``lights``,
        ``lights_broken``, ``lights_old``, ``lights_broken_share``, ``schools``, ``services``,
        ``confiscated``, and the key sums of the incident counts (``incidents_key``, ``night_key``,
        ``day_key``: :mod:`geo.access.disclosure`); sorted by cell. Units in the module notes.
        Exact figures: what a role sees is :func:`protect_frame`.
    """
    comuni = list(filters.comuni) or None
    frame = store.cell_context(filters.res, comuni=comuni)
    incidents = store.incidents_by_cell(filters.res, **filters.query_kwargs())
    stats = store.layer_stats_by_cell(filters.res, comuni=comuni)
    frame = frame.merge(incidents, on="cell", how="left").merge(stats, on="cell", how="left")
    for col in ("incidents", "night", "night_outdoor", *_POINT_COUNTS, *_KEY_COLUMNS):
        frame[col] = frame[col].fillna(0).astype("int64")
    if not include_private_services:
        public = _public_services_by_cell(store, filters)
        frame["services"] = frame["cell"].map(public).fillna(0).astype("int64")
    frame["day"] = frame["incidents"] - frame["night"]
    frame["day_key"] = np.mod(frame["incidents_key"] - frame["night_key"], KEY_MODULUS)
    names = store.comuni().set_index("pro_com_t")["nome"]
    frame["comune"] = frame["pro_com_t"].map(names)
    frame["h3"] = hexgrid.to_str(frame["cell"])
    frame["place"] = places.locate(store, frame["cell"].to_numpy(), comuni=frame["pro_com_t"].to_numpy(dtype=object),
                                   comune_names=names.to_dict())["place"].to_numpy(dtype=object)

    months = period_months(store, filters)
    per_year = 12 / months if months else np.nan
    residents = frame["residents"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rate_per_1000"] = np.where(
            residents >= MIN_RESIDENTS_FOR_RATE, frame["incidents"] / residents * 1000 * per_year, np.nan
        )
        frame["per_km2"] = np.where(frame["area_km2"] > 0, frame["incidents"] / frame["area_km2"] * per_year,
                                    np.nan)
        frame["night_share"] = np.where(frame["incidents"] > 0, frame["night"] / frame["incidents"], np.nan)
        frame["lights_broken_share"] = np.where(frame["lights"] > 0, frame["lights_broken"] / frame["lights"],
                                                np.nan)
    columns = ["cell", "h3", "pro_com_t", "comune", "place", "residents", "area_km2", "incidents", "night", "day",
               "rate_per_1000", "per_km2", "night_share", "reports_open", "reports_open_severity", "lights",
               "lights_broken", "lights_old", "lights_broken_share", "schools", "services", "confiscated",
               "incidents_key", "night_key", "day_key"]
    return frame[columns].sort_values("cell").reset_index(drop=True)


def protect_frame(frame: pd.DataFrame, role: str | None) -> pd.DataFrame:
    """A :func:`hex_metrics` frame as ``role`` may see it: for roles without clearance the incident
    counts are replaced by their cell-key protected values
    (:func:`geo.access.disclosure.protect_counts`) and the derived values (rate, density, night
    share) are recomputed from them; the key columns are dropped and ``protected`` is True.
    Cleared roles get the exact frame (``protected`` False). Idempotent."""
    if "protected" in frame.columns:
        if can_see_exact(role) or bool(frame["protected"].all()):
            return frame
        raise ValueError("cifre esatte senza chiavi: impossibile proteggerle per questo ruolo")
    out = frame.copy()
    if not can_see_exact(role) and not out.empty:
        exact = out["incidents"].astype("float64").to_numpy()
        for col in INCIDENT_COUNTS:
            out[col] = protect_counts(out[col].to_numpy(), out[f"{col}_key"].to_numpy(), role)
        shown = out["incidents"].astype("float64").to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(exact > 0, shown / exact, 0.0)  # rates are linear in the count
            for col in ("rate_per_1000", "per_km2"):
                out[col] = out[col].astype("float64") * scale
            both = (out["night"] + out["day"]).astype("float64")
            out["night_share"] = np.where(both > 0, out["night"] / both, np.nan)
    out = out.drop(columns=[c for c in out.columns if c.endswith("_key")])
    out["protected"] = not can_see_exact(role)
    return out


def hidden_mask(frame: pd.DataFrame) -> pd.DataFrame:
    """Where an incident figure of a :func:`hex_metrics` frame is withheld: nowhere. With the
    cell-key method every count is published (protected, :func:`protect_frame`); the mask is kept
    for the tables and exports that mark withheld values (always False)."""
    return pd.DataFrame(False, index=frame.index, columns=[*INCIDENT_COUNTS, *INCIDENT_DERIVED])


def suppress_frame(
    frame: pd.DataFrame, role: str | None, *, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A :func:`hex_metrics` frame as Italian text for a role, and the mask of withheld values.

    Incident counts and their derived values are protected for ``role`` (:func:`protect_frame`);
    every figure is formatted (:data:`FORMATS`, integers by default); identifiers and names are
    left as they are. ``columns`` limits the result to some columns.
    """
    frame = protect_frame(frame, role).drop(columns="protected")
    mask = hidden_mask(frame)
    display = frame.copy()
    for col in frame.columns:
        if col not in _TEXT_COLUMNS:
            fmt = FORMATS.get(col, format_int)
            display[col] = [fmt(v) for v in frame[col]]
    if columns is not None:
        display = display[list(columns)]
    return display, mask


def sort_for_role(frame: pd.DataFrame, column: str, role: str | None) -> pd.DataFrame:
    """``frame`` from the highest ``column`` value down, as ``role`` may see it.

    Sorting on exact values would leak what the protection hides (hexagons with 2 incidents
    listed before those with 1), so the order follows the protected values (:func:`protect_frame`)
    and ties follow the H3 id.
    """
    key = protect_frame(frame, role)[column].astype("float64")
    order = pd.DataFrame({"key": key.to_numpy(), "h3": frame["h3"].to_numpy()}, index=frame.index)
    order = order.sort_values(["key", "h3"], ascending=[False, True], na_position="last", kind="stable")
    return frame.loc[order.index]


# --------------------------------------------------------------------------------------------
# The map's table and its exports
# --------------------------------------------------------------------------------------------

def map_table(frame: pd.DataFrame, role: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The map's figures as a table a role may see, with Italian headers.

    Returns
    -------
    values, text, hidden
        ``values``: numbers, NaN where hidden (shares as percentages 0-100), for sorting and
        exports; ``text``: the same as Italian display strings (``"< 3"``, ``"riservato"``);
        ``hidden``: True where a value is hidden. All three share index and headers.
    """
    frame = protect_frame(frame, role)
    display, _mask = suppress_frame(frame, role)
    cols = list(TABLE_COLUMNS)
    values = frame[cols].copy()
    for col in ("night_share", "lights_broken_share"):
        values[col] = values[col] * 100
    hidden = pd.DataFrame(False, index=frame.index, columns=cols)
    text = display[cols].copy()
    for col in ("night_share", "lights_broken_share"):  # the header says "(%)": numbers only
        text[col] = [format_decimal(v * 100, 0) for v in frame[col]]
    return (values.rename(columns=TABLE_COLUMNS), text.rename(columns=TABLE_COLUMNS),
            hidden.rename(columns=TABLE_COLUMNS))


def styled_table(frame: pd.DataFrame, role: str | None):
    """The map's table as a pandas ``Styler``: numbers stay numbers (the table sorts them),
    Italian separators; incident figures as ``role`` may see them (:func:`protect_frame`)."""
    values, _, _ = map_table(frame, role)
    share_headers = {TABLE_COLUMNS[c] for c in ("night_share", "lights_broken_share")}
    rate_headers = {TABLE_COLUMNS[c] for c in ("rate_per_1000", "per_km2")}

    def number(header: str):
        if header in share_headers:
            return lambda v: format_decimal(v, 0)
        if header in rate_headers:
            return lambda v: format_decimal(v, 1)
        return format_int

    text_headers = {TABLE_COLUMNS["h3"], TABLE_COLUMNS["comune"], TABLE_COLUMNS["place"]}
    formatters = {h: number(h) for h in values.columns if h not in text_headers}
    return values.style.format(formatters, na_rep=MISSING_LABEL).hide(axis="index")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Prefix ``'`` to text a spreadsheet would run as a formula (CSV injection, OWASP)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def table_csv(frame: pd.DataFrame, role: str | None) -> bytes:
    """The map's table as CSV for Italian spreadsheets: UTF-8 with BOM, ``;`` separator, Italian
    number format, hidden values as ``"< 3"``/``"riservato"``, formulas neutralised."""
    _, text, _ = map_table(frame, role)
    text = text.map(neutralise_formula)
    buffer = io.StringIO()
    text.to_csv(buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


# --------------------------------------------------------------------------------------------
# KPI strip
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kpis:
    """Totals over the filters. ``previous`` is None when the data do not cover the previous
    period of the same length (``previous_start`` - ``previous_end``)."""

    incidents: int
    night: int
    residents: float
    months: int | None
    start: date | None
    end: date | None
    previous: int | None
    previous_start: date | None
    previous_end: date | None
    reports_open: int
    lights: int
    lights_broken: int
    schools: int
    services: int
    #: Key sums of ``incidents``, ``night`` and ``previous`` (:mod:`geo.access.disclosure`).
    incidents_key: int = 0
    night_key: int = 0
    previous_key: int = 0
    #: True once the incident totals are protected for a role without clearance (:func:`protect_kpis`).
    protected: bool = False

    @property
    def day(self) -> int:
        return self.incidents - self.night

    @property
    def change_pct(self) -> float | None:
        """Percent change against the previous period (None when unknown or previous is 0)."""
        if self.previous is None or self.previous == 0:
            return None
        return (self.incidents - self.previous) / self.previous * 100

    @property
    def rate_per_1000(self) -> float | None:
        if not self.months or self.residents <= 0:
            return None
        return self.incidents / self.residents * 1000 * 12 / self.months

    @property
    def night_share(self) -> float | None:
        return self.night / self.incidents if self.incidents else None

    @property
    def lights_broken_share(self) -> float | None:
        return self.lights_broken / self.lights if self.lights else None


def kpis(
    store: Store, filters: Filters, *, frame: pd.DataFrame | None = None, include_private_services: bool = True
) -> Kpis:
    """Totals of the KPI strip over the filters (``frame``: a :func:`hex_metrics` result to reuse)."""
    if frame is None:
        frame = hex_metrics(store, filters, include_private_services=include_private_services)
    window = trends.comparison_window(store, filters)
    previous, previous_key = None, 0
    if window is not None and window.previous_covered:
        kwargs = {**filters.query_kwargs(), "start": window.previous_start, "end": window.previous_end}
        before = store.incidents_by_cell(filters.res, **kwargs)
        previous, previous_key = int(before["incidents"].sum()), combine_keys(before["incidents_key"])
    return Kpis(
        incidents=int(frame["incidents"].sum()),
        night=int(frame["night"].sum()),
        residents=float(frame["residents"].sum()),
        months=None if window is None else window.months,
        start=None if window is None else window.start,
        end=None if window is None else window.end,
        previous=previous,
        previous_start=None if window is None else window.previous_start,
        previous_end=None if window is None else window.previous_end,
        reports_open=int(frame["reports_open"].sum()),
        lights=int(frame["lights"].sum()),
        lights_broken=int(frame["lights_broken"].sum()),
        schools=int(frame["schools"].sum()),
        services=int(frame["services"].sum()),
        incidents_key=combine_keys(frame["incidents_key"]),
        night_key=combine_keys(frame["night_key"]),
        previous_key=previous_key,
    )


def protect_kpis(k: Kpis, role: str | None) -> Kpis:
    """The KPI totals as ``role`` may see them: each incident total protected by the cell-key
    method (:func:`geo.access.disclosure.protect_counts`: the same records always give the same
    published total, the one a single-hexagon or comune view of the same records shows); the
    rate, night share and change follow from the protected totals. Cleared roles: unchanged."""
    if can_see_exact(role) or k.protected:
        return k
    incidents, night = protect_counts([k.incidents, k.night], [k.incidents_key, k.night_key], role)
    previous = None if k.previous is None else int(protect_counts([k.previous], [k.previous_key], role)[0])
    return replace(k, incidents=int(incidents), night=int(min(night, incidents)), previous=previous,
                   protected=True)


@dataclass(frozen=True)
class KpiCard:
    """One ``st.metric`` of the strip: label, value and optional delta as Italian text."""

    label: str
    value: str
    delta: str | None = None
    delta_color: str = "normal"
    help: str | None = None


_CHANGE_LABEL = "Variazione sul periodo prec."
_MONTHS_IT = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]


def _month(d: date) -> str:
    return f"{_MONTHS_IT[d.month - 1]} {d.year}"


def kpi_cards(k: Kpis, role: str | None) -> list[KpiCard]:
    """The KPI strip for a role (incident totals protected for roles without clearance:
    :func:`protect_kpis`)."""
    k = protect_kpis(k, role)
    period = f"da {_month(k.start)} a {_month(k.end)}" if k.start and k.end else "nessun dato"
    if k.previous is None:
        change = KpiCard(_CHANGE_LABEL, "n.d.",
                         help="I dati non coprono il periodo precedente della stessa durata.")
    else:
        diff = k.incidents - k.previous
        pct = k.change_pct
        change = KpiCard(
            _CHANGE_LABEL,
            "n.d." if pct is None else f"{'+' if pct > 0 else ''}{format_decimal(pct, 1)} %",
            delta=f"{'+' if diff > 0 else ''}{format_int(diff)} delitti",
            delta_color="inverse",
            help=(f"Confronto con lo stesso numero di mesi immediatamente precedente "
                  f"(da {_month(k.previous_start)} a {_month(k.previous_end)}: {format_int(k.previous)} delitti)."),
        )
    rate = k.rate_per_1000
    return [
        KpiCard("Delitti nel periodo", format_int(k.incidents),
                help=f"Delitti denunciati {period}, con i filtri scelti."
                + (f" {PROTECTED_NOTE}" if k.protected else "")),
        change,
        KpiCard("Tasso per 1.000 ab./anno",
                MISSING_LABEL if rate is None else format_decimal(rate, 1),
                help=f"Delitti ogni 1.000 residenti all'anno; residenti: {format_int(k.residents)} (ISTAT)."),
        KpiCard("Quota notturna (20-6)",
                format_percent(k.night_share),
                help="Parte dei delitti avvenuti tra le 20 e le 6, quando l'illuminazione pubblica è accesa."),
        KpiCard("Segnalazioni di degrado aperte", format_int(k.reports_open)),
        KpiCard("Punti luce guasti", format_percent(k.lights_broken_share, 1),
                help=f"{format_int(k.lights_broken)} guasti su {format_int(k.lights)} punti luce censiti."),
        KpiCard("Scuole", format_int(k.schools)),
        KpiCard("Servizi per senza dimora", format_int(k.services),
                help="Servizi per persone senza dimora censiti (art. 14 del Patto)."),
    ]


# --------------------------------------------------------------------------------------------
# One hexagon
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellDetails:
    """Figures of one hexagon (a :func:`hex_metrics` row) and its monthly incidents (every month
    of the period, zeros included: ``month``, ``incidents``, ``incidents_key``)."""

    cell: int
    h3: str
    res: int
    comune: str
    figures: pd.Series
    series: pd.DataFrame = field(repr=False)
    #: The whole :func:`hex_metrics` frame the hexagon comes from.
    context: pd.DataFrame | None = field(default=None, repr=False, compare=False)


def cell_details(
    store: Store, cell: int, filters: Filters, *, frame: pd.DataFrame | None = None,
    include_private_services: bool = True,
) -> CellDetails | None:
    """Figures per layer and monthly incident series of one hexagon at ``filters.res``.

    Returns None when the hexagon is not in the territory (or not in the chosen comuni).
    """
    if frame is None:
        frame = hex_metrics(store, filters, include_private_services=include_private_services)
    rows = frame[frame["cell"] == int(cell)]
    if rows.empty:
        return None
    row = rows.iloc[0]
    window = trends.comparison_window(store, filters)
    if window is None:
        series = pd.DataFrame({"month": pd.Series(dtype="object"), "incidents": pd.Series(dtype="int64"),
                               "incidents_key": pd.Series(dtype="int64")})
    else:
        kwargs = {**filters.query_kwargs(), "start": window.start, "end": window.end}
        raw = store.incidents_series(res=filters.res, cells=[int(cell)], **kwargs)
        raw["month"] = pd.to_datetime(raw["month"]).dt.date
        months = trends.month_range(window.start, window.end)
        counts = raw.groupby("month")[["incidents", "incidents_key"]].sum().reindex(months, fill_value=0)
        series = pd.DataFrame({"month": months, "incidents": counts["incidents"].to_numpy().astype("int64"),
                               "incidents_key": counts["incidents_key"].to_numpy().astype("int64")})
    return CellDetails(cell=int(cell), h3=str(row["h3"]), res=filters.res, comune=str(row["comune"]),
                       figures=row, series=series, context=frame)


_DETAIL_ROWS: tuple[tuple[str, str], ...] = (
    ("incidents", "Delitti nel periodo"),
    ("rate_per_1000", "Delitti ogni 1.000 residenti all'anno"),
    ("per_km2", "Delitti per km² all'anno"),
    ("night_share", "Quota notturna (20-6)"),
    ("residents", "Residenti (stima)"),
    ("reports_open", "Segnalazioni di degrado aperte"),
    ("lights", "Punti luce"),
    ("lights_broken_share", "Punti luce guasti"),
    ("lights_old", "Punti luce con lampade vecchie"),
    ("schools", "Scuole"),
    ("services", "Servizi per persone senza dimora"),
    ("confiscated", "Beni confiscati"),
)


def details_table(details: CellDetails, role: str | None) -> pd.DataFrame:
    """The hexagon's figures as a two-column table (``Voce``, ``Valore``) for a role (protected
    as in the map's table: the same records give the same values)."""
    row_frame = details.figures.to_frame().T.reset_index(drop=True)
    for col in row_frame.columns:
        if col not in _TEXT_COLUMNS and col != "protected":
            row_frame[col] = pd.to_numeric(row_frame[col], errors="coerce")
    display, _ = suppress_frame(row_frame, role)
    row = display.iloc[0]
    return pd.DataFrame({"Voce": [label for _, label in _DETAIL_ROWS],
                         "Valore": [str(row[col]) for col, _ in _DETAIL_ROWS]})


def details_series(details: CellDetails, role: str | None) -> pd.DataFrame:
    """The hexagon's monthly incidents for a role: ``month``, ``incidents`` (protected for roles
    without clearance, :func:`geo.overview.trends.protect`), ``suppressed`` (always None) and
    ``shown`` (text)."""
    table = details.series
    if table.empty:
        return table.assign(suppressed=None, shown="").drop(columns="incidents_key")
    return trends.protect(table, role=role).drop(columns="incidents_key")
