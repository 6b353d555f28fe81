"""Validate and normalise a table against a canonical layer, with a row-level report in Italian.

:func:`validate_frame` takes a table whose columns already carry canonical names
(:func:`geo.data.io.harmonise_columns`) and, for located layers, ``lon``/``lat`` in WGS84
(:func:`geo.data.io.locate_points`). It checks every cell (types, Italian number and date formats,
codes, ranges, lengths), every row (duplicated codes, position inside the territory, comune
consistent with the position) and returns the valid rows with exactly the storage columns plus
the problems found, one report row per problem::

    riga   campo       valore          motivo
    7      categoria   furto d'arte    valore non ammesso (valori validi: ...)

``riga`` is the row number the user sees in the file (see :mod:`geo.data.io`). The whole check is
vectorised (parsing works on the distinct values of a column), so an export of a million events
is validated in seconds.

Text is kept as written (HTML or formulas included: the interface escapes text when it shows it
and the CSV exports neutralise formulas); only NUL and other control characters are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import shapely

from geo import config
from geo.data import hexgrid, schemas
from geo.data.io import (
    ImportFailed,
    as_text,
    empty_report,
    normalise_header,
    normalise_value,
    parse_numbers,
    report_frame,
    rows_text,
)

#: Columns of each layer table, as in the DDL of :mod:`geo.data.storage`.
STORAGE_COLUMNS: dict[str, list[str]] = {
    "incidents": ["cell", "month", "category", "time_band", "outdoor", "count", "synthetic", "source", "import_id"],
    "lighting": ["pl_id", "lon", "lat", "cell", "pro_com_t", "technology", "power_w", "height_m", "status", "year",
                 "fixture", "synthetic", "source", "import_id"],
    "reports": ["report_id", "pro_com_t", "lon", "lat", "cell", "area_wkt", "category", "severity", "status",
                "opened", "closed", "description", "synthetic", "source", "import_id"],
    "schools": ["code", "name", "level", "pro_com_t", "lon", "lat", "cell", "students", "address", "synthetic",
                "source", "import_id"],
    "services": ["service_id", "name", "operator", "types", "hours", "open_24h", "capacity", "public", "pro_com_t",
                 "lon", "lat", "cell", "synthetic", "source", "import_id"],
    "roads": ["cell", "highway", "length_m", "import_id"],
    "cameras": ["camera_id", "lon", "lat", "cell", "pro_com_t", "kind", "direction_deg", "fov_deg", "range_m",
                "owner", "control_room", "status", "year", "synthetic", "source", "import_id"],
}

_BOOL_VALUES = {
    "si": True, "s": True, "yes": True, "y": True, "vero": True, "v": True, "true": True, "t": True, "1": True,
    "x": True, "no": False, "n": False, "falso": False, "f": False, "false": False, "0": False,
}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S.%f", " %H.%M")
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_ITALIAN_MONTHS = {
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "agosto": 8,
    "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12, "gen": 1, "feb": 2, "mar": 3, "apr": 4,
    "mag": 5, "giu": 6, "lug": 7, "ago": 8, "set": 9, "ott": 10, "nov": 11, "dic": 12,
}
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LIST_SEPARATORS = re.compile(r"[;|,]")


@dataclass
class ValidationResult:
    """Outcome of :func:`validate_frame`.

    Attributes
    ----------
    data
        Valid rows with the storage columns of the layer's table plus ``lon``, ``lat`` and
        ``cell`` (int64, resolution 10); index: the row number in the file.
    report
        One row per problem: ``riga``, ``campo``, ``valore``, ``motivo``.
    rows_read
        Rows of the input table.
    messages
        Notes for the user.
    """

    data: pd.DataFrame
    report: pd.DataFrame
    rows_read: int
    messages: list[str] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        """Row numbers with at least one problem, ascending."""
        return sorted({int(r) for r in self.report["riga"].dropna()})

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected_rows)


class _Problems:
    """Collects report rows check by check."""

    def __init__(self, index: pd.Index, headers: dict[str, str]) -> None:
        self.index = index
        self.headers = headers
        self.parts: list[pd.DataFrame] = []
        self.bad = np.zeros(len(index), dtype=bool)

    def add(self, mask: np.ndarray | pd.Series, column: str, values: pd.Series | np.ndarray,
            reason: str | pd.Series | np.ndarray) -> None:
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            return
        self.bad |= m
        vals = np.asarray(values, dtype=object)[m]
        why = reason if isinstance(reason, str) else np.asarray(reason, dtype=object)[m]
        self.parts.append(report_frame(self.index[m], self.headers.get(column, column), vals, why))

    def add_frame(self, report: pd.DataFrame) -> None:
        if report.empty:
            return
        self.bad |= self.index.isin(report["riga"].astype("int64"))
        self.parts.append(report)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty_report()
        out = pd.concat(self.parts, ignore_index=True)
        return out.sort_values("riga", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Cell parsers: each returns values aligned on the input and a mask of unreadable cells
# --------------------------------------------------------------------------------------------


def clean_text(values: pd.Series) -> pd.Series:
    """Text cells with control characters removed (newlines and tabs kept), trimmed; ``""`` when empty."""
    text = as_text(values)
    text = text.str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False)
    return text.str.replace(_TEXT_CONTROL, "", regex=True).str.strip()


def parse_bools(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Yes/no cells: sì/no, vero/falso, true/false, 1/0, x (ticked); nullable booleans."""
    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), dtype=bool)
    text = clean_text(s)
    codes, uniques = pd.factorize(text)
    mapped = np.array([_BOOL_VALUES.get(normalise_value(u)) for u in uniques], dtype=object)
    result = pd.Series(mapped[codes] if len(codes) else [], index=s.index, dtype="boolean")
    bad = (text != "").to_numpy() & result.isna().to_numpy()
    return result, bad


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Dates (and times) written as 2024-03-31, 31/03/2024, 31-03-2024 or 31.03.2024, with an
    optional time (``14:30``, ``14:30:15``, ISO ``T14:30``; a UTC offset is converted to Italian
    local time).

    Returns
    -------
    dates
        ``datetime64`` (local time, naive), NaT when empty or unreadable.
    has_time
        True where the cell carried a time of day (for a typed ``datetime64`` column: where the
        column has any time other than midnight).
    bad
        True where the cell is not empty but is not a date between 1900 and 2100.
    """
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        dates = s
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_convert("Europe/Rome").dt.tz_localize(None)
        dates = dates.astype("datetime64[us]")
        # A typed column either carries times or not: one value off midnight says it does, so
        # that an event at 00:00 is not taken for an event without a time.
        timed_column = bool((dates.notna() & (dates != dates.dt.normalize())).any())
        has_time = (dates.notna() & timed_column).to_numpy()
        bad = (dates.notna() & ((dates.dt.year < _MIN_YEAR) | (dates.dt.year > _MAX_YEAR))).to_numpy()
        return dates.where(~bad), has_time, bad
    text = clean_text(s)
    codes, uniques = pd.factorize(text)
    u = pd.Series(uniques, dtype="str")
    parsed = pd.Series(pd.NaT, index=u.index, dtype="datetime64[us]")
    timed = np.zeros(len(u), dtype=bool)
    todo = np.array(u != "", dtype=bool)
    for date_format in _DATE_FORMATS:
        for time_format in _TIME_FORMATS:
            if not todo.any():
                break
            got = pd.to_datetime(u[todo], format=date_format + time_format, errors="coerce")
            ok = got.notna().to_numpy()
            if ok.any():
                where = np.flatnonzero(todo)[ok]
                parsed.iloc[where] = got[ok].to_numpy()
                timed[where] = bool(time_format)
                todo[where] = False
    with_tz = todo & u.str.contains(_TZ_SUFFIX, regex=True).to_numpy()
    if with_tz.any():
        got = pd.to_datetime(u[with_tz], format="ISO8601", errors="coerce", utc=True)
        ok = got.notna().to_numpy()
        where = np.flatnonzero(with_tz)[ok]
        parsed.iloc[where] = got[ok].dt.tz_convert("Europe/Rome").dt.tz_localize(None).to_numpy()
        timed[where] = True
    years = parsed.dt.year
    out_of_range = (parsed.notna() & ((years < _MIN_YEAR) | (years > _MAX_YEAR))).to_numpy()
    parsed[out_of_range] = pd.NaT
    if len(codes) == 0:
        empty = pd.Series([], index=s.index, dtype="datetime64[us]")
        return empty, np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    dates = pd.Series(parsed.to_numpy()[codes], index=s.index)
    bad_u = (u != "").to_numpy() & parsed.isna().to_numpy()
    return dates, timed[codes], bad_u[codes]


def parse_months(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Months written as 2024-03, 2024/03, 03/2024, "marzo 2024" or any date; the first day of
    the month (``datetime64``), NaT when empty or unreadable, and the mask of unreadable cells."""
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        dates, _, bad = parse_dates(s)
        return dates.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]"), bad
    text = clean_text(s)
    codes, uniques = pd.factorize(text)
    months: list[pd.Timestamp | None] = []
    leftovers: list[int] = []
    for i, value in enumerate(uniques):
        found = _month_of(normalise_value(str(value)))
        months.append(found)
        if found is None:
            leftovers.append(i)
    result = pd.Series(months, dtype="datetime64[us]")
    if leftovers:
        dates, _, _ = parse_dates(pd.Series([uniques[i] for i in leftovers], dtype="str"))
        result.iloc[leftovers] = dates.dt.to_period("M").dt.to_timestamp().to_numpy()
    if len(codes) == 0:
        return pd.Series([], index=s.index, dtype="datetime64[us]"), np.zeros(0, dtype=bool)
    out = pd.Series(result.to_numpy()[codes], index=s.index)
    bad = (text != "").to_numpy() & out.isna().to_numpy()
    return out, bad


