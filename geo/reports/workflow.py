"""Degradation reports (*segnalazioni*, pact artt. 4 and 8): filing, workflow, photos, CPOSP agenda.

A Comune officer places a report on the map (a point, or an area drawn as a polygon), picks a
category (:data:`geo.data.schemas.REPORT_CATEGORIES`), a severity and a description and may attach
photos. The report then follows the workflow of :data:`geo.access.permissions.TRANSITIONS`::

    nuova → presa_in_carico → in_agenda_cposp → intervento_programmato → risolta
                 (any open step may end in «respinta», with a written reason)

Every function that writes takes the acting :class:`~geo.access.permissions.User`, checks it with
:func:`geo.access.permissions.require` (the comune of the report must be one of the officer's), writes
inside one transaction and records the change in the audit log (:mod:`geo.access.audit`) and in the
report's own history (``report_events``: creation, status changes with their comment, comments,
edits, photos).

Choices
-------
* **Location**: the point's resolution-10 cell must be in the territory and in one of the
  officer's comuni (:meth:`geo.data.storage.Store.cell_lookup`); every vertex of a drawn area too. An
  area is at most :data:`MAX_AREA_KM2`.
* **Likely duplicates**: reports of the same category within :data:`DUPLICATE_RADIUS_M` metres,
  opened in the last :data:`DUPLICATE_DAYS` days and not rejected. They are pointed out before
  saving; saving anyway needs an explicit confirmation (``confirm_duplicates=True``).
* **Photos**: JPEG or PNG recognised from their content (not the file name), at most
  :data:`MAX_PHOTO_BYTES` each and :data:`MAX_PHOTOS` per report, at most
  :data:`MAX_PHOTO_PIXELS` pixels (decompression bombs are refused). They are decoded, turned
  upright according to their EXIF orientation, scaled down to :data:`PHOTO_MAX_SIDE` pixels and
  **re-encoded from the bare pixels** with Pillow: EXIF (GPS position, camera, time), XMP, IPTC,
  ICC and PNG text chunks do not survive. They are stored as BLOBs in ``report_photos``, in the
  same transaction as the report (one file to back up; no orphan files).
* **Text**: descriptions and comments are stored as typed (trimmed, control characters removed)
  and escaped wherever they are shown (map popups, tables, printable agenda); CSV exports
  neutralise spreadsheet formulas.
* **Bulk import** of a Comune's existing reports from a Municipium-style CSV
  (:func:`import_municipium`): columns ``Id;Stato;Anno;Creato;Chiusa;DescrizioneBreve;Categoria``
  plus coordinates, through :func:`geo.ingest.importers.import_file` (same validation, all-or-nothing).
"""

from __future__ import annotations

import hashlib
import html
import io
import math
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import shapely
from PIL import Image, ImageOps, UnidentifiedImageError

from geo import config
from geo.access import audit
from geo.access.permissions import (
    ALL,
    REASON_REQUIRED,
    TRANSITIONS,
    User,
    allowed_transitions,
    allows,
    normalise_comuni,
    require,
    scope,
    transition_action,
)
from geo.data import io as gio
from geo.data.schemas import OPEN_REPORT_STATUS, REPORT_CATEGORIES, REPORT_SEVERITY, REPORT_STATUS, REPORTS
from geo.data.storage import Store
from geo.reports.municipium import ALESSANDRIA_CATEGORY_MAP

DUPLICATE_RADIUS_M = 100.0
DUPLICATE_DAYS = 30
MAX_AREA_KM2 = 1.0
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_MAX_SIDE = 2048
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
DESCRIPTION_MAX = REPORTS.field("description").max_len
COMMENT_MAX = 2000
#: ``source`` of the reports filed in Lanterna.
REPORT_SOURCE = "Lanterna"
#: Statuses on the CPOSP agenda view: what is to be discussed, then the interventions decided.
AGENDA_STATUSES = ("in_agenda_cposp", "intervento_programmato")
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean Earth radius

#: Kinds of events in a report's history, with their Italian labels.
EVENT_KINDS = {"creazione": "Creazione", "transizione": "Cambio di stato", "commento": "Commento",
               "modifica": "Modifica", "foto": "Foto aggiunte"}


class ReportError(ValueError):
    """A report that cannot be saved or changed as asked; ``str(exc)`` is Italian."""


class DuplicateSuspected(ReportError):  # noqa: N818 - a warning the caller must confirm
    """Likely duplicates were found (:attr:`duplicates`); confirm to save anyway."""

    def __init__(self, duplicates: pd.DataFrame) -> None:
        n = len(duplicates)
        super().__init__(
            f"{'Esiste già una segnalazione' if n == 1 else f'Esistono già {n} segnalazioni'} della stessa "
            f"categoria entro {DUPLICATE_RADIUS_M:.0f} m negli ultimi {DUPLICATE_DAYS} giorni: controllare che non "
            "sia un doppione e confermare per salvare comunque.")
        self.duplicates = duplicates


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: object, *, max_len: int, what: str, required: bool = False) -> str:
    """User text as stored: NFC, control and bidirectional-override characters removed, trimmed.

    Raises :class:`ReportError` when ``required`` and empty, or longer than ``max_len``.
    """
    value = "" if text is None else unicodedata.normalize("NFC", str(text))
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not value:
        raise ReportError(f"{what} è obbligatorio.")
    if len(value) > max_len:
        raise ReportError(f"{what} è troppo lungo: {len(value)} caratteri, al massimo {max_len}.")
    return value


