"""The *Servizi senza dimora* page through Streamlit's AppTest, on the demo database: what each role
sees of the census (non-public shelters), the figures of :mod:`geo.services.homeless`, and the census forms
(shown only to the roles that manage the census, checked again on submit).

``LANTERNA_TEST_DASHBOARD`` may point at another router file that registers the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.access.privacy import format_decimal
from geo.data.storage import open_store
from geo.services import homeless
from tests.app.conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = os.environ.get("LANTERNA_TEST_DASHBOARD", str(ROOT / "dashboard.py"))
PAGE = "pages/servizi.py"
MASSA, CARRARA = "045010", "045003"
#: Non-public services of the demo: two shelters in Massa, the cold-weather shelter in Carrara.
PRIVATE_MASSA = {"SRV-045010-02", "SRV-045010-09"}
PRIVATE_CARRARA = {"SRV-045003-02"}


def sign_in(at: AppTest, role: str, comuni: tuple[str, ...] = ()) -> None:
    """Log in as ``role`` bound to ``comuni`` (``conftest.login_as``: the demo account of the role,
    or a test Comune account for those ISTAT codes)."""
    login_as(at, role, comuni=comuni or None)


def _open(role: str | None = None, *, month: int = 1, comuni: tuple[str, ...] = (), **state) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    sign_in(at, role or "osservatore", comuni)
    at.session_state["servizi_mese"] = month
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def open_page(request):
    request.getfixturevalue("demo_db")  # LANTERNA_DB points at the session's demo copy
    return _open


def census(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if d.value.columns[0] == "Codice" and "Orari (OSM)" in d.value.columns)


def has_forms(at) -> bool:
    return any(s.value == "Aggiornare il censimento" for s in at.subheader)


@pytest.mark.parametrize("role", ["osservatore", "regione"])
def test_non_public_shelters_are_hidden_from_roles_without_clearance(open_page, role):
    at = open_page(role)
    ids = set(census(at)["Codice"])
    assert len(ids) == 11
    assert not ids & (PRIVATE_MASSA | PRIVATE_CARRARA)
    assert not has_forms(at)
    assert any("3 servizi con indirizzo riservato" in c.value for c in at.caption)


@pytest.mark.parametrize(("role", "forms"), [("prefettura", True), ("forze_polizia", False)])
def test_cleared_roles_see_every_service(open_page, role, forms):
    at = open_page(role)
    ids = set(census(at)["Codice"])
    assert len(ids) == 14
    assert ids >= PRIVATE_MASSA | PRIVATE_CARRARA
    assert has_forms(at) is forms


def test_comune_sees_its_own_shelter_only_and_manages_only_its_services(open_page):
    at = open_page("comune", comuni=(CARRARA,))
    ids = set(census(at)["Codice"])
    assert ids >= PRIVATE_CARRARA
    assert not ids & PRIVATE_MASSA
    assert has_forms(at)
    editable = at.selectbox(key="servizi_modifica_id").options
    assert editable
    assert all(o.startswith("SRV-045003") for o in editable)


def test_figures_match_the_library(open_page, demo_db):
    at = open_page()
    store = open_store(demo_db)
    services = store.points("services")
    summary = homeless.hours_summary(services, month=1).set_index("type")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Servizi censiti"] == "14"
    assert metrics["Ore settimanali senza alcun servizio aperto"] == format_decimal(
        summary.loc[homeless.ANY, "hours_without"], 1)
    coverage = next(d.value for d in at.dataframe if d.value.columns[0] == "Comune" and "Tipi mancanti"
                    in d.value.columns)
    assert len(coverage) == len(store.comuni())
    massa = coverage.set_index("Comune").loc["Massa"]
    assert massa["Tipi presenti (su 9)"] == 9
    assert massa["Tipi mancanti"] == "nessuno"
    assert coverage.set_index("Comune").loc["Zeri", "Servizi censiti"] == 0


def test_hours_caption_follows_month_and_type(open_page, demo_db):
    at = open_page(month=6)
    at.selectbox(key="servizi_tipo").set_value("accoglienza_notturna").run()
    assert not at.exception
    services = open_store(demo_db).points("services")
    data = homeless.hours_chart_data(services, month=6, service_type="accoglienza_notturna")
    empty = int(data["no_service"].sum())
    assert empty == 0  # the 24/7 low-threshold community covers every hour
    at.selectbox(key="servizi_tipo").set_value("mensa").run()
    mensa = int(homeless.hours_chart_data(services, month=6, service_type="mensa")["no_service"].sum())
    assert mensa > 100
    assert any(f"In rosso le {mensa} ore" in c.value for c in at.caption)


def test_gaps_table_hides_small_counts_from_observer(open_page):
    at = open_page()
    table = next(d.value for d in at.dataframe if d.value.columns[0] == "Priorità")
    for col in ("Segnalazioni di marginalità", "Delitti in materia di stupefacenti"):
        assert not table[col].isin(["1", "2"]).any()
    # no withheld total: a number, or the range it surely lies in when the reports are 1-2 ("< 3")
    assert not table.isin(["riservato"]).any().any()
    assert table["Segnali in totale"].str.fullmatch(r"\d[\d.]*|da \d[\d.]* a \d[\d.]*").all()
    assert not table["Delitti in materia di stupefacenti"].eq("< 3").any()
    police = next(d.value for d in open_page("forze_polizia").dataframe if d.value.columns[0] == "Priorità")
    assert not police["Segnalazioni di marginalità"].eq("< 3").any()


def _fill(at, prefix: str, *, name: str, lat: float, lon: float, types=("docce",), hours="Tu,Th 09:00-12:00"):
    at.text_input(key=f"{prefix}_nome").input(name)
    at.multiselect(key=f"{prefix}_tipi").set_value(list(types))
    at.text_input(key=f"{prefix}_orari").input(hours)
    at.number_input(key=f"{prefix}_lat").set_value(lat)
    at.number_input(key=f"{prefix}_lon").set_value(lon)


def test_comune_adds_a_service_through_the_form(writable_db):
    at = _open("comune", comuni=(CARRARA,))
    _fill(at, "add", name="Docce di via Roma", lat=44.0786, lon=10.0985)
    at.button(key="servizi_aggiungi_ok").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("SRV-045003-05 aggiunto" in s.value for s in at.success)
    assert "Docce di via Roma" in set(census(at)["Nome"])
    row = open_store(writable_db).service("SRV-045003-05")
    assert row["types"] == ["docce"]
    assert row["pro_com_t"] == CARRARA
    assert not row["synthetic"]


def test_comune_cannot_place_a_service_in_another_comune(writable_db):
    at = _open("comune", comuni=(CARRARA,))
    before = len(open_store(writable_db).points("services"))
    _fill(at, "add", name="Fuori comune", lat=44.0353, lon=10.1410)  # central Massa
    at.button(key="servizi_aggiungi_ok").click().run()
    assert not at.exception
    assert any("non può aggiungere" in e.value for e in at.error)
    assert len(open_store(writable_db).points("services")) == before


def test_invalid_hours_are_refused_with_the_reason(writable_db):
    at = _open("prefettura")
    before = len(open_store(writable_db).points("services"))
    _fill(at, "add", name="Mensa nuova", lat=44.0353, lon=10.1410, hours="Lun-Ven 12-14")
    at.button(key="servizi_aggiungi_ok").click().run()
    assert any("Orari non validi" in e.value for e in at.error)
    assert len(open_store(writable_db).points("services")) == before


def test_prefettura_closes_a_service_with_a_reason(writable_db):
    at = _open("prefettura")
    at.selectbox(key="servizi_chiudi_id").set_value("SRV-045001-01")
    at.text_input(key="servizi_chiudi_motivo").input("Sportello trasferito")
    at.checkbox(key="servizi_chiudi_conferma").check()
    at.button(key="servizi_chiudi_ok").click().run()
    assert not at.exception
    assert any("SRV-045001-01 chiuso" in s.value for s in at.success)
    store = open_store(writable_db)
    assert store.service("SRV-045001-01") is None
    assert store.service_changes().loc[0, "reason"] == "Sportello trasferito"
    assert "SRV-045001-01" not in set(census(at)["Codice"])
