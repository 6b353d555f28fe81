"""Import a user file into a layer: the one path used by the CLI (``python -m geo import``) and
by the dashboard upload.

:func:`import_file` reads the file (:mod:`geo.data.io`), validates it (:mod:`geo.data.validate`),
aggregates incident events (:mod:`geo.data.aggregate`) or measures roads per cell, and writes
everything inside one :meth:`geo.data.storage.Store.transaction`: either the whole import is in the
database or nothing is.

Policies
--------
* **All or nothing** by default: one bad row refuses the file and the report lists every problem.
  With ``partial=True`` the valid rows are imported and the rejected ones are written, with the
  reason, to a CSV that Italian Excel opens (UTF-8 with BOM, ``;``).
* **Same content twice** (same SHA-256 into the same layer): nothing is written and the result
  says so. Point layers are written with ``upsert`` on their code, so a corrected file replaces
  the previous rows instead of duplicating them.
* **Incidents**: aggregates (cell or lat/lon + month + category + time band + count) and single
  events (lat/lon + date and time + category) are both reduced to counts per resolution-10 cell;
  coordinates are never stored.
* **Roads**: a new road file replaces the previous network (lengths per cell and ``highway``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import config
from geo.access import audit
from geo.access.permissions import OWN, SYSTEM, User, allows, import_action, require, scope
from geo.data import hexgrid, schemas
from geo.data import io as gio
from geo.data.aggregate import aggregate_incident_cells
from geo.data.io import ImportFailed
from geo.data.validate import (
    STORAGE_COLUMNS,
    ValidationResult,
    clean_text,
    missing_columns_message,
    validate_frame,
)

Progress = Callable[[float, str], None]

#: Densification step for road lengths per cell, metres (a resolution-10 hexagon is ~75 m across).
ROAD_STEP_M = 10.0
#: Longest road segment accepted before densification, metres (a bad vertex, not a road).
ROAD_MAX_PART_M = 100_000.0

WRITE_MODES = {"point": "upsert", "aggregate": "append", "line": "replace"}


@dataclass
class ImportResult:
    """What an import did.

    Attributes
    ----------
    layer, file_name
        Layer key and file name.
    rows_read
        Data rows in the file.
    rows_written
        Rows written to the layer's table (for incidents: aggregate rows, not events).
    rows_rejected
        Rows refused (only with ``partial=True``; otherwise the import fails).
    import_id
        Id in the ``imports`` table (the previous import's when ``already_imported``).
    report
        Problems found: ``riga``, ``campo``, ``valore``, ``motivo``.
    messages
        Italian sentences for the user.
    already_imported
        True when the same content had already been imported into this layer.
    rejects_path
        The CSV with the rejected rows, when written.
    """

    layer: str
    file_name: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    import_id: int | None
    report: pd.DataFrame
    messages: list[str] = field(default_factory=list)
    already_imported: bool = False
    rejects_path: Path | None = None


def import_file(
    store,
    territory,
    layer_key: str,
    path: str | Path,
    *,
    crs: object | None = None,
    swap_xy: bool = False,
    partial: bool = False,
    rejects_path: str | Path | None = None,
    user: str | None = None,
    progress: Progress | None = None,
    file_name: str | None = None,
    source_layer: str | None = None,
    max_bytes: int | None = None,
    actor: User | None = None,
) -> ImportResult:
    """Import one file into a layer of the store.

    Parameters
    ----------
    store
        The :class:`geo.data.storage.Store` (its ``cells`` table defines the territory).
    territory
        The :class:`geo.data.territory.Territory` (comuni, outline, metric CRS).
    layer_key
        A layer key or its Italian alias (``"scuole"``, ``"delitti"``, ...).
    path
        CSV, GeoJSON, GeoPackage, zipped Shapefile or (Geo)Parquet.
    crs
        CRS of the coordinates when the file does not declare one (CSV: WGS84 by default).
    swap_xy
        Exchange latitude and longitude (x and y) when the file has them the wrong way round.
    partial
        Import the valid rows and set the others aside instead of refusing the whole file.
    rejects_path
        Where to write the rejected rows (CSV) with ``partial=True``.
    user
        Name recorded in the ``imports`` table.
    progress
        ``progress(fraction, text)`` called as the import advances (0 to 1).
    file_name
        Name to show and record, when ``path`` is a temporary copy (an upload).
    source_layer
        GeoPackage layer, or shapefile name inside a zip (first one by default).
    max_bytes
        Size limit (default :data:`geo.config.MAX_IMPORT_BYTES`).
    actor
        Who imports (:mod:`geo.access.permissions`: ``import_layer:<layer>``; a Comune only rows of its
        own comuni). ``None`` is the command-line operator (:data:`geo.access.permissions.SYSTEM`); the
        dashboard always passes the logged-in user. The import is recorded in the audit log with
        the state of the rows it overwrites.

    Raises
    ------
    ImportFailed
        With Italian messages and, for row problems, the report. The database is unchanged.
    PermissionDenied
        The actor may not import into this layer (or rows lie outside its comuni and the import
        is not partial: then an :class:`ImportFailed` lists them).
    """
    try:
        layer = schemas.get_layer(layer_key)
    except KeyError as exc:
        raise ImportFailed(str(exc.args[0])) from exc
    who = actor or SYSTEM
    require(who, import_action(layer.key))
    path = Path(path)
    name = file_name or path.name
    step = _progress(progress)

    step(0.0, f"Controllo del file {name}")
    gio.check_size(path, max_bytes=max_bytes)
    sha = gio.file_sha256(path)
    previous = store.find_import(layer.key, sha)
    if previous is not None:
        when = previous["imported_at"]
        when_text = when.strftime("%d/%m/%Y %H:%M") if hasattr(when, "strftime") else str(when)
        step(1.0, "File già importato")
        return ImportResult(
            layer=layer.key, file_name=name, rows_read=0, rows_written=0, rows_rejected=0,
            import_id=int(previous["import_id"]), report=gio.empty_report(), already_imported=True,
            messages=[f"Il file {name} è già stato importato nel livello «{layer.label}» il {when_text} "
                      f"(importazione n. {previous['import_id']}, file {previous['file_name']}): "
                      "nessuna riga aggiunta."],
        )

    step(0.05, f"Lettura di {name}")
    try:
        raw = gio.read_file(path, crs=crs, layer=source_layer, max_bytes=max_bytes)
    except ImportFailed as exc:
        if name != path.name:  # an upload saved under a temporary name: speak of the user's file
            exc.messages = [m.replace(path.name, name) for m in exc.messages]
            exc.args = ("\n".join(exc.messages),)
        raise
    if file_name:
        raw.file_name = file_name
    step(0.2, "Riconoscimento delle colonne")
    columns = gio.harmonise_columns(raw.frame, layer, file_name=name)
    messages = [*raw.messages, *columns.messages]

    if layer.location == "line":
        prepared = _prepare_roads(raw, columns, store=store, territory=territory, swap_xy=swap_xy)
        validation, table_rows, extra = prepared
    else:
        validation = _validate_points(raw, columns, layer, store=store, territory=territory, swap_xy=swap_xy,
                                      name=name)
        table_rows, extra = _table_rows(validation, layer)
    messages += validation.messages
    report = validation.report
    rejected = validation.rows_rejected
    table_rows, report, rejected = _restrict_to_actor(store, who, layer, table_rows, report, rejected)

    if rejected and not partial:
        raise ImportFailed(
            [f"Importazione di {name} annullata: {gio.rows_text(rejected)} su {validation.rows_read} "
             f"{'ha' if rejected == 1 else 'hanno'} errori; "
             "nessuna riga è stata scritta.",
             "Correggere il file seguendo il rapporto (riga, campo, valore, motivo) oppure usare "
             "l'importazione parziale, che scarta solo le righe con errori."],
            report=report,
        )
    written_rejects: Path | None = None
    if rejected and rejects_path is not None:
        written_rejects = write_rejects(raw, report, rejects_path)
        messages.append(f"Le righe scartate ({rejected}) sono state salvate in {written_rejects.name} con il motivo.")
    if table_rows.empty:
        raise ImportFailed(f"Il file {name} non contiene righe valide da importare.", report=report)

    mode = WRITE_MODES[layer.location]
    step(0.7, f"Scrittura di {gio.rows_text(len(table_rows))} nel database")
    with store.transaction() as cur:
        import_id = store.new_import(cur, layer=layer.key, file_name=name, sha256=sha, mode=mode,
                                     user=user or who.username)
        table_rows = table_rows.assign(import_id=np.int64(import_id))
        replaced = _overwritten(store, cur, layer, table_rows, mode)
        written = store.write_frame(cur, layer.table, table_rows[STORAGE_COLUMNS[layer.table]], mode=mode)
        step(0.9, "Registrazione dell'importazione")
        store.finish_import(cur, import_id, written=written, rejected=rejected)
        _audit_import(store, cur, who, layer, table_rows, replaced, import_id=import_id, file_name=name, sha=sha,
                      mode=mode, written=written, rejected=rejected)
    step(1.0, "Importazione completata")

    messages.insert(0, f"{'Importata' if written == 1 else 'Importate'} {gio.rows_text(written)} nel livello "
                       f"«{layer.label}» dal file {name}.")
    messages += extra
    return ImportResult(
        layer=layer.key, file_name=name, rows_read=validation.rows_read, rows_written=written,
        rows_rejected=rejected, import_id=import_id, report=report, messages=messages,
        rejects_path=written_rejects,
    )


#: Rows of the audit entry of an import (keys written, rows overwritten) beyond which only the
#: count is kept: the entry stays readable and the log small.
AUDIT_MAX_ROWS = 1000


def _restrict_to_actor(
    store, who: User, layer: schemas.Layer, table_rows: pd.DataFrame, report: pd.DataFrame, rejected: int
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """For roles bound to their comuni, refuse the rows of other comuni (reported like invalid
    rows: all or nothing unless partial)."""
    action = import_action(layer.key)
    if scope(who.role, action) != OWN or table_rows.empty:
        return table_rows, report, rejected
    if "pro_com_t" in table_rows.columns:
        comuni = table_rows["pro_com_t"].astype("object")
    else:  # aggregates: the comune of each cell
        comuni = pd.Series(store.cell_lookup(table_rows["cell"].to_numpy()).to_numpy(), index=table_rows.index)
    outside = ~comuni.map(lambda c: isinstance(c, str) and allows(who, action, pro_com_t=c)).astype(bool)
    if not outside.any():
        return table_rows, report, rejected
    own = ", ".join(who.comuni) or "nessuno"
    extra = gio.report_frame(table_rows.index[outside.to_numpy()], "pro_com_t", comuni[outside].fillna("").to_numpy(),
                             f"comune non di competenza del profilo (comuni abilitati: {own})")
    report = pd.concat([report, extra], ignore_index=True).sort_values("riga", kind="stable").reset_index(drop=True)
    return table_rows[~outside.to_numpy()], report, rejected + int(outside.sum())


def _overwritten(store, cur, layer: schemas.Layer, table_rows: pd.DataFrame, mode: str) -> dict:
    """What an import replaces, for the audit log: the rows of a point layer with the same keys
    (upsert), or the size of a replaced table."""
    if mode == "upsert" and layer.id_field:
        keys = table_rows[layer.id_field].astype("str").tolist()
        before = store.rows_by_key(cur, layer.table, keys)
        return {"righe_sostituite": len(before),
                "righe": before.head(AUDIT_MAX_ROWS).to_dict("records"),
                "troncato": len(before) > AUDIT_MAX_ROWS}
    if mode == "replace":
        return {"righe_eliminate": store.count(layer.table)}
    return {}


def _audit_import(store, cur, who: User, layer: schemas.Layer, table_rows: pd.DataFrame, replaced: dict, *,
                  import_id: int, file_name: str, sha: str, mode: str, written: int, rejected: int) -> None:
    comuni = sorted(set(table_rows["pro_com_t"].dropna().astype(str))) if "pro_com_t" in table_rows else []
    keys = table_rows[layer.id_field].astype("str").tolist() if layer.id_field else []
    audit.record(store, cur, who, action="importazione", table=layer.table, key=str(import_id),
                 pro_com_t=comuni[0] if len(comuni) == 1 else None,
                 before=replaced or None,
                 after={"file": file_name, "sha256": sha, "modalita": mode, "righe_scritte": written,
                        "righe_scartate": rejected, "comuni": comuni, "chiavi": keys[:AUDIT_MAX_ROWS],
                        "chiavi_troncate": len(keys) > AUDIT_MAX_ROWS})


def _progress(callback: Progress | None) -> Progress:
    def step(fraction: float, text: str) -> None:
        if callback is not None:
            callback(min(max(fraction, 0.0), 1.0), text)

    return step


# --------------------------------------------------------------------------------------------
# Points and incidents
# --------------------------------------------------------------------------------------------


def _validate_points(
    raw: gio.RawTable, columns: gio.Columns, layer: schemas.Layer, *, store, territory, swap_xy: bool, name: str
) -> ValidationResult:
    has_geometry = raw.geometry is not None and bool((~(raw.geometry.isna() | raw.geometry.is_empty)).any())
    present = list(columns.frame.columns) + (["lat", "lon"] if has_geometry else [])
    problem = missing_columns_message(layer, present, file_name=name)
    if problem:
        raise ImportFailed(problem)
    points = gio.locate_points(raw, columns, swap_xy=swap_xy, territory=territory,
                               polygons="area" if layer.key == "reports" else "point")
    frame = columns.frame.drop(columns=["lat", "lon"], errors="ignore")
    prior = None
    if points is not None:
        keep = ["lon", "lat", "area_wkt"] if layer.key == "reports" else ["lon", "lat"]
        frame = frame.join(points.coords[keep])
        prior = points.report
    return validate_frame(frame, layer, store=store, territory=territory, headers=columns.headers,
                          file_name=name, source=name, report=prior)


def _table_rows(validation: ValidationResult, layer: schemas.Layer) -> tuple[pd.DataFrame, list[str]]:
    """Rows for the layer's table; incident rows are summed per cell, month, category, band, outdoor."""
    data = validation.data
    if layer.key != "incidents":
        return data, []
    parts = []
    for source, rows in data.groupby("source", dropna=False, sort=True):
        counts = aggregate_incident_cells(
            rows["cell"].to_numpy(), rows["month"], rows["category"], time_band=rows["time_band"],
            outdoor=rows["outdoor"], count=rows["count"],
        )
        counts["source"] = None if pd.isna(source) else source
        parts.append(counts)
    if not parts:
        return pd.DataFrame(columns=STORAGE_COLUMNS["incidents"]), []
    table = pd.concat(parts, ignore_index=True)
    table = table[table["count"] > 0]
    table["synthetic"] = False
    table["import_id"] = pd.array([pd.NA] * len(table), dtype="Int64")
    events = int(data["count"].sum())
    note = f"{events} delitti aggregati in {gio.rows_text(len(table))} (cella H3 × mese × categoria × fascia oraria)"
    if data["lon"].notna().any():
        note += "; le coordinate dei singoli eventi non sono state salvate"
    return table[STORAGE_COLUMNS["incidents"]], [note + "."]


# --------------------------------------------------------------------------------------------
# Roads
# --------------------------------------------------------------------------------------------


def _prepare_roads(
    raw: gio.RawTable, columns: gio.Columns, *, store, territory, swap_xy: bool
) -> tuple[ValidationResult, pd.DataFrame, list[str]]:
    """Validate road lines and measure their length per resolution-10 cell and ``highway``.

    Lines are projected to the territory's metric CRS, densified every :data:`ROAD_STEP_M`
    metres, cut into segments, and each segment's length goes to the cell of its midpoint.
    Parts of lines outside the territory are dropped (an OSM extract follows a bounding box).
    """
    layer = schemas.ROADS
    name = raw.file_name
    if raw.geometry is None:
        raise ImportFailed(f"Il file {name} non ha geometrie: per le strade serve un file con linee "
                           "(GeoJSON, GeoPackage o Shapefile).")
    problem = missing_columns_message(layer, list(columns.frame.columns), file_name=name)
    if problem:
        raise ImportFailed(problem)
    index = columns.frame.index
    highway = clean_text(columns.frame["highway"])
    geoms = raw.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    lines = np.isin(kinds, (1, 2, 5)) & ~missing
    header = columns.headers.get("highway", "highway")
    reports = [
        gio.report_frame(index[highway.to_numpy() == ""], header, [""] * int((highway == "").sum()),
                         "valore obbligatorio mancante"),
        gio.report_frame(index[(highway.str.len() > layer.field("highway").max_len).to_numpy()], header,
                         highway[(highway.str.len() > layer.field("highway").max_len).to_numpy()],
                         "testo troppo lungo"),
        gio.report_frame(index[missing], "geometria", [""] * int(missing.sum()), "geometria mancante"),
        gio.report_frame(index[~lines & ~missing], "geometria", raw.geometry.geom_type.to_numpy()[~lines & ~missing],
                         "geometria non lineare: servono linee (LineString)"),
    ]
    report = pd.concat([r for r in reports if not r.empty] or [gio.empty_report()], ignore_index=True)
    report = report.sort_values("riga", kind="stable").reset_index(drop=True)
    bad = index.isin(report["riga"].astype("int64"))
    good = ~bad
    validation = ValidationResult(data=pd.DataFrame(index=index[good]), report=report, rows_read=len(index))
    if not good.any():
        return validation, pd.DataFrame(columns=STORAGE_COLUMNS["roads"]), []

    chosen = geoms[good]
    if swap_xy:
        chosen = shapely.transform(chosen, lambda xy: xy[:, ::-1])
    first = shapely.get_point(shapely.get_parts(chosen), 0)
    gio.check_reading(shapely.get_x(first), shapely.get_y(first), crs=raw.crs, file_name=name,
                      territory=territory, swapped=swap_xy)
    lengths, extra = road_lengths(chosen, highway[good].to_numpy(), crs=raw.crs, store=store,
                                  metric_crs=territory.metric_crs)
    if lengths.empty:
        raise ImportFailed(f"Le strade del file {name} non attraversano {territory.name}: nessuna lunghezza da "
                           "importare. Controllare il sistema di riferimento.")
    return validation, lengths, extra


def road_lengths(
    geoms: np.ndarray, highway: np.ndarray, *, crs: pyproj.CRS, store, metric_crs: str,
    step_m: float = ROAD_STEP_M,
) -> tuple[pd.DataFrame, list[str]]:
    """Length (m) of lines per resolution-10 cell of the territory and ``highway`` value.

    Parameters
    ----------
    geoms
        (Multi)LineStrings in ``crs``.
    highway
        The OSM ``highway`` value of each line.
    store
        Its ``cells`` table decides which cells are in the territory.
    metric_crs
        Projected CRS for lengths (the territory's).
    step_m
        Densification step: segments are at most this long, and each goes to the cell of its
        midpoint (error on a cell's total under one step per crossing).

    Returns
    -------
    DataFrame
        ``cell``, ``highway``, ``length_m`` (rows with zero length are absent) and notes.
    """
    metric = pyproj.CRS.from_user_input(metric_crs)
    projected = shapely.transform(
        geoms, lambda xy: np.column_stack(pyproj.Transformer.from_crs(crs, metric, always_xy=True)
                                          .transform(xy[:, 0], xy[:, 1]))
    )
    parts, owner = shapely.get_parts(projected, return_index=True)
    parts = shapely.segmentize(parts, step_m)
    coords, part_of = shapely.get_coordinates(parts, return_index=True)
    same = part_of[1:] == part_of[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    seg_len = np.hypot(*(end - start).T)
    seg_owner = owner[part_of[:-1][same]]
    keep = np.isfinite(seg_len) & (seg_len > 0)
    mid = (start[keep] + end[keep]) / 2
    lon, lat = pyproj.Transformer.from_crs(metric, 4326, always_xy=True).transform(mid[:, 0], mid[:, 1])
    cells = hexgrid.points_to_cells(np.asarray(lat), np.asarray(lon), config.STORE_RES)
    inside = store.cell_lookup(cells).notna().to_numpy()
    total = float(seg_len[keep].sum())
    frame = pd.DataFrame({"cell": cells[inside], "highway": highway[seg_owner[keep][inside]],
                          "length_m": seg_len[keep][inside]})
    lengths = frame.groupby(["cell", "highway"], as_index=False, sort=True)["length_m"].sum()
    lengths["cell"] = lengths["cell"].astype(np.int64)
    lengths["highway"] = lengths["highway"].astype("str")
    kept = float(lengths["length_m"].sum())
    notes = [f"Rete stradale: {_km(kept)} su {lengths['cell'].nunique()} celle; la rete importata in precedenza "
             "è stata sostituita."]
    if total - kept > 1:
        notes.append(f"{_km(total - kept)} di strade fuori dal territorio ignorati.")
    return lengths, notes


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km".replace(".", ",")


# --------------------------------------------------------------------------------------------
# Rejected rows
# --------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[\d.,]*\d[\d.,]*")


def write_rejects(raw: gio.RawTable, report: pd.DataFrame, path: str | Path) -> Path:
    """Write the rejected rows of a file, with their reasons, to a CSV for Italian Excel.

    Columns: ``riga`` (row number in the original file), the file's own columns, the point as
    ``lon``/``lat`` in WGS84 (or ``geometria_wkt`` for other geometries) for spatial files, and
    ``motivo`` (every problem of the row, ``campo: motivo``, separated by `` | ``). UTF-8 with
    BOM and ``;`` as separator. Cells that a spreadsheet would run as formulas (starting with
    ``=``, ``+``, ``-``, ``@``, except numbers) are prefixed with an apostrophe.
    """
    path = Path(path)
    rows = sorted({int(r) for r in report["riga"].dropna()})
    reasons = (report.assign(testo=report["campo"].astype("str") + ": " + report["motivo"].astype("str"))
               .groupby("riga")["testo"].agg(" | ".join))
    out = pd.DataFrame({col: gio.as_text(raw.frame[col]) for col in raw.frame.columns}, index=raw.frame.index)
    out = out.loc[rows]
    if raw.geometry is not None:
        geoms = raw.geometry.loc[rows]
        points = geoms.geom_type == "Point"
        if points.all() and raw.crs is not None:
            lon, lat = gio.to_wgs84(geoms.x.to_numpy(), geoms.y.to_numpy(), raw.crs)
            out["lon"], out["lat"] = lon, lat
        else:
            shown = geoms.to_crs(4326) if raw.crs is not None else geoms
            out["geometria_wkt"] = shapely.to_wkt(shown.to_numpy(), rounding_precision=6)
    out = out.map(_neutralise_formula)
    out.insert(0, "riga", rows)
    out["motivo"] = [reasons.get(r, "") for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep=";", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def _neutralise_formula(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