def check_category(category: str) -> str:
    if category not in REPORT_CATEGORIES:
        raise ReportError(f"Categoria sconosciuta: «{category}».")
    return category


def check_severity(severity: object) -> int:
    try:
        value = int(severity)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = 0
    if value not in REPORT_SEVERITY:
        raise ReportError("La gravità deve essere 1 (bassa), 2 (media) o 3 (alta).")
    return value


@dataclass(frozen=True)
class Photo:
    """A cleaned photo: bytes re-encoded without metadata, its type and size."""

    file_name: str
    mime: str
    data: bytes = field(repr=False)
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _photo_name(name: str, fmt: str) -> str:
    base = Path(str(name).replace("\\", "/")).name
    stem = re.sub(r"[^\w.\- ]+", "_", Path(base).stem).strip(" ._") or "foto"
    return f"{stem[:80]}.{'jpg' if fmt == 'JPEG' else 'png'}"


def clean_photo(data: bytes, file_name: str = "") -> Photo:
    """Check a photo and re-encode it without any metadata (see the module notes).

    Raises
    ------
    ReportError
        Empty, too large, not a JPEG or PNG, damaged, or too many pixels.
    """
    name = Path(str(file_name).replace("\\", "/")).name or "foto"
    if not data:
        raise ReportError(f"La foto {name} è vuota.")
    if len(data) > MAX_PHOTO_BYTES:
        raise ReportError(f"La foto {name} è troppo grande: {len(data) / 1_048_576:.1f} MB, al massimo "
                          f"{MAX_PHOTO_BYTES // 1_048_576} MB.".replace(".", ",", 1))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in PHOTO_TYPES:
                    raise ReportError(f"Il file {name} non è una foto JPEG o PNG.")
                if probe.width * probe.height > MAX_PHOTO_PIXELS:
                    raise ReportError(f"La foto {name} ha troppi pixel ({probe.width} × {probe.height}).")
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                upright = ImageOps.exif_transpose(img)
    except ReportError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise ReportError(f"Il file {name} non è un'immagine JPEG o PNG leggibile.") from exc
    if fmt == "JPEG":
        target = "L" if upright.mode in ("1", "L", "I;16", "I", "F") else "RGB"
    else:
        target = upright.mode if upright.mode in ("L", "LA", "RGB", "RGBA") else "RGBA"
    upright = upright.convert(target) if upright.mode != target else upright
    upright.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    bare = Image.frombytes(upright.mode, upright.size, upright.tobytes())  # pixels only: no metadata
    out = io.BytesIO()
    if fmt == "JPEG":
        bare.save(out, format="JPEG", quality=85, optimize=True)
    else:
        bare.save(out, format="PNG", optimize=True)
    return Photo(file_name=_photo_name(name, fmt), mime=PHOTO_TYPES[fmt], data=out.getvalue(),
                 width=bare.width, height=bare.height)


def _as_photos(photos: Iterable[Photo | tuple[str, bytes]]) -> list[Photo]:
    out = [p if isinstance(p, Photo) else clean_photo(p[1], p[0]) for p in photos]
    if len(out) > MAX_PHOTOS:
        raise ReportError(f"Al massimo {MAX_PHOTOS} foto per segnalazione.")
    return out


# --------------------------------------------------------------------------------------------
# Location
# --------------------------------------------------------------------------------------------

def haversine_m(lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float,
                lon2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance in metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def comune_names(store: Store) -> dict[str, str]:
    comuni = store.comuni()
    return dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))


def locate(store: Store, lat: float, lon: float) -> tuple[int, str]:
    """Resolution-10 cell and comune of a point; :class:`ReportError` outside the territory."""
    if not (math.isfinite(float(lat)) and math.isfinite(float(lon))) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ReportError("Coordinate non valide.")
    cell = h3.str_to_int(h3.latlng_to_cell(float(lat), float(lon), config.STORE_RES))
    comune = store.cell_lookup(np.array([cell], dtype=np.int64)).iloc[0]
    if pd.isna(comune):
        raise ReportError("Il punto scelto è fuori dal territorio della provincia.")
    return cell, str(comune)


def parse_area(area: object) -> shapely.Polygon:
    """A drawn area (GeoJSON geometry or Feature dict, WKT, or shapely polygon) as a valid polygon
    in WGS84 of at most :data:`MAX_AREA_KM2`."""
    try:
        if isinstance(area, shapely.Geometry):
            geom = area
        elif isinstance(area, Mapping):
            geometry = area.get("geometry", area)
            geom = shapely.geometry.shape(geometry)
        else:
            geom = shapely.from_wkt(str(area))
    except (shapely.errors.GEOSException, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ReportError("L'area disegnata non è valida.") from exc
    if not isinstance(geom, shapely.Polygon) or geom.is_empty or not geom.is_valid:
        raise ReportError("L'area disegnata deve essere un poligono semplice (senza intersezioni).")
    lon0, lat0 = geom.centroid.x, geom.centroid.y
    xy = shapely.transform(geom, lambda c: np.column_stack([
        np.radians(c[:, 0] - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0)),
        np.radians(c[:, 1] - lat0) * EARTH_RADIUS_M]))
    if xy.area / 1e6 > MAX_AREA_KM2:
        raise ReportError(f"L'area disegnata è troppo grande ({xy.area / 1e6:.2f} km²): al massimo "
                          f"{MAX_AREA_KM2:g} km².".replace(".", ","))
    return shapely.set_precision(geom, 1e-7)


