"""The *Dati e fonti* page through Streamlit's AppTest: catalogue, credits and the file upload.

AppTest drives ``st.file_uploader`` (``FileUploader.set_value``), so the upload tests go through
the real widget, the page's handler and :func:`geo.ingest.importers.import_file`; the browser test
(``tests/e2e/test_dati_e2e.py``) repeats the failing upload in Chromium.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import geo.ingest.importers
from geo.data.sources import CATALOGUE_TABLES
from geo.data.storage import open_store
from tests.app.conftest import login_as

PAGE = "pages/dati.py"
#: Row 3 has no coordinates, row 4 an unknown category; rows 2 and 5 are valid.
BAD_CSV = (
    b"mese,categoria,fascia,lat,lon,numero\n"
    b"2024-03,furto in abitazione,notte,44.035,10.14,2\n"
    b"2024-03,rapina,giorno,,,1\n"
    b"2024-03,astronave,notte,44.036,10.141,1\n"
    b"2024-03,spaccio,notte,44.0352,10.1405,4\n"
)
LIGHTS_GEOJSON = json.dumps({
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.1405, 44.0352]},
         "properties": {"codice": "MS-T-001", "tecnologia": "LED", "stato": "funzionante", "potenza": 36}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [10.1412, 44.0361]},
         "properties": {"codice": "MS-T-002", "tecnologia": "sodio alta pressione", "stato": "guasto",
                        "potenza": 150}},
    ],
}).encode()


def _open(app, role: str = "prefettura"):
    at = app()
    login_as(at, role)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at, first_column: str):
    return next(d.value for d in at.dataframe if d.value.columns[0] == first_column)


def _upload(at, name: str, data: bytes, *, layer: str = "incidents", partial: bool = False):
    at.selectbox(key="imp_layer").set_value(layer)
    at.checkbox(key="imp_partial").set_value(partial)
    at.file_uploader(key="imp_file").set_value((name, data, "application/octet-stream"))
    at.run()
    at.button(key="imp_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _state(path: Path) -> dict:
    store = open_store(path)
    return {"incidents": store.count("incidents"), "events": int(store.layer_summary().iloc[0]["events"]),
            "lighting": store.count("lighting"), "imports": len(store.table("imports"))}


def test_layer_table(app, demo_db):
    at = _open(app)
    table = _table(at, "Livello")
    assert list(table["Livello"]) == [label for label, _ in CATALOGUE_TABLES.values()]
    rows = table.set_index("Livello")
    store = open_store(demo_db)
    assert rows.loc["Delitti (aggregati)", "Righe"] == store.count("incidents")
    events = int(store.layer_summary().iloc[0]["events"])
    assert rows.loc["Delitti (aggregati)", "Eventi"] == f"{events:,}".replace(",", ".")
    assert rows.loc["Scuole", "Eventi"] == ""  # events only make sense for aggregates
    assert rows.loc["Delitti (aggregati)", "Generati"] == 100
    assert rows.loc["Delitti (aggregati)", "Periodo"] == "gen 2019 – dic 2024"
    assert rows.loc["Delitti (aggregati)", "Fonte"].startswith("Generato (demo) – calibrato su")
    assert rows.loc["Beni confiscati", "Generati"] == 0
    assert rows.loc["Beni confiscati", "Licenza"] == "CC BY-SA 4.0"
    assert 0 < rows.loc["Scuole", "Generati"] < 100  # real kindergartens, generated other schools
    files = _table(at, "File")
    assert {"comuni.geojson", "istat_delitti_province_2014_2024.csv"} <= set(files["File"])


def test_attributions_visible(app):
    at = _open(app)
    text = "\n".join(m.value for m in at.markdown)
    for credit in ("© OpenStreetMap contributors", "Openpolis / ISTAT", "GeoNames.org", "Comune di Alessandria",
                   "Regione Toscana / ANBSC", "ODbL 1.0", "CC BY-SA 4.0"):
        assert credit in text


def test_upload_section_and_role_note(app):
    at = _open(app)
    assert at.button(key="imp_go").disabled  # nothing uploaded yet
    assert at.file_uploader(key="imp_file").allowed_type == [".csv", ".geojson", ".json", ".gpkg", ".zip",
                                                             ".parquet"]
    assert any("Profilo: **Prefettura**" in i.value and "Ogni importazione è registrata" in i.value for i in at.info)
    crs = at.selectbox(key="imp_crs")
    assert None in crs.options or "Automatico" in crs.options[0]
    assert any("EPSG:3003" in str(o) for o in crs.options)
    at.selectbox(key="imp_layer").set_value("lighting").run()
    assert "pl_id" in set(_table(at, "Campo")["Campo"])


def test_rejected_file_changes_nothing(app, writable_db):
    at = _open(app)
    before = _state(writable_db)
    _upload(at, "delitti_errati.csv", BAD_CSV)
    assert _state(writable_db) == before
    errors = " ".join(e.value for e in at.error)
    assert "Importazione non riuscita: delitti_errati.csv" in errors
    assert "2 righe su 4 hanno errori" in errors
    assert any("Nessun dato è stato modificato." in i.value for i in at.info)
    report = _table(at, "riga")
    assert list(report.columns) == ["riga", "campo", "valore", "motivo"]
    assert report["riga"].tolist() == [3, 4]
    assert "coordinate mancanti" in report["motivo"].iloc[0]
    assert report["valore"].iloc[1] == "astronave"
    assert "Scarica il rapporto degli errori (CSV)" in [b.label for b in at.get("download_button")]
    at.file_uploader(key="imp_file").set_value(None).run()  # removing the file clears the outcome
    assert not at.error
    assert at.button(key="imp_go").disabled


def test_partial_import_keeps_valid_rows_and_offers_the_rejected_ones(app, writable_db):
    at = _open(app)
    before = _state(writable_db)
    _upload(at, "delitti_errati.csv", BAD_CSV, partial=True)
    after = _state(writable_db)
    assert after["incidents"] == before["incidents"] + 2
    assert after["events"] == before["events"] + 6  # 2 + 4 events in the two valid rows
    assert after["imports"] == before["imports"] + 1
    assert any("importato nel livello *Delitti (aggregati)*" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Righe lette"], metrics["Righe scritte"], metrics["Righe scartate"]) == ("4", "2", "2")
    labels = [b.label for b in at.get("download_button")]
    assert "Scarica le righe scartate (CSV)" in labels
    rejected = at.session_state["import_outcome"]["rejected_file"].decode("utf-8-sig")
    assert "astronave" in rejected
    assert "rapina" in rejected
    assert "spaccio" not in rejected
    # The page reads the store again: the catalogue and the history show the import.
    assert _table(at, "Livello").set_index("Livello").loc["Delitti (aggregati)", "Importati"] == 2
    history = _table(at, "N.")
    assert history.iloc[0]["File"] == "delitti_errati.csv"
    assert history.iloc[0]["Utente"] == "prefettura"


def test_same_file_twice_is_not_imported_again(app, writable_db):
    at = _open(app)
    _upload(at, "luci.geojson", LIGHTS_GEOJSON, layer="lighting")
    once = _state(writable_db)
    _upload(at, "luci.geojson", LIGHTS_GEOJSON, layer="lighting")
    assert _state(writable_db) == once
    assert any("era già stato importato" in i.value for i in at.info)


def test_upload_goes_through_a_temporary_file_with_the_original_extension(app, writable_db, tmp_path, monkeypatch):
    seen: list[tuple[Path, bool, str | None]] = []
    original = geo.ingest.importers.import_file

    def spy(store, territory, layer_key, path, **kwargs):
        seen.append((Path(path), Path(path).exists(), kwargs.get("file_name")))
        return original(store, territory, layer_key, path, **kwargs)

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setattr(geo.ingest.importers, "import_file", spy)
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))
    before = _state(writable_db)
    at = _open(app)
    _upload(at, "../../cartella/punti luce;2024.geojson", LIGHTS_GEOJSON, layer="lighting")
    assert len(seen) == 1
    path, existed, shown_name = seen[0]
    assert existed
    assert path.suffix == ".geojson"
    assert path.name == "punti luce_2024.geojson"
    assert path.parent.parent == uploads
    assert shown_name == "punti luce;2024.geojson"  # the name recorded and shown, without folders
    assert not path.exists()
    assert list(uploads.iterdir()) == []
    assert _state(writable_db)["lighting"] == before["lighting"] + 2