def _month_of(value: str) -> pd.Timestamp | None:
    found = re.fullmatch(r"(\d{4})\s*[-/.]\s*(\d{1,2})", value)
    if found:
        year, month = int(found.group(1)), int(found.group(2))
    else:
        found = re.fullmatch(r"(\d{1,2})\s*[-/.]\s*(\d{4})", value) or None
        if found:
            month, year = int(found.group(1)), int(found.group(2))
        else:
            found = re.fullmatch(r"([a-z]+)[\s\-/.']*(\d{4})", value)
            if not found or found.group(1) not in _ITALIAN_MONTHS:
                return None
            month, year = _ITALIAN_MONTHS[found.group(1)], int(found.group(2))
    if not (1 <= month <= 12 and _MIN_YEAR <= year <= _MAX_YEAR):
        return None
    return pd.Timestamp(year=year, month=month, day=1)


def enum_lookup(f: schemas.Field) -> dict[str, str]:
    """Normalised spelling -> code for an enum field: codes, Italian labels and value aliases."""
    lookup: dict[str, str] = {}
    for code, label in (f.choices or {}).items():
        lookup.setdefault(normalise_value(str(code)), str(code))
        lookup.setdefault(normalise_value(str(label)), str(code))
    for alias, code in f.value_aliases.items():
        lookup.setdefault(normalise_value(alias), code)
    return lookup