# --------------------------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------------------------

def likely_duplicates(
    store: Store, *, lat: float, lon: float, category: str, today: date | None = None,
    radius_m: float = DUPLICATE_RADIUS_M, days: int = DUPLICATE_DAYS,
) -> pd.DataFrame:
    """Reports of ``category`` within ``radius_m`` of the point, opened in the last ``days`` days
    and not rejected, nearest first (``distance_m`` added)."""
    today = today or date.today()
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    near = store.reports_in_box(south=lat - dlat, west=lon - dlon, north=lat + dlat, east=lon + dlon,
                                category=category, opened_since=today - timedelta(days=days))
    near = near[near["status"] != "respinta"].copy()
    near["distance_m"] = haversine_m(lat, lon, near["lat"].to_numpy(), near["lon"].to_numpy())
    return near[near["distance_m"] <= radius_m].sort_values("distance_m").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------

def _comune_label(store: Store, code: str | None) -> str:
    return f"Comune di {comune_names(store).get(code, code)}" if code else ""


def _new_id(store: Store, cur, pro_com_t: str, year: int) -> str:
    prefix = f"SEG-{pro_com_t}-{year}-"
    numbers = [int(r[len(prefix):]) for r in store.report_ids_with_prefix(cur, prefix) if r[len(prefix):].isdigit()]
    return f"{prefix}{(max(numbers) if numbers else 0) + 1:05d}"


def create_report(
    store: Store,
    actor: User | None,
    *,
    category: str,
    severity: int,
    description: str,
    lat: float | None = None,
    lon: float | None = None,
    area: object = None,
    photos: Iterable[Photo | tuple[str, bytes]] = (),
    confirm_duplicates: bool = False,
    today: date | None = None,
) -> str:
    """File a new report (status ``nuova``); returns its code (``SEG-<comune>-<year>-00001``).

    Parameters
    ----------
    store, actor
        The database and the officer (``create_report`` in the comune of the point).
    category, severity, description
        A :data:`~geo.data.schemas.REPORT_CATEGORIES` code, 1-3, and a required text.
    lat, lon
        The point clicked; with only ``area``, a point inside the area is used.
    area
        A drawn polygon (:func:`parse_area`); every vertex must be in the officer's comuni.
    photos
        :class:`Photo` objects or ``(file name, bytes)`` pairs (cleaned with :func:`clean_photo`).
    confirm_duplicates
        Save even when :func:`likely_duplicates` finds some (otherwise :class:`DuplicateSuspected`).
    today
        Opening date (default: today).

    Raises
    ------
    PermissionDenied
        The point (or the area) is outside the officer's comuni, or the role cannot file reports.
    ReportError
        Invalid input or a point outside the territory; :class:`DuplicateSuspected` as above.
    """
    require(actor, "create_report")
    category = check_category(category)
    severity = check_severity(severity)
    text = clean_text(description, max_len=DESCRIPTION_MAX, what="La descrizione", required=True)
    polygon = parse_area(area) if area is not None else None
    if lat is None or lon is None:
        if polygon is None:
            raise ReportError("Indicare il punto sulla mappa (clic) o disegnare l'area.")
        inside = polygon.representative_point()
        lat, lon = inside.y, inside.x
    cell, pro_com_t = locate(store, float(lat), float(lon))
    require(actor, "create_report", pro_com_t=pro_com_t, comune_name=_comune_label(store, pro_com_t))
    if polygon is not None:
        ring = np.asarray(polygon.exterior.coords)
        cells = np.array([h3.str_to_int(h3.latlng_to_cell(y, x, config.STORE_RES)) for x, y in ring], dtype=np.int64)
        owners = store.cell_lookup(cells)
        if owners.isna().any() or not allows(actor, "create_report", pro_com_t=list(owners.unique())):
            raise ReportError("L'area disegnata esce dal territorio dei comuni di competenza del profilo.")
    cleaned = _as_photos(photos)
    today = today or date.today()
    if not confirm_duplicates:
        dups = likely_duplicates(store, lat=float(lat), lon=float(lon), category=category, today=today)
        if not dups.empty:
            raise DuplicateSuspected(dups)
    now = audit.utcnow()
    with store.transaction() as cur:
        report_id = _new_id(store, cur, pro_com_t, today.year)
        row = {"report_id": report_id, "pro_com_t": pro_com_t, "lon": round(float(lon), 7),
               "lat": round(float(lat), 7), "cell": int(cell), "area_wkt": None if polygon is None else polygon.wkt,
               "category": category, "severity": severity, "status": "nuova", "opened": today, "closed": None,
               "description": text, "synthetic": False, "source": REPORT_SOURCE, "import_id": None}
        store.insert_report(cur, row)
        store.insert_report_event(cur, {"report_id": report_id, "event_at": now, "username": actor.username,
                                        "role": actor.role, "kind": "creazione", "to_status": "nuova"})
        saved = [_store_photo(store, cur, actor, report_id, p, now) for p in cleaned]
        audit.record(store, cur, actor, action="creazione", table="reports", key=report_id, pro_com_t=pro_com_t,
                     after={**row, "foto": saved}, at=now)
    return report_id


