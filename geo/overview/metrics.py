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
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd

from geo import config
from geo.access.privacy import (
    COUNT_LABEL,
    DERIVED_LABEL,
    MISSING_LABEL,
    apply_suppression,
    can_see_exact,
    complementary_suppression,
    format_decimal,
    format_int,
    format_percent,
    suppressed_mask,
    suppression_mask,
)
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.storage import Store
from geo.overview import trends

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
_TEXT_COLUMNS = ("cell", "h3", "pro_com_t", "comune")


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
        ``cell`` (int64), ``h3`` (string id), ``pro_com_t``, ``comune``, ``residents``,
        ``area_km2``, ``incidents``, ``night``, ``day``, ``rate_per_1000``, ``per_km2``,
        ``night_share``, ``reports_open``, ``reports_open_severity``, ``lights``,
        ``lights_broken``, ``lights_old``, ``lights_broken_share``, ``schools``, ``services``,
        ``confiscated``; sorted by cell. Units in the module notes.
    """
    comuni = list(filters.comuni) or None
    frame = store.cell_context(filters.res, comuni=comuni)
    incidents = store.incidents_by_cell(filters.res, **filters.query_kwargs())
    stats = store.layer_stats_by_cell(filters.res, comuni=comuni)
    frame = frame.merge(incidents, on="cell", how="left").merge(stats, on="cell", how="left")
    for col in ("incidents", "night", "night_outdoor", *_POINT_COUNTS):
        frame[col] = frame[col].fillna(0).astype("int64")
    if not include_private_services:
        public = _public_services_by_cell(store, filters)
        frame["services"] = frame["cell"].map(public).fillna(0).astype("int64")
    frame["day"] = frame["incidents"] - frame["night"]
    names = store.comuni().set_index("pro_com_t")["nome"]
    frame["comune"] = frame["pro_com_t"].map(names)
    frame["h3"] = hexgrid.to_str(frame["cell"])

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
    columns = ["cell", "h3", "pro_com_t", "comune", "residents", "area_km2", "incidents", "night", "day",
               "rate_per_1000", "per_km2", "night_share", "reports_open", "reports_open_severity", "lights",
               "lights_broken", "lights_old", "lights_broken_share", "schools", "services", "confiscated"]
    return frame[columns].sort_values("cell").reset_index(drop=True)


def _groups(frame: pd.DataFrame) -> list[np.ndarray]:
    """Groups whose totals are published: each comune (the *Andamento* page and the comune
    filter publish its total) and the whole table (the KPI strip)."""
    whole = np.zeros(len(frame), dtype="int64")
    if "pro_com_t" in frame.columns:
        return [frame["pro_com_t"].astype("object").fillna("").to_numpy(), whole]
    return [whole]


def complementary_mask(frame: pd.DataFrame, role: str | None) -> pd.DataFrame:
    """Incident counts of a :func:`hex_metrics` frame hidden from ``role`` *because* a published
    total would otherwise reveal a small count (:func:`geo.access.privacy.complementary_suppression`
    per comune and over the whole table). One boolean column per :data:`INCIDENT_COUNTS`."""
    out = pd.DataFrame(False, index=frame.index, columns=list(INCIDENT_COUNTS))
    if can_see_exact(role) or frame.empty:
        return out
    groups = _groups(frame)
    for col in INCIDENT_COUNTS:
        extra, _ = complementary_suppression(frame[col].to_numpy(), groups, role)
        out[col] = extra
    return out


def exposed_totals(frame: pd.DataFrame, *, role: str | None = "osservatore") -> frozenset[str]:
    """Incident counts (of :data:`INCIDENT_COUNTS`) whose total over ``frame`` must be hidden from
    roles without clearance: no complementary cell can protect a small count otherwise."""
    if can_see_exact(role) or frame.empty:
        return frozenset()
    whole = [np.zeros(len(frame), dtype="int64")]
    return frozenset(col for col in INCIDENT_COUNTS
                     if complementary_suppression(frame[col].to_numpy(), whole, role)[1])


def hidden_mask(frame: pd.DataFrame, role: str | None) -> pd.DataFrame:
    """True where an incident figure of a :func:`hex_metrics` frame is hidden from ``role``:
    small counts, the cells hidden to protect them (:func:`complementary_mask`), and the values
    derived from either."""
    return suppression_mask(frame, INCIDENT_COUNTS, INCIDENT_DERIVED, role, extra=complementary_mask(frame, role))


def suppress_frame(
    frame: pd.DataFrame, role: str | None, *, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A :func:`hex_metrics` frame as Italian text for a role, and the mask of hidden values.

    Incident counts and their derived values go through :func:`geo.access.privacy.apply_suppression`;
    every other figure is formatted (:data:`FORMATS`, integers by default); identifiers and
    names are left as they are. ``columns`` limits the work (and the result) to some columns.
    """
    extra = complementary_mask(frame, role)  # on the whole frame: it needs every hexagon and comune
    if columns is not None:
        needed = set(columns) | set(INCIDENT_COUNTS) | {s for d in INCIDENT_DERIVED.values() for s in d}
        frame = frame[[c for c in frame.columns if c in needed or c in INCIDENT_DERIVED]]
    display, mask = apply_suppression(frame, INCIDENT_COUNTS, INCIDENT_DERIVED, role, formats=FORMATS, extra=extra)
    for col in frame.columns:
        if col not in mask.columns and col not in _TEXT_COLUMNS:
            fmt = FORMATS.get(col, format_int)
            display[col] = [fmt(v) for v in frame[col]]
    if columns is not None:
        display = display[list(columns)]
    return display, mask


