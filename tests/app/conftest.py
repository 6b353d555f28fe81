"""Fixtures for the AppTest page tests (``streamlit.testing.v1.AppTest``).

The demo database is built once per session in a temporary folder and ``LANTERNA_DB`` points
the dashboard at it (``geo.config.db_path`` reads the variable at every call). Tests that write
to the database (imports) get their own copy through :func:`writable_db`, so the figures the
other tests check never change under them.

Fixtures
--------
demo_template
    Path of the pristine demo database; never opened by a page.
demo_db
    Session copy used by the read-only page tests; ``LANTERNA_DB`` is set to it.
writable_db
    A fresh copy for one test, with ``LANTERNA_DB`` pointing at it for that test only.
app
    ``app()`` returns a new :class:`AppTest` of ``dashboard.py`` (60 s timeout).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    from geo.demo import build_demo
    from geo.storage import close_all

    path = tmp_path_factory.mktemp("app-db") / "template.duckdb"
    build_demo(path=path)
    close_all()  # the file must be complete on disk before it is copied
    return path


@pytest.fixture(scope="session")
def demo_db(demo_template: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("app-db-session") / "lanterna_app.duckdb"
    shutil.copyfile(demo_template, path)
    previous = os.environ.get("LANTERNA_DB")
    os.environ["LANTERNA_DB"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("LANTERNA_DB", None)
    else:
        os.environ["LANTERNA_DB"] = previous


@pytest.fixture
def writable_db(request, demo_template: Path, tmp_path, monkeypatch) -> Path:
    request.getfixturevalue("demo_db")  # the session variable first, so that ours wins
    path = tmp_path / "lanterna_write.duckdb"
    shutil.copyfile(demo_template, path)
    monkeypatch.setenv("LANTERNA_DB", str(path))
    return path


@pytest.fixture
def app(request) -> Callable[[], AppTest]:
    request.getfixturevalue("demo_db")

    def _make() -> AppTest:
        return AppTest.from_file(DASHBOARD, default_timeout=60)

    return _make