def _store_photo(store: Store, cur, actor: User, report_id: str, photo: Photo, now) -> dict:
    meta = {"report_id": report_id, "file_name": photo.file_name, "mime": photo.mime, "width": photo.width,
            "height": photo.height, "size_bytes": len(photo.data), "sha256": photo.sha256, "uploaded_at": now,
            "username": actor.username}
    photo_id = store.insert_report_photo(cur, {**meta, "data": photo.data})
    return {"photo_id": photo_id, **{k: v for k, v in meta.items() if k != "report_id"}}


def _load(store: Store, cur, report_id: str) -> dict:
    row = store.report_row(report_id, cur=cur)
    if row is None:
        raise ReportError(f"Segnalazione inesistente: {report_id}.")
    return row


def change_status(
    store: Store, actor: User | None, report_id: str, to_status: str, *, comment: str = "",
    today: date | None = None,
) -> dict:
    """Move a report along the workflow; returns the report after the change.

    The transition must be in :data:`geo.access.permissions.TRANSITIONS` and allowed to the actor's role
    in the report's comune; ``respinta`` needs a reason (``comment``). Closing statuses set
    ``closed``.
    """
    if to_status not in REPORT_STATUS:
        raise ReportError(f"Stato sconosciuto: «{to_status}».")
    text = clean_text(comment, max_len=COMMENT_MAX, what="Il motivo" if to_status in REASON_REQUIRED else "Il commento",
                      required=to_status in REASON_REQUIRED)
    now = audit.utcnow()
    with store.transaction() as cur:
        before = _load(store, cur, report_id)
        origin = before["status"]
        if (origin, to_status) not in TRANSITIONS:
            raise ReportError(f"Una segnalazione «{REPORT_STATUS.get(origin, origin)}» non può passare a "
                              f"«{REPORT_STATUS[to_status]}».")
        require(actor, transition_action(origin, to_status), pro_com_t=before["pro_com_t"],
                comune_name=_comune_label(store, before["pro_com_t"]))
        fields: dict = {"status": to_status}
        if to_status not in OPEN_REPORT_STATUS:
            fields["closed"] = today or date.today()
        if not store.update_report(cur, report_id, fields, expected_status=origin):
            raise ReportError("La segnalazione è stata modificata nel frattempo: ricaricare la pagina.")
        after = store.report_row(report_id, cur=cur)
        store.insert_report_event(cur, {"report_id": report_id, "event_at": now, "username": actor.username,
                                        "role": actor.role, "kind": "transizione", "from_status": origin,
                                        "to_status": to_status, "text": text or None})
        audit.record(store, cur, actor, action="transizione", table="reports", key=report_id,
                     pro_com_t=before["pro_com_t"], before=before, after={**after, "commento": text or None}, at=now)
    return after


def add_comment(store: Store, actor: User | None, report_id: str, text: str) -> int:
    """Add a comment to a report's history; returns the event id."""
    body = clean_text(text, max_len=COMMENT_MAX, what="Il commento", required=True)
    now = audit.utcnow()
    with store.transaction() as cur:
        row = _load(store, cur, report_id)
        require(actor, "comment_report", pro_com_t=row["pro_com_t"], comune_name=_comune_label(store, row["pro_com_t"]))
        event = store.insert_report_event(cur, {"report_id": report_id, "event_at": now, "username": actor.username,
                                                "role": actor.role, "kind": "commento", "text": body})
        audit.record(store, cur, actor, action="commento", table="report_events", key=f"{report_id}#{event}",
                     pro_com_t=row["pro_com_t"], after={"report_id": report_id, "testo": body}, at=now)
    return event


def edit_report(
    store: Store, actor: User | None, report_id: str, *, category: str | None = None, severity: int | None = None,
    description: str | None = None,
) -> dict:
    """Correct the category, severity or description of an open report; returns it after."""
    fields: dict = {}
    if category is not None:
        fields["category"] = check_category(category)
    if severity is not None:
        fields["severity"] = check_severity(severity)
    if description is not None:
        fields["description"] = clean_text(description, max_len=DESCRIPTION_MAX, what="La descrizione", required=True)
    now = audit.utcnow()
    with store.transaction() as cur:
        before = _load(store, cur, report_id)
        require(actor, "edit_report", pro_com_t=before["pro_com_t"],
                comune_name=_comune_label(store, before["pro_com_t"]))
        if before["status"] not in OPEN_REPORT_STATUS:
            raise ReportError("Una segnalazione chiusa non si può modificare.")
        changed = {k: v for k, v in fields.items() if before.get(k) != v}
        if not changed:
            return before
        store.update_report(cur, report_id, changed)
        after = store.report_row(report_id, cur=cur)
        store.insert_report_event(cur, {"report_id": report_id, "event_at": now, "username": actor.username,
                                        "role": actor.role, "kind": "modifica",
                                        "text": ", ".join(sorted(changed))})
        audit.record(store, cur, actor, action="modifica", table="reports", key=report_id,
                     pro_com_t=before["pro_com_t"], before=before, after=after, at=now)
    return after