def parse_enum(values: pd.Series, f: schemas.Field) -> tuple[pd.Series, np.ndarray]:
    """Codes of an enum field from codes, labels or aliases, case- and accent-insensitive."""
    lookup = enum_lookup(f)
    text = clean_text(values)
    codes, uniques = pd.factorize(text)
    mapped = np.array([lookup.get(normalise_value(u)) for u in uniques], dtype=object)
    out = pd.Series(mapped[codes] if len(codes) else [], index=text.index, dtype="str")
    bad = (text != "").to_numpy() & out.isna().to_numpy()
    return out, bad


def parse_enum_list(values: pd.Series, f: schemas.Field) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """Lists of codes separated by ``;``, ``|`` or ``,``; returns the lists (None when empty), the
    mask of cells with an unknown element and the reason naming the unknown elements."""
    lookup = enum_lookup(f)
    text = clean_text(values)
    lists: list[list[str] | None] = []
    reasons: list[str] = []
    for value in text:
        items = [p.strip() for p in _LIST_SEPARATORS.split(value) if p.strip()]
        unknown = [p for p in items if normalise_value(p) not in lookup]
        codes = list(dict.fromkeys(lookup[normalise_value(p)] for p in items if normalise_value(p) in lookup))
        lists.append(codes or None)
        reasons.append(
            f"valori non ammessi: {', '.join(repr(u) for u in unknown)} (valori validi: {_choices_text(f)})"
            if unknown else ""
        )
    reason = pd.Series(reasons, index=text.index, dtype="str")
    return pd.Series(lists, index=text.index, dtype=object), (reason != "").to_numpy(), reason


