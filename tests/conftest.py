"""Fixtures shared across test folders: the real Massa-Carrara territory and a database with its
cells, built once per session and copied for each test that writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geo.data.loader import load_territory_into_store
from geo.data.storage import Store
from geo.data.territory import Territory, load_territory

IMPORT_DATA = Path(__file__).parent / "data" / "import"


@pytest.fixture(scope="session")
def mc_territory() -> Territory:
    """The Provincia di Massa-Carrara (``data/territories/massa-carrara``)."""
    return load_territory("massa-carrara")


@pytest.fixture(scope="session")
def mc_db_file(tmp_path_factory, mc_territory) -> Path:
    """A database with the territory loaded (comuni, cells, real layers); do not write to it."""
    path = tmp_path_factory.mktemp("mc_db") / "massa-carrara.duckdb"
    with Store(path) as store:
        load_territory_into_store(store, mc_territory)
    return path


@pytest.fixture
def mc_store(mc_db_file, tmp_path) -> Store:
    """A private copy of the Massa-Carrara database, open read-write."""
    path = tmp_path / "massa-carrara.duckdb"
    shutil.copy(mc_db_file, path)
    store = Store(path)
    yield store
    store.close()


@pytest.fixture
def import_data() -> Path:
    """Folder of the small import fixture files (``tests/data/import``)."""
    return IMPORT_DATA


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory) -> Path:
    """The Massa-Carrara demo database, built once per test process; do not write to it
    (copy it for a test that writes)."""
    from geo.data.storage import close_all
    from geo.demo.build import build_demo

    path = tmp_path_factory.mktemp("demo_db") / "demo.duckdb"
    build_demo(path=path)
    close_all()
    return path