def sort_for_role(frame: pd.DataFrame, column: str, role: str | None) -> pd.DataFrame:
    """``frame`` from the highest ``column`` value down, as ``role`` may see it.

    Sorting on exact values would leak what suppression hides (hexagons with 2 incidents listed
    before those with 1), so hidden values sort as one tie between 0 and the threshold (hidden
    derived values last, like missing ones) and ties follow the H3 id.
    """
    key = frame[column].astype("float64")
    mask = hidden_mask(frame, role)
    if column in mask:
        tie = np.nan if column in INCIDENT_DERIVED else (config.SUPPRESSION_THRESHOLD - 1) / 2
        key = key.mask(mask[column].to_numpy(), tie)
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
    display, mask = suppress_frame(frame, role)
    cols = list(TABLE_COLUMNS)
    values = frame[cols].copy()
    for col in ("night_share", "lights_broken_share"):
        values[col] = values[col] * 100
    hidden = pd.DataFrame(False, index=frame.index, columns=cols)
    for col in mask.columns.intersection(cols):
        hidden[col] = mask[col].to_numpy()
    for col in hidden.columns:
        if hidden[col].any():
            values[col] = values[col].astype("float64").mask(hidden[col])
    text = display[cols].copy()
    for col in ("night_share", "lights_broken_share"):  # the header says "(%)": numbers only
        text[col] = [DERIVED_LABEL if h else format_decimal(v * 100, 0)
                     for h, v in zip(hidden[col], frame[col], strict=True)]
    return (values.rename(columns=TABLE_COLUMNS), text.rename(columns=TABLE_COLUMNS),
            hidden.rename(columns=TABLE_COLUMNS))


