"""Page "Zone pilota" (AppTest) on the demo database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.zones.priority import PRESETS
from tests.app.conftest import login_as

DASHBOARD = str(Path(__file__).resolve().parents[2] / "dashboard.py")
PAGE = "pages/zone_pilota.py"


@pytest.fixture
def page(demo_db):  # noqa: ARG001 - the fixture points LANTERNA_DB at the demo database
    def _open(role: str | None = None) -> AppTest:
        at = AppTest.from_file(DASHBOARD, default_timeout=90)
        login_as(at, role or "osservatore")
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open


def ranking(at: AppTest):
    return next(df.value for df in at.dataframe if "Zona" in df.value.columns)


def test_page_shows_zones_ranking_cards_and_robustness(page):
    at = page()
    assert at.title[0].value.endswith("Zone pilota")
    table = ranking(at)
    assert len(table) >= 5
    assert table["Rango"].tolist() == list(range(1, len(table) + 1))
    assert table["Zona"].str.fullmatch(r"Z-[0-9A-Z]{4}(-\d+)?").all()
    assert table["Zona"].is_unique
    assert (table["Luogo"].str.len() > 0).all()
    assert table["Beneficio atteso (punti × km²)"].is_monotonic_decreasing
    assert set(table["Affidabilità del tasso per residenti"]) <= {"alta", "media", "bassa"}
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Zone individuate"].replace(".", "")) == len(table)
    assert "Delitti nel 5 % della superficie" in metrics
    cards = [e.label for e in at.expander if e.label[:1].isdigit()]
    assert cards[0].startswith(f"1. {table['Luogo'].iloc[0]} · {table['Zona'].iloc[0]} · ")
    assert len(cards) == min(10, len(table))
    assert any("Fattori principali" in md.value for md in at.markdown)
    assert any("Monte Carlo" in md.value for md in at.markdown)
    # the hot-spot tab gives the noise floor and the back-test, computed from the demo
    evidence = " ".join(md.value for md in at.markdown)
    assert "Soglia del caso" in evidence
    assert "contenevano il" in evidence
    assert "PEI*" in evidence
    assert not at.error


def test_preset_moves_the_sliders_and_changes_the_ranking(page):
    at = page()
    before = ranking(at)
    at.selectbox(key="zp_preset").set_value("sicurezza").run()
    assert not at.exception
    assert at.slider(key="zp_w_harm_rate").value == PRESETS["sicurezza"].weights["harm_rate"]
    assert at.slider(key="zp_w_confiscated").value == 0
    after = ranking(at)
    assert not before[["Zona", "Fattori principali"]].equals(after[["Zona", "Fattori principali"]])
    assert "Delitti" in after["Fattori principali"].iloc[0]


def test_custom_weights_through_the_form(page):
    at = page()
    for key in PRESETS["bilanciato"].weights:
        at.slider(key=f"zp_w_{key}").set_value(0)
    at.slider(key="zp_w_reports").set_value(40)
    next(b for b in at.button if b.label == "Applica i pesi").click().run()
    assert not at.exception
    assert ranking(at)["Fattori principali"].iloc[0].startswith("Degrado")
    assert any("Pesi modificati" in c.value for c in at.caption)


def test_all_weights_zero_is_explained(page):
    at = page()
    for key in PRESETS["bilanciato"].weights:
        at.slider(key=f"zp_w_{key}").set_value(0)
    next(b for b in at.button if b.label == "Applica i pesi").click().run()
    assert not at.exception
    assert any("Tutti i pesi sono a zero" in w.value for w in at.warning)


def test_impossible_bounds_show_an_italian_error(page):
    at = page()
    at.selectbox(key="zp_res").set_value(8)
    at.slider(key="zp_bounds").set_value((0.1, 0.2)).run()
    assert not at.exception
    assert any("minore di un esagono" in e.value for e in at.error)


def test_privacy_note_depends_on_the_role(page):
    public = page()
    assert any("chiave di cella" in c.value for c in public.caption)
    assert not ranking(public)["Delitti nel periodo"].isin(["1", "2", "< 3", "riservato"]).any()
    police = page("forze_polizia")
    assert not any("chiave di cella" in c.value for c in police.caption)
    assert not ranking(police)["Delitti nel periodo"].str.contains("<").any()
