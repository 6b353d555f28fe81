"""Browser journey of issue 14: the Prefettura starts an intervention from a pilot zone ("Avvia
intervento" on Zone pilota), follows the link to Interventi and finds it in the register. Fails on
any JavaScript error, Streamlit exception or traceback (``tests/e2e/conftest.py``)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import go_to, login, wait_app_idle

pytestmark = pytest.mark.e2e

CREATED = re.compile(r"Intervento (INT-\d{4}-\d{4}) registrato")


def test_prefettura_starts_an_intervention_from_a_pilot_zone(page, app_url, shot):
    login(page, app_url, "prefettura")
    go_to(page, "Zone pilota", "zone_pilota")
    starter = page.locator("[data-testid='stExpander']", has_text="Avvia intervento su una zona")
    starter.wait_for(timeout=180_000)
    starter.locator("summary").click()
    title = starter.get_by_label("Titolo")
    expect(title).to_have_value(re.compile(r"^Zona pilota Z-[0-9A-Z]{4}(-\d+)? – "), timeout=60_000)
    expect(starter.get_by_text("Azioni zona pilota", exact=False)).to_be_visible()
    starter.get_by_label("Soggetto responsabile").fill("Polizia Locale <b>Massa</b>")
    wait_app_idle(page)
    submit = starter.get_by_role("button", name="Avvia intervento")
    expect(submit).to_be_enabled()
    submit.click()
    success = page.locator("[data-testid='stAlertContentSuccess']", has_text="registrato")
    success.wait_for(timeout=90_000)
    found = CREATED.search(success.inner_text())
    assert found, success.inner_text()
    iid = found.group(1)
    wait_app_idle(page)
    shot(page, "journey_avvia_intervento_zona")
    page.get_by_role("link", name="Apri la pagina Interventi").click()
    page.wait_for_url("**/interventi")
    wait_app_idle(page, timeout=120_000)
    page.get_by_role("heading", name="Interventi", exact=True).wait_for()
    picker = page.locator("[data-testid='stSelectbox']", has_text="Intervento da valutare")
    picker.click()
    option = page.get_by_role("option", name=re.compile(re.escape(iid)))
    expect(option).to_be_visible(timeout=30_000)
    expect(option).to_contain_text("Zona pilota Z-")
    option.click()
    wait_app_idle(page, timeout=120_000)
    expect(page.get_by_text("Nessuna segnalazione collegata.", exact=False).or_(
        page.get_by_text("Segnalazioni collegate", exact=False)).first).to_be_visible(timeout=60_000)
    shot(page, "journey_avvia_intervento_interventi")
