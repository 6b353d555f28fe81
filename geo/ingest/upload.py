"""An uploaded file imported from memory (the *Dati e fonti* page; no Streamlit).

:func:`run_import` writes the bytes to a temporary file with the original name and extension (the
importer recognises the format from it), imports them all-or-nothing
(:func:`geo.ingest.importers.import_file`) and deletes the file; the outcome is a plain dict.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from geo.access.audit import csv_bytes
from geo.access.permissions import PermissionDenied, User
from geo.data.io import ImportFailed
from geo.data.schemas import LAYERS
from geo.data.storage import Store
from geo.data.territory import Territory
from geo.ingest import importers

#: File types the upload accepts.
UPLOAD_TYPES = ["csv", "geojson", "json", "gpkg", "zip", "parquet"]


def report_csv(report: pd.DataFrame) -> bytes:
    """A report as CSV for spreadsheets set to Italian (semicolon, UTF-8 with BOM); values from the
    user's file that a spreadsheet would run as formulas are neutralised."""
    return csv_bytes(report)


def safe_file_name(name: str) -> str:
    """The uploaded file's own name without any folder part or unusual characters, extension kept."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w.\- ]+", "_", stem).strip(" .") or "file"
    return f"{stem[:100]}{suffix}"


def run_import(
    store: Store,
    territory: Territory,
    layer_key: str,
    file_name: str,
    data: bytes,
    *,
    crs: int | None,
    swap_xy: bool,
    partial: bool,
    user: str,
    progress: Callable[[float, str], None],
    actor: User | None = None,
) -> dict:
    """Import uploaded bytes: write them to a temporary file with the original name and
    extension (the importer recognises the format from it), import, and delete the file.

    Returns a plain dict (kept in ``st.session_state`` to show the outcome after reruns).
    """
    table = LAYERS[layer_key].table
    shown_name = Path(file_name.replace("\\", "/")).name
    before = store.count(table)
    with tempfile.TemporaryDirectory(prefix="lanterna-upload-") as tmp:
        path = Path(tmp) / safe_file_name(file_name)
        path.write_bytes(data)
        rejects = Path(tmp) / f"{path.stem}_righe_scartate.csv"
        try:
            result = importers.import_file(
                store, territory, layer_key, path, crs=crs, swap_xy=swap_xy, partial=partial,
                rejects_path=rejects if partial else None, user=user, progress=progress, file_name=shown_name,
                actor=actor,
            )
        except PermissionDenied as exc:
            return {"ok": False, "file_name": shown_name, "layer": layer_key, "messages": [str(exc)],
                    "report": None, "unchanged": True, "rows_before": before, "rows_after": store.count(table)}
        except ImportFailed as exc:
            after = store.count(table)
            return {"ok": False, "file_name": shown_name, "layer": layer_key, "messages": list(exc.messages),
                    "report": exc.report, "unchanged": after == before, "rows_before": before, "rows_after": after}
        rejected_file = result.rejects_path.read_bytes() if result.rejects_path is not None else None
    return {
        "ok": True, "file_name": shown_name, "layer": layer_key, "rows_read": result.rows_read,
        "rows_written": result.rows_written, "rows_rejected": result.rows_rejected,
        "already_imported": bool(result.already_imported), "messages": list(result.messages),
        "report": result.report, "rejected_file": rejected_file, "import_id": result.import_id,
        "rows_before": before, "rows_after": store.count(table),
    }
