"""The *Segnalazioni* page through AppTest: a Comune officer places a report (coordinates as a map
click leaves them), sees likely duplicates before saving, manages the reports of its comune with
only the controls its role allows; another Comune sees nothing of it; text stays text."""

from __future__ import annotations

import io
import os

import h3
import pytest
from PIL import ExifTags, Image
from streamlit.testing.v1 import AppTest

from geo.access import auth
from geo.data.storage import open_store
from geo.reports import workflow as reports
from tests.app.conftest import DASHBOARD, login_as

PAGE = "pages/segnalazioni.py"
MASSA, CARRARA = "045010", "045003"
SCRIPT = "<script>alert('x')</script> **grassetto** [link](http://evil.example)"


@pytest.fixture
def store(writable_db):
    return open_store(writable_db)


def _spot(store, code: str, k: int) -> tuple[float, float]:
    """Centre of the k-th most inhabited cell of a comune far from the demo reports of the same
    category (the demo has many reports: the tests pick cells without any nearby)."""
    cells = store.query("SELECT cell FROM cells WHERE pro_com_t = ? AND residents > 0 ORDER BY residents, cell",
                        [code])["cell"].tolist()
    found = 0
    for cell in cells:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cell)))
        near = reports.likely_duplicates(store, lat=lat, lon=lon, category="movida_rumore", radius_m=150, days=10_000)
        if near.empty:
            if found == k:
                return round(lat, 6), round(lon, 6)
            found += 1
    raise AssertionError("no free spot")