def add_photos(store: Store, actor: User | None, report_id: str,
               photos: Iterable[Photo | tuple[str, bytes]]) -> list[int]:
    """Attach photos to an open report (``edit_report``); returns their ids."""
    cleaned = _as_photos(photos)
    if not cleaned:
        return []
    now = audit.utcnow()
    with store.transaction() as cur:
        row = _load(store, cur, report_id)
        require(actor, "edit_report", pro_com_t=row["pro_com_t"], comune_name=_comune_label(store, row["pro_com_t"]))
        if row["status"] not in OPEN_REPORT_STATUS:
            raise ReportError("Non si possono aggiungere foto a una segnalazione chiusa.")
        existing = len(store.report_photos(report_id))
        if existing + len(cleaned) > MAX_PHOTOS:
            raise ReportError(f"Al massimo {MAX_PHOTOS} foto per segnalazione (ce ne sono già {existing}).")
        saved = [_store_photo(store, cur, actor, report_id, p, now) for p in cleaned]
        store.insert_report_event(cur, {"report_id": report_id, "event_at": now, "username": actor.username,
                                        "role": actor.role, "kind": "foto", "text": f"{len(saved)} foto"})
        audit.record(store, cur, actor, action="foto", table="report_photos", key=report_id,
                     pro_com_t=row["pro_com_t"], after={"foto": saved}, at=now)
    return [p["photo_id"] for p in saved]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

def visible_comuni(actor: User | None, action: str = "view_reports") -> tuple[str, ...] | None:
    """Comuni whose reports ``actor`` may see for ``action`` (None: all of them)."""
    require(actor, action)
    return None if scope(actor.role, action) == ALL else normalise_comuni(actor.comuni)


def visible_reports(store: Store, actor: User | None, *, statuses: Sequence[str] | None = None,
                    comuni: Sequence[str] | None = None) -> pd.DataFrame:
    """Reports ``actor`` may see (``view_reports``: a Comune only its own), newest first, with
    ``comune`` (name) added; ``comuni``/``statuses`` narrow the list further."""
    own = visible_comuni(actor)
    wanted = list(comuni) if comuni else None
    if own is not None:
        wanted = [c for c in (wanted or own) if c in own]
    frame = store.reports_frame(comuni=wanted, statuses=list(statuses) if statuses else None)
    frame["comune"] = frame["pro_com_t"].map(comune_names(store))
    return frame


def get_report(store: Store, actor: User | None, report_id: str) -> dict:
    """One report ``actor`` may see (:class:`ReportError` when absent, PermissionDenied when not its)."""
    row = store.report_row(report_id)
    if row is None:
        raise ReportError(f"Segnalazione inesistente: {report_id}.")
    require(actor, "view_reports", pro_com_t=row["pro_com_t"], comune_name=_comune_label(store, row["pro_com_t"]))
    return row


def history(store: Store, actor: User | None, report_id: str) -> pd.DataFrame:
    """The report's events (creation, status changes with comments, comments, edits, photos)."""
    get_report(store, actor, report_id)
    return store.report_events([report_id])


def photos(store: Store, actor: User | None, report_id: str) -> list[dict]:
    """The report's photos with their (clean) bytes."""
    get_report(store, actor, report_id)
    return [store.report_photo(int(pid)) for pid in store.report_photos(report_id)["photo_id"]]


@dataclass(frozen=True)
class Actions:
    """What ``actor`` may do on one report: edit it, comment it, and the statuses it may move it to."""

    edit: bool
    comment: bool
    transitions: tuple[str, ...]

    @property
    def any(self) -> bool:
        return self.edit or self.comment or bool(self.transitions)


def actions_for(actor: User | None, report: Mapping[str, object]) -> Actions:
    """The controls a page may show for a report (the writes check again)."""
    code = report.get("pro_com_t")
    status = str(report.get("status"))
    return Actions(
        edit=allows(actor, "edit_report", pro_com_t=code) and status in OPEN_REPORT_STATUS,
        comment=allows(actor, "comment_report", pro_com_t=code),
        transitions=tuple(allowed_transitions(actor, status, pro_com_t=code)),
    )


# --------------------------------------------------------------------------------------------
# Tables, agenda and exports
# --------------------------------------------------------------------------------------------

#: Columns of the reports table (and its CSV), with Italian headers.
TABLE_COLUMNS: dict[str, str] = {
    "report_id": "Codice",
    "comune": "Comune",
    "category": "Categoria",
    "severity": "Gravità",
    "status": "Stato",
    "opened": "Aperta il",
    "closed": "Chiusa il",
    "description": "Descrizione",
    "created_by": "Inserita da",
    "photos": "Foto",
}


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Reports as an Italian table (labels instead of codes; text left as typed: Streamlit shows
    it as text, exports neutralise formulas)."""
    out = frame.reindex(columns=list(TABLE_COLUMNS)).copy()
    out["category"] = out["category"].map(lambda c: REPORT_CATEGORIES.get(c, c))
    out["status"] = out["status"].map(lambda s: REPORT_STATUS.get(s, s))
    out["severity"] = out["severity"].map(lambda s: "" if pd.isna(s) else REPORT_SEVERITY.get(int(s), s))
    for col in ("opened", "closed"):
        out[col] = pd.to_datetime(out[col]).dt.date
    return out.rename(columns=TABLE_COLUMNS)


def history_table(events: pd.DataFrame) -> pd.DataFrame:
    """A report's history as an Italian table."""
    def step(row) -> str:
        if row["kind"] == "transizione":
            return f"{REPORT_STATUS.get(row['from_status'], row['from_status'])} → " \
                   f"{REPORT_STATUS.get(row['to_status'], row['to_status'])}"
        return EVENT_KINDS.get(row["kind"], row["kind"])

    return pd.DataFrame({
        "Data (UTC)": events["event_at"],
        "Utente": events["username"],
        "Passaggio": [step(r) for r in events.to_dict("records")],
        "Nota": events["text"].fillna(""),
    })