def parse_cells(values: pd.Series, *, res: int = config.STORE_RES) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """H3 cells (hexadecimal strings or integers) as int64 at resolution ``res``.

    Finer cells are moved to their resolution-``res`` parent; coarser cells are refused, since a
    count cannot be split among the children.

    Returns
    -------
    cells
        int64, -1 where empty or refused.
    bad
        True where the cell is not empty but refused.
    reason
        Italian reason for the refused cells.
    """
    s = pd.Series(values)
    text = as_text(s).str.strip().str.lower()
    codes, uniques = pd.factorize(text)
    out = np.full(len(uniques), -1, dtype=np.int64)
    why = np.array([""] * len(uniques), dtype=object)
    for i, value in enumerate(uniques):
        if value == "":
            continue
        try:
            cell = int(value) if value.isdigit() and len(value) != 15 else h3.str_to_int(value)
        except (ValueError, TypeError, OverflowError):
            cell = 0
        if not 0 < cell < 2**63 or not h3i.is_valid_cell(cell):
            why[i] = "cella H3 non valida"
            continue
        cell_res = h3i.get_resolution(cell)
        if cell_res < res:
            why[i] = (f"cella H3 a risoluzione {cell_res}: serve la risoluzione {res} (quella memorizzata); "
                      "i conteggi di celle più grandi non si possono ripartire")
            continue
        out[i] = cell if cell_res == res else int(hexgrid.cell_to_parent(np.array([cell]), res)[0])
    if len(codes) == 0:
        return np.empty(0, dtype=np.int64), np.zeros(0, dtype=bool), pd.Series([], dtype="str")
    reason = pd.Series(why[codes], index=s.index, dtype="str")
    return out[codes], (reason != "").to_numpy(), reason


def _choices_text(f: schemas.Field, limit: int = 12) -> str:
    codes = list((f.choices or {}).keys())
    shown = ", ".join(str(c) for c in codes[:limit])
    return shown + (", ..." if len(codes) > limit else "")


