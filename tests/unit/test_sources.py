"""geo.data.sources: the layer catalogue, the file list and the required credits."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from geo import config
from geo.data import sources
from geo.data.loader import load_territory_into_store
from geo.data.storage import Store
from geo.data.territory import load_territory


@pytest.fixture
def territory():
    return load_territory("massa-carrara")


@pytest.fixture
def store(tmp_path, territory):
    s = Store(tmp_path / "sources.duckdb")
    load_territory_into_store(s, territory)
    cells = s.query("SELECT cell FROM cells ORDER BY cell LIMIT 3")["cell"].tolist()
    incidents = pd.DataFrame({
        "cell": cells, "month": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)],
        "category": "rapine", "time_band": "giorno", "outdoor": True, "count": [5, 3, 2],
        "synthetic": [True, True, False], "source": ["Generato (demo)", "Generato (demo)", "file.csv"],
        "import_id": [None, None, 1],
    })
    lights = pd.DataFrame({
        "pl_id": ["L1", "L2", "L3", "L4"], "lon": 10.1, "lat": 44.03, "cell": cells[0], "technology": "led",
        "status": "funzionante", "synthetic": [True, True, True, False], "import_id": [None, None, None, 1],
    })
    with s.transaction() as cur:
        Store.write_frame(cur, "incidents", incidents)
        Store.write_frame(cur, "lighting", lights)
        import_id = s.new_import(cur, layer="lighting", file_name="punti_luce.csv", sha256="x", mode="append",
                                 user="osservatore")
        Store.finish_import(cur, import_id, written=1, rejected=0)
    yield s
    s.close()


def test_catalogue_counts_and_generated_shares(store, territory):
    cat = sources.layer_catalogue(store, territory).set_index("tabella")
    assert list(cat.index) == list(sources.CATALOGUE_TABLES)
    inc = cat.loc["incidents"]
    assert (inc["righe"], inc["eventi"]) == (3, 10)
    assert inc["generati_pct"] == pytest.approx(80.0)  # 8 of 10 events are generated
    assert (inc["dal"], inc["al"]) == (date(2024, 1, 1), date(2024, 3, 1))
    assert inc["livello"] == "Delitti (aggregati)"
    lights = cat.loc["lighting"]
    assert lights["righe"] == 4
    assert lights["generati_pct"] == pytest.approx(75.0)
    assert lights["importati"] == 1
    assert "Importati dagli utenti (1 riga)" in lights["fonte"]
    assert lights["fonte"].endswith(sources.generated_description("lighting"))
    assert sources.GENERATED_LICENCE in lights["licenza"]


def test_catalogue_sources_of_real_layers(store, territory):
    cat = sources.layer_catalogue(store, territory).set_index("tabella")
    conf = cat.loc["confiscated"]
    assert conf["righe"] == 21
    assert conf["generati_pct"] == 0
    assert conf["fonte"].startswith("Regione Toscana / ANBSC")
    assert conf["licenza"] == "CC BY-SA 4.0"
    assert conf["anno"] == "2018"
    assert "OpenStreetMap" in cat.loc["localities", "fonte"]
    assert cat.loc["schools", "righe"] == 76
    assert "Ministero dell'Istruzione" in cat.loc["schools", "fonte"]
    empty = cat.loc["reports"]
    assert empty["righe"] == 0
    assert math.isnan(empty["generati_pct"])
    assert empty["fonte"] == "Nessun dato caricato"


def test_generated_description():
    assert sources.generated_description("reports").startswith("Generato (demo) – calibrato su ")
    assert "Alessandria" in sources.generated_description("reports")
    assert sources.generated_description("roads") == "Generato (demo)"


def test_territory_files_cover_the_folder_and_national_tables(territory):
    files = sources.territory_files(territory)
    local = files[files["ambito"] == "territorio"]
    assert set(local["file"]) == {"comuni.geojson", "popolazione.csv", "localita.geojson", "scuole.geojson",
                                  "beni_confiscati.geojson", "delitti_ufficiali.csv"}
    assert local.set_index("file").loc["comuni.geojson", "anno"] == "2023"
    assert local.set_index("file").loc["comuni.geojson", "livello"] == "Confini comunali"
    national = files[files["ambito"] == "nazionale"]
    on_disk = {p.name for p in config.NATIONAL_DIR.glob("*.csv")}
    assert set(national["file"]) == on_disk, "every national table needs an entry in NATIONAL_FILES"
    assert files["fonte"].str.len().gt(0).all()
    assert files["licenza"].str.len().gt(0).all()


def test_attributions_required_by_the_licences(territory):
    texts = [a.text for a in sources.attributions(territory)]
    for credit in ("© OpenStreetMap contributors", "Openpolis / ISTAT", "GeoNames.org", "Comune di Alessandria",
                   "Regione Toscana / ANBSC"):
        assert credit in texts
    licences = {a.text: a.licence for a in sources.attributions(territory)}
    assert licences["© OpenStreetMap contributors"] == "ODbL 1.0"
    assert licences["Regione Toscana / ANBSC"] == "CC BY-SA 4.0"
    md = sources.attributions_markdown(territory)
    assert "[© OpenStreetMap contributors](https://www.openstreetmap.org/copyright)" in md
    assert "[CC BY-SA 4.0](https://creativecommons.org/licenses/by-sa/4.0/deed.it)" in md
    assert md.count("\n- ") == len(texts) - 1


def test_attributions_follow_the_territory(tiny_territory_dir):
    """A territory without OSM, GeoNames or ANBSC files does not credit them."""
    texts = [a.text for a in sources.attributions(load_territory(tiny_territory_dir))]
    assert "© OpenStreetMap contributors" not in texts
    assert "Regione Toscana / ANBSC" not in texts
    assert "Comune di Alessandria" in texts  # national table, always bundled