def agenda(store: Store, actor: User | None, *, today: date | None = None) -> pd.DataFrame:
    """The CPOSP agenda (``view_agenda``): reports to discuss (``in_agenda_cposp``) and the
    interventions decided (``intervento_programmato``), as an Italian table.

    Order: to discuss first; then higher severity, then the oldest.
    """
    own = visible_comuni(actor, "view_agenda")
    frame = store.reports_frame(comuni=list(own) if own is not None else None, statuses=list(AGENDA_STATUSES))
    today = today or date.today()
    events = store.report_events(frame["report_id"].tolist()) if len(frame) else pd.DataFrame(
        columns=["report_id", "event_at", "kind", "to_status", "text"])
    to_agenda = events[(events["kind"] == "transizione") & (events["to_status"] == "in_agenda_cposp")]
    since = to_agenda.groupby("report_id")["event_at"].max()
    notes = events[events["text"].notna() & (events["text"] != "")].groupby("report_id")["text"].last()
    names = comune_names(store)
    frame = frame.assign(order=frame["status"].map({s: i for i, s in enumerate(AGENDA_STATUSES)}),
                         sev=frame["severity"].fillna(0))
    frame = frame.sort_values(["order", "sev", "opened", "report_id"], ascending=[True, False, True, True])
    opened = pd.to_datetime(frame["opened"])
    return pd.DataFrame({
        "Codice": frame["report_id"].to_numpy(),
        "Stato": frame["status"].map(REPORT_STATUS).to_numpy(),
        "Comune": frame["pro_com_t"].map(names).to_numpy(),
        "Categoria": frame["category"].map(lambda c: REPORT_CATEGORIES.get(c, c)).to_numpy(),
        "Gravità": frame["severity"].map(lambda s: "" if pd.isna(s) else REPORT_SEVERITY.get(int(s), s)).to_numpy(),
        "Aperta il": pd.to_datetime(frame["opened"]).dt.date.to_numpy(),
        "Giorni": (pd.Timestamp(today) - opened).dt.days.to_numpy(),
        "All'ordine del giorno dal": frame["report_id"].map(since).dt.date.to_numpy()
        if len(since) else [None] * len(frame),
        "Ultima nota": frame["report_id"].map(notes).astype("object").fillna("").to_numpy(),
        "Descrizione": frame["description"].astype("object").fillna("").to_numpy(),
        "Lat": frame["lat"].round(5).to_numpy(),
        "Lon": frame["lon"].round(5).to_numpy(),
    })


def _record_export(store: Store, actor: User, what: str, rows: int) -> None:
    with store.transaction() as cur:
        audit.record(store, cur, actor, action="esportazione", table="reports", key=what, after={"righe": rows})


def agenda_csv(store: Store, actor: User | None, *, today: date | None = None) -> bytes:
    """The agenda as CSV (``export_agenda``): UTF-8 with BOM, ``;``, formulas neutralised."""
    require(actor, "export_agenda")
    frame = agenda(store, actor, today=today)
    _record_export(store, actor, "agenda_cposp.csv", len(frame))
    return audit.csv_bytes(frame)


def agenda_html(store: Store, actor: User | None, *, title: str = "Ordine del giorno del CPOSP",
                territory: str = "", today: date | None = None) -> str:
    """The agenda as a printable HTML page (``export_agenda``); every value is escaped."""
    require(actor, "export_agenda")
    today = today or date.today()
    frame = agenda(store, actor, today=today)
    _record_export(store, actor, "agenda_cposp.html", len(frame))
    columns = ["Codice", "Stato", "Comune", "Categoria", "Gravità", "Aperta il", "Giorni",
               "All'ordine del giorno dal", "Ultima nota", "Descrizione"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)

    def cell(value: object) -> str:
        if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
            return ""
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y")
        return str(value)

    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(r[c]))}</td>" for c in columns) + "</tr>"
                   for r in frame.to_dict("records"))
    if not body:
        body = f"<tr><td colspan='{len(columns)}'>Nessuna segnalazione all'ordine del giorno.</td></tr>"
    subtitle = f"{html.escape(territory)} · " if territory else ""
    return (
        "<!DOCTYPE html><html lang='it'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:11pt/1.4 'Source Sans Pro',Arial,sans-serif;margin:2em;color:#111}"
        "h1{font-size:16pt;margin:0 0 .2em}p{margin:0 0 1em;color:#444}"
        "table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:4px 6px;"
        "vertical-align:top;text-align:left}th{background:#eee}tr{page-break-inside:avoid}"
        "@media print{body{margin:0}}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{subtitle}aggiornato al {today.strftime('%d/%m/%Y')} · "
        f"{len(frame)} segnalazioni · generato da Lanterna per {html.escape(actor.label)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>"
    )


