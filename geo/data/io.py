"""Reading user files robustly: CSV, GeoJSON, GeoPackage, zipped Shapefile, (Geo)Parquet.

The functions here turn a file on disk into a :class:`RawTable` (the attribute columns as the
file has them plus, for spatial formats, the geometry and its CRS), map the headers on a
:class:`geo.data.schemas.Layer` (:func:`harmonise_columns`) and locate points in WGS84
(:func:`locate_points`), refusing files that would otherwise be imported wrongly: swapped
latitude/longitude, projected coordinates declared as degrees, spatial files without a CRS.

Every problem reaches the user as :class:`ImportFailed` with an Italian message that names the
file; hostile input (oversized files, zip bombs, path traversal, deeply nested JSON, very long
lines, thousands of columns, binary garbage) is refused before the parsers see it.

Row numbers (``riga``) are the ones the user sees: for CSV files the header is row 1, so the first
data row is row 2 (as in Excel or LibreOffice); for GeoJSON, GeoPackage, Shapefile and Parquet the
first feature is row 1.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import charset_normalizer
import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyproj
import shapely

from geo import config
from geo.data import schemas

# --------------------------------------------------------------------------------------------
# Limits and constants
# --------------------------------------------------------------------------------------------

#: Most columns (or GeoJSON property names) a file may have; real layers have a few dozen.
MAX_COLUMNS = 500
#: Longest CSV line accepted, bytes.
MAX_LINE_BYTES = 1_048_576
#: Most members a zip archive may hold (a shapefile needs 4-8).
MAX_ZIP_MEMBERS = 200
#: Deepest nesting of ``[``/``{`` accepted in a GeoJSON (a MultiPolygon feature collection is ~8).
MAX_JSON_DEPTH = 64
#: Longest ``valore`` shown in a report.
REPORT_VALUE_CHARS = 80

REPORT_COLUMNS = ["riga", "campo", "valore", "motivo"]

#: Coordinate reference systems in use for Italian data, with the names shown to users.
SUPPORTED_CRS: dict[int, str] = {
    4326: "WGS 84 (gradi, GPS)",
    3003: "Monte Mario / Gauss-Boaga fuso Ovest",
    3004: "Monte Mario / Gauss-Boaga fuso Est",
    6707: "RDN2008 / UTM 32N (N-E)",
    6708: "RDN2008 / UTM 33N (N-E)",
    7791: "RDN2008 / UTM 32N",
    7792: "RDN2008 / UTM 33N",
    32632: "WGS 84 / UTM 32N",
    32633: "WGS 84 / UTM 33N",
    25832: "ETRS89 / UTM 32N",
    25833: "ETRS89 / UTM 33N",
    3857: "WGS 84 / Pseudo-Mercator (web)",
}

FORMATS: dict[str, str] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".geojson": "geojson", ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "zip", ".shp": "shapefile",
    ".parquet": "parquet", ".geoparquet": "parquet",
}
_FORMAT_NAMES = {
    "csv": "CSV", "geojson": "GeoJSON", "gpkg": "GeoPackage", "zip": "archivio ZIP",
    "shapefile": "Shapefile", "parquet": "Parquet",
}
_CSV_SEPARATORS = ("\t", ";", "|", ",")
_SEPARATOR_NAMES = {"\t": "tabulazione", ";": "punto e virgola", "|": "barra verticale", ",": "virgola"}
#: Single-byte encodings accepted from charset-normalizer for non-UTF-8 text: all map the Italian
#: accented letters to the same bytes, unlike e.g. cp1250 (which would turn "à" into "ŕ").
_WESTERN_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class ImportFailed(Exception):  # noqa: N818  (the name the project uses for import errors)
    """A file that cannot be imported.

    Attributes
    ----------
    messages
        Italian sentences for the user, the first one naming the file.
    report
        Row-level problems (columns ``riga``, ``campo``, ``valore``, ``motivo``) or ``None`` when
        the whole file is refused.
    """

    def __init__(self, messages: str | Iterable[str], *, report: pd.DataFrame | None = None) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.report = report
        super().__init__("\n".join(self.messages))


@dataclass
class RawTable:
    """A file as read, before any interpretation of its columns.

    Attributes
    ----------
    frame
        Attribute columns with the file's own headers. CSV cells are strings (``""`` when empty);
        the other formats keep their column types. The index is the row number (``riga``).
    geometry
        Geometries aligned on ``frame`` in ``crs``; ``None`` for CSV and plain Parquet.
    crs
        CRS of the geometry, or of the coordinate columns of a table (given by the caller,
        WGS84 by default).
    crs_declared
        True when the CRS comes from the file itself.
    file_name, format
        Name of the file and its format key (``csv``, ``geojson``, ``gpkg``, ``shapefile``,
        ``parquet``).
    messages
        Notes for the user (encoding and separator found, layer chosen, ...).
    """

    frame: pd.DataFrame
    geometry: gpd.GeoSeries | None
    crs: pyproj.CRS | None
    crs_declared: bool
    file_name: str
    format: str
    messages: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Small helpers shared with the validator
# --------------------------------------------------------------------------------------------


def report_frame(
    rows: Iterable[int], campo: str | Iterable[str], valori: Iterable[object], motivo: str | Iterable[str]
) -> pd.DataFrame:
    """A report with the four standard columns; ``valore`` is shortened for display."""
    rows = list(rows)
    n = len(rows)
    campo_list = [campo] * n if isinstance(campo, str) else list(campo)
    motivo_list = [motivo] * n if isinstance(motivo, str) else list(motivo)
    return pd.DataFrame(
        {
            "riga": pd.array(rows, dtype="Int64"),
            "campo": pd.array(campo_list, dtype="str"),
            "valore": pd.array([shorten(v) for v in valori], dtype="str"),
            "motivo": pd.array(motivo_list, dtype="str"),
        },
        columns=REPORT_COLUMNS,
    )


def rows_text(n: int) -> str:
    """``1 riga``, ``12 righe``: a number of rows in Italian."""
    return f"{n} riga" if n == 1 else f"{n} righe"


def empty_report() -> pd.DataFrame:
    """A report without rows."""
    return report_frame([], [], [], [])


def shorten(value: object, limit: int = REPORT_VALUE_CHARS) -> str:
    """Text of a cell for a report: missing values as ``""``, long ones cut with an ellipsis."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = _CONTROL_CHARS.sub(" ", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalise_header(name: object) -> str:
    """Canonical form of a header: lower case, no accents, runs of other characters as ``_``.

    >>> normalise_header(" Località-Nome ")
    'localita_nome'
    """
    text = unicodedata.normalize("NFKD", str(name).replace("\ufeff", ""))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def normalise_value(value: str) -> str:
    """Canonical form of a coded value: lower case, no accents, ``_``/spaces collapsed to one space."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[\s_]+", " ", text).strip()


def as_text(values: pd.Series) -> pd.Series:
    """Cells as strings, ``""`` for missing ones; integral floats lose their ``.0``.

    Spatial formats keep column types (a comune code stored as the integer 45010, a PELL lamp
    code as 1.0), so every text-based check goes through this function.
    """
    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.map({True: "true", False: "false"})
    elif pd.api.types.is_integer_dtype(s.dtype):
        out = s.astype("Int64").astype("str")
    elif pd.api.types.is_float_dtype(s.dtype):
        out = s.astype(object).map(_cell_text, na_action="ignore")
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(s.dtype, pd.StringDtype):
        out = s
    else:
        out = s.map(_cell_text, na_action="ignore")
    return out.astype("str").fillna("")


def _cell_text(value: object) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers from cells written the Italian or the English way.

    ``"44,0357"`` and ``"44.0357"`` are both 44.0357; with both separators the last one is the
    decimal mark (``"1.580.000,5"``, ``"1,580,000.5"``); several commas or several dots alone are
    thousands separators. Numeric columns pass through.

    Returns
    -------
    numbers
        float64 array, NaN where the cell is empty or not a number.
    bad
        True where the cell is not empty but is not a finite number.
    """
    s = pd.Series(values)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        arr = np.array(s.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        bad = np.isinf(arr)
        arr[bad] = np.nan
        return arr, bad
    if len(s) == 0:
        return np.empty(0), np.zeros(0, dtype=bool)
    text = as_text(s)
    codes, uniques = pd.factorize(text)
    u = pd.Series(uniques, dtype="str").str.strip().str.replace(r"[\s\u00a0']", "", regex=True)
    n_comma = u.str.count(",")
    n_dot = u.str.count(r"\.")
    last_comma = u.str.rfind(",")
    last_dot = u.str.rfind(".")
    comma_decimal = ((n_comma > 0) & (n_dot > 0) & (last_comma > last_dot)) | ((n_comma == 1) & (n_dot == 0))
    cleaned = u.where(~comma_decimal, u.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    dot_decimal_both = (n_comma > 0) & (n_dot > 0) & (last_dot > last_comma)
    commas_only = (n_comma > 1) & (n_dot == 0)
    cleaned = cleaned.where(~(dot_decimal_both | commas_only), cleaned.str.replace(",", "", regex=False))
    cleaned = cleaned.where(~((n_dot > 1) & (n_comma == 0)), cleaned.str.replace(".", "", regex=False))
    # Only plain decimal notation: to_numeric would also take "inf", "nan" or "1e400".
    plain = cleaned.str.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
    parsed = np.array(pd.to_numeric(cleaned.where(plain), errors="coerce"), dtype=np.float64)
    parsed[~np.isfinite(parsed)] = np.nan
    empty_u = (u == "").to_numpy()
    bad_u = ~empty_u & np.isnan(parsed)
    return parsed[codes], bad_u[codes]


# --------------------------------------------------------------------------------------------
# CRS
# --------------------------------------------------------------------------------------------


def resolve_crs(value: object, *, file_name: str = "") -> pyproj.CRS:
    """A :class:`pyproj.CRS` from an EPSG code (``3003``, ``"3003"``, ``"EPSG:3003"``) or any
    definition pyproj understands; an Italian error otherwise."""
    if isinstance(value, pyproj.CRS):
        return value
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4,6}", text):
            return pyproj.CRS.from_epsg(int(text))
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        known = ", ".join(f"EPSG:{code} ({name})" for code, name in SUPPORTED_CRS.items())
        where = f"{file_name}: " if file_name else ""
        raise ImportFailed(
            f"{where}sistema di riferimento '{text}' non riconosciuto. Sistemi usati in Italia: {known}."
        ) from exc


def crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:3003 (Monte Mario / Gauss-Boaga fuso Ovest)``, or the CRS name without an EPSG code."""
    code = crs.to_epsg()
    if code is None:
        return crs.name
    return f"EPSG:{code} ({SUPPORTED_CRS.get(code, crs.name)})"


def _is_wgs84(crs: pyproj.CRS) -> bool:
    return crs.to_epsg() == 4326 or crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True)


def to_wgs84(x: np.ndarray, y: np.ndarray, crs: pyproj.CRS) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees) of points given in ``crs`` (x = east, y = north)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if _is_wgs84(crs):
        return x.copy(), y.copy()
    transformer = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = transformer.transform(x, y)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_size(path: str | Path, *, max_bytes: int | None = None) -> int:
    """Size of a file in bytes; refuse missing, empty or too large files before any parsing."""
    path = Path(path)
    limit = config.MAX_IMPORT_BYTES if max_bytes is None else max_bytes
    try:
        info = path.stat()
    except OSError as exc:
        raise ImportFailed(f"Il file {path.name} non esiste o non è leggibile.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ImportFailed(f"{path.name} non è un file.")
    if info.st_size == 0:
        raise ImportFailed(f"Il file {path.name} è vuoto.")
    if info.st_size > limit:
        raise ImportFailed(
            f"Il file {path.name} pesa {_mb(info.st_size)}: il limite per l'importazione è {_mb(limit)}. "
            "Dividerlo in file più piccoli."
        )
    return info.st_size


def _mb(n: int) -> str:
    """A size for people: ``512 byte``, ``97 KB``, ``4,8 MB``."""
    if n >= 1_048_576:
        return f"{n / 1_048_576:.1f} MB".replace(".", ",")
    return f"{n // 1024} KB" if n >= 1024 else f"{n} byte"


def detect_format(path: str | Path) -> str:
    """Format key from the extension, checked against the first bytes of the file."""
    path = Path(path)
    ext = path.suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        hint = " Salvare il foglio di calcolo come CSV." if ext in (".xls", ".xlsx", ".ods") else ""
        raise ImportFailed(f"Il file {path.name} ha un formato non supportato ('{ext or 'senza estensione'}')."
                           f" Formati accettati: {known}.{hint}")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    found = _sniff_magic(head)
    expected = {"csv": "text", "geojson": "json", "gpkg": "sqlite", "zip": "zip", "parquet": "parquet",
                "shapefile": "shp"}[fmt]
    if found == expected or (expected == "text" and found == "json" and ext == ".txt"):
        return fmt
    looks = {"zip": "un archivio ZIP", "sqlite": "un GeoPackage (SQLite)", "parquet": "un file Parquet",
             "json": "un file JSON/GeoJSON", "pdf": "un documento PDF", "image": "un'immagine",
             "shp": "uno Shapefile", "binary": "un file binario", "text": "un file di testo (CSV)"}[found]
    raise ImportFailed(
        f"Il contenuto del file {path.name} non corrisponde all'estensione '{ext}' "
        f"({_FORMAT_NAMES[fmt]}): sembra {looks}. Controllare il file o rinominarlo con l'estensione giusta."
    )


def _sniff_magic(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "image"
    if head.startswith(b"\x00\x00\x27\x0a"):
        return "shp"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "text"
    if b"\x00" in head:
        return "binary"
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith((b"{", b"[")):
        return "json"
    return "text"


def read_file(
    path: str | Path,
    *,
    crs: object | None = None,
    layer: str | None = None,
    max_bytes: int | None = None,
) -> RawTable:
    """Read a CSV, GeoJSON, GeoPackage, zipped Shapefile or (Geo)Parquet file.

    Parameters
    ----------
    path
        The file. Its size is checked against ``max_bytes`` (default
        :data:`geo.config.MAX_IMPORT_BYTES`) before anything is parsed.
    crs
        CRS of the coordinates when the file does not declare one (CSV and plain Parquet:
        WGS84 when not given). A spatial file that declares a different CRS is refused, except
        a GeoJSON declaring WGS84, which is the RFC 7946 default and may be overridden.
    layer
        GeoPackage layer (or shapefile name inside a zip); the first one by default.

    Raises
    ------
    ImportFailed
        With an Italian message naming the file.
    """
    path = Path(path)
    limit = config.MAX_IMPORT_BYTES if max_bytes is None else max_bytes
    check_size(path, max_bytes=limit)
    fmt = detect_format(path)
    user_crs = resolve_crs(crs, file_name=path.name) if crs is not None else None
    try:
        if fmt == "csv":
            raw = _read_csv(path, limit=limit)
        elif fmt == "zip":
            return _read_zip(path, crs=user_crs, layer=layer, limit=limit)
        elif fmt == "parquet":
            raw = _read_parquet(path)
        else:
            raw = _read_ogr(path, fmt=fmt, layer=layer)
    except ImportFailed:
        raise
    except (MemoryError, RecursionError) as exc:
        raise ImportFailed(f"Il file {path.name} è troppo complesso per essere letto ({type(exc).__name__}).") from exc
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
            pyogrio.errors.GeometryError, pyogrio.errors.CRSError, pa.ArrowException, pd.errors.ParserError,
            UnicodeError, ValueError, OSError, RuntimeError) as exc:
        raise ImportFailed(
            f"Il file {path.name} non è un {_FORMAT_NAMES[fmt]} valido o è danneggiato "
            f"(dettaglio tecnico: {_short_error(exc, path)})."
        ) from exc
    return _apply_crs(raw, user_crs)


def _short_error(exc: BaseException, path: Path) -> str:
    """First line of a library error, without the server-side folder of the file."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.replace(str(path.parent) + "/", "").replace(str(path), path.name)
    return shorten(text, 200)


def _apply_crs(raw: RawTable, user_crs: pyproj.CRS | None) -> RawTable:
    if raw.geometry is None:
        raw.crs = user_crs or pyproj.CRS.from_epsg(4326)
        raw.crs_declared = False
        return raw
    declared = raw.crs
    if declared is None:
        if user_crs is None:
            raise ImportFailed(
                f"Il file {raw.file_name} non dichiara il sistema di riferimento delle coordinate"
                f"{' (manca il file .prj?)' if raw.format == 'shapefile' else ''}: indicarlo "
                "(es. EPSG:3003 per Gauss-Boaga fuso Ovest, EPSG:32632 per UTM 32N, EPSG:4326 per gradi WGS84)."
            )
        raw.crs, raw.crs_declared = user_crs, False
        return raw
    if user_crs is not None and not declared.equals(user_crs, ignore_axis_order=True):
        if raw.format == "geojson" and _is_wgs84(declared):
            raw.crs, raw.crs_declared = user_crs, False
            raw.messages.append(f"Coordinate lette come {crs_label(user_crs)}, come indicato.")
            return raw
        raise ImportFailed(
            f"Il file {raw.file_name} dichiara il sistema di riferimento {crs_label(declared)}, "
            f"ma è stato indicato {crs_label(user_crs)}: togliere l'indicazione o correggere il file."
        )
    raw.crs_declared = True
    return raw


# -- CSV ------------------------------------------------------------------------------------


def _read_csv(path: Path, *, limit: int) -> RawTable:
    data = path.read_bytes()
    if len(data) > limit:  # the file grew after the size check
        raise ImportFailed(f"Il file {path.name} supera il limite di {_mb(limit)}.")
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise ImportFailed(f"Il file {path.name} è vuoto.")
    _check_line_lengths(data, file_name=path.name)
    text, encoding = decode_text(data, file_name=path.name)
    del data
    text = text.replace("\x00", "")
    offset = 0
    first_line_end = text.find("\n")
    first_line = text[: first_line_end if first_line_end >= 0 else len(text)].strip("\r")
    explicit = re.fullmatch(r'"?sep=(.)"?', first_line.strip())
    if explicit:  # Excel's "sep=;" first line
        sep = explicit.group(1)
        text = text[first_line_end + 1:] if first_line_end >= 0 else ""
        offset = 1
    else:
        sep = sniff_separator(text)
    header_line = text.split("\n", 1)[0]
    n_cols = _count_outside_quotes(header_line, sep) + 1
    if n_cols > MAX_COLUMNS:
        raise ImportFailed(
            f"Il file {path.name} ha {n_cols} colonne: il massimo è {MAX_COLUMNS}. "
            "Controllare il separatore o togliere le colonne inutili."
        )
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, engine="c", quotechar='"', doublequote=True, low_memory=False,
        )
    except pd.errors.EmptyDataError as exc:
        raise ImportFailed(f"Il file {path.name} è vuoto.") from exc
    except pd.errors.ParserError as exc:
        raise ImportFailed(_csv_parser_message(str(exc), path.name, offset)) from exc
    if table.empty:
        raise ImportFailed(f"Il file {path.name} è vuoto.")
    headers = [str(h).strip() for h in table.iloc[0].tolist()]
    frame = table.iloc[1:]
    frame.index = pd.RangeIndex(2 + offset, 2 + offset + len(frame), name="riga")
    frame = _name_columns(frame, headers, file_name=path.name)
    blank = (frame == "").all(axis=1)
    frame = frame[~blank]
    if frame.empty:
        raise ImportFailed(f"Il file {path.name} contiene solo l'intestazione, nessuna riga di dati.")
    frame = frame.apply(lambda col: col.str.replace("\r", "", regex=False).str.strip())
    note = f"File CSV letto con codifica {encoding} e separatore {_SEPARATOR_NAMES.get(sep, repr(sep))}."
    return RawTable(frame=frame, geometry=None, crs=None, crs_declared=False, file_name=path.name,
                    format="csv", messages=[note])


