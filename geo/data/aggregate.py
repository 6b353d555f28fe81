"""Incident events to anonymous aggregates: cell x month x category x time band x outdoor.

Point-level incident exports (one row per event, SDI-like) are never stored: they pass through
:func:`aggregate_incident_points` and only the counts leave it (pact art. 3: "elaborazioni
statistiche anonime"). The grouping runs on integer codes packed into one int64 key and
``np.unique``, with no Python loop over events, so a million events take well under a second on
top of the H3 indexing (:func:`geo.data.hexgrid.points_to_cells`, about 2 M points/s).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo import config
from geo.data import hexgrid, schemas

AGGREGATE_COLUMNS = ["cell", "month", "category", "time_band", "outdoor", "count"]

_BANDS = ("giorno", "notte")
_MISSING = 2  # code of a missing time band or outdoor flag
_NAT = np.iinfo(np.int64).min


def time_bands(when: np.ndarray | pd.Series) -> np.ndarray:
    """``"notte"`` from :data:`~geo.data.schemas.NIGHT_START_HOUR` to :data:`~geo.data.schemas.NIGHT_END_HOUR`
    (local time), else ``"giorno"``; ``None`` where the time is missing."""
    codes = _band_codes(_local_datetimes(when))
    return np.array([*_BANDS, None], dtype=object)[codes]


def _band_codes(local: np.ndarray) -> np.ndarray:
    """0 day, 1 night, :data:`_MISSING` for NaT, from naive local ``datetime64`` values."""
    hours = (local - local.astype("datetime64[D]")).astype("timedelta64[h]").astype(np.int64)
    night = (hours >= schemas.NIGHT_START_HOUR) | (hours < schemas.NIGHT_END_HOUR)
    return np.where(np.isnat(local), _MISSING, night.astype(np.int64))


def _local_datetimes(when: np.ndarray | pd.Series) -> np.ndarray:
    """Naive local-time ``datetime64[us]``; time-zone aware values are converted to Europe/Rome."""
    if isinstance(when, np.ndarray) and when.dtype.kind == "M":
        return when.astype("datetime64[us]")
    series = pd.Series(when)
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        series = pd.to_datetime(series)
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("Europe/Rome").dt.tz_localize(None)
    return series.to_numpy(dtype="datetime64[us]")


def aggregate_incident_points(
    lat: np.ndarray,
    lon: np.ndarray,
    when: np.ndarray | pd.Series | None,
    category: np.ndarray | pd.Series,
    *,
    outdoor: np.ndarray | pd.Series | None = None,
    time_band: np.ndarray | pd.Series | None = None,
    res: int = config.STORE_RES,
) -> pd.DataFrame:
    """Count events per H3 cell, month, category, time band and outdoor flag.

    Parameters
    ----------
    lat, lon
        WGS84 degrees, finite.
    when
        Date and time of each event (``datetime64``; time-zone aware values are taken in Italian
        local time), or ``None`` when unknown (then ``month`` is NaT).
    category
        Category code of each event (:data:`geo.data.schemas.INCIDENT_CATEGORIES`).
    outdoor
        Whether each event happened in a public outdoor place; missing when ``None``.
    time_band
        ``"giorno"``/``"notte"`` per event; where missing it is derived from the hour of ``when``
        (night is 20:00-06:00, :data:`geo.data.schemas.NIGHT_START_HOUR`).
    res
        H3 resolution of the cells (10, the stored one, by default).

    Returns
    -------
    DataFrame
        ``cell`` (int64), ``month`` (first day, ``datetime64``), ``category``, ``time_band``,
        ``outdoor`` (nullable boolean), ``count`` (int64); one row per non-empty combination,
        sorted. The coordinates are not part of the result.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.shape != lon.shape:
        raise ValueError("lat e lon devono avere la stessa lunghezza")
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise ValueError("coordinate mancanti o non finite: filtrarle prima dell'aggregazione")
    n = lat.size
    cells = hexgrid.points_to_cells(lat, lon, res)
    if when is None:
        months = np.full(n, _NAT, dtype=np.int64)
        bands = np.full(n, _MISSING, dtype=np.int64)
    else:
        local = _local_datetimes(when)
        months = local.astype("datetime64[M]").astype(np.int64)
        bands = _band_codes(local)
    if time_band is not None:
        given = _two_valued(time_band, _BANDS, n)
        bands = np.where(given == _MISSING, bands, given)
    return _aggregate(cells, months, category, bands, _two_valued(outdoor, (False, True), n), None)