def reports_csv(frame: pd.DataFrame) -> bytes:
    """A :func:`visible_reports` frame as CSV (Italian headers, formulas neutralised)."""
    return audit.csv_bytes(table(frame))


# --------------------------------------------------------------------------------------------
# Bulk import (Municipium-style CSV)
# --------------------------------------------------------------------------------------------

#: Columns of a Municipium export (Comune di Alessandria, open data), plus coordinates.
MUNICIPIUM_COLUMNS = ("Id", "Stato", "Anno", "Creato", "Chiusa", "DescrizioneBreve", "Categoria")


def municipium_category(value: object) -> str | bool | None:
    """Lanterna category of a Municipium category: a code, ``None`` for an out-of-scope one
    (potholes, traffic lights…), or ``False`` when unknown (left to the validation)."""
    text = "" if value is None else str(value).strip()
    folded = {k.lower(): v for k, v in ALESSANDRIA_CATEGORY_MAP.items()}
    if text.lower() in folded:
        return folded[text.lower()]
    return False


def import_municipium(
    store: Store,
    territory,
    actor: User | None,
    path: str | Path,
    *,
    pro_com_t: str,
    partial: bool = False,
    rejects_path: str | Path | None = None,
    file_name: str | None = None,
):
    """Import a Comune's existing reports from a Municipium-style CSV.

    The file has the columns of :data:`MUNICIPIUM_COLUMNS` (``;``-separated, any common
    encoding) and two coordinate columns (``lat``/``lon``, ``latitudine``/``longitudine``…).
    ``Id`` becomes ``MUN-<pro_com_t>-<Id>`` (a re-import updates the same reports);
    ``Stato`` (aperta, in carico, chiusa, archiviata, annullata, eliminata) maps onto
    :data:`geo.data.schemas.REPORT_STATUS`; ``Categoria`` through
    :data:`geo.reports.municipium.ALESSANDRIA_CATEGORY_MAP` (out-of-scope categories such as potholes
    are skipped and counted; Lanterna codes and labels are accepted as well);
    ``DescrizioneBreve`` (the channel) goes to ``source``; ``Anno`` is redundant with ``Creato``.
    Rows must lie in comune ``pro_com_t``, which ``actor`` must be allowed to import for.

    Returns the :class:`geo.ingest.importers.ImportResult` (row numbers are those of the original file).

    Raises
    ------
    PermissionDenied
        The actor may not import reports for ``pro_com_t``.
    geo.data.io.ImportFailed
        Missing columns or invalid rows (all or nothing unless ``partial``).
    """
    from geo.access.permissions import import_action
    from geo.ingest.importers import import_file, write_rejects

    code = normalise_comuni([pro_com_t])[0]
    require(actor, import_action("reports"), pro_com_t=code, comune_name=_comune_label(store, code))
    path = Path(path)
    name = file_name or path.name
    raw = gio.read_file(path)
    headers = {gio.normalise_header(h): h for h in raw.frame.columns}
    lat_col = next((headers[a] for a in gio_aliases("lat") if a in headers), None)
    lon_col = next((headers[a] for a in gio_aliases("lon") if a in headers), None)
    missing = [c for c in ("Id", "Stato", "Creato", "Categoria") if gio.normalise_header(c) not in headers]
    if lat_col is None or lon_col is None:
        missing.append("coordinate (lat e lon, oppure latitudine e longitudine)")
    if missing:
        raise gio.ImportFailed(f"Il file {name} non ha la forma di un'esportazione Municipium: mancano "
                               f"{', '.join(missing)}.")

    def col(header: str) -> pd.Series:
        key = gio.normalise_header(header)
        return gio.as_text(raw.frame[headers[key]]) if key in headers else pd.Series("", index=raw.frame.index)

    raw_categories = col("Categoria")
    mapped = [municipium_category(c) for c in raw_categories]
    keep = pd.Series([m is not None for m in mapped], index=raw_categories.index)
    skipped = raw_categories[~keep].value_counts()
    channel = col("DescrizioneBreve")
    canonical = pd.DataFrame({
        "report_id": "MUN-" + code + "-" + col("Id").str.strip(),
        "pro_com_t": code,
        "category": [c if isinstance(c, str) else raw_c for c, raw_c in zip(mapped, raw_categories, strict=True)],
        "status": col("Stato"),
        "opened": col("Creato"),
        "closed": col("Chiusa"),
        "fonte": ("Municipium" + channel.map(lambda t: f" ({t})" if t else "")),
        "lat": col(lat_col),
        "lon": col(lon_col),
    }, index=raw.frame.index)[keep.to_numpy()]
    if canonical.empty:
        raise gio.ImportFailed(f"Il file {name} non contiene segnalazioni di degrado: tutte le categorie sono fuori "
                               "ambito (manutenzione stradale e servizi).")
    original_rows = canonical.index.to_numpy()

    def remap(report: pd.DataFrame | None) -> pd.DataFrame | None:
        if report is None or report.empty:
            return report
        out = report.copy()
        # CSV rows are numbered as lines (the header is line 1): line r of the converted file is
        # the (r - 1)-th row kept from the original
        out["riga"] = [original_rows[int(r) - 2] if 2 <= int(r) < len(original_rows) + 2 else r for r in out["riga"]]
        return out

    with tempfile.TemporaryDirectory(prefix="lanterna-municipium-") as tmp:
        converted = Path(tmp) / "segnalazioni.csv"
        canonical.to_csv(converted, sep=";", index=False, encoding="utf-8")
        try:
            result = import_file(store, territory, "reports", converted, partial=partial, user=actor.username,
                                 file_name=name, actor=actor)
        except gio.ImportFailed as exc:
            exc.report = remap(exc.report)
            raise
    result.report = remap(result.report)
    if rejects_path is not None and result.rows_rejected:
        result.rejects_path = write_rejects(raw, result.report, rejects_path)
    if len(skipped):
        result.messages.append(
            f"{int(skipped.sum())} righe con categorie fuori ambito non importate: "
            + "; ".join(f"{k or '(vuota)'} {v}" for k, v in skipped.items()) + ".")
    return result


