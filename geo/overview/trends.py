"""Incident trends: time series, change against the previous period, provincial benchmarks.

Everything here is a pure computation on :class:`geo.data.storage.Store` queries and returns plain
DataFrames; the *Andamento* page only draws them.

Statistical confidentiality (pact art. 3; Sistan code of conduct): for roles without police
clearance (:func:`geo.access.privacy.can_see_exact`) every count is published as its cell-key
protected value (:func:`protect`, :mod:`geo.access.disclosure`): never between 1 and
``SUPPRESSION_THRESHOLD - 1``, at most ``MAX_NOISE`` from the truth, the same for the same records
whichever page, filter or breakdown asks for them. Totals and lines are protected each on its own,
so a line's months need not add up exactly to its total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from geo.access import disclosure, privacy
from geo.data.filters import Filters
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.data.storage import Store

Breakdown = Literal["category", "pro_com_t"]
Frequency = Literal["M", "Y"]


# --------------------------------------------------------------------------------------------
# Months and periods
# --------------------------------------------------------------------------------------------

def add_months(d: date, n: int) -> date:
    """First day of the month ``n`` months after (negative: before) the month of ``d``."""
    idx = d.year * 12 + d.month - 1 + n
    return date(idx // 12, idx % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Number of months from ``start`` to ``end``, both included."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def month_range(start: date, end: date) -> list[date]:
    """First days of every month from ``start`` to ``end`` (inclusive)."""
    return [add_months(start, i) for i in range(months_between(start, end))]


@dataclass(frozen=True)
class Window:
    """The current period of a view and the previous period of the same length.

    ``previous_covered`` is False when the previous period starts before the first month with
    data: a comparison would then set a full period against a partial one.
    """

    start: date
    end: date
    previous_start: date
    previous_end: date
    previous_covered: bool

    @property
    def months(self) -> int:
        return months_between(self.start, self.end)


def comparison_window(store: Store, filters: Filters) -> Window | None:
    """Current and previous period for ``filters`` (the data period fills open ends).

    Returns None when the store holds no incidents.
    """
    period = store.period()
    if period is None:
        return None
    start = filters.start or period[0]
    end = filters.end or period[1]
    n = months_between(start, end)
    prev_start, prev_end = add_months(start, -n), add_months(start, -1)
    return Window(start, end, prev_start, prev_end, previous_covered=prev_start >= period[0])


# --------------------------------------------------------------------------------------------
# Statistical confidentiality
# --------------------------------------------------------------------------------------------

def protect(
    frame: pd.DataFrame,
    *,
    value: str = "incidents",
    key: str | None = None,
    role: str | None = None,
) -> pd.DataFrame:
    """Counts of a table as ``role`` may see them (cell-key method,
    :func:`geo.access.disclosure.protect_counts`).

    Parameters
    ----------
    frame
        One row per published value; ``value`` holds the exact counts, ``key`` (default
        ``<value>_key``) the key sums of their records.
    role
        The viewer's role; cleared roles (:data:`geo.access.privacy.CLEARED_ROLES`) see the exact counts.

    Returns
    -------
    DataFrame
        A copy with ``value`` as float (protected), ``suppressed`` (always None: nothing is
        withheld) and ``shown`` (the text to display).
    """
    out = frame.copy()
    key = key or f"{value}_key"
    shown = disclosure.protect_counts(out[value].to_numpy(), out[key].to_numpy(), role)
    out[value] = shown.astype(float)
    out["suppressed"] = None
    out["shown"] = [privacy.format_int(c) for c in shown]
    return out


def _group_labels(frame: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """One integer label per row, the same for rows sharing the values of ``cols``."""
    return frame.groupby(list(cols), sort=False, dropna=False).ngroup().to_numpy()


# --------------------------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------------------------

def breakdown_labels(store: Store, by: Breakdown, filters: Filters) -> dict[str, str]:
    """The lines of a breakdown with their Italian labels (all of them, also those with no events)."""
    if by == "category":
        keys = filters.categories or tuple(INCIDENT_CATEGORIES)
        return {k: INCIDENT_CATEGORIES.get(k, k) for k in keys}
    if by == "pro_com_t":
        comuni = store.comuni()
        names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
        keys = filters.comuni or tuple(names)
        return {k: names.get(k, k) for k in keys}
    raise ValueError(f"scomposizione non prevista: {by}")


def incident_series(
    store: Store,
    filters: Filters,
    *,
    by: Breakdown | None = None,
    freq: Frequency = "M",
    role: str | None = None,
) -> pd.DataFrame:
    """Incidents per month (or year) over the filters, optionally one line per category or comune.

    Every line has a value for every period of the window (zero when nothing happened), so a
    chart shows drops to zero instead of interpolating across them.

    Returns
    -------
    DataFrame
        ``period`` (first day of the month, or 1 January for yearly values), ``key`` (category
        code, PRO_COM_T, or ``"totale"``), ``label`` (Italian), ``incidents`` (float, NaN when
        hidden), ``suppressed``, ``shown``, ``months`` (months of data summed in the period).
        Empty when the store has no incidents.
    """
    window = comparison_window(store, filters)
    columns = ["period", "key", "label", "incidents", "suppressed", "shown", "months"]
    if window is None:
        return pd.DataFrame(columns=columns)
    kwargs = {**filters.query_kwargs(), "start": window.start, "end": window.end}
    raw = store.incidents_series(by=(by,) if by else (), **kwargs)
    labels = breakdown_labels(store, by, filters) if by else {"totale": "Totale"}
    raw["key"] = raw[by] if by else "totale"
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    grid = pd.MultiIndex.from_product([month_range(window.start, window.end), list(labels)], names=["month", "key"])
    monthly = (
        raw.groupby(["month", "key"])[["incidents", "incidents_key"]].sum()
        .reindex(grid, fill_value=0)
        .reset_index()
    )
    if freq == "Y":
        monthly["period"] = [date(m.year, 1, 1) for m in monthly["month"]]
        table = monthly.groupby(["period", "key"], sort=True).agg(
            incidents=("incidents", "sum"), incidents_key=("incidents_key", "sum"), months=("month", "nunique")
        ).reset_index()
    elif freq == "M":
        table = monthly.rename(columns={"month": "period"})
        table["months"] = 1
    else:
        raise ValueError(f"frequenza non prevista: {freq}")
    table = protect(table, role=role)
    table["label"] = table["key"].map(labels)
    return table[columns].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Change against the previous period
# --------------------------------------------------------------------------------------------

def _totals(store: Store, filters: Filters, by: Breakdown, start: date, end: date) -> pd.DataFrame:
    kwargs = {**filters.query_kwargs(), "start": start, "end": end}
    raw = store.incidents_series(by=(by,), **kwargs)
    return raw.groupby(by)[["incidents", "incidents_key"]].sum()


def period_change(
    store: Store,
    filters: Filters,
    *,
    by: Breakdown = "category",
    role: str | None = None,
) -> pd.DataFrame:
    """Incidents in the filter period against the previous period of the same length.

    The previous period is the one ending the month before ``filters.start`` (for example
    January-December 2024 against January-December 2023). When the data do not cover it, the
    previous values are missing (NaN) rather than compared with a partial period.

    Returns
    -------
    DataFrame
        One row per category (or comune) plus a last row ``key == "totale"``: ``key``,
        ``label``, ``current``, ``previous``, ``delta`` (current - previous), ``delta_pct``
        (percent of previous; NaN when previous is 0 or missing), ``current_shown``,
        ``previous_shown``. For roles without clearance every count is protected on its own
        (:func:`geo.access.disclosure.protect_counts`) and the deltas follow from the protected values.
    """
    window = comparison_window(store, filters)
    labels = breakdown_labels(store, by, filters)
    keys = list(labels)
    empty = pd.DataFrame({"incidents": 0, "incidents_key": 0}, index=keys)
    covered = window is not None and window.previous_covered
    current = empty if window is None else _totals(store, filters, by, window.start, window.end).reindex(
        keys, fill_value=0)
    previous = _totals(store, filters, by, window.previous_start, window.previous_end).reindex(
        keys, fill_value=0) if covered else empty
    frame = pd.DataFrame({"key": [*keys, "totale"], "label": [*(labels[k] for k in keys), "Totale"]})
    for side, part in (("current", current), ("previous", previous)):
        counts = [*part["incidents"].astype("int64"), int(part["incidents"].sum())]
        key_sums = [*part["incidents_key"].astype("int64"), disclosure.combine_keys(part["incidents_key"])]
        shown = disclosure.protect_counts(counts, key_sums, role).astype(float)
        frame[side] = shown
        frame[f"{side}_shown"] = [privacy.format_int(v) for v in shown]
    if not covered:
        frame["previous"] = np.nan
        frame["previous_shown"] = "n.d."
    frame["delta"] = frame["current"] - frame["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = frame["delta"] / frame["previous"] * 100
    frame["delta_pct"] = pct.where(frame["previous"] > 0)
    return frame[["key", "label", "current", "previous", "delta", "delta_pct", "current_shown", "previous_shown"]]


def trend_arrow(delta: float, delta_pct: float | None = None, *, tolerance_pct: float = 1.0) -> str:
    """``▲`` increase, ``▼`` decrease, ``=`` stable (within ``tolerance_pct`` percent), ``–`` unknown."""
    if delta is None or pd.isna(delta):
        return "–"
    if delta_pct is not None and not pd.isna(delta_pct) and abs(delta_pct) < tolerance_pct:
        return "="
    return "▲" if delta > 0 else "▼" if delta < 0 else "="


# --------------------------------------------------------------------------------------------
# Provinces: official ISTAT rates
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ranking:
    """A province among all Italian provinces for one year (1 = highest rate).

    ``table`` has one row per province sorted by rank: ``ref_area``, ``territorio``,
    ``regione``, ``delitti``, ``popolazione``, ``tasso_per_1000``, ``rank``, ``ours``.
    """

    year: int
    nuts3: str
    table: pd.DataFrame
    rank: int | None
    n: int
    rate: float | None
    name: str | None
    region: str | None
    regional_median: float | None
    national_median: float | None

    @property
    def rank_label(self) -> str:
        """For example ``"37° su 106"``."""
        return f"{self.rank}° su {self.n}" if self.rank is not None else f"n.d. su {self.n}"


def _provinces(store: Store) -> pd.DataFrame:
    prov = store.table("crime_provinces")
    rate = prov["delitti"] / prov["popolazione"] * 1000
    prov["tasso_per_1000"] = prov["tasso_per_1000"].fillna(rate)
    return prov


def province_years(store: Store) -> list[int]:
    """Years present in the provincial table, oldest first."""
    return sorted(int(y) for y in _provinces(store)["anno"].unique())


def province_ranking(store: Store, year: int, nuts3: str | None) -> Ranking:
    """Rank of the province ``nuts3`` by crimes reported per 1,000 residents in ``year``.

    Source: ISTAT DCCV_DELITTIPS (delitti denunciati dalle forze di polizia all'autorità
    giudiziaria) over ISTAT resident population, ``crime_provinces`` table. Ties share the best
    rank (``min`` method). Medians are over the provinces of the region and of Italy.
    """
    prov = _provinces(store)
    year_rows = prov[prov["anno"] == year].copy()
    year_rows["rank"] = year_rows["tasso_per_1000"].rank(ascending=False, method="min").astype("Int64")
    year_rows["ours"] = year_rows["ref_area"] == nuts3
    year_rows = year_rows.sort_values(["rank", "territorio"]).reset_index(drop=True)
    table = year_rows[["ref_area", "territorio", "regione", "delitti", "popolazione", "tasso_per_1000", "rank",
                       "ours"]]
    ours = table[table["ours"]]
    national = float(table["tasso_per_1000"].median()) if len(table) else None
    if ours.empty:
        return Ranking(year, nuts3 or "", table, None, len(table), None, None, None, None, national)
    row = ours.iloc[0]
    regional = float(table.loc[table["regione"] == row["regione"], "tasso_per_1000"].median())
    return Ranking(
        year=year, nuts3=nuts3 or "", table=table, rank=int(row["rank"]), n=len(table),
        rate=float(row["tasso_per_1000"]), name=str(row["territorio"]), region=str(row["regione"]),
        regional_median=regional, national_median=national,
    )


def rate_series(store: Store, nuts3: str | None) -> pd.DataFrame:
    """Yearly rate per 1,000 residents of the province against the regional and national medians.

    Returns
    -------
    DataFrame
        ``anno``, ``tasso`` (ours; NaN if the province is missing), ``mediana_regionale``,
        ``mediana_nazionale``, ``rank``, ``n``.
    """
    rows = []
    for year in province_years(store):
        r = province_ranking(store, year, nuts3)
        rows.append({"anno": year, "tasso": r.rate, "mediana_regionale": r.regional_median,
                     "mediana_nazionale": r.national_median, "rank": r.rank, "n": r.n})
    return pd.DataFrame(rows, columns=["anno", "tasso", "mediana_regionale", "mediana_nazionale", "rank", "n"])


# --------------------------------------------------------------------------------------------
# Official totals against the dataset
# --------------------------------------------------------------------------------------------

def official_vs_dataset(store: Store) -> pd.DataFrame:
    """Official yearly totals of the province next to the incidents stored in the dataset.

    The official figures (``crime_official``: ISTAT totals, Ministero dell'Interno by category)
    are real; the dataset may be generated (demo) or imported. Only whole-territory, all-category
    sums are compared, so no confidentiality rule applies.

    Returns
    -------
    DataFrame
        One row per year and ``categoria`` (``"totale"`` or a category code) present in either
        source: ``anno``, ``categoria``, ``label``, ``ufficiali`` (NaN if absent), ``fonte``, ``dataset``
        (NaN if the year has no data), ``mesi`` (months of data in that year), ``scarto_pct``
        (dataset against official, percent, only for complete years), ``dataset_key`` (key sum of
        the dataset's records, for :func:`protect_official`). Exact figures.
    """
    official = store.table("crime_official")[["anno", "categoria", "delitti", "fonte"]].rename(
        columns={"delitti": "ufficiali"}
    )
    series = store.incidents_series(by=("category",))
    months = store.incidents_series()
    cols = ["anno", "categoria", "label", "ufficiali", "fonte", "dataset", "mesi", "scarto_pct", "dataset_key"]
    if series.empty and official.empty:
        return pd.DataFrame(columns=cols)
    series["anno"] = pd.to_datetime(series["month"]).dt.year
    agg = {"dataset": ("incidents", "sum"), "dataset_key": ("incidents_key", "sum")}
    by_cat = series.groupby(["anno", "category"]).agg(**agg).reset_index()
    by_cat = by_cat.rename(columns={"category": "categoria"})
    totals = series.groupby("anno").agg(**agg).reset_index().assign(categoria="totale")
    dataset = pd.concat([totals, by_cat], ignore_index=True)
    months["anno"] = pd.to_datetime(months["month"]).dt.year
    n_months = months.groupby("anno")["month"].nunique().rename("mesi")
    merged = official.merge(dataset, on=["anno", "categoria"], how="outer")
    merged["anno"] = merged["anno"].astype(int)
    merged["mesi"] = merged["anno"].map(n_months).fillna(0).astype(int)
    merged["label"] = merged["categoria"].map({"totale": "Totale", **INCIDENT_CATEGORIES}).fillna(merged["categoria"])
    complete = merged["mesi"] == 12
    merged["scarto_pct"] = ((merged["dataset"] - merged["ufficiali"]) / merged["ufficiali"] * 100).where(complete)
    order = {"totale": -1, **{k: i for i, k in enumerate(INCIDENT_CATEGORIES)}}
    merged["_o"] = merged["categoria"].map(order).fillna(len(order))
    return merged.sort_values(["anno", "_o"]).drop(columns="_o")[cols].reset_index(drop=True)



def protect_official(official: pd.DataFrame, role: str | None = None) -> pd.DataFrame:
    """:func:`official_vs_dataset` made safe to show to ``role``.

    ``ufficiali`` are published statistics (ISTAT, Ministero dell'Interno) and stay as they are.
    ``dataset`` (the stored incidents of a year and category) is protected for roles without
    clearance (:func:`geo.access.disclosure.protect_counts`, with the key sums of its records) and
    ``scarto_pct`` is recomputed from the protected value. ``ufficiali_shown`` and ``dataset_shown``
    hold the text to display.
    """
    out = official.copy().reset_index(drop=True)
    if not out.empty and not privacy.can_see_exact(role):
        has = out["dataset"].notna().to_numpy()
        shown = disclosure.protect_counts(out.loc[has, "dataset"].to_numpy(),
                                          out.loc[has, "dataset_key"].to_numpy(), role)
        out.loc[has, "dataset"] = shown.astype(float)
        complete = out["mesi"] == 12
        out["scarto_pct"] = ((out["dataset"] - out["ufficiali"]) / out["ufficiali"] * 100).where(complete)
    out["ufficiali_shown"] = [privacy.format_int(x) for x in out["ufficiali"]]
    out["dataset_shown"] = [privacy.format_int(x) for x in out["dataset"]]
    return out.drop(columns="dataset_key")