def _open(role: str | None, *, username: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    login_as(at, role, username=username)
    at.run()
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _fill(at: AppTest, lat: float, lon: float, *, category: str = "movida_rumore",
          description: str = "Musica alta dopo le 2") -> None:
    at.number_input(key="seg_lat").set_value(lat)
    at.number_input(key="seg_lon").set_value(lon)
    at.selectbox(key="seg_cat").set_value(category)
    at.radio(key="seg_sev").set_value(3)
    at.text_area(key="seg_desc").input(description)
    at.run()


def _photo() -> bytes:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (44.0, 2.0, 7.5)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_officer_files_a_report(store):
    at = _open("comune")
    assert any(s.value == "Nuova segnalazione" for s in at.subheader)
    assert any(s.value == "Segnalazioni del mio Comune" for s in at.subheader)
    assert at.button(key="seg_send").disabled  # nothing placed yet
    lat, lon = _spot(store, MASSA, 0)
    _fill(at, lat, lon)
    assert any("Comune di Massa" in s.value for s in at.success)
    at.file_uploader(key="seg_photos_0").set_value([("IMG_0001.jpg", _photo(), "image/jpeg")])
    at.run()
    at.button(key="seg_send").click().run()
    assert not at.exception, [e.value for e in at.exception]
    message = next(s.value for s in at.success if "inviata" in s.value)
    rid = message.split()[1]
    row = store.report_row(rid)
    assert row["pro_com_t"] == MASSA
    assert row["category"] == "movida_rumore"
    assert row["severity"] == 3
    saved = reports.photos(store, auth.get_user(store, "prefettura"), rid)
    with Image.open(io.BytesIO(saved[0]["data"])) as img:
        assert len(img.getexif()) == 0
    assert at.session_state["seg_sel"] == rid  # selected: shown on the map and below
    assert at.button(key="seg_apply")  # its status controls
    assert at.number_input(key="seg_lat").value is None  # the form is ready for the next one


def test_a_point_in_another_comune_is_refused(store):
    at = _open("comune")
    lat, lon = _spot(store, CARRARA, 0)
    _fill(at, lat, lon)
    assert any("fuori dal territorio del Suo profilo" in e.value for e in at.error)
    before = store.count("reports")
    at.button(key="seg_send").click().run()
    assert any("solo nel territorio dei propri comuni" in e.value for e in at.error)
    assert store.count("reports") == before


def test_duplicates_are_pointed_out_before_saving(store):
    at = _open("comune")
    lat, lon = _spot(store, MASSA, 1)
    _fill(at, lat, lon)
    at.button(key="seg_send").click().run()
    _fill(at, lat + 0.0003, lon)
    assert any("stessa categoria entro 100 m" in w.value for w in at.warning)
    before = store.count("reports")
    at.button(key="seg_send").click().run()
    assert any("confermare per salvare" in e.value for e in at.error)
    assert store.count("reports") == before
    at.checkbox(key="seg_dup_ok").check().run()
    at.button(key="seg_send").click().run()
    assert store.count("reports") == before + 1


def test_workflow_controls_and_text_as_text(store):
    at = _open("comune")
    lat, lon = _spot(store, MASSA, 2)
    _fill(at, lat, lon, description=SCRIPT)
    at.button(key="seg_send").click().run()
    rid = at.session_state["seg_sel"]
    assert SCRIPT in [t.value for t in at.text]  # st.text: neither HTML nor markdown
    assert not any(SCRIPT in m.value for m in at.markdown)
    assert at.selectbox(key=f"seg_to_{rid}").options == ["Presa in carico", "Respinta"]
    at.selectbox(key=f"seg_to_{rid}").set_value("respinta")
    at.button(key="seg_apply").click().run()
    assert any("motivo è obbligatorio" in e.value for e in at.error)
    at.selectbox(key=f"seg_to_{rid}").set_value("presa_in_carico")
    at.text_area(key=f"seg_note_{rid}").input("Sopralluogo venerdì")
    at.button(key="seg_apply").click().run()
    assert store.report_row(rid)["status"] == "presa_in_carico"
    at.text_area(key=f"seg_comment_{rid}").input("Avvisati i residenti")
    at.button(key="seg_comment_go").click().run()
    notes = store.report_events([rid])["text"].dropna().tolist()
    assert notes == ["Sopralluogo venerdì", "Avvisati i residenti"]


def test_another_comune_cannot_see_or_edit_it(store):
    at = _open("comune")
    lat, lon = _spot(store, MASSA, 3)
    _fill(at, lat, lon)
    at.button(key="seg_send").click().run()
    rid = at.session_state["seg_sel"]
    other = _open(None, username="comune-carrara", segnalazione=rid)
    assert rid not in other.selectbox(key="seg_sel").options
    assert any("solo nel territorio dei propri comuni" in e.value for e in other.error)
    keys = {b.key for b in other.button}
    assert not {"seg_apply", "seg_comment_go", "seg_edit_go", "seg_photo_go"} & keys


def test_police_see_every_comune_but_only_bring_reports_to_the_agenda(store):
    officer = _open("comune")
    lat, lon = _spot(store, MASSA, 4)
    _fill(officer, lat, lon)
    officer.button(key="seg_send").click().run()
    rid = officer.session_state["seg_sel"]
    officer.selectbox(key=f"seg_to_{rid}").set_value("presa_in_carico")
    officer.button(key="seg_apply").click().run()
    police = _open("forze_polizia", segnalazione=rid)
    assert not any(s.value == "Nuova segnalazione" for s in police.subheader)
    assert police.session_state["seg_sel"] == rid
    assert police.selectbox(key=f"seg_to_{rid}").options == ["All'ordine del giorno del CPOSP"]
    assert police.button(key="seg_comment_go")
    assert not any(b.key == "seg_edit_go" for b in police.button)


@pytest.mark.usefixtures("writable_db")
def test_page_checks_the_role_even_when_run_alone():
    at = AppTest.from_file(os.path.join(os.path.dirname(DASHBOARD), PAGE), default_timeout=60)
    login_as(at, "regione")
    at.run()
    assert any("non può vedere le segnalazioni" in e.value for e in at.error)
    assert not at.subheader
    anonymous = AppTest.from_file(os.path.join(os.path.dirname(DASHBOARD), PAGE), default_timeout=60)
    anonymous.run()
    assert any("effettuare il login" in e.value for e in anonymous.error)