def gio_aliases(kind: str) -> tuple[str, ...]:
    """Normalised header names accepted for latitude (``"lat"``) or longitude (``"lon"``)."""
    from geo.data.schemas import LAT_ALIASES, LON_ALIASES

    return tuple(gio.normalise_header(a) for a in (LAT_ALIASES if kind == "lat" else LON_ALIASES))


def readable_comuni(actor: User | None) -> frozenset[str] | None:
    """Comuni whose report descriptions ``actor`` may read on the integrated map (None: all).
    Roles without ``view_reports`` see the reports' category, status and date, not their text."""
    if not allows(actor, "view_reports"):
        return frozenset()
    return None if scope(actor.role, "view_reports") == ALL else frozenset(normalise_comuni(actor.comuni))


# --------------------------------------------------------------------------------------------
# The map of the Segnalazioni page
# --------------------------------------------------------------------------------------------

#: Class of the marker of the selected report (a DOM element, unlike the canvas points).
SELECTED_CLASS = "lanterna-segnalazione"


def reports_map(
    points: pd.DataFrame,
    comuni: pd.DataFrame,
    *,
    tiles: str = "osm",
    assets_url: str | None = None,
    draw: bool = False,
):
    """The map where an officer places a report: the comuni boundaries (``comuni`` from
    :meth:`geo.data.storage.Store.comuni_geometries`, the officer's own), the open reports of
    ``points`` (escaped popups, see :func:`geo.maps.layers.point_features`) and, with ``draw``, the
    Leaflet.draw toolbar for polygons and rectangles (served from the local copy beside
    ``assets_url``, :func:`geo.maps.layers.use_draw_assets`, so drawing works offline too).

    The draft point or area and the selected report are added by the page with
    :func:`draft_layer` (``st_folium(feature_group_to_add=...)``), so that the map itself does
    not change, and is not reloaded, at every click.
    """
    import folium
    import folium.plugins

    from geo.maps import layers as maps
    m = maps.base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)
    bounds = None
    if len(comuni):
        x0, y0, x1, y1 = shapely.total_bounds(maps.comuni_shapes(comuni))
        bounds = [[y0, x0], [y1, x1]]
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 2, "opacity": 0.9}, bounds=bounds).add_to(m)
    data = maps.point_features("reports", points, role=None)
    maps.PointsLayer(data, name=f"Segnalazioni aperte ({len(data['features'])})", labels=maps.POPUP_LABELS["reports"],
                     color=maps.POINT_LAYERS["reports"].color, show=True, bounds=None).add_to(m)
    if draw:
        draw_plugin = folium.plugins.Draw(
            export=False, position="topleft",
            draw_options={"polyline": False, "circle": False, "circlemarker": False, "marker": False,
                          "polygon": {"allowIntersection": False, "showArea": True}, "rectangle": True},
            edit_options={"edit": False, "remove": False},
        )
        maps.use_draw_assets(draw_plugin, assets_url).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
        m.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    return m


def draft_layer(*, lat: float | None = None, lon: float | None = None, area: object = None,
                selected: Mapping[str, object] | None = None):
    """A feature group with the point or area being placed and the selected report (a labelled
    DOM marker whose ``title`` is the report's code)."""
    import folium

    group = folium.FeatureGroup(name="Selezione", control=False)
    if area is not None:
        try:
            polygon = parse_area(area)
        except ReportError:
            polygon = None
        if polygon is not None:
            folium.Polygon([(y, x) for x, y in polygon.exterior.coords], color="#0066CC", weight=3, fill=True,
                           fill_opacity=0.15).add_to(group)
    if lat is not None and lon is not None:
        folium.CircleMarker((lat, lon), radius=9, color="#0066CC", weight=3, fill=True, fill_color="#ffffff",
                            fill_opacity=0.7, tooltip="Punto della nuova segnalazione").add_to(group)
    if selected is not None:
        code = html.escape(str(selected.get("report_id")), quote=True)
        icon = folium.DivIcon(
            html=(f"<div class='{SELECTED_CLASS}' title='{code}' style='width:18px;height:18px;border-radius:50%;"
                  "background:#D55E00;border:3px solid #ffffff;box-shadow:0 0 0 2px #1a1a1a'></div>"),
            icon_size=(18, 18), icon_anchor=(9, 9))
        # No folium tooltip: folium writes it into a JavaScript template literal, where an
        # imported code could inject `${...}`; the title of the DivIcon is JSON-escaped.
        folium.Marker((float(selected["lat"]), float(selected["lon"])), icon=icon).add_to(group)
    return group
