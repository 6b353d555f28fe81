"""Browser tests: a real ``streamlit run`` of the dashboard, driven by Playwright in Debian's
Chromium (``/usr/bin/chromium``; Playwright's own browser download is not used).

Fixtures
--------
app_url
    Base URL of a dashboard started once per session on a free loopback port, on a demo
    database built in a temporary folder (``LANTERNA_DB``).
page
    A fresh Playwright page (1400x900) on that browser.
shot
    ``shot(page, name)`` saves a PNG under ``test-artifacts/e2e/`` (kept as CI artifacts).

Every test fails on a browser ``pageerror`` or console error, on a Streamlit exception box
(``[data-testid='stException']``) or on the text "Traceback" in the page (:func:`_no_errors`,
autouse; a test that expects a console error can add a pattern to ``page.allowed_console_errors``).

Helpers: ``wait_app_idle``, ``login(page, app_url, username)`` (the demo accounts, see the
README) and ``go_to(page, title, url_path)`` (sidebar navigation, which keeps the session).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("LANTERNA_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _server_log() -> Path:
    """The dashboard's log for this test process (one per pytest-xdist worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return ARTIFACTS.parent / f"streamlit-e2e{'-' + worker if worker else ''}.log"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_app_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished running the script (Streamlit's own e2e idiom)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


#: Password of the demo accounts (``geo.access.auth.DEMO_PASSWORD``; documented in the README).
DEMO_PASSWORD = "lanterna-demo"


def login(page, app_url: str, username: str = "osservatore", password: str = DEMO_PASSWORD) -> None:
    """Open the dashboard and log in through the login form; the map is then on screen.

    A reload starts a new Streamlit session (logged out): after this, move with the sidebar.
    """
    page.goto(app_url)
    wait_app_idle(page, timeout=90_000)
    page.get_by_label("Nome utente").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Accedi").click()
    page.get_by_text("Utente:").first.wait_for(timeout=90_000)
    wait_app_idle(page, timeout=90_000)


def download(page, button, *, timeout: float = 45_000):
    """Click a download ``button`` once the app is idle and return Playwright's ``Download``.

    Streamlit builds a deferred download (``data`` given as a function) on the server when the
    button is clicked. A failure there shows nothing in the page, so on a timeout the test fails
    with the server log's tail, where Streamlit writes the callable's error.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    button.scroll_into_view_if_needed()
    wait_app_idle(page, timeout=90_000)
    expect(button).to_be_enabled(timeout=30_000)
    try:
        with page.expect_download(timeout=timeout) as info:
            button.click()
    except PlaywrightError as exc:
        log = _server_log()
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else "(no server log)"
        pytest.fail(f"no download within {timeout / 1000:.0f} s ({exc}); server log tail:\n{tail}")
    return info.value


def go_to(page, title: str, url_path: str) -> None:
    """Follow a sidebar link (no reload: the login session stays)."""
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).click()
    page.wait_for_url(f"**/{url_path}")
    wait_app_idle(page, timeout=90_000)


@pytest.fixture(scope="session")
def demo_db(demo_db_file: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("e2e-db") / "lanterna_e2e.duckdb"
    shutil.copyfile(demo_db_file, path)  # the session's demo (tests/conftest.py), written by the app
    return path


@pytest.fixture(scope="session")
def app_url(demo_db: Path):
    port = _free_port()
    env = {**os.environ, "LANTERNA_DB": str(demo_db), "PYTHONUNBUFFERED": "1"}
    ARTIFACTS.parent.mkdir(parents=True, exist_ok=True)
    log = open(_server_log(), "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail(f"streamlit did not become healthy within 60 s (see {_server_log()})")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the README test command installs Debian's 'chromium'.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


#: Console errors that are not errors of the app (regular expressions): resources the browser
#: cannot reach (map tiles of OpenStreetMap on an offline CI machine), and Streamlit's probe of a
#: deep link's path as a base path (``/registro/_stcore/health`` answers 404, the client then uses
#: the root). A server error (HTTP 500) or any other 404 still counts.
EXPECTED_CONSOLE_ERRORS = (
    r"Failed to load resource: net::ERR_(NAME_NOT_RESOLVED|INTERNET_DISCONNECTED|ADDRESS_UNREACHABLE)",
    r"status of 404 \(Not Found\) \(https?://[^/]+/[\w-]+/_stcore/(health|host-config)\)",
)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="it-IT")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.js_errors = []  # filled by the listeners below, checked by _no_errors
    pg.allowed_console_errors = list(EXPECTED_CONSOLE_ERRORS)  # patterns of console errors to ignore
    pg.on("pageerror", lambda exc: pg.js_errors.append(f"pageerror: {exc}"))
    pg.on("console", lambda msg: pg.js_errors.append(f"console.{msg.type}: {msg.text} ({msg.location.get('url')})")
          if msg.type == "error" else None)
    yield pg
    context.close()


def page_errors(page) -> list[str]:
    """JavaScript errors, Streamlit exception boxes and tracebacks on ``page`` so far."""
    found = [e for e in page.js_errors if not any(re.search(a, e) for a in page.allowed_console_errors)]
    if page.is_closed():
        return found
    boxes = page.locator("[data-testid='stException']")
    found += [f"stException: {boxes.nth(i).inner_text()[:500]}" for i in range(boxes.count())]
    if page.get_by_text("Traceback").count():
        found.append("Traceback in the page")
    return found


@pytest.fixture(autouse=True)
def _no_errors(request):
    """Fail any browser test on a JavaScript error, a Streamlit exception or a traceback."""
    if "page" not in request.fixturenames:
        yield
        return
    pg = request.getfixturevalue("page")  # set up first, so that it is torn down after this check
    yield
    errors = page_errors(pg)
    if errors:
        pytest.fail("errors in the browser:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return _shot


def snapshot_store(db: Path, workdir: Path):
    """A read-only Store on a copy of the live database (the running server holds the file's lock);
    the caller closes it."""
    from geo.data.storage import Store

    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / db.name
    shutil.copyfile(db, copy)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    return Store(copy, read_only=True)