def styled_table(frame: pd.DataFrame, role: str | None):
    """The map's table as a pandas ``Styler``: numbers stay numbers (the table sorts them),
    hidden ones are NaN displayed as ``"< 3"`` or ``"riservato"``, Italian separators."""
    values, _, hidden = map_table(frame, role)
    derived_headers = {TABLE_COLUMNS[c] for c in INCIDENT_DERIVED}
    share_headers = {TABLE_COLUMNS[c] for c in ("night_share", "lights_broken_share")}
    rate_headers = {TABLE_COLUMNS[c] for c in ("rate_per_1000", "per_km2")}

    def number(header: str):
        if header in share_headers:
            return lambda v: format_decimal(v, 0)
        if header in rate_headers:
            return lambda v: format_decimal(v, 1)
        return format_int

    text_headers = {TABLE_COLUMNS["h3"], TABLE_COLUMNS["comune"]}
    formatters = {h: number(h) for h in values.columns if h not in text_headers}
    styler = values.style.format(formatters, na_rep=MISSING_LABEL)
    for header in hidden.columns:
        rows = hidden.index[hidden[header]]
        if len(rows):
            label = DERIVED_LABEL if header in derived_headers else COUNT_LABEL
            styler = styler.format(lambda _v, label=label: label, subset=pd.IndexSlice[rows, [header]])
    return styler.hide(axis="index")


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
    #: Incident totals (``incidents``, ``night``, ``day``) that roles without clearance must not
    #: see because they would reveal a small count (:func:`exposed_totals`).
    exposed: frozenset[str] = frozenset()

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
    previous = None
    if window is not None and window.previous_covered:
        kwargs = {**filters.query_kwargs(), "start": window.previous_start, "end": window.previous_end}
        previous = int(store.incidents_by_cell(filters.res, **kwargs)["incidents"].sum())
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
        exposed=exposed_totals(frame),
    )


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
    """The KPI strip for a role: small incident totals, and whatever reveals them, hidden."""
    hide_now, hide_night, hide_day = suppressed_mask([k.incidents, k.night, k.day], role)
    if not can_see_exact(role):  # secondary suppression: a total that would reveal a hidden hexagon
        hide_now, hide_night, hide_day = (hide_now or "incidents" in k.exposed, hide_night or "night" in k.exposed,
                                          hide_day or "day" in k.exposed)
    hide_prev = k.previous is not None and bool(suppressed_mask([k.previous], role)[0])
    period = f"da {_month(k.start)} a {_month(k.end)}" if k.start and k.end else "nessun dato"

    if k.previous is None:
        change = KpiCard(_CHANGE_LABEL, "n.d.",
                         help="I dati non coprono il periodo precedente della stessa durata.")
    elif hide_now or hide_prev:
        change = KpiCard(_CHANGE_LABEL, DERIVED_LABEL,
                         help=f"Uno dei due totali è inferiore a {config.SUPPRESSION_THRESHOLD}.")
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
        KpiCard("Delitti nel periodo", COUNT_LABEL if hide_now else format_int(k.incidents),
                help=f"Delitti denunciati {period}, con i filtri scelti."),
        change,
        KpiCard("Tasso per 1.000 ab./anno",
                DERIVED_LABEL if hide_now else (MISSING_LABEL if rate is None else format_decimal(rate, 1)),
                help=f"Delitti ogni 1.000 residenti all'anno; residenti: {format_int(k.residents)} (ISTAT)."),
        KpiCard("Quota notturna (20-6)",
                DERIVED_LABEL if (hide_night or hide_day) else format_percent(k.night_share),
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
    of the period, zeros included: ``month``, ``incidents``)."""

    cell: int
    h3: str
    res: int
    comune: str
    figures: pd.Series
    series: pd.DataFrame = field(repr=False)
    #: The whole :func:`hex_metrics` frame the hexagon comes from: its complementary suppression
    #: depends on the other hexagons.
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
        series = pd.DataFrame({"month": pd.Series(dtype="object"), "incidents": pd.Series(dtype="int64")})
    else:
        kwargs = {**filters.query_kwargs(), "start": window.start, "end": window.end}
        raw = store.incidents_series(res=filters.res, cells=[int(cell)], **kwargs)
        raw["month"] = pd.to_datetime(raw["month"]).dt.date
        months = trends.month_range(window.start, window.end)
        counts = raw.groupby("month")["incidents"].sum().reindex(months, fill_value=0)
        series = pd.DataFrame({"month": months, "incidents": counts.to_numpy().astype("int64")})
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
    """The hexagon's figures as a two-column table (``Voce``, ``Valore``) for a role (hidden as
    in the map's table, complementary suppression included)."""
    row_frame = details.figures.to_frame().T.reset_index(drop=True)
    extra = None
    if details.context is not None:
        full = complementary_mask(details.context, role)
        extra = full[(details.context["cell"] == details.cell).to_numpy()].reset_index(drop=True)
    if extra is None or extra.empty:
        display, _ = suppress_frame(row_frame, role)
    else:
        display, _ = apply_suppression(row_frame, INCIDENT_COUNTS, INCIDENT_DERIVED, role, formats=FORMATS,
                                       extra=extra)
        for col in row_frame.columns:
            if col not in INCIDENT_COUNTS and col not in INCIDENT_DERIVED and col not in _TEXT_COLUMNS:
                display[col] = [FORMATS.get(col, format_int)(v) for v in row_frame[col]]
    row = display.iloc[0]
    return pd.DataFrame({"Voce": [label for _, label in _DETAIL_ROWS],
                         "Valore": [str(row[col]) for col, _ in _DETAIL_ROWS]})


def details_series(details: CellDetails, role: str | None) -> pd.DataFrame:
    """The hexagon's monthly incidents for a role: ``month``, ``incidents`` (NaN when hidden),
    ``suppressed`` and ``shown`` (text). The hexagon's total is published beside the chart, so a
    single hidden month would be recoverable by subtraction: :func:`geo.overview.trends.suppress` then
    hides a second one (complementary suppression)."""
    table = details.series.assign(key="cella")
    if table.empty:
        return table.assign(suppressed=None, shown="").drop(columns="key")
    out = trends.suppress(table, value="incidents", groups=[["key"]], role=role)
    if details.context is not None and not can_see_exact(role):
        # A hexagon whose total is hidden to protect another one must not publish its months:
        # they add up to that total.
        row = (details.context["cell"] == details.cell).to_numpy()
        if complementary_mask(details.context, role)["incidents"].to_numpy()[row].any():
            hide = (table["incidents"] > 0).to_numpy() & out["suppressed"].isna().to_numpy()
            out.loc[hide, "incidents"] = np.nan
            out.loc[hide, "suppressed"] = "complementare"
            out.loc[hide, "shown"] = trends.COMPLEMENT_LABEL
    return out.drop(columns="key")
