"""Fixtures shared by the library's unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely


def make_territory(folder: Path, *, with_localities: bool = True) -> Path:
    """A small made-up province near Lodi: two rectangular comuni, population and localities.

    It shows that a territory needs only files: nothing of it is known to the code.
    """
    folder.mkdir(parents=True, exist_ok=True)
    comuni = gpd.GeoDataFrame(
        {"pro_com_t": ["098001", "098002"], "nome": ["Alfa", "Beta"]},
        geometry=[shapely.box(9.45, 45.28, 9.50, 45.32), shapely.box(9.50, 45.28, 9.55, 45.32)],
        crs=4326,
    )
    comuni.to_file(folder / "comuni.geojson", driver="GeoJSON")
    pd.DataFrame({"pro_com_t": ["098001", "098002"], "residenti": [12000, 3000], "anno": [2023, 2023]}).to_csv(
        folder / "popolazione.csv", index=False
    )
    if with_localities:
        gpd.GeoDataFrame(
            {"nome": ["Alfa", "Alfa Nord", "Beta", "Stazione di Alfa"],
             "tipo": ["citta", "frazione", "paese", "stazione"], "abitanti": [None, None, None, None]},
            geometry=[shapely.Point(9.475, 45.30), shapely.Point(9.47, 45.315), shapely.Point(9.525, 45.30),
                      shapely.Point(9.48, 45.295)],
            crs=4326,
        ).to_file(folder / "localita.geojson", driver="GeoJSON")
    (folder / "territory.json").write_text(
        json.dumps({"code": "098", "name": "Provincia di Prova", "nuts3": "ITC49", "capoluogo": "098001",
                    "files": {"comuni": {"path": "comuni.geojson", "source": "test", "licence": "CC0"}}}),
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def tiny_territory_dir(tmp_path) -> Path:
    return make_territory(tmp_path / "prova")


@pytest.fixture(scope="session")
def mc_places():
    """Massa-Carrara as the demo generators see it: territory, cells with dasymetric residents,
    localities, comuni populations and the shared place context (built once per session)."""
    from types import SimpleNamespace

    from geo.data import population
    from geo.data.loader import territory_cells
    from geo.data.territory import load_territory
    from geo.demo.synth._places import PlaceContext, localities_frame

    ter = load_territory("massa-carrara")
    cells = territory_cells(ter)
    cells["residents"] = population.dasymetric_population(
        cells, ter.population, ter.localities, metric_crs=ter.metric_crs)
    loc = localities_frame(ter.localities)
    comuni = ter.population[["pro_com_t", "nome", "residenti"]]
    places = PlaceContext.build(cells, loc, comuni, capoluogo=ter.capoluogo)
    return SimpleNamespace(ter=ter, cells=cells, loc=loc, comuni=comuni, places=places)


@pytest.fixture
def cheap_hasher(monkeypatch):
    """Fast password hashing for tests that create accounts (the real parameters are tested once)."""
    from geo.access import auth
    from tests.unit.auth_store import CHEAP

    monkeypatch.setattr(auth, "HASHER", CHEAP)


@pytest.fixture
def users_store(mc_store, cheap_hasher):
    """The Massa-Carrara store with the demo accounts of every role (cheap hashing)."""
    from tests.unit.auth_store import demo_users

    del cheap_hasher  # requested for its effect only

    demo_users(mc_store)
    return mc_store


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory) -> Path:
    """The demo database (``geo.demo.build``), built once per session: do not write to it (copy it)."""
    from geo.data.storage import close_all
    from geo.demo.build import build_demo

    path = tmp_path_factory.mktemp("demo-db") / "demo.duckdb"
    build_demo(path=path)
    close_all()  # complete on disk before it is read or copied
    return path