def write_incident_points(
    cur,
    lat: np.ndarray,
    lon: np.ndarray,
    when: np.ndarray | pd.Series,
    category: np.ndarray | pd.Series | pd.Categorical,
    *,
    outdoor: np.ndarray | pd.Series | None = None,
    time_band: np.ndarray | pd.Series | None = None,
    synthetic: bool,
    source: str,
    import_id: int | None = None,
    workers: int | None = None,
) -> int:
    """Aggregate events straight into the ``incidents`` table, inside the caller's transaction.

    The bulk path for large point-level exports: the H3 cells, month, time-band and outdoor codes
    are computed with numpy (cells over every core, :func:`geo.data.hexgrid.points_to_cells`), and the
    grouping runs inside DuckDB (:meth:`geo.data.storage.Store.insert_incident_codes`), so no
    DataFrame of aggregates is built in Python and memory stays near the size of the input.
    Same result as :func:`aggregate_incident_points` followed by a write. Returns the number of
    aggregate rows written.
    """
    from geo.data.storage import Store

    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise ValueError("coordinate mancanti o non finite: filtrarle prima dell'aggregazione")
    n = lat.size
    cells = hexgrid.points_to_cells(lat, lon, config.STORE_RES, workers=workers)
    local = _local_datetimes(when)
    if np.isnat(local).any():
        raise ValueError("data mancante in alcuni eventi")
    months = local.astype("datetime64[M]").astype(np.int64)
    bands = _band_codes(local)
    if time_band is not None:
        given = _two_valued(time_band, _BANDS, n)
        bands = np.where(given == _MISSING, bands, given)
    if isinstance(category, pd.Series) and isinstance(category.dtype, pd.CategoricalDtype):
        category = category.array
    if isinstance(category, pd.Categorical):
        cat_codes, labels = category.codes, [str(c) for c in category.categories]
    else:
        cat_codes, uniques = pd.factorize(np.asarray(category, dtype=object), use_na_sentinel=True)
        labels = [str(u) for u in uniques]
    if (np.asarray(cat_codes) < 0).any():
        raise ValueError("categoria mancante in alcune righe")
    unknown = sorted(set(labels) - set(schemas.INCIDENT_CATEGORIES))
    if unknown:
        raise ValueError(f"categorie sconosciute: {', '.join(unknown)}")
    return Store.insert_incident_codes(
        cur, cells=cells, months=months, categories=np.asarray(cat_codes, dtype=np.int16), labels=labels,
        bands=bands.astype(np.int8), outdoor=_two_valued(outdoor, (False, True), n).astype(np.int8),
        synthetic=synthetic, source=source, import_id=import_id,
    )


def aggregate_incident_cells(
    cells: np.ndarray,
    month: np.ndarray | pd.Series,
    category: np.ndarray | pd.Series,
    *,
    time_band: np.ndarray | pd.Series,
    outdoor: np.ndarray | pd.Series | None = None,
    count: np.ndarray | pd.Series | None = None,
) -> pd.DataFrame:
    """Sum counts of rows already placed on cells (aggregate files, validated events).

    Parameters
    ----------
    cells
        int64 H3 cells.
    month
        ``datetime64`` values; reduced to the first day of their month.
    category, time_band
        Codes per row (``time_band`` may be missing).
    outdoor
        Nullable booleans, or ``None``.
    count
        Events per row (1 when ``None``).

    Returns
    -------
    DataFrame
        The columns of :data:`AGGREGATE_COLUMNS`, sorted by cell, month, category, time band,
        outdoor.
    """
    cells = np.asarray(cells, dtype=np.int64)
    n = cells.size
    months = _local_datetimes(month).astype("datetime64[M]").astype(np.int64)
    weights = None if count is None else pd.Series(count).to_numpy(dtype=np.int64, na_value=0)
    return _aggregate(cells, months, category, _two_valued(time_band, _BANDS, n),
                      _two_valued(outdoor, (False, True), n), weights)


