import json
import re

import pytest

from geo.data.territory import TerritoryError, available_territories, load_territory


def test_default_territory_is_massa_carrara():
    t = load_territory()
    assert t.code == "045"
    assert t.nuts3 == "ITE11"
    assert len(t.comuni) == 17
    assert t.comuni["pro_com_t"].str.fullmatch(r"\d{6}").all()
    assert int(t.population["residenti"].sum()) == 187_274
    assert t.comuni["area_km2"].sum() == pytest.approx(1154.3, rel=0.002)
    assert "massa-carrara" in available_territories()


def test_real_layers_inside_comuni():
    t = load_territory()
    assert len(t.schools) == 76
    assert len(t.confiscated) == 21
    assert t.localities["pro_com_t"].notna().all()


def test_new_territory_from_files_alone(tiny_territory_dir):
    t = load_territory(tiny_territory_dir)
    assert t.name == "Provincia di Prova"
    assert t.metric_crs == "EPSG:32632"  # UTM zone derived from the centroid
    assert list(t.population["nome"]) == ["Alfa", "Beta"]
    assert t.official_crime.empty
    assert t.schools is None


def test_missing_folder_message_lists_available(tmp_path):
    with pytest.raises(TerritoryError, match=r"non trovato.*massa-carrara"):
        load_territory(tmp_path / "nothing")


def test_missing_required_file(tiny_territory_dir):
    (tiny_territory_dir / "popolazione.csv").unlink()
    with pytest.raises(TerritoryError, match=re.escape("manca il file obbligatorio 'popolazione.csv'")):
        _ = load_territory(tiny_territory_dir).population


def test_population_not_matching_comuni(tiny_territory_dir):
    (tiny_territory_dir / "popolazione.csv").write_text("pro_com_t,residenti\n098001,10\n098009,5\n")
    with pytest.raises(TerritoryError, match="non corrispondono"):
        _ = load_territory(tiny_territory_dir).population


def test_bad_istat_code(tiny_territory_dir):
    path = tiny_territory_dir / "comuni.geojson"
    data = json.loads(path.read_text())
    data["features"][0]["properties"]["pro_com_t"] = "98A01"
    path.write_text(json.dumps(data))
    with pytest.raises(TerritoryError, match="codice ISTAT non valido"):
        _ = load_territory(tiny_territory_dir).comuni


def test_invalid_manifest_json(tiny_territory_dir):
    (tiny_territory_dir / "territory.json").write_text("{not json")
    with pytest.raises(TerritoryError, match="JSON non valido"):
        load_territory(tiny_territory_dir)
