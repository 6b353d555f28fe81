"""Browser journey of *Illuminazione* as the Regione (issue 11): the plan's expected effect is a
number with its range, a budget change re-plans, and the frontier chart is drawn with numbers;
no "riservato" or "< 3" anywhere, no page error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import go_to, login, wait_app_idle

pytestmark = pytest.mark.e2e

NUMBER = re.compile(r"^\d{1,3}(\.\d{3})*(,\d)?$")  # Italian format, one decimal


def _effect(page) -> tuple[str, str]:
    metric = page.locator("[data-testid='stMetric']", has_text="Delitti evitati all'anno")
    expect(metric).to_be_visible(timeout=90_000)
    value = metric.locator("[data-testid='stMetricValue']").inner_text().strip()
    delta = metric.locator("[data-testid='stMetricDelta']").inner_text().strip()
    return value, delta


def test_regione_plans_lighting_and_sees_the_effect_and_the_frontier(page, app_url, shot):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, app_url, "regione")
    go_to(page, "Illuminazione", "illuminazione")
    expect(page.get_by_role("heading", name="Illuminazione – piano di investimento")).to_be_visible(timeout=90_000)
    value, delta = _effect(page)
    assert NUMBER.match(value), value
    assert delta.startswith("intervallo "), delta
    assert re.search(r"\d+,\d–\d+,\d", delta), delta
    expect(page.get_by_text("Contano le famiglie di reato misurate dagli studi", exact=False).first).to_be_visible()
    shot(page, "illuminazione_regione_piano")

    cost = page.locator("[data-testid='stMetric']", has_text="Costo del piano").locator(
        "[data-testid='stMetricValue']")
    before = cost.inner_text().strip()
    budget = page.get_by_role("spinbutton", name="Budget (€)")
    budget.fill("300000")
    budget.press("Enter")
    wait_app_idle(page, timeout=120_000)
    expect(cost).not_to_have_text(before, timeout=120_000)  # the plan of the new budget is on screen
    expect(cost).to_contain_text("€")
    effect = page.locator("[data-testid='stMetric']", has_text="Delitti evitati all'anno").locator(
        "[data-testid='stMetricValue']")
    expect(effect).not_to_have_text(value, timeout=120_000)
    value2, delta2 = _effect(page)
    assert NUMBER.match(value2), value2
    assert delta2.startswith("intervallo "), delta2
    assert float(value2.replace(".", "").replace(",", ".")) < float(value.replace(".", "").replace(",", "."))

    page.get_by_role("tab", name="Frontiera efficiente").click()
    wait_app_idle(page, timeout=180_000)
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    expect(chart).to_be_visible(timeout=180_000)
    expect(chart.locator("canvas, svg").first).to_be_visible()
    expect(page.get_by_text("Banda: intervallo basso–alto", exact=False)).to_be_visible()
    shot(page, "illuminazione_regione_frontiera")

    body = page.locator("[data-testid='stMain']").inner_text()
    assert "riservato" not in body
    assert "< 3" not in body
    assert page.locator("[data-testid='stException']").count() == 0
    assert not errors, errors
