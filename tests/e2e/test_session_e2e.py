"""Sessions and deep links in Chromium (issue 15): a reload keeps a password session, logout ends
it (the old cookie is worthless afterwards), and a page's address works before and after the
login — an allowed page opens, a forbidden one answers in Italian."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import DEMO_PASSWORD, download, login, wait_app_idle

pytestmark = pytest.mark.e2e


def _fill_login(page, username: str) -> None:
    page.get_by_label("Nome utente").fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.get_by_text("Utente:").first.wait_for(timeout=90_000)
    wait_app_idle(page, timeout=90_000)


def _session_cookie(page):
    return next((c for c in page.context.cookies() if c["name"] == "lanterna_sessione"), None)


def test_reload_keeps_the_session_and_logout_ends_it(page, app_url, shot):
    login(page, app_url, "osservatore")
    page.wait_for_function("document.cookie.includes('lanterna_sessione=')", timeout=30_000)
    cookie = _session_cookie(page)
    assert cookie is not None
    assert cookie["sameSite"] == "Strict"
    assert cookie["value"].startswith("v1.")
    page.reload()
    wait_app_idle(page, timeout=90_000)
    page.get_by_text("Utente:").first.wait_for(timeout=60_000)
    assert page.get_by_label("Nome utente").count() == 0
    shot(page, "session_after_reload")

    page.get_by_role("button", name="Esci").click()
    page.get_by_label("Nome utente").wait_for(timeout=60_000)
    wait_app_idle(page, timeout=60_000)
    page.reload()
    wait_app_idle(page, timeout=90_000)
    page.get_by_label("Nome utente").wait_for(timeout=60_000)
    assert page.get_by_text("Utente:").count() == 0
    # the token revoked on the server: putting the old cookie back does not log in
    page.context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "sameSite")}])
    page.reload()
    wait_app_idle(page, timeout=90_000)
    page.get_by_label("Nome utente").wait_for(timeout=60_000)
    assert page.get_by_text("Utente:").count() == 0
    shot(page, "session_after_logout_reload")


def test_deep_link_to_an_allowed_page_survives_the_login(page, app_url, shot):
    page.goto(f"{app_url}/andamento")
    wait_app_idle(page, timeout=90_000)
    page.get_by_label("Nome utente").wait_for(timeout=60_000)
    assert page.get_by_text("Page not found").count() == 0
    assert page.url.rstrip("/").endswith("/andamento")
    _fill_login(page, "osservatore")
    page.get_by_role("heading", name="Andamento").first.wait_for(timeout=90_000)
    assert page.url.rstrip("/").endswith("/andamento")
    shot(page, "deep_link_allowed")


def test_deep_link_to_a_forbidden_page_answers_in_italian(page, app_url, shot):
    page.goto(f"{app_url}/registro")
    wait_app_idle(page, timeout=90_000)
    page.get_by_label("Nome utente").wait_for(timeout=60_000)
    _fill_login(page, "osservatore")
    page.get_by_text("non è disponibile per il profilo Osservatore").wait_for(timeout=60_000)
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_text("Impronta").count() == 0  # nothing of the log itself
    shot(page, "deep_link_forbidden")


def test_an_export_carries_the_anchor_of_the_audit_chain(page, app_url):
    login(page, app_url, "prefettura")
    page.locator("[data-testid='stSidebarNav'] a", has_text="Registro delle modifiche").click()
    page.wait_for_url("**/registro")
    wait_app_idle(page, timeout=90_000)
    page.get_by_text("Registro integro").first.wait_for(timeout=60_000)
    wait_app_idle(page, timeout=90_000)
    saved = download(page, page.get_by_role("button", name="Scarica CSV"))
    text = Path(saved.path()).read_text(encoding="utf-8-sig")
    last = text.strip().splitlines()[-1]
    assert last.startswith("# Registro delle modifiche: voce n. ")
    assert "impronta" in last