def _name_columns(frame: pd.DataFrame, headers: list[str], *, file_name: str) -> pd.DataFrame:
    """Give the CSV columns their headers: columns without a header are dropped when empty (the
    trailing separators Excel leaves) and named ``colonna_N`` otherwise; a header used twice
    refuses the file, since either column could be the right one."""
    seen: dict[str, int] = {}
    names: list[str] = []
    keep: list[int] = []
    for i, header in enumerate(headers):
        column = frame.iloc[:, i]
        if not header:
            if (column == "").all():
                continue
            header = f"colonna_{i + 1}"
        if header in seen:
            raise ImportFailed(
                f"Il file {file_name} ha due colonne con la stessa intestazione '{shorten(header, 40)}' "
                f"(colonne {seen[header] + 1} e {i + 1}): rinominarne una o toglierla."
            )
        seen[header] = i
        names.append(header)
        keep.append(i)
    out = frame.iloc[:, keep]
    out.columns = names
    return out


def _csv_parser_message(detail: str, file_name: str, offset: int) -> str:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    if found:
        expected, line, saw = (int(g) for g in found.groups())
        return (f"Il file {file_name}, riga {line + offset}: {saw} campi invece dei {expected} "
                "dell'intestazione (separatore nel testo senza virgolette?).")
    found = re.search(r"EOF inside string starting at row (\d+)", detail)
    if found:
        return (f"Il file {file_name}: virgolette aperte e mai chiuse a partire dalla riga "
                f"{int(found.group(1)) + 1 + offset} (file troncato?).")
    return f"Il file {file_name} non è un CSV leggibile ({shorten(detail, 200)})."


