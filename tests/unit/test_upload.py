"""An uploaded file imported from memory (geo.ingest.upload) and the tables of the Dati page
(geo.ingest.data_views)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from geo.access.permissions import SYSTEM
from geo.data.schemas import LAYERS
from geo.ingest import data_views, upload


def test_safe_file_name_drops_folders_and_odd_characters():
    assert upload.safe_file_name("../../cartella/punti luce;2024.GeoJSON") == "punti luce_2024.geojson"
    assert upload.safe_file_name("C:\\Users\\x\\dati.csv") == "dati.csv"
    assert upload.safe_file_name("....csv") == "file.csv"
    assert len(upload.safe_file_name("a" * 300 + ".csv")) == 104


def test_report_csv_is_for_italian_spreadsheets_and_neutralises_formulas():
    data = upload.report_csv(pd.DataFrame({"riga": [2], "valore": ['=HYPERLINK("x")']}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert b";" in data
    cell = data.decode("utf-8-sig").splitlines()[1].split(";", 1)[1].strip('"')
    assert cell.startswith("'=")  # a spreadsheet shows it as text instead of running it


def _ignore(*_args) -> None:
    pass


def _schools(rows: list[str]) -> bytes:
    return ("codice;nome;grado;lat;lon\n" + "\n".join(rows) + "\n").encode()


def test_run_import_writes_and_reports(mc_store, mc_territory):
    steps: list[float] = []
    data = _schools(["T1;Scuola uno;primaria;44.0357;10.1402", "T2;Scuola due;primaria;44.0790;10.0977"])
    out = upload.run_import(mc_store, mc_territory, "schools", "../x/scuole.csv", data, crs=None, swap_xy=False,
                            partial=False, user="test", progress=lambda f, _t=None: steps.append(f), actor=SYSTEM)
    assert out["ok"]
    assert out["rows_written"] == 2
    assert out["file_name"] == "scuole.csv"
    assert out["rows_after"] == out["rows_before"] + 2
    assert steps


def test_run_import_failure_changes_nothing(mc_store, mc_territory):
    data = _schools(["T1;Scuola uno;università;44.0357;10.1402"])
    out = upload.run_import(mc_store, mc_territory, "schools", "scuole.csv", data, crs=None, swap_xy=False,
                            partial=False, user="test", progress=_ignore, actor=SYSTEM)
    assert not out["ok"]
    assert out["unchanged"]
    assert out["messages"]
    assert out["rows_after"] == out["rows_before"]


def test_run_import_partial_keeps_the_rejected_rows(mc_store, mc_territory):
    data = _schools(["T1;Scuola uno;università;44.0357;10.1402", "T2;Scuola due;primaria;44.0790;10.0977"])
    out = upload.run_import(mc_store, mc_territory, "schools", "scuole.csv", data, crs=None, swap_xy=False,
                            partial=True, user="test", progress=_ignore, actor=SYSTEM)
    assert out["ok"]
    assert out["rows_written"] == 1
    assert out["rows_rejected"] == 1
    assert b"T1" in out["rejected_file"]


def test_catalogue_view_and_history():
    catalogue = pd.DataFrame({"livello": ["Delitti", "Scuole"], "righe": [10, 3], "eventi": [1234.0, None],
                              "dal": [date(2023, 1, 1), None], "al": [date(2024, 12, 1), None],
                              "generati_pct": [100.0, 0.0], "importati": [0, 3], "fonte": ["x", "y"],
                              "licenza": ["a", "b"], "anno": [2024, 2024]})
    view = data_views.catalogue_view(catalogue)
    assert list(view["Eventi"]) == ["1.234", ""]
    assert list(view["Periodo"]) == ["gen 2023 – dic 2024", "–"]
    imports = pd.DataFrame({"import_id": [1, 2], "imported_at": ["t1", "t2"], "layer": ["schools", "nuovo"],
                            "file_name": ["a.csv", "b.csv"], "rows_written": [3, 0], "rows_rejected": [0, 1],
                            "mode": ["tutto", "parziale"], "user_name": ["u", "v"]})
    history = data_views.imports_history(imports)
    assert list(history["N."]) == [2, 1]
    assert list(history["Livello"]) == ["nuovo", LAYERS["schools"].label]
    fields = data_views.fields_table(LAYERS["schools"])
    assert "sì" in set(fields["Obbligatorio"])
    assert len(fields) == len(LAYERS["schools"].fields)