def _range_text(f: schemas.Field) -> str:
    def fmt(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else str(v).replace(".", ",")

    if f.min is not None and f.max is not None:
        return f"ammessi valori da {fmt(f.min)} a {fmt(f.max)}"
    if f.min is not None:
        return f"ammessi valori da {fmt(f.min)} in su"
    return f"ammessi valori fino a {fmt(f.max)}"


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def missing_columns_message(layer: schemas.Layer, columns: list[str], *, file_name: str = "") -> str | None:
    """The Italian error for a table without a required column, or ``None`` if nothing is missing.

    Lists each missing column with every header accepted for it.
    """
    present = set(columns)
    missing: list[str] = []
    for name in layer.required:
        if name not in present:
            f = layer.field(name)
            missing.append(f"'{f.label}' (nomi accettati: {', '.join(dict.fromkeys((f.name, *f.aliases)))})")
    coords = f"latitudine e longitudine (nomi accettati: {', '.join(schemas.LAT_ALIASES)} / " \
             f"{', '.join(schemas.LON_ALIASES)}) o una geometria"
    has_point = "lat" in present and "lon" in present
    if layer.location == "point" and not has_point:
        missing.append(coords)
    if layer.key == "incidents":
        if not has_point and "cell" not in present:
            cell = layer.field("cell")
            missing.append(f"la posizione: cella H3 (nomi accettati: {', '.join((cell.name, *cell.aliases))}) "
                           f"oppure {coords}")
        if "month" not in present and "date" not in present:
            month, date = layer.field("month"), layer.field("date")
            missing.append(f"il periodo: mese (nomi accettati: {', '.join((month.name, *month.aliases))}) oppure "
                           f"data (nomi accettati: {', '.join((date.name, *date.aliases))})")
    if not missing:
        return None
    where = f"Il file {file_name}" if file_name else "La tabella"
    return f"{where} non ha le colonne obbligatorie: " + "; ".join(missing) + "."


def validate_frame(
    frame: pd.DataFrame,
    layer: schemas.Layer,
    *,
    store,
    territory=None,
    headers: dict[str, str] | None = None,
    file_name: str = "",
    source: str | None = None,
    report: pd.DataFrame | None = None,
) -> ValidationResult:
    """Check a table against a layer and return its valid rows in storage form.

    Parameters
    ----------
    frame
        Columns with canonical names (:func:`geo.data.io.harmonise_columns`); ``lon``/``lat`` in
        WGS84 degrees for located rows; optional ``area_wkt``. The index is the row number.
    layer
        Any point layer or ``incidents`` (roads are handled by :mod:`geo.ingest.importers`).
    store
        A :class:`geo.data.storage.Store` whose ``cells`` table covers the territory: a point whose
        resolution-10 cell is not there is outside the territory.
    territory
        The :class:`geo.data.territory.Territory`, for the comune of each point (point in polygon)
        and comune names; without it the comune is the one of the point's cell.
    headers
        Canonical name -> header in the file, so that the report speaks the file's language.
    source
        ``source`` stored for rows without a ``fonte`` (the file name, typically).
    report
        Problems already found (e.g. by :func:`geo.data.io.locate_points`): merged into the result.

    Raises
    ------
    ImportFailed
        When a required column is missing (the message lists the accepted headers).
    """
    if layer.location == "line":
        raise ValueError("le linee (strade) si validano in geo.ingest.importers")
    problem = missing_columns_message(layer, list(frame.columns), file_name=file_name)
    if problem:
        raise ImportFailed(problem)
    if not frame.index.is_unique:
        frame = frame.reset_index(drop=True)
        frame.index = frame.index + 1
    headers = {**{f.name: f.label for f in layer.fields}, "lat": "latitudine", "lon": "longitudine",
               **(headers or {})}
    problems = _Problems(frame.index, headers)
    if report is not None:
        problems.add_frame(report)
    located_before = ~problems.bad
    values: dict[str, pd.Series] = {}
    extras: dict[str, pd.Series] = {}
    n = len(frame)
    for f in layer.fields:
        if f.name not in frame.columns or f.name == "cell" or (f.name == "pro_com_t" and layer.location == "point"):
            continue
        values[f.name] = _check_field(frame[f.name], f, problems, extras)
    if layer.id_field and layer.id_field in values:
        _check_duplicates(values[layer.id_field], layer.id_field, problems)

    cells, lon, lat = _locate(frame, layer, problems, store=store, territory=territory, check=located_before)
    if layer.location == "point":
        values["pro_com_t"] = _check_comune(frame, cells, lon, lat, problems, store=store, territory=territory)
    messages: list[str] = []
    if layer.key == "incidents":
        _incident_columns(frame, values, extras, problems)
    elif layer.key == "reports":
        _report_columns(frame, values, problems)

    fonte = values.get("fonte", pd.Series(pd.NA, index=frame.index, dtype="str"))
    values["source"] = fonte.fillna(source) if source is not None else fonte
    values["synthetic"] = pd.Series(False, index=frame.index, dtype="bool")
    values["import_id"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    values["cell"] = pd.Series(cells, index=frame.index, dtype="int64")
    values["lon"] = pd.Series(lon, index=frame.index)
    values["lat"] = pd.Series(lat, index=frame.index)
    if "area_wkt" in frame.columns:
        values["area_wkt"] = frame["area_wkt"].astype("str")

    columns = list(dict.fromkeys([*STORAGE_COLUMNS[layer.table], "lon", "lat", "cell"]))
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        out[col] = values[col] if col in values else _empty_column(layer, col, n, frame.index)
    keep = ~problems.bad
    data = out[keep]
    if problems.bad.any():
        messages.append(f"{rows_text(int(problems.bad.sum()))} su {n} scartate per errori (vedi il rapporto).")
    return ValidationResult(data=data, report=problems.frame(), rows_read=n, messages=messages)


def _empty_column(layer: schemas.Layer, col: str, n: int, index: pd.Index) -> pd.Series:
    kind = next((f.kind for f in layer.fields if f.name == col), "str")
    if col in ("lon", "lat", "length_m"):
        kind = "float"
    dtype = {"int": "Int64", "float": "float64", "bool": "boolean", "date": "datetime64[us]",
             "datetime": "datetime64[us]", "month": "datetime64[us]", "enum_list": object}.get(kind, "str")
    if dtype is object:
        return pd.Series([None] * n, index=index, dtype=object)
    missing = {"float64": np.nan, "datetime64[us]": pd.NaT}.get(dtype, pd.NA)
    return pd.Series(missing, index=index, dtype=dtype)


def _check_field(column: pd.Series, f: schemas.Field, problems: _Problems, extras: dict[str, pd.Series]) -> pd.Series:
    """Parse one field, record its problems and return the parsed values (missing where bad)."""
    raw_text = as_text(column)
    if f.kind == "str":
        text = clean_text(column)
        lengths = text.str.len()
        too_long = (lengths > f.max_len).to_numpy()
        if too_long.any():
            reason = pd.Series("", index=column.index, dtype="str")
            reason[too_long] = lengths[too_long].map(lambda k: f"testo troppo lungo ({k} caratteri, massimo "
                                                              f"{f.max_len})")
            problems.add(too_long, f.name, raw_text, reason)
        value = text.where((text != "") & ~too_long)
        empty = (text == "").to_numpy()
    elif f.kind in ("int", "float"):
        numbers, bad = parse_numbers(column)
        problems.add(bad, f.name, raw_text, "non è un numero")
        if f.kind == "int":
            fractional = np.isfinite(numbers) & (np.abs(numbers - np.round(numbers)) > 1e-9)
            problems.add(fractional, f.name, raw_text, "non è un numero intero")
            numbers = np.where(fractional, np.nan, numbers)
        low = np.isfinite(numbers) & (numbers < f.min) if f.min is not None else np.zeros(len(numbers), bool)
        high = np.isfinite(numbers) & (numbers > f.max) if f.max is not None else np.zeros(len(numbers), bool)
        problems.add(low | high, f.name, raw_text, f"valore fuori intervallo ({_range_text(f)})")
        numbers = np.where(low | high, np.nan, numbers)
        if f.kind == "int":
            value = pd.Series(np.round(numbers), index=column.index).astype("Int64")
        else:
            value = pd.Series(numbers, index=column.index, dtype="float64")
        empty = np.isnan(numbers) & ~bad
    elif f.kind == "bool":
        value, bad = parse_bools(column)
        problems.add(bad, f.name, raw_text,
                     "valore non riconosciuto (ammessi: sì, no, vero, falso, true, false, 1, 0, x)")
        empty = value.isna().to_numpy() & ~bad
    elif f.kind in ("date", "datetime"):
        value, has_time, bad = parse_dates(column)
        problems.add(bad, f.name, raw_text,
                     "data non valida (formati ammessi: 2024-03-31, 31/03/2024, 31-03-2024, con ora facoltativa)")
        if f.kind == "date":
            value = value.dt.normalize()
        extras[f"{f.name}__has_time"] = pd.Series(has_time, index=column.index)
        empty = value.isna().to_numpy() & ~bad
    elif f.kind == "month":
        value, bad = parse_months(column)
        problems.add(bad, f.name, raw_text,
                     "mese non valido (formati ammessi: 2024-03, 03/2024, marzo 2024 o una data)")
        empty = value.isna().to_numpy() & ~bad
    elif f.kind == "enum":
        value, bad = parse_enum(column, f)
        problems.add(bad, f.name, raw_text, f"valore non ammesso (valori validi: {_choices_text(f)})")
        empty = value.isna().to_numpy() & ~bad
    elif f.kind == "enum_list":
        value, bad, reason = parse_enum_list(column, f)
        problems.add(bad, f.name, raw_text, reason)
        empty = value.isna().to_numpy() & ~bad
    else:  # pragma: no cover - FieldKind is a closed Literal
        raise ValueError(f"tipo di campo sconosciuto: {f.kind}")
    if f.required:
        problems.add(empty, f.name, raw_text, "valore obbligatorio mancante")
    return value


def _check_duplicates(ids: pd.Series, name: str, problems: _Problems) -> None:
    filled = ids.notna() & (ids.astype("str") != "")
    dup = filled & ids.duplicated(keep="first")
    if not dup.any():
        return
    first_row = pd.Series(ids.index, index=ids.index)[filled].groupby(ids[filled].to_numpy()).transform("first")
    reason = pd.Series("", index=ids.index, dtype="str")
    reason[dup] = first_row[dup[filled]].map(lambda r: f"codice ripetuto nel file (prima occorrenza alla riga {r})")
    problems.add(dup.to_numpy(), name, ids, reason)


def _locate(
    frame: pd.DataFrame, layer: schemas.Layer, problems: _Problems, *, store, territory, check: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resolution-10 cell (-1 when unknown), lon and lat of every row; rows outside the territory
    or without a position are reported (missing positions only where ``check`` is True, the
    other rows having been reported already)."""
    n = len(frame)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    cells = np.full(n, -1, dtype=np.int64)
    has_coords = "lon" in frame.columns and "lat" in frame.columns
    if has_coords:
        lon, _bad_lon = parse_numbers(frame["lon"])
        lat, _bad_lat = parse_numbers(frame["lat"])
        valid = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        lon = np.where(valid, lon, np.nan)
        lat = np.where(valid, lat, np.nan)
        cells[valid] = hexgrid.points_to_cells(lat[valid], lon[valid], config.STORE_RES)
    from_cell = np.zeros(n, dtype=bool)
    if "cell" in frame.columns:
        given, bad, reason = parse_cells(frame["cell"])
        problems.add(bad, "cell", as_text(frame["cell"]), reason)
        from_cell = given >= 0
        cells = np.where(from_cell, given, cells)
        lon = np.where(from_cell, np.nan, lon)
        lat = np.where(from_cell, np.nan, lat)
        missing = (cells < 0) & ~bad
    else:
        missing = cells < 0
    if has_coords:
        coord_text = as_text(frame["lat"]) + ", " + as_text(frame["lon"])
    else:
        coord_text = pd.Series("", index=frame.index, dtype="str")
    where = "coordinate" if layer.location == "point" else "posizione"
    problems.add(missing & check, "lat" if has_coords else "cell", coord_text,
                 f"{where} mancanti o non valide")
    located = cells >= 0
    if located.any():
        comune = store.cell_lookup(cells[located]).to_numpy()
        outside = np.zeros(n, dtype=bool)
        outside[np.flatnonzero(located)[pd.isna(comune)]] = True
        name = territory.name if territory is not None else "il territorio"
        shown = np.where(from_cell, as_text(frame["cell"]) if "cell" in frame.columns else "", coord_text)
        problems.add(outside, "cell" if not has_coords else "lat", shown,
                     f"punto fuori dal territorio ({name})" if layer.location == "point"
                     else f"posizione fuori dal territorio ({name})")
        cells = np.where(outside, -1, cells)
    return cells, lon, lat


def _check_comune(
    frame: pd.DataFrame, cells: np.ndarray, lon: np.ndarray, lat: np.ndarray, problems: _Problems, *, store,
    territory,
) -> pd.Series:
    """``pro_com_t`` of each point: from its position when missing, checked when given.

    The comune containing the point (point in polygon) is preferred; the comune of the point's
    cell is also accepted, since a cell near a border belongs to the comune holding its centre.
    """
    index = frame.index
    located = cells >= 0
    by_cell = pd.Series(pd.NA, index=index, dtype="str")
    if located.any():
        by_cell[located] = store.cell_lookup(cells[located]).to_numpy()
    by_polygon = pd.Series(pd.NA, index=index, dtype="str")
    names: dict[str, str] = {}
    if territory is not None and located.any():
        comuni = territory.comuni
        names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
        where = np.flatnonzero(located)
        tree = shapely.STRtree(comuni.geometry.to_numpy())
        hits = tree.query(shapely.points(lon[where], lat[where]), predicate="within")
        if hits.size:
            first = pd.Series(hits[1], index=hits[0]).groupby(level=0).first()
            by_polygon.iloc[where[first.index.to_numpy()]] = comuni["pro_com_t"].to_numpy()[first.to_numpy()]
    located_comune = by_polygon.fillna(by_cell)
    if "pro_com_t" not in frame.columns:
        return located_comune
    raw_text = as_text(frame["pro_com_t"])
    text = clean_text(frame["pro_com_t"])
    digits = text.str.fullmatch(r"\d{1,6}")
    given = text.where(~digits, text.str.zfill(6))
    by_name = {normalise_header(v): k for k, v in names.items()}
    named = ~digits & (text != "")
    given = given.where(~named, text.map(lambda v: by_name.get(normalise_header(v), "?")))
    known = set(names) if names else None
    unknown = (given != "") & (given == "?") if known is None else (given != "") & ~given.isin(known)
    problems.add(unknown.to_numpy(), "pro_com_t", raw_text, "comune sconosciuto o non appartenente al territorio")
    mismatch = (given != "") & ~unknown & located_comune.notna() & (given != by_polygon.fillna("")) & \
        (given != by_cell.fillna(""))
    reason = [f"il comune indicato ({g}{' ' + names[g] if g in names else ''}) non corrisponde alla posizione "
              f"({c}{' ' + names[c] if c in names else ''})" for g, c in zip(given, located_comune.fillna(""),
                                                                          strict=True)]
    problems.add(mismatch.to_numpy(), "pro_com_t", raw_text, np.asarray(reason, dtype=object))
    return given.where((given != "") & ~unknown, located_comune).astype("str")


def _incident_columns(
    frame: pd.DataFrame, values: dict[str, pd.Series], extras: dict[str, pd.Series], problems: _Problems
) -> None:
    """Month, time band and count of incident rows, for aggregates and single events alike.

    The month comes from ``month`` or else from ``date``; the time band from ``time_band`` or
    else from the hour of ``date`` (night: :data:`~geo.data.schemas.NIGHT_START_HOUR` to
    :data:`~geo.data.schemas.NIGHT_END_HOUR`); the count from ``count`` or 1 for a single event.
    """
    index = frame.index
    blank = pd.Series("", index=index, dtype="str")
    date_text = as_text(frame["date"]) if "date" in frame.columns else blank
    month_text = as_text(frame["month"]) if "month" in frame.columns else blank
    band_text = as_text(frame["time_band"]) if "time_band" in frame.columns else blank
    date = values.get("date", pd.Series(pd.NaT, index=index, dtype="datetime64[us]"))
    has_time = extras.get("date__has_time", pd.Series(False, index=index)).to_numpy()
    month = values.get("month", pd.Series(pd.NaT, index=index, dtype="datetime64[us]"))
    month = month.fillna(date.dt.to_period("M").dt.to_timestamp())
    no_period = ((month_text == "") & (date_text == "")).to_numpy()
    problems.add(no_period, "month" if "month" in frame.columns else "date", blank,
                 "periodo mancante: indicare il mese o la data")
    hour = date.dt.hour.to_numpy(dtype=np.float64, na_value=np.nan)
    night = (hour >= schemas.NIGHT_START_HOUR) | (hour < schemas.NIGHT_END_HOUR)
    derived = pd.Series(np.where(night, "notte", "giorno"), index=index, dtype="str").where(has_time)
    band = values.get("time_band", pd.Series(pd.NA, index=index, dtype="str")).fillna(derived)
    date_bad = ((date_text != "") & date.isna()).to_numpy()
    no_band = band.isna().to_numpy() & (band_text == "").to_numpy() & ~date_bad & ~no_period
    problems.add(no_band, "time_band", band_text,
                 "fascia oraria mancante: indicare la fascia (giorno/notte) o data e ora dell'evento")
    if "count" in frame.columns:
        count = values["count"]
        problems.add(count.isna().to_numpy() & (as_text(frame["count"]) == "").to_numpy(), "count",
                     as_text(frame["count"]), "numero di delitti mancante")
    else:
        count = pd.Series(1, index=index, dtype="Int64")
    values["month"] = month.astype("datetime64[us]")
    values["time_band"] = band.astype("str")
    values["count"] = count.astype("Int64")
    if "outdoor" not in values:
        values["outdoor"] = pd.Series(pd.NA, index=index, dtype="boolean")


def _report_columns(frame: pd.DataFrame, values: dict[str, pd.Series], problems: _Problems) -> None:
    """Reports: default status (``risolta`` when closed, else ``nuova``) and closing after opening."""
    index = frame.index
    closed = values.get("closed", pd.Series(pd.NaT, index=index, dtype="datetime64[us]"))
    status = values.get("status", pd.Series(pd.NA, index=index, dtype="str"))
    status_text = as_text(frame["status"]) if "status" in frame.columns else pd.Series("", index=index)
    default = pd.Series(np.where(closed.notna(), "risolta", "nuova"), index=index, dtype="str")
    values["status"] = status.where(status_text != "", default).fillna(default).astype("str")
    if "opened" in values and "closed" in frame.columns:
        early = (closed.notna() & values["opened"].notna() & (closed < values["opened"])).to_numpy()
        problems.add(early, "closed", as_text(frame["closed"]), "data di chiusura precedente all'apertura")
