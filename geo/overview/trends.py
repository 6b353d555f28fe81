"""Incident trends: time series, change against the previous period, provincial benchmarks.

Everything here is a pure computation on :class:`geo.data.storage.Store` queries and returns plain
DataFrames; the *Andamento* page only draws them.

Statistical confidentiality (pact art. 3; Sistan code of conduct): for roles without police
clearance (:func:`geo.access.privacy.can_see_exact`) a published count between 1 and
``SUPPRESSION_THRESHOLD - 1`` is replaced by "< 3" (*primary* suppression,
:func:`geo.access.privacy.suppressed_mask`). Because totals are published as well (the period total of
each line, the monthly total readable from the other breakdown, the yearly view), a single hidden
value in a group whose total is known could be recovered by subtraction; the smallest other
values of that group are then hidden too and shown as "riservato" (*complementary* suppression,
:func:`geo.access.privacy.complementary_suppression`: several small values summing to a known total are
protected as well), repeated until no group has exactly one hidden value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from geo.access import privacy
from geo.data.filters import Filters
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.data.storage import Store

Breakdown = Literal["category", "pro_com_t"]
Frequency = Literal["M", "Y"]

#: Labels shown instead of a hidden value.
PRIMARY_LABEL = privacy.COUNT_LABEL
COMPLEMENT_LABEL = privacy.DERIVED_LABEL


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

def suppress(
    frame: pd.DataFrame,
    *,
    value: str = "incidents",
    groups: Sequence[Sequence[str]] = (),
    role: str | None = None,
    threshold: int | None = None,
) -> pd.DataFrame:
    """Hide small counts, with complementary suppression inside groups whose total is public.

    Parameters
    ----------
    frame
        One row per published value; ``value`` holds the exact counts.
    value
        Column to protect.
    groups
        Column lists; every group of rows sharing those columns is assumed to have a published
        total (for example ``[["month"], ["key"]]`` for a month x line table whose monthly and
        per-line totals are visible elsewhere). Groups of one row are left alone: their total is
        the row itself, hidden already if small.
    role
        The viewer's role; for cleared roles (:data:`geo.access.privacy.CLEARED_ROLES`) nothing is hidden.
    threshold
        Smallest count published (default :data:`geo.config.SUPPRESSION_THRESHOLD`);
        ``1 .. threshold - 1`` are hidden, zero is published.

    Returns
    -------
    DataFrame
        A copy with ``value`` as float (NaN where hidden), ``suppressed`` (``None``,
        ``"primario"`` or ``"complementare"``) and ``shown`` (the text to display).
        ``attrs["unprotected"]`` lists ``(columns, values)`` of the groups whose hidden values no
        visible cell can protect (e.g. ``[1, 3]``: the total 4 gives the 1 away): the caller must
        hide their published total.
    """
    out = frame.copy()
    counts = out[value].astype("int64").to_numpy()
    primary = privacy.suppressed_mask(counts, role, threshold=threshold)
    hidden = primary.copy()
    unprotected: list[tuple[tuple[str, ...], object]] = []
    if hidden.any() and groups:
        # 1. Every hidden small count must keep at least two possible values given the total of
        #    each group and the labels (several small values can sum to a recoverable total:
        #    [1, 1, 10] with total 12 are both 1), see privacy.complementary_suppression.
        labels = [_group_labels(out, cols) for cols in groups]
        extra, left = privacy.complementary_suppression(counts, labels, role, threshold=threshold)
        hidden |= extra
        unprotected = [
            (tuple(groups[k]), tuple(out[list(groups[k])].to_numpy()[np.flatnonzero(labels[k] == lab)[0]]))
            for k, lab in left
        ]
        # 2. No group may keep a single hidden value (a complementary one recovered by
        #    subtraction would then give the small count away through another group).
        for _ in range(len(out)):  # each pass hides at least one more value or stops
            changed = False
            for lab in labels:
                for idx in pd.Series(range(len(out))).groupby(lab, sort=False).indices.values():
                    if hidden[idx].sum() != 1:
                        continue
                    # The smallest other value; a zero only when no positive value is left (a
                    # published zero next to a published total gives the hidden value away too).
                    candidates = [i for i in idx if not hidden[i]]
                    if candidates:
                        hidden[min(candidates, key=lambda i: (counts[i] == 0, counts[i], i))] = True
                        changed = True
            if not changed:
                break
    #: Groups whose hidden values no published cell can protect: their total must be hidden too.
    out.attrs["unprotected"] = unprotected
    out[value] = np.where(hidden, np.nan, counts.astype(float))
    out["suppressed"] = np.where(primary, "primario", np.where(hidden, "complementare", None))
    out["shown"] = [
        PRIMARY_LABEL if p else COMPLEMENT_LABEL if h else privacy.format_int(c)
        for p, h, c in zip(primary, hidden, counts, strict=True)
    ]
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
        raw.groupby(["month", "key"])["incidents"].sum()
        .reindex(grid, fill_value=0)
        .reset_index()
    )
    if freq == "Y":
        monthly["period"] = [date(m.year, 1, 1) for m in monthly["month"]]
        table = monthly.groupby(["period", "key"], sort=True).agg(
            incidents=("incidents", "sum"), months=("month", "nunique")
        ).reset_index()
        groups: list[list[str]] = [["period"], ["key"]]
    elif freq == "M":
        table = monthly.rename(columns={"month": "period"})
        table["months"] = 1
        table["year"] = [p.year for p in table["period"]]
        groups = [["period"], ["key"], ["key", "year"]]
    else:
        raise ValueError(f"frequenza non prevista: {freq}")
    if not by:
        groups = [["key"], ["key", "year"]] if freq == "M" else [["key"]]
    table = suppress(table, groups=groups, role=role)
    table["label"] = table["key"].map(labels)
    result = table[columns].reset_index(drop=True)
    # periods whose breakdown cannot be protected: their published total would reveal it
    result.attrs["unprotected_periods"] = sorted(
        v[0] if isinstance(v, tuple) else v
        for cols, v in table.attrs.get("unprotected", []) if tuple(cols) == ("period",))
    return result


def hide_periods(series: pd.DataFrame, periods: Iterable[date]) -> pd.DataFrame:
    """``series`` (from :func:`incident_series`) with the values of ``periods`` reserved.

    Used for the total line when a breakdown of the same periods could not be protected by
    complementary suppression (e.g. categories [1, 3]: the published total 4 would give both back).
    """
    out = series.copy()
    mask = out["period"].isin(set(periods)) & out["incidents"].notna()
    out["incidents"] = out["incidents"].astype(float)
    out.loc[mask, "incidents"] = np.nan
    out.loc[mask, "suppressed"] = "complementare"
    out.loc[mask, "shown"] = COMPLEMENT_LABEL
    return out


# --------------------------------------------------------------------------------------------
# Change against the previous period
# --------------------------------------------------------------------------------------------

def _totals(store: Store, filters: Filters, by: Breakdown, start: date, end: date) -> pd.Series:
    kwargs = {**filters.query_kwargs(), "start": start, "end": end}
    raw = store.incidents_series(by=(by,), **kwargs)
    return raw.groupby(by)["incidents"].sum()


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
        ``previous_shown``. Hidden values (roles without clearance) are NaN with their label
        in the ``*_shown`` columns; delta and percentage are hidden when either side is.
    """
    window = comparison_window(store, filters)
    labels = breakdown_labels(store, by, filters)
    keys = list(labels)
    if window is None:
        current = pd.Series(0, index=keys, dtype="int64")
        previous = pd.Series(np.nan, index=keys)
        covered = False
    else:
        current = _totals(store, filters, by, window.start, window.end).reindex(keys, fill_value=0)
        covered = window.previous_covered
        previous = (
            _totals(store, filters, by, window.previous_start, window.previous_end).reindex(keys, fill_value=0)
            if covered else pd.Series(np.nan, index=keys)
        )
    frame = pd.DataFrame({"key": keys, "label": [labels[k] for k in keys],
                          "current": current.to_numpy(), "previous": previous.to_numpy()})
    total = pd.DataFrame({"key": ["totale"], "label": ["Totale"], "current": [frame["current"].sum()],
                          "previous": [frame["previous"].sum() if covered else np.nan]})
    frame = pd.concat([frame, total], ignore_index=True)
    frame["group"] = np.where(frame["key"] == "totale", "totale", "voci")

    cur = suppress(frame.assign(n=frame["current"].astype("int64")), value="n", groups=[["group"]],
                   role=role)
    _hide_unprotected_total(cur)
    frame["current"] = cur["n"]
    frame["current_shown"] = cur["shown"]
    if covered:
        prev = suppress(frame.assign(n=frame["previous"].astype("int64")), value="n", groups=[["group"]],
                        role=role)
        _hide_unprotected_total(prev)
        frame["previous"] = prev["n"]
        frame["previous_shown"] = prev["shown"]
    else:
        frame["previous_shown"] = "n.d."
    frame["delta"] = frame["current"] - frame["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = frame["delta"] / frame["previous"] * 100
    frame["delta_pct"] = pct.where(frame["previous"] > 0)
    return frame.drop(columns="group")[
        ["key", "label", "current", "previous", "delta", "delta_pct", "current_shown", "previous_shown"]
    ]


def _hide_unprotected_total(table: pd.DataFrame) -> None:
    """Hide the "Totale" row when the hidden categories cannot be protected otherwise."""
    if (("group",), ("voci",)) in table.attrs.get("unprotected", []):
        total = (table["group"] == "totale").to_numpy() & table["suppressed"].isna().to_numpy()
        table.loc[total, "n"] = np.nan
        table.loc[total, "suppressed"] = "complementare"
        table.loc[total, "shown"] = COMPLEMENT_LABEL


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
        (dataset against official, percent, only for complete years).
    """
    official = store.table("crime_official")[["anno", "categoria", "delitti", "fonte"]].rename(
        columns={"delitti": "ufficiali"}
    )
    series = store.incidents_series(by=("category",))
    months = store.incidents_series()
    cols = ["anno", "categoria", "label", "ufficiali", "fonte", "dataset", "mesi", "scarto_pct"]
    if series.empty and official.empty:
        return pd.DataFrame(columns=cols)
    series["anno"] = pd.to_datetime(series["month"]).dt.year
    by_cat = series.groupby(["anno", "category"])["incidents"].sum().rename("dataset").reset_index()
    by_cat = by_cat.rename(columns={"category": "categoria"})
    totals = series.groupby("anno")["incidents"].sum().rename("dataset").reset_index().assign(categoria="totale")
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



def suppress_official(official: pd.DataFrame, role: str | None = None) -> pd.DataFrame:
    """:func:`official_vs_dataset` made safe to show to ``role``.

    The yearly counts of a category can be small. ``dataset`` is suppressed per year with the
    category rows as a group whose total (the ``"totale"`` row) is published, the total being
    hidden too when the categories cannot be protected otherwise; ``ufficiali`` gets primary
    suppression. Hidden values become NaN (so charts drop them), ``ufficiali_shown`` and
    ``dataset_shown`` hold the text to display, and ``scarto_pct`` is NaN when either side is
    hidden (it would give the hidden value back).
    """
    out = official.copy().reset_index(drop=True)
    out["ufficiali_shown"] = [privacy.format_int(x) for x in out["ufficiali"]]
    out["dataset_shown"] = [privacy.format_int(x) for x in out["dataset"]]
    if out.empty or privacy.can_see_exact(role):
        return out
    hidden = np.zeros(len(out), dtype=bool)
    has_off = out["ufficiali"].notna().to_numpy()
    if has_off.any():
        off = suppress(out.loc[has_off].assign(n=out.loc[has_off, "ufficiali"].astype("int64")), value="n",
                       role=role)
        out.loc[has_off, "ufficiali_shown"] = off["shown"].to_numpy()
        out.loc[has_off, "ufficiali"] = off["n"].to_numpy()
        hidden[has_off] |= off["suppressed"].notna().to_numpy()
    has_ds = out["dataset"].notna().to_numpy()
    if has_ds.any():
        part = out.loc[has_ds].assign(
            n=out.loc[has_ds, "dataset"].astype("int64"),
            group=np.where(out.loc[has_ds, "categoria"] == "totale", "totale", "voci"),
        )
        ds = suppress(part, value="n", groups=[["anno", "group"]], role=role)
        for (_, values) in ds.attrs.get("unprotected", []):
            year = values[0]
            total = ((ds["anno"] == year) & (ds["group"] == "totale") & ds["suppressed"].isna()).to_numpy()
            ds.loc[total, "n"] = np.nan
            ds.loc[total, "suppressed"] = "complementare"
            ds.loc[total, "shown"] = COMPLEMENT_LABEL
        out.loc[has_ds, "dataset_shown"] = ds["shown"].to_numpy()
        out.loc[has_ds, "dataset"] = ds["n"].to_numpy()
        hidden[has_ds] |= ds["suppressed"].notna().to_numpy()
    out.loc[hidden, "scarto_pct"] = np.nan
    return out
