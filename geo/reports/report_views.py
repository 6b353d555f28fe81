"""The pieces of the *Segnalazioni* page that are not widgets (no Streamlit): what a map event
selects, the facts table of one report, the duplicates table, the labels of the report list and
the import of an uploaded Municipium CSV."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from geo.access.permissions import User
from geo.data.schemas import REPORT_CATEGORIES, REPORT_SEVERITY, REPORT_STATUS
from geo.data.storage import Store
from geo.data.territory import Territory
from geo.ingest.importers import ImportResult
from geo.reports import workflow


def map_selection(value: dict | None, current_area: dict | None) -> dict | None:
    """The form values a map event sets (``st_folium``'s ``last_active_drawing`` and
    ``last_clicked``): a new drawn polygon sets the area and a point inside it, a click sets the
    point and clears the area; None when the event changes nothing (or the polygon is invalid).

    Returns a dict with ``seg_area``, and ``seg_lat``/``seg_lon`` rounded to 6 decimals.
    """
    value = value or {}
    drawing = value.get("last_active_drawing")
    geometry = (drawing or {}).get("geometry") if isinstance(drawing, dict) else None
    if geometry and geometry.get("type") == "Polygon" and geometry != current_area:
        try:
            inside = workflow.parse_area(geometry).representative_point()
        except workflow.ReportError:
            return {"seg_area": geometry}
        return {"seg_area": geometry, "seg_lat": round(inside.y, 6), "seg_lon": round(inside.x, 6)}
    clicked = value.get("last_clicked")
    if clicked and clicked.get("lat") is not None:
        return {"seg_lat": round(float(clicked["lat"]), 6), "seg_lon": round(float(clicked["lng"]), 6),
                "seg_area": None}
    return None


def facts_table(row: dict, names: dict[str, str]) -> pd.DataFrame:
    """One report's data as two columns, *Voce* and *Valore* (text)."""
    return pd.DataFrame({
        "Voce": ["Codice", "Comune", "Categoria", "Gravità", "Stato", "Aperta il", "Chiusa il", "Posizione",
                 "Fonte"],
        "Valore": [row["report_id"], names.get(row["pro_com_t"], row["pro_com_t"]),
                   REPORT_CATEGORIES.get(row["category"], row["category"]),
                   REPORT_SEVERITY.get(row["severity"], "") if row["severity"] else "",
                   REPORT_STATUS.get(row["status"], row["status"]), str(row["opened"] or ""),
                   str(row["closed"] or ""), f"{row['lat']:.5f}, {row['lon']:.5f}"
                   + (" (area)" if row["area_wkt"] else ""), str(row["source"] or "")],
    })


def duplicates_table(duplicates: pd.DataFrame) -> pd.DataFrame:
    """The likely duplicates of a new report (:func:`geo.reports.workflow.likely_duplicates`)."""
    return pd.DataFrame({
        "Codice": duplicates["report_id"],
        "Distanza": duplicates["distance_m"].round().astype(int).astype(str) + " m",
        "Stato": duplicates["status"].map(REPORT_STATUS),
        "Aperta il": duplicates["opened"],
        "Descrizione": duplicates["description"],
    })


def report_labels(frame: pd.DataFrame) -> dict[str, str]:
    """``report_id`` → ``"code · comune · category · status"`` for the report chooser."""
    return dict(zip(frame["report_id"], frame["report_id"] + " · " + frame["comune"].fillna("") + " · "
                    + frame["category"].map(REPORT_CATEGORIES).fillna("") + " · "
                    + frame["status"].map(REPORT_STATUS).fillna(""), strict=True))


def import_municipium_upload(store: Store, territory: Territory, actor: User | None, data: bytes, *,
                             pro_com_t: str, partial: bool, file_name: str) -> ImportResult:
    """:func:`geo.reports.workflow.import_municipium` of uploaded bytes, through a temporary file
    deleted afterwards; ``file_name`` (folders dropped) is the name recorded."""
    with tempfile.TemporaryDirectory(prefix="lanterna-upload-") as tmp:
        path = Path(tmp) / "segnalazioni.csv"
        path.write_bytes(data)
        return workflow.import_municipium(store, territory, actor, path, pro_com_t=pro_com_t, partial=partial,
                                          file_name=Path(file_name.replace("\\", "/")).name)


#: Form values after a report is sent (set, not deleted: the browser keeps a widget's value
#: unless the server sends a new one).
RESET_FORM = {"seg_lat": None, "seg_lon": None, "seg_desc": "", "seg_cat": None, "seg_dup_ok": False,
              "seg_area": None}
PHOTOS_LABEL = (f"Foto (JPEG o PNG, al massimo {workflow.MAX_PHOTOS} da {workflow.MAX_PHOTO_BYTES // 1_048_576} "
                "MB; la posizione GPS e gli altri metadati vengono rimossi)")