def decode_text(data: bytes, *, file_name: str = "") -> tuple[str, str]:
    """Decode bytes of a text file; return the text and the encoding used.

    UTF-8 (with or without BOM) and UTF-16 with BOM first; otherwise the best guess of
    charset-normalizer among the Western single-byte encodings, falling back on Windows-1252
    (what Italian Excel writes) and finally Latin-1, which decodes anything. Text full of
    control characters is refused as binary.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ImportFailed(f"Il file {file_name} non è un testo UTF-16 valido.") from exc
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if bom else data
    if b"\x00" in body[:65536]:
        raise ImportFailed(f"Il file {file_name} non è un file di testo (contiene dati binari).")
    text: str | None = None
    encoding = ""
    try:
        text, encoding = body.decode("utf-8"), ("UTF-8 con BOM" if bom else "UTF-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(body[:262_144]).best()
        candidates = [best.encoding] if best is not None and best.encoding in _WESTERN_ENCODINGS else []
        for enc in [*candidates, "cp1252", "latin_1"]:
            try:
                text, encoding = body.decode(enc), {"cp1252": "Windows-1252", "latin_1": "Latin-1",
                                                    "iso8859_15": "ISO-8859-15"}[enc]
                break
            except UnicodeDecodeError:
                continue
    if text is None:  # cannot happen: latin_1 decodes any byte string
        raise ImportFailed(["Impossibile decodificare il file."])
    sample = text[:65536]
    if sample and len(_CONTROL_CHARS.findall(sample)) > max(5, 0.01 * len(sample)):
        raise ImportFailed(f"Il file {file_name} non è un file di testo (contiene dati binari).")
    return text, encoding


def _check_line_lengths(data: bytes, *, file_name: str) -> None:
    """Refuse lines longer than :data:`MAX_LINE_BYTES`, scanning the bytes before the CSV parser."""
    arr = np.frombuffer(data, dtype=np.uint8)
    chunk = 32 << 20
    previous = -1
    lines_before = 0
    for start in range(0, arr.size, chunk):
        newlines = np.flatnonzero(arr[start:start + chunk] == 10) + start
        if newlines.size == 0:
            continue
        gaps = np.diff(newlines, prepend=previous) - 1
        longest = int(gaps.argmax())
        if gaps[longest] > MAX_LINE_BYTES:
            _line_too_long(file_name, lines_before + longest + 1)
        previous = int(newlines[-1])
        lines_before += newlines.size
    if arr.size - previous - 1 > MAX_LINE_BYTES:
        _line_too_long(file_name, lines_before + 1)


def _line_too_long(file_name: str, line: int) -> None:
    raise ImportFailed(
        f"Il file {file_name}, riga {line}: riga più lunga di {MAX_LINE_BYTES} byte. Non sembra un CSV valido."
    )


def _count_outside_quotes(line: str, sep: str) -> int:
    if '"' not in line:
        return line.count(sep)
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            count += 1
    return count


def sniff_separator(text: str) -> str:
    """The separator of a CSV among tab, ``;``, ``|`` and ``,``.

    The header's count of each candidate is compared with the first data lines; the candidate
    with the most lines agreeing wins (so a ``;`` file with decimal commas is not taken for a
    comma file); ties go to tab, then ``;``, ``|``, ``,``.
    """
    lines = [ln for ln in text[:65536].split("\n")[:30] if ln.strip()]
    if len(text) > 65536 and len(lines) > 2:
        lines = lines[:-1]  # the last line of the sample may be cut
    if not lines:
        return ","
    best, best_score = ",", (-1.0, 0)
    for sep in _CSV_SEPARATORS:
        header = _count_outside_quotes(lines[0], sep)
        if header == 0:
            continue
        data = lines[1:]
        agree = sum(_count_outside_quotes(ln, sep) == header for ln in data) / len(data) if data else 1.0
        score = (agree, header)
        if score[0] > best_score[0] + 1e-9:
            best, best_score = sep, score
    return best


# -- GeoJSON / GeoPackage / Shapefile ----------------------------------------------------------


def _check_json(path: Path) -> None:
    """Refuse deeply nested JSON and feature collections with too many property names."""
    depth = 0
    max_depth = 0
    keys: set[bytes] = set()
    key_pattern = re.compile(rb'"([^"\\]{0,200})"\s*:')
    carry = b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(8 << 20), b""):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            step = ((arr == 0x7B) | (arr == 0x5B)).astype(np.int32) - ((arr == 0x7D) | (arr == 0x5D))
            running = depth + np.cumsum(step)
            if running.size:
                max_depth = max(max_depth, int(running.max()))
                depth = int(running[-1])
            if max_depth > MAX_JSON_DEPTH:
                raise ImportFailed(
                    f"Il file {path.name} ha una struttura JSON annidata oltre {MAX_JSON_DEPTH} livelli: "
                    "non è un GeoJSON valido."
                )
            keys.update(key_pattern.findall(carry + chunk))
            carry = chunk[-256:]
            if len(keys) > MAX_COLUMNS + 50:
                raise ImportFailed(
                    f"Il file {path.name} ha più di {MAX_COLUMNS} nomi di proprietà diversi: il massimo è "
                    f"{MAX_COLUMNS}."
                )


def _read_ogr(path: Path, *, fmt: str, layer: str | None) -> RawTable:
    if fmt == "geojson":
        _check_json(path)
    messages: list[str] = []
    if fmt == "gpkg":
        layers = pyogrio.list_layers(path)
        names = [str(n) for n in layers[:, 0]] if len(layers) else []
        if not names:
            raise ImportFailed(f"Il GeoPackage {path.name} non contiene livelli.")
        if layer is None:
            layer = names[0]
            if len(names) > 1:
                messages.append(f"Il GeoPackage contiene {len(names)} livelli: letto il primo, '{layer}'.")
        elif layer not in names:
            raise ImportFailed(f"Il GeoPackage {path.name} non contiene il livello '{layer}'. "
                               f"Livelli presenti: {', '.join(names)}.")
    elif fmt == "shapefile":
        missing = [ext for ext in (".shx", ".dbf") if not _sibling(path, ext)]
        if missing:
            raise ImportFailed(f"Lo shapefile {path.name} è incompleto: mancano i file {', '.join(missing)}.")
        layer = None
    info = pyogrio.read_info(path, layer=layer)
    n_fields = len(info["fields"])
    if n_fields > MAX_COLUMNS:
        raise ImportFailed(f"Il file {path.name} ha {n_fields} colonne: il massimo è {MAX_COLUMNS}.")
    if info.get("features", 0) == 0:
        raise ImportFailed(f"Il file {path.name} non contiene elementi.")
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
        geometry = gdf.geometry
        crs = pyproj.CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    else:
        geometry, crs, frame = None, None, pd.DataFrame(gdf)
    index = pd.RangeIndex(1, len(frame) + 1, name="riga")
    frame.index = index
    if geometry is not None:
        geometry = gpd.GeoSeries(geometry.to_numpy(), index=index, crs=geometry.crs)
    return RawTable(frame=frame, geometry=geometry, crs=crs, crs_declared=crs is not None, file_name=path.name,
                    format=fmt, messages=messages)


def _sibling(path: Path, ext: str) -> Path | None:
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


# -- Zip --------------------------------------------------------------------------------------


def _read_zip(path: Path, *, crs: pyproj.CRS | None, layer: str | None, limit: int) -> RawTable:
    with tempfile.TemporaryDirectory(prefix="lanterna_zip_") as tmp:
        extracted = extract_zip(path, Path(tmp), max_bytes=limit)
        shapefiles = [p for p in extracted if p.suffix.lower() == ".shp"]
        if layer is not None:
            shapefiles = [p for p in shapefiles if p.stem == layer] or shapefiles
        if len(shapefiles) > 1:
            raise ImportFailed(
                f"L'archivio {path.name} contiene più shapefile ({', '.join(p.name for p in shapefiles)}): "
                "indicarne uno o caricarli separatamente."
            )
        if shapefiles:
            target = shapefiles[0]
        else:
            others = [p for p in extracted if p.suffix.lower() in FORMATS and FORMATS[p.suffix.lower()] != "zip"]
            if len(others) != 1:
                raise ImportFailed(
                    f"L'archivio {path.name} non contiene uno shapefile (.shp con .shx, .dbf e .prj) "
                    "né un solo file di un formato supportato."
                )
            target = others[0]
        raw = read_file(target, crs=crs, layer=layer, max_bytes=limit)
    raw.file_name = f"{path.name} ({target.name})"
    return raw


def extract_zip(path: Path, dest: Path, *, max_bytes: int) -> list[Path]:
    """Extract an archive's files flat into ``dest``, refusing what a hostile zip would do.

    Refused: more than :data:`MAX_ZIP_MEMBERS` members, absolute paths or ``..`` (path
    traversal), symbolic links, encrypted members, nested archives, duplicated names, and a total
    uncompressed size over ``max_bytes`` (declared or actually written: the copy stops at the
    limit, so a zip bomb with false headers is stopped too).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(f"Il file {path.name} non è un archivio ZIP valido.") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ImportFailed(f"L'archivio {path.name} contiene {len(infos)} file: il massimo è {MAX_ZIP_MEMBERS}.")
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise ImportFailed(
                    f"L'archivio {path.name} contiene un percorso non ammesso ('{shorten(info.filename, 80)}'): "
                    "file rifiutato per sicurezza."
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ImportFailed(
                    f"L'archivio {path.name} contiene un collegamento simbolico: rifiutato per sicurezza."
                )
            if info.flag_bits & 0x1:
                raise ImportFailed(f"L'archivio {path.name} è protetto da password.")
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            raise ImportFailed(
                f"L'archivio {path.name} decompresso occuperebbe {_mb(declared)}, oltre il limite di {_mb(max_bytes)}: "
                "rifiutato (possibile «zip bomb»)."
            )
        written = 0
        out: list[Path] = []
        seen: set[str] = set()
        for info in infos:
            if info.is_dir():
                continue
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            if not base or base.startswith(".") or "__MACOSX" in info.filename:
                continue
            if base.lower().endswith(".zip"):
                raise ImportFailed(f"L'archivio {path.name} contiene un altro archivio ({base}): non supportato.")
            if base.lower() in seen:
                raise ImportFailed(f"L'archivio {path.name} contiene due file di nome {base}.")
            seen.add(base.lower())
            target = dest / base
            with archive.open(info) as src, open(target, "wb") as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > max_bytes:
                        raise ImportFailed(
                            f"L'archivio {path.name} decompresso supera il limite di {_mb(max_bytes)}: "
                            "rifiutato (possibile «zip bomb»)."
                        )
                    dst.write(chunk)
            out.append(target)
    return out


# -- Parquet -----------------------------------------------------------------------------------


def _read_parquet(path: Path) -> RawTable:
    meta = pq.ParquetFile(path)
    schema = meta.schema_arrow
    if len(schema.names) > MAX_COLUMNS:
        raise ImportFailed(f"Il file {path.name} ha {len(schema.names)} colonne: il massimo è {MAX_COLUMNS}.")
    if meta.metadata.num_rows == 0:
        raise ImportFailed(f"Il file {path.name} non contiene righe.")
    index = pd.RangeIndex(1, meta.metadata.num_rows + 1, name="riga")
    if schema.metadata and b"geo" in schema.metadata:
        gdf = gpd.read_parquet(path)
        crs = pyproj.CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
        geometry = gpd.GeoSeries(gdf.geometry.to_numpy(), index=index, crs=gdf.crs)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        frame.index = index
        return RawTable(frame=frame, geometry=geometry, crs=crs, crs_declared=crs is not None,
                        file_name=path.name, format="parquet")
    frame = pd.read_parquet(path)
    frame.index = index
    return RawTable(frame=frame, geometry=None, crs=None, crs_declared=False, file_name=path.name, format="parquet")


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


@dataclass
class Columns:
    """Result of :func:`harmonise_columns`.

    Attributes
    ----------
    frame
        Only the recognised columns, renamed to canonical names (``lat``/``lon`` for
        coordinates); index as the input.
    headers
        Canonical name -> header as written in the file (for reports).
    ignored
        Headers not recognised (kept out of ``frame``).
    messages
        Notes for the user.
    """

    frame: pd.DataFrame
    headers: dict[str, str]
    ignored: list[str]
    messages: list[str]


def alias_lookup(layer: schemas.Layer) -> dict[str, str]:
    """Normalised header -> canonical column name for a layer (fields, then lat/lon)."""
    lookup: dict[str, str] = {}
    for f in layer.fields:
        for alias in (f.name, *f.aliases):
            lookup.setdefault(normalise_header(alias), f.name)
    if layer.location in ("point", "aggregate"):
        for canonical, aliases in (("lat", schemas.LAT_ALIASES), ("lon", schemas.LON_ALIASES)):
            for alias in (canonical, *aliases):
                lookup.setdefault(normalise_header(alias), canonical)
    return lookup


def harmonise_columns(frame: pd.DataFrame, layer: schemas.Layer, *, file_name: str = "") -> Columns:
    """Map a file's headers on a layer's canonical names.

    Headers are normalised (:func:`normalise_header`; a trailing part in brackets, as in
    ``"Potenza (W)"``, is tried with and without) and looked up among each field's name and
    aliases and among :data:`geo.data.schemas.LAT_ALIASES`/:data:`~geo.data.schemas.LON_ALIASES`.

    Raises
    ------
    ImportFailed
        When two headers match the same field and neither is its exact canonical name.
    """
    lookup = alias_lookup(layer)
    matches: dict[str, list[str]] = {}
    ignored: list[str] = []
    for col in frame.columns:
        header = str(col)
        keys = [normalise_header(header), normalise_header(re.sub(r"\(.*?\)|\[.*?\]", " ", header))]
        target = next((lookup[k] for k in keys if k in lookup), None)
        if target is None:
            ignored.append(header)
        else:
            matches.setdefault(target, []).append(header)
    chosen: dict[str, str] = {}
    messages: list[str] = []
    problems: list[str] = []
    for target, headers in matches.items():
        if len(headers) == 1:
            chosen[target] = headers[0]
            continue
        exact = [h for h in headers if normalise_header(h) == target]
        if len(exact) == 1:
            chosen[target] = exact[0]
            others = [h for h in headers if h != exact[0]]
            ignored.extend(others)
            messages.append(f"Colonne {', '.join(repr(h) for h in others)} ignorate: si usa '{exact[0]}' "
                            f"per il campo {target}.")
        else:
            problems.append(f"le colonne {_some(headers)} indicano tutte il campo '{target}'")
    if problems:
        raise ImportFailed(
            f"Il file {file_name} ha intestazioni ambigue: {'; '.join(problems)}. Tenere una sola colonna per campo."
        )
    out = frame[[chosen[t] for t in chosen]].copy()
    out.columns = list(chosen)
    if ignored:
        messages.append(f"Colonne non riconosciute e ignorate: {_some(ignored, quote=False)}.")
    return Columns(frame=out, headers=dict(chosen), ignored=ignored, messages=messages)


def _some(names: list[str], *, limit: int = 8, quote: bool = True) -> str:
    """``'a', 'b' e altre 12``: a list of headers short enough for a message."""
    shown = [repr(shorten(n, 40)) if quote else shorten(n, 40) for n in names[:limit]]
    rest = len(names) - limit
    return ", ".join(shown) + (f" e altre {rest}" if rest > 0 else "")


# --------------------------------------------------------------------------------------------
# Coordinates
# --------------------------------------------------------------------------------------------

#: Share of points that must fall inside the territory for an alternative reading (swapped
#: axes, another CRS) to be proposed; and share under which the file reading is suspect.
_ALTERNATIVE_INSIDE = 0.9
_SUSPECT_INSIDE = 0.5
_DETECTION_SAMPLE = 5000


@dataclass
class Points:
    """Points located in WGS84 (:func:`locate_points`).

    Attributes
    ----------
    coords
        ``lon`` and ``lat`` (NaN where a row has no valid point) and ``area_wkt`` (polygon
        geometries in WGS84 as WKT, else missing); index as the table.
    report
        Rows whose coordinates are missing or invalid.
    source
        ``"geometry"`` or ``"columns"``.
    """

    coords: pd.DataFrame
    report: pd.DataFrame
    source: str


def locate_points(
    raw: RawTable,
    columns: Columns,
    *,
    swap_xy: bool = False,
    territory=None,
    polygons: str = "point",
) -> Points | None:
    """Longitude and latitude in WGS84 for every row, from the geometry or the lat/lon columns.

    Parameters
    ----------
    raw, columns
        The file and its harmonised columns.
    swap_xy
        Exchange x and y (latitude and longitude) before anything else.
    territory
        A :class:`geo.data.territory.Territory`: used to detect swapped axes and a wrong CRS. Without
        it only coordinates out of the degree range are detected.
    polygons
        ``"point"``: polygons are reduced to a point inside them (their representative point);
        ``"area"``: also keep their outline as WKT in ``area_wkt``.

    Returns
    -------
    Points or None
        ``None`` when the file has neither a geometry nor lat/lon columns.

    Raises
    ------
    ImportFailed
        When the coordinates look swapped or in another CRS than the declared one.
    """
    index = columns.frame.index
    area = pd.Series(pd.NA, index=index, dtype="str")
    problems: list[tuple[int, str, str, str]] = []
    geom = raw.geometry
    if geom is not None and (~(geom.isna() | geom.is_empty)).any():
        source = "geometry"
        arr = geom.to_numpy()
        kinds = shapely.get_type_id(arr)
        missing = shapely.is_missing(arr) | shapely.is_empty(arr)
        pts = arr.copy()
        single_multi = (kinds == 4) & (shapely.get_num_geometries(arr) == 1)
        pts[single_multi] = shapely.get_geometry(arr[single_multi], 0)
        polygonal = np.isin(kinds, (3, 6)) & ~missing
        pts[polygonal] = shapely.point_on_surface(arr[polygonal])
        usable = ~missing & ((kinds == 0) | single_multi | polygonal)
        x = np.full(len(arr), np.nan)
        y = np.full(len(arr), np.nan)
        x[usable] = shapely.get_x(pts[usable])
        y[usable] = shapely.get_y(pts[usable])
        for row, kind in zip(index[~usable & ~missing], kinds[~usable & ~missing], strict=True):
            problems.append((row, "geometria", _GEOM_NAMES.get(int(kind), "?"),
                             "geometria non puntuale: serve un punto (o un poligono)"))
        for row in index[missing]:
            problems.append((row, "geometria", "", "geometria mancante"))
        if polygons == "area" and polygonal.any():
            shapes = gpd.GeoSeries(arr[polygonal], crs=raw.crs)
            area[index[polygonal]] = shapely.to_wkt(shapes.to_crs(4326).to_numpy(), rounding_precision=6)
        x_header, y_header = "geometria", "geometria"
    elif "lat" in columns.frame.columns and "lon" in columns.frame.columns:
        source = "columns"
        x_header, y_header = columns.headers["lon"], columns.headers["lat"]
        x, bad_x = parse_numbers(columns.frame["lon"])
        y, bad_y = parse_numbers(columns.frame["lat"])
        text_x, text_y = as_text(columns.frame["lon"]), as_text(columns.frame["lat"])
        for row, value in zip(index[bad_x], text_x[bad_x], strict=True):
            problems.append((row, x_header, value, "coordinata non numerica"))
        for row, value in zip(index[bad_y], text_y[bad_y], strict=True):
            problems.append((row, y_header, value, "coordinata non numerica"))
        empty = (np.isnan(x) & ~bad_x) | (np.isnan(y) & ~bad_y)
        for row in index[empty]:
            problems.append((row, f"{y_header}/{x_header}", "", "coordinate mancanti"))
    else:
        return None
    if swap_xy:
        x, y = y, x
    crs = raw.crs or pyproj.CRS.from_epsg(4326)
    finite = np.isfinite(x) & np.isfinite(y)
    check_reading(x[finite], y[finite], crs=crs, file_name=raw.file_name, territory=territory, swapped=swap_xy,
                  declared=raw.crs_declared and raw.format != "geojson")
    lon, lat = to_wgs84(x, y, crs)
    out_of_range = finite & np.isnan(lon)
    for row, xv, yv in zip(index[out_of_range], x[out_of_range], y[out_of_range], strict=True):
        problems.append((row, f"{y_header}/{x_header}", f"{yv}, {xv}",
                         f"coordinate non valide per {crs_label(crs)}"))
    report = report_frame([p[0] for p in problems], [p[1] for p in problems], [p[2] for p in problems],
                          [p[3] for p in problems]) if problems else empty_report()
    coords = pd.DataFrame({"lon": lon, "lat": lat, "area_wkt": area}, index=index)
    return Points(coords=coords, report=report, source=source)


_GEOM_NAMES = {1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString", 7: "GeometryCollection"}


def _inside_fraction(lon: np.ndarray, lat: np.ndarray, outline) -> float:
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return 0.0
    shapely.prepare(outline)
    return float(shapely.contains_xy(outline, lon[ok], lat[ok]).sum() / len(lon))


def check_reading(
    x: np.ndarray, y: np.ndarray, *, crs: pyproj.CRS, file_name: str, territory=None, swapped: bool = False,
    declared: bool = False,
) -> None:
    """Refuse coordinates that land in the territory only when read another way.

    Detected, on a sample of at most 5000 points: projected coordinates (Gauss-Boaga, UTM)
    given as degrees; x and y swapped; degrees given as a projected CRS; another projected CRS
    than the declared one. A reading is suspect when fewer than half of the points fall inside
    the territory, and an alternative is proposed when it puts at least 90 % of them inside.

    Parameters
    ----------
    x, y
        Finite coordinates as read (x = east/longitude), after any requested swap.
    crs
        The CRS they are declared in.
    territory
        The :class:`geo.data.territory.Territory`; without it only the degree range is checked.
    swapped
        Whether the caller already swapped x and y (changes the advice given).
    declared
        Whether ``crs`` is written in the file (then the file must be corrected: a CRS given by
        the caller cannot override it).
    """
    if x.size == 0:
        return
    if x.size > _DETECTION_SAMPLE:
        pick = np.random.default_rng(0).choice(x.size, _DETECTION_SAMPLE, replace=False)
        x, y = x[pick], y[pick]
    geographic = crs.is_geographic
    degrees_like = (np.abs(x) <= 180) & (np.abs(y) <= 90)
    outline = territory.outline if territory is not None else None
    where = territory.name if territory is not None else "il territorio"
    name = file_name
    if geographic and degrees_like.mean() < _SUSPECT_INSIDE:
        guess = _best_alternative(x, y, outline, [pyproj.CRS.from_epsg(c) for c in SUPPORTED_CRS if c != 4326])
        example = f"x={x[~degrees_like][0]:.0f}, y={y[~degrees_like][0]:.0f}"
        hint = f" Con {crs_label(guess)} i punti cadono in {where}." if guess is not None else ""
        advice = ("correggere il sistema di riferimento dichiarato nel file (es. EPSG:3003)" if declared
                  else "indicare il sistema di riferimento (es. EPSG:3003)")
        raise ImportFailed(
            f"Le coordinate del file {name} non sono in gradi ({example}): sembrano coordinate Gauss-Boaga/UTM: "
            f"{advice}.{hint}"
        )
    if outline is None:
        return
    lon, lat = to_wgs84(x, y, crs)
    if _inside_fraction(lon, lat, outline) >= _SUSPECT_INSIDE:
        return
    lon_s, lat_s = to_wgs84(y, x, crs)
    if _inside_fraction(lon_s, lat_s, outline) >= _ALTERNATIVE_INSIDE:
        action = ("togliere l'opzione swap_xy=True (inverti X/Y)" if swapped
                  else "ripetere l'importazione con l'opzione swap_xy=True (inverti X/Y)")
        raise ImportFailed(
            f"Le coordinate del file {name} sembrano invertite: scambiando latitudine e longitudine (X e Y) "
            f"i punti cadono in {where}. Correggere le colonne oppure {action}."
        )
    if not geographic and degrees_like.mean() >= _ALTERNATIVE_INSIDE and \
            _inside_fraction(x, y, outline) >= _ALTERNATIVE_INSIDE:
        raise ImportFailed(
            f"Le coordinate del file {name} sembrano gradi WGS84 (EPSG:4326), non {crs_label(crs)} come "
            "dichiarato o indicato: correggere il sistema di riferimento."
        )
    if not geographic:
        others = [pyproj.CRS.from_epsg(c) for c in SUPPORTED_CRS if c != 4326]
        guess = _best_alternative(x, y, outline, [c for c in others if not c.equals(crs, ignore_axis_order=True)])
        if guess is not None:
            raise ImportFailed(
                f"Le coordinate del file {name} non cadono in {where} con {crs_label(crs)}, ma vi cadono con "
                f"{crs_label(guess)}: correggere il sistema di riferimento."
            )


def _best_alternative(x: np.ndarray, y: np.ndarray, outline, candidates: list[pyproj.CRS]) -> pyproj.CRS | None:
    """The first CRS of ``candidates`` that puts (nearly) all points inside ``outline``."""
    if outline is None:
        return None
    for candidate in candidates:
        lon, lat = to_wgs84(x, y, candidate)
        if _inside_fraction(lon, lat, outline) >= _ALTERNATIVE_INSIDE:
            return candidate
    return None
