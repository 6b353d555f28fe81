"""Browser journeys for Interventi (issue 14) and Videosorveglianza (issue 18): the evaluation of a
synthetic intervention with its interval, the monitoring report; the camera map drawn offline, the
plan for a budget and its export. Each waits on the app's state and fails on any JavaScript
error, Streamlit exception or traceback (``tests/e2e/conftest.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import download, go_to, login, wait_app_idle

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
PERCENT = re.compile(r"^[−-]?\d+ %$")


def test_interventi_evaluates_a_synthetic_intervention(page, app_url, shot):
    login(page, app_url, "prefettura")
    go_to(page, "Interventi", "interventi")
    page.get_by_role("heading", name="Interventi", exact=True).wait_for()
    expect(page.get_by_text("sono generati per la demo", exact=False)).to_be_visible(timeout=60_000)
    effect = page.locator("[data-testid='stMetric']", has_text="Effetto stimato")
    effect.wait_for(timeout=120_000)
    value = effect.locator("[data-testid='stMetricValue']").inner_text().strip()
    assert PERCENT.match(value), value
    interval = page.locator("[data-testid='stMetric']", has_text="Intervallo al 95 %")
    assert ";" in interval.locator("[data-testid='stMetricValue']").inner_text()
    page.get_by_role("button", name="Prepara il report per la Cabina di regia").click()
    expect(page.get_by_role("button", name="Scarica HTML")).to_be_visible(timeout=60_000)
    wait_app_idle(page)
    shot(page, "journey_interventi")


def test_videosorveglianza_draws_cameras_and_a_plan(page, app_url, shot):
    login(page, app_url, "polizia")
    go_to(page, "Videosorveglianza", "videosorveglianza")
    page.get_by_role("heading", name="Videosorveglianza").wait_for()
    cameras = page.locator("[data-testid='stMetric']", has_text="Telecamere")
    cameras.wait_for(timeout=120_000)
    assert int(cameras.locator("[data-testid='stMetricValue']").inner_text().replace(".", "")) > 0
    frame = page.frame_locator(MAP_IFRAME)
    frame.locator(".leaflet-container").first.wait_for(timeout=60_000)
    button = page.get_by_role("button", name="Scarica il piano (CSV)")
    expect(button).to_be_visible(timeout=60_000)
    expect(page.get_by_text("150.000 €").first).to_be_visible()  # the budget in Italian format
    text = Path(download(page, button).path()).read_text(encoding="utf-8-sig")
    assert "Fonte del costo" in text.splitlines()[0]
    assert text.strip().splitlines()[-1].startswith("# Registro delle modifiche: voce n. ")
    expect(page.get_by_text("Nessuna rete stradale importata", exact=False)).to_be_visible()
    shot(page, "journey_videosorveglianza")