def location_check(store: Store, actor: User | None, lat: float | None, lon: float | None,
                   names: dict[str, str]) -> tuple[tuple[int, str] | None, str | None, str]:
    """Where a new report's point is: ``(located, kind, message)``. ``located`` is
    :func:`geo.reports.workflow.locate`'s (cell, PRO_COM_T) or None; ``kind`` is ``"warning"``
    (outside the territory), ``"success"`` (in a comune the actor may report in), ``"error"`` (in
    another comune) or None (no point yet)."""
    from geo.access.permissions import allows

    if lat is None or lon is None:
        return None, None, ""
    try:
        located = workflow.locate(store, lat, lon)
    except workflow.ReportError as exc:
        return None, "warning", str(exc)
    where = names.get(located[1], located[1])
    if allows(actor, "create_report", pro_com_t=located[1]):
        return located, "success", f"Posizione nel Comune di {where}."
    return located, "error", f"Il punto è nel Comune di {where}, fuori dal territorio del Suo profilo."


def with_wanted(store: Store, actor: User | None, frame: pd.DataFrame, wanted: str | None) -> tuple[pd.DataFrame, str]:
    """The report list with the report of a link (``?segnalazione=``) added when the actor may see
    it but the filters left it out; the Italian refusal (``""`` when none) when it may not."""
    from geo.access.permissions import PermissionDenied

    if not wanted or wanted in set(frame["report_id"]):
        return frame, ""
    try:
        row = workflow.get_report(store, actor, wanted)
    except (PermissionDenied, workflow.ReportError) as exc:
        return frame, str(exc)
    extra = workflow.visible_reports(store, actor, comuni=[row["pro_com_t"]])
    return pd.concat([frame, extra[extra["report_id"] == wanted]], ignore_index=True), ""


#: What the Municipium import expects (the caption of its form).
MUNICIPIUM_HELP = ("Colonne: Id;Stato;Anno;Creato;Chiusa;DescrizioneBreve;Categoria più le coordinate (lat e lon, "
                   "oppure latitudine e longitudine). Le categorie di manutenzione stradale (buche, tombini, "
                   "semafori…) non sono degrado e vengono saltate.")


def comune_options(actor: User | None, names: dict[str, str], action: str = "view_reports") -> list[str]:
    """The comuni the actor may pick for ``action`` (all of ``names`` when it is not bound to some)."""
    comuni = workflow.visible_comuni(actor, action)
    return list(comuni) if comuni is not None else list(names)


def new_report_map(store: Store, actor: User | None, own: tuple[str, ...] | None, comuni, *, tiles: str,
                   draw: bool, assets_url: str, selected_id: str | None, lat: float | None, lon: float | None,
                   area: dict | None):
    """The map of the new-report form (the open reports the actor sees in ``own`` comuni) and the
    layer of the draft point or area and of the selected report, as ``(map, draft_layer)``."""
    from geo.data.schemas import OPEN_REPORT_STATUS

    visible = workflow.visible_reports(store, actor, statuses=sorted(OPEN_REPORT_STATUS), comuni=own or None)
    m = workflow.reports_map(visible, comuni, tiles=tiles, assets_url=assets_url, draw=draw)
    selected = visible[visible["report_id"] == selected_id]
    draft = workflow.draft_layer(lat=lat, lon=lon, area=area,
                                 selected=selected.iloc[0].to_dict() if len(selected) else None)
    return m, draft


def selected_report(ids: list[str], wanted: str | None, current: str | None) -> str | None:
    """The report chosen in the list: the current choice while it is listed, else the report of a
    link (``wanted``) when listed and nothing was chosen, else none."""
    if wanted in ids and current is None:
        current = wanted
    return current if current in ids else None


def municipium_import(store: Store, actor: User | None, data: bytes, *, pro_com_t: str, partial: bool,
                      file_name: str) -> tuple[bool, str, pd.DataFrame | None, str]:
    """:func:`import_municipium_upload` into the store's territory, as ``(ok, text, report, icon)``:
    the importer's messages on success; otherwise the Italian refusal (icon ``lock``) or the import
    errors with their row-by-row report (icon ``error``). Nothing is written when it fails."""
    from geo.access.permissions import PermissionDenied
    from geo.data.io import ImportFailed
    from geo.data.territory import TerritoryError, territory_of_store

    try:
        result = import_municipium_upload(store, territory_of_store(store), actor, data, pro_com_t=pro_com_t,
                                          partial=partial, file_name=file_name)
    except (PermissionDenied, TerritoryError) as exc:
        return False, str(exc), None, ":material/lock:"
    except ImportFailed as exc:
        return False, "\n".join(exc.messages), exc.report, ":material/error:"
    return True, " ".join(result.messages), None, ""