def _aggregate(
    cells: np.ndarray, months: np.ndarray, category, bands: np.ndarray, outdoor: np.ndarray,
    weights: np.ndarray | None,
) -> pd.DataFrame:
    """Group on integer codes packed into one int64 key (hash factorisation, no sort of the input)."""
    if isinstance(category, pd.Series) and isinstance(category.dtype, pd.CategoricalDtype):
        category = category.array
    if isinstance(category, pd.Categorical):  # already coded: no string hashing
        cat_codes, cat_values = category.codes.astype(np.int64), np.asarray(category.categories, dtype=object)
    else:
        cat_codes, cat_values = pd.factorize(np.asarray(category, dtype=object), use_na_sentinel=True)
    if (cat_codes < 0).any():
        raise ValueError("categoria mancante in alcune righe")
    cell_idx, cell_values = pd.factorize(cells)
    month_idx, month_values = pd.factorize(months)
    sizes = (len(cell_values), len(month_values), max(len(cat_values), 1), 3, 3)
    if np.prod(np.asarray(sizes, dtype=np.float64)) >= 2.0**62:
        raise ValueError("troppe combinazioni distinte da aggregare")
    key = cell_idx.astype(np.int64)
    for size, codes in zip(sizes[1:], (month_idx, cat_codes, bands, outdoor), strict=True):
        key = key * size + codes
    inverse, keys = pd.factorize(key)
    counts = np.bincount(inverse, minlength=len(keys)) if weights is None else \
        np.bincount(inverse, weights=weights, minlength=len(keys)).round().astype(np.int64)

    decoded = []
    rest = np.asarray(keys, dtype=np.int64)
    for size in reversed(sizes[1:]):
        decoded.append(rest % size)
        rest = rest // size
    out_k, band_k, cat_k, month_k = decoded
    cell_out = np.asarray(cell_values, dtype=np.int64)[rest]
    month_out = np.asarray(month_values, dtype=np.int64)[month_k]
    cat_rank = np.argsort(np.argsort(np.asarray(cat_values, dtype=str)))
    order = np.lexsort((out_k, band_k, cat_rank[cat_k], month_out, cell_out))
    month_out = month_out[order]
    month_dates = np.where(month_out == _NAT, np.datetime64("NaT"), month_out.astype("datetime64[M]"))
    # take() on a tiny string array: far cheaper than building a million Python strings
    return pd.DataFrame(
        {
            "cell": cell_out[order],
            "month": month_dates.astype("datetime64[us]"),
            "category": pd.array(np.asarray(cat_values, dtype=object), dtype="str").take(cat_k[order]),
            "time_band": pd.array([*_BANDS, None], dtype="str").take(band_k[order]),
            "outdoor": pd.array([False, True, None], dtype="boolean").take(out_k[order]),
            "count": counts[order].astype(np.int64),
        },
        columns=AGGREGATE_COLUMNS,
    )


def _two_valued(values: np.ndarray | pd.Series | None, labels: tuple, n: int) -> np.ndarray:
    """0 for ``labels[0]``, 1 for ``labels[1]``, :data:`_MISSING` where missing; unknown values raise."""
    if values is None:
        return np.full(n, _MISSING, dtype=np.int64)
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, np.ndarray) and values.dtype == bool and labels == (False, True):
        return values.astype(np.int64)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    lookup = {label: i for i, label in enumerate(labels)}
    table = np.array([lookup.get(u, -1) for u in uniques] + [_MISSING], dtype=np.int64)
    if (table[:-1] < 0).any():
        raise ValueError(f"valori non ammessi: ammessi {', '.join(str(k) for k in labels)}")
    return table[codes]  # code -1 (missing) picks the last entry, _MISSING
