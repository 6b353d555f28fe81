"""Browser journeys for the pages without one of their own: a wrong password, a page forbidden to
the role, the Registro, the Agenda CPOSP, Scuole sicure and Servizi senza dimora. Each waits on
the app's state (no fixed sleeps) and fails on any JavaScript error, Streamlit exception or
traceback (``tests/e2e/conftest.py``)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import go_to, login, wait_app_idle

pytestmark = pytest.mark.e2e


def test_a_wrong_password_is_refused_in_italian_without_a_session(page, app_url, shot):
    page.goto(app_url)
    wait_app_idle(page, timeout=90_000)
    page.get_by_label("Nome utente").fill("osservatore")
    page.get_by_label("Password", exact=True).fill("password-sbagliata")
    page.get_by_role("button", name="Accedi").click()
    expect(page.get_by_text("Nome utente o password non validi.")).to_be_visible(timeout=60_000)
    wait_app_idle(page)
    assert page.get_by_text("Utente:").count() == 0
    assert page.get_by_label("Nome utente").count() == 1
    assert not any(c["name"] == "lanterna_sessione" for c in page.context.cookies())
    shot(page, "journey_wrong_password")


def test_a_forbidden_page_answers_in_italian(page, app_url, shot):
    login(page, app_url, "osservatore")
    page.wait_for_function("document.cookie.includes('lanterna_sessione=')", timeout=30_000)
    assert page.locator("[data-testid='stSidebarNav'] a", has_text="Registro").count() == 0
    page.goto(f"{app_url}/registro")  # the cookie resumes the session
    wait_app_idle(page, timeout=90_000)
    expect(page.get_by_text("non è disponibile per il profilo Osservatore")).to_be_visible(timeout=60_000)
    assert page.get_by_role("heading", name="Registro delle modifiche").count() == 1
    assert page.locator("[data-testid='stDataFrame']").count() == 0  # nothing of the register shown
    shot(page, "journey_forbidden_page")


def test_registro_lists_the_changes(page, app_url, shot):
    login(page, app_url, "prefettura")
    go_to(page, "Registro delle modifiche", "registro")
    page.get_by_role("heading", name="Registro delle modifiche").wait_for()
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    shot(page, "journey_registro")


def test_agenda_cposp_shows_the_agenda(page, app_url, shot):
    login(page, app_url, "prefettura")
    go_to(page, "Agenda CPOSP", "agenda")
    page.get_by_role("heading", name="Agenda del CPOSP").wait_for()
    page.locator("[data-testid='stDataFrame'], [data-testid='stAlert']").first.wait_for(timeout=60_000)
    shot(page, "journey_agenda")


def test_scuole_sicure_renders(page, app_url, shot):
    login(page, app_url, "osservatore")
    go_to(page, "Scuole sicure", "scuole_sicure")
    page.get_by_role("heading", name="Scuole sicure").wait_for()
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    shot(page, "journey_scuole_sicure")


def test_servizi_senza_dimora_renders(page, app_url, shot):
    login(page, app_url, "osservatore")
    go_to(page, "Servizi senza dimora", "servizi")
    page.get_by_role("heading", name="Servizi per persone senza dimora").wait_for()
    page.locator("[data-testid='stDataFrame']").first.wait_for(state="attached", timeout=60_000)
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
    shot(page, "journey_servizi")


def test_the_error_check_sees_a_javascript_error(page, app_url):
    """The autouse check of conftest.py is not blind: an uncaught error in the page is reported."""
    from tests.e2e.conftest import page_errors

    page.goto(app_url)
    wait_app_idle(page, timeout=90_000)
    assert page_errors(page) == []
    with page.expect_event("pageerror"):
        page.evaluate("() => { setTimeout(() => { throw new Error('errore di prova'); }, 0); }")
    assert any("errore di prova" in e for e in page_errors(page))
    page.js_errors.clear()  # expected here: do not fail this test
