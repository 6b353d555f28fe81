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

Helpers
-------
login_as
    ``login_as(at, role, comuni=None)`` logs an :class:`AppTest` in before its first run, as
    the demo account of ``role`` (the demo database has one per role) or, with ``comuni``, as a
    test Comune account bound to those ISTAT codes (created on first use). Without it the
    dashboard shows only the login page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "dashboard.py")
#: Demo account of each role (``geo.access.auth.demo_accounts``; all with the demo password).
DEMO_USERS = {"prefettura": "prefettura", "forze_polizia": "polizia", "regione": "regione",
              "osservatore": "osservatore", "comune": "comune-massa"}


def login_as(at: AppTest, role: str | None, *, comuni: Sequence[str] | None = None,
             username: str | None = None) -> str | None:
    """Put a logged-in session for ``role`` (or for the account ``username``) into ``at``.

    The session is the one ``pages/login.py`` creates after a successful login
    (:func:`pages.common.start_session`); the dashboard reloads the account from the database
    (``LANTERNA_DB``) on every run, so the account must exist: demo accounts do, test Comune
    accounts for ``comuni`` are created here. ``role=None`` leaves ``at`` logged out.
    """
    from geo.access import auth
    from geo.access.audit import utcnow
    from geo.access.permissions import SYSTEM, normalise_comuni
    from geo.data.storage import open_store
    from pages.common import SESSION_KEY

    if role is None and username is None:
        return None
    if username is None:
        if comuni:
            codes = normalise_comuni(comuni)
            username = f"test-{role}-{'-'.join(codes)}"[:40]
            store = open_store(os.environ["LANTERNA_DB"])
            if auth.get_user(store, username) is None:
                auth.add_user(store, SYSTEM, username=username, password=None, role=role, comuni=codes,
                              display_name=f"Test {role} {', '.join(codes)}")
        else:
            username = DEMO_USERS[role]
    now = utcnow()
    at.session_state[SESSION_KEY] = {"username": username, "method": "test", "provider": None, "login_at": now,
                                     "seen_at": now}
    return username


def open_page(page: str, role: str | None, *, timeout: float = 120) -> AppTest:
    """The dashboard logged in as ``role``, switched to ``page`` (``pages/x.py``), without exceptions."""
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    login_as(at, role)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="session")
def demo_template(demo_db_file: Path) -> Path:
    """The session's demo database (``tests/conftest.py``), only ever copied."""
    return demo_db_file


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
