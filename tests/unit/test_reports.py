"""The report workflow (geo.reports.workflow): filing in one's own comune, areas, likely duplicates, the
status workflow per role, comments and edits, photos without metadata, views, the CPOSP agenda and
its exports, the Municipium-style bulk import, and text shown as text everywhere."""

from __future__ import annotations

import io
import json
import warnings
from datetime import date, timedelta

import folium
import pandas as pd
import pytest
import shapely
from PIL import ExifTags, Image, PngImagePlugin

from geo.access import audit, auth
from geo.access.permissions import SYSTEM, PermissionDenied, User
from geo.data.io import ImportFailed
from geo.ingest.importers import import_file
from geo.maps import layers as maps
from geo.reports import workflow as reports
from tests.unit.auth_store import AULLA, CARRARA, FORMULA, MASSA, SCRIPT, points_in

TODAY = date(2026, 3, 2)


pytestmark = pytest.mark.usefixtures("cheap_hasher")


@pytest.fixture
def store(users_store):
    return users_store


@pytest.fixture
def who(store):
    return {name: auth.get_user(store, name) for name in ("prefettura", "polizia", "regione", "osservatore",
                                                          "comune-massa", "comune-carrara")}


@pytest.fixture
def massa(store):
    return points_in(store, MASSA, 10)


def _new(store, user, point, *, category="rifiuti_abbandonati", today=TODAY, **kw):
    lat, lon = point
    kw.setdefault("description", "Sacchi di rifiuti lasciati accanto ai cassonetti")
    return reports.create_report(store, user, lat=lat, lon=lon, category=category, severity=kw.pop("severity", 2),
                                 today=today, **kw)


# --------------------------------------------------------------------------------------------
# Filing
# --------------------------------------------------------------------------------------------

def test_officer_files_a_report_in_its_comune(store, who, massa):
    rid = _new(store, who["comune-massa"], massa[0], severity=3)
    assert rid == f"SEG-{MASSA}-2026-00001"
    row = store.report_row(rid)
    assert row["status"] == "nuova"
    assert row["pro_com_t"] == MASSA
    assert row["opened"] == TODAY
    assert row["severity"] == 3
    assert not row["synthetic"]
    assert row["source"] == reports.REPORT_SOURCE
    events = store.report_events([rid])
    assert events["kind"].tolist() == ["creazione"]
    assert events["username"].tolist() == ["comune-massa"]
    assert _new(store, who["comune-massa"], massa[1]) == f"SEG-{MASSA}-2026-00002"


def test_location_must_be_in_the_officers_comune(store, who, massa):
    before = store.count("reports")
    with pytest.raises(PermissionDenied, match="Comune di Massa"):
        _new(store, who["comune-carrara"], massa[0])
    with pytest.raises(reports.ReportError, match="fuori dal territorio"):
        reports.create_report(store, who["comune-massa"], lat=45.46, lon=9.19, category="altro", severity=1,
                              description="Milano")
    with pytest.raises(reports.ReportError, match="Coordinate non valide"):
        reports.create_report(store, who["comune-massa"], lat=float("nan"), lon=10.1, category="altro", severity=1,
                              description="x")
    for name in ("regione", "osservatore", "polizia"):
        with pytest.raises(PermissionDenied):
            _new(store, who[name], massa[0])
    assert store.count("reports") == before
    assert _new(store, who["prefettura"], points_in(store, CARRARA, 1)[0]).startswith(f"SEG-{CARRARA}-")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"category": "buche"}, "Categoria sconosciuta"),
    ({"severity": 4}, "gravità"),
    ({"severity": "alta"}, "gravità"),
    ({"description": "   "}, "descrizione è obbligatorio"),
    ({"description": "x" * (reports.DESCRIPTION_MAX + 1)}, "troppo lungo"),
])
def test_invalid_input(store, who, massa, kwargs, message):
    with pytest.raises(reports.ReportError, match=message):
        _new(store, who["comune-massa"], massa[0], **kwargs)


def test_text_is_cleaned_but_kept_as_typed(store, who, massa):
    rid = _new(store, who["comune-massa"], massa[0], description=f"  {SCRIPT}\u202e\x00 {FORMULA}\r\nriga 2 ")
    assert store.report_row(rid)["description"] == f"{SCRIPT} {FORMULA}\nriga 2"


def test_drawn_area(store, who, massa):
    lat, lon = massa[0]
    d = 0.0007
    square = {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                  [lon - d, lat + d], [lon - d, lat - d]]]}
    rid = reports.create_report(store, who["comune-massa"], area={"type": "Feature", "geometry": square},
                                category="edificio_degradato", severity=2, description="Capannone abbandonato")
    row = store.report_row(rid)
    polygon = shapely.from_wkt(row["area_wkt"])
    assert polygon.contains(shapely.Point(row["lon"], row["lat"]))
    # an area reaching into Carrara, one too big, one self-intersecting
    c_lat, c_lon = points_in(store, CARRARA, 1)[0]
    across = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [c_lon, c_lat], [lon, lat]]]}
    with pytest.raises(reports.ReportError):
        reports.create_report(store, who["comune-massa"], area=across, category="altro", severity=1,
                              description="x", lat=lat, lon=lon)
    big = shapely.box(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)
    with pytest.raises(reports.ReportError, match="troppo grande"):
        reports.create_report(store, who["comune-massa"], area=big, category="altro", severity=1, description="x")
    bow = shapely.Polygon([(lon, lat), (lon + d, lat + d), (lon + d, lat), (lon, lat + d)])
    with pytest.raises(reports.ReportError, match="poligono semplice"):
        reports.create_report(store, who["comune-massa"], area=bow, category="altro", severity=1, description="x")
    with pytest.raises(reports.ReportError, match="Indicare il punto"):
        reports.create_report(store, who["comune-massa"], category="altro", severity=1, description="x")


def test_likely_duplicates_are_pointed_out_before_saving(store, who, massa):
    first = _new(store, who["comune-massa"], massa[0])
    lat, lon = massa[0]
    near = (lat + 0.0004, lon)  # about 45 m north
    saved = store.count("reports")
    with pytest.raises(reports.DuplicateSuspected) as exc:
        _new(store, who["comune-massa"], near)
    found = exc.value.duplicates
    assert found["report_id"].tolist() == [first]
    assert 30 < found["distance_m"].iloc[0] < 60
    assert store.count("reports") == saved  # nothing saved by the refusal
    # another category, or far away, or old, or rejected: no warning
    _new(store, who["comune-massa"], near, category="verde_incolto")
    _new(store, who["comune-massa"], massa[1])
    assert reports.likely_duplicates(store, lat=near[0], lon=near[1], category="rifiuti_abbandonati",
                                     today=TODAY + timedelta(days=31)).empty
    # confirmed: saved anyway
    second = _new(store, who["comune-massa"], near, confirm_duplicates=True)
    reports.change_status(store, who["comune-massa"], first, "respinta", comment="Doppione di " + second)
    dups = reports.likely_duplicates(store, lat=lat, lon=lon, category="rifiuti_abbandonati", today=TODAY)
    assert dups["report_id"].tolist() == [second]


# --------------------------------------------------------------------------------------------
# Workflow
# --------------------------------------------------------------------------------------------

def test_full_workflow_with_comments_on_each_step(store, who, massa):
    officer, police, prefettura = who["comune-massa"], who["polizia"], who["prefettura"]
    rid = _new(store, officer, massa[0], category="spaccio_assembramenti", severity=3)
    reports.change_status(store, officer, rid, "presa_in_carico", comment="Verifica della Polizia locale")
    reports.change_status(store, police, rid, "in_agenda_cposp", comment="Da discutere al prossimo CPOSP")
    with pytest.raises(PermissionDenied):  # the CPOSP decides, not the Comune
        reports.change_status(store, officer, rid, "intervento_programmato")
    reports.change_status(store, prefettura, rid, "intervento_programmato", comment="Servizi congiunti nel weekend")
    after = reports.change_status(store, officer, rid, "risolta", comment="Area presidiata", today=TODAY)
    assert after["status"] == "risolta"
    assert after["closed"] == TODAY
    events = store.report_events([rid])
    assert events["to_status"].dropna().tolist() == ["nuova", "presa_in_carico", "in_agenda_cposp",
                                                     "intervento_programmato", "risolta"]
    assert events["text"].dropna().tolist() == ["Verifica della Polizia locale", "Da discutere al prossimo CPOSP",
                                                "Servizi congiunti nel weekend", "Area presidiata"]
    with pytest.raises(reports.ReportError, match="non può passare"):
        reports.change_status(store, prefettura, rid, "nuova")
    assert audit.verify_chain(store).ok


def test_rejection_needs_a_reason(store, who, massa):
    rid = _new(store, who["comune-massa"], massa[0])
    with pytest.raises(reports.ReportError, match="motivo è obbligatorio"):
        reports.change_status(store, who["comune-massa"], rid, "respinta", comment="  ")
    assert store.report_row(rid)["status"] == "nuova"
    reports.change_status(store, who["comune-massa"], rid, "respinta", comment="Area privata, non di competenza")
    row = store.report_row(rid)
    assert row["status"] == "respinta"
    assert row["closed"] is not None


def test_another_comune_can_neither_see_nor_change(store, who, massa):
    rid = _new(store, who["comune-massa"], massa[0])
    carrara = who["comune-carrara"]
    assert reports.actions_for(carrara, store.report_row(rid)) == reports.Actions(False, False, ())
    assert reports.actions_for(who["comune-massa"], store.report_row(rid)).transitions == (
        "presa_in_carico", "respinta")
    for call in (lambda: reports.change_status(store, carrara, rid, "presa_in_carico"),
                 lambda: reports.add_comment(store, carrara, rid, "intrusione"),
                 lambda: reports.edit_report(store, carrara, rid, description="cambiata"),
                 lambda: reports.get_report(store, carrara, rid),
                 lambda: reports.history(store, carrara, rid),
                 lambda: reports.photos(store, carrara, rid)):
        with pytest.raises(PermissionDenied):
            call()
    assert rid not in set(reports.visible_reports(store, carrara)["report_id"])
    assert store.report_row(rid)["description"].startswith("Sacchi")


def test_stale_transition_is_refused(store, who, massa, monkeypatch):
    rid = _new(store, who["comune-massa"], massa[0])
    real = store.update_report

    def racing(cur, report_id, fields, *, expected_status=None):  # someone else moved it meanwhile
        cur.execute("UPDATE reports SET status = 'respinta' WHERE report_id = ?", [report_id])
        return real(cur, report_id, fields, expected_status=expected_status)

    monkeypatch.setattr(store, "update_report", racing)
    with pytest.raises(reports.ReportError, match="modificata nel frattempo"):
        reports.change_status(store, who["comune-massa"], rid, "presa_in_carico")
    monkeypatch.undo()
    assert store.report_row(rid)["status"] == "nuova"  # rolled back, the intruding update too


def test_comments_and_edits(store, who, massa):
    officer = who["comune-massa"]
    rid = _new(store, officer, massa[0])
    reports.add_comment(store, officer, rid, SCRIPT)
    reports.add_comment(store, who["polizia"], rid, "Pattuglia passata alle 22")
    with pytest.raises(PermissionDenied):
        reports.add_comment(store, who["regione"], rid, "x")
    with pytest.raises(reports.ReportError, match="commento è obbligatorio"):
        reports.add_comment(store, officer, rid, "")
    edited = reports.edit_report(store, officer, rid, category="verde_incolto", severity=1,
                                 description="Erba alta nel giardino")
    assert (edited["category"], edited["severity"]) == ("verde_incolto", 1)
    with pytest.raises(PermissionDenied):
        reports.edit_report(store, who["polizia"], rid, severity=3)
    reports.change_status(store, officer, rid, "presa_in_carico")
    reports.change_status(store, officer, rid, "risolta")
    with pytest.raises(reports.ReportError, match="chiusa"):
        reports.edit_report(store, officer, rid, severity=3)
    kinds = store.report_events([rid])["kind"].tolist()
    assert kinds == ["creazione", "commento", "commento", "modifica", "transizione", "transizione"]
    table = reports.history_table(store.report_events([rid]))
    assert table["Nota"].tolist()[1] == SCRIPT
    assert table["Passaggio"].tolist()[-1] == "Presa in carico → Risolta"


# --------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------

def _jpeg_with_gps(size=(400, 300)) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored sideways: rotate 90° to show
    exif[ExifTags.Base.Make] = "Fotocamera dell'agente"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (44.0, 2.0, 7.5)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (10.0, 8.0, 20.0)
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "JPEG", exif=exif.tobytes(), comment=b"casa di Mario Rossi",
                                       xmp=b"<x:xmpmeta>via Roma 12</x:xmpmeta>")
    return out.getvalue()


def test_photo_metadata_is_stripped_and_orientation_kept():
    raw = _jpeg_with_gps()
    with Image.open(io.BytesIO(raw)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has a position
    photo = reports.clean_photo(raw, "C:\\Users\\agente\\IMG_0042.JPG")
    assert photo.mime == "image/jpeg"
    assert photo.file_name == "IMG_0042.jpg"
    with Image.open(io.BytesIO(photo.data)) as clean:
        assert clean.format == "JPEG"
        assert clean.size == (300, 400)
        assert len(clean.getexif()) == 0
        assert not clean.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(clean.info)
    assert b"Mario Rossi" not in photo.data
    assert b"via Roma" not in photo.data


def test_png_text_chunks_and_exif_are_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "44.03,10.14")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Telefono"
    out = io.BytesIO()
    Image.new("P", (60, 40), 3).save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    photo = reports.clean_photo(out.getvalue(), "mappa.png")
    assert photo.mime == "image/png"
    with Image.open(io.BytesIO(photo.data)) as clean:
        assert clean.format == "PNG"
        assert clean.info == {}
        assert len(clean.getexif()) == 0
    assert b"Location" not in photo.data


def test_photo_is_scaled_down():
    out = io.BytesIO()
    Image.new("RGB", (5000, 2500), "blue").save(out, "JPEG", quality=30)
    photo = reports.clean_photo(out.getvalue(), "grande.jpg")
    assert (photo.width, photo.height) == (reports.PHOTO_MAX_SIDE, reports.PHOTO_MAX_SIDE // 2)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "vuota"),
    (b"%PDF-1.4 not an image", "JPEG o PNG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "JPEG o PNG"),
])
def test_bad_photos_are_refused(data, message):
    with pytest.raises(reports.ReportError, match=message):
        reports.clean_photo(data, "x.jpg")


def test_gif_size_and_bomb_limits(monkeypatch):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(reports.ReportError, match="non è una foto JPEG o PNG"):
        reports.clean_photo(out.getvalue(), "animazione.jpg")  # the name lies, the content decides
    with pytest.raises(reports.ReportError, match="troppo grande"):
        reports.clean_photo(b"\xff" * (reports.MAX_PHOTO_BYTES + 1), "enorme.jpg")
    monkeypatch.setattr(reports, "MAX_PHOTO_PIXELS", 10_000)
    out = io.BytesIO()
    Image.new("L", (200, 200)).save(out, "PNG")
    with pytest.raises(reports.ReportError, match="troppi pixel"):
        reports.clean_photo(out.getvalue(), "bomba.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
        monkeypatch.setattr(reports, "MAX_PHOTO_PIXELS", 10**9)
        with pytest.raises(reports.ReportError, match="leggibile"):
            reports.clean_photo(out.getvalue(), "bomba.png")


def test_photos_are_stored_with_the_report_and_limited(store, who, massa):
    officer = who["comune-massa"]
    rid = _new(store, officer, massa[0], photos=[("a.jpg", _jpeg_with_gps()), ("b.jpg", _jpeg_with_gps((80, 60)))])
    saved = reports.photos(store, officer, rid)
    assert [p["file_name"] for p in saved] == ["a.jpg", "b.jpg"]
    with Image.open(io.BytesIO(saved[0]["data"])) as img:
        assert len(img.getexif()) == 0
    meta = store.report_photos(rid)
    assert meta["username"].tolist() == ["comune-massa"] * 2
    assert (meta["size_bytes"] > 0).all()
    entry = json.loads(store.audit_frame(action="creazione").iloc[-1]["after_json"])
    assert [p["file_name"] for p in entry["foto"]] == ["a.jpg", "b.jpg"]
    assert all(len(p["sha256"]) == 64 and "data" not in p for p in entry["foto"])  # metadata only, no bytes
    reports.add_photos(store, officer, rid, [("c.jpg", _jpeg_with_gps())] * 3)
    with pytest.raises(reports.ReportError, match="Al massimo"):
        reports.add_photos(store, officer, rid, [("d.jpg", _jpeg_with_gps())])
    with pytest.raises(PermissionDenied):
        reports.add_photos(store, who["comune-carrara"], rid, [("e.jpg", _jpeg_with_gps())])
    with pytest.raises(reports.ReportError, match="Al massimo"):
        _new(store, officer, massa[1], photos=[("x.jpg", _jpeg_with_gps())] * (reports.MAX_PHOTOS + 1))
    assert len(store.report_photos(rid)) == 5


# --------------------------------------------------------------------------------------------
# Views, agenda, exports
# --------------------------------------------------------------------------------------------

def test_who_sees_which_reports(store, who, massa):
    _new(store, who["comune-massa"], massa[0])
    _new(store, who["comune-carrara"], points_in(store, CARRARA, 1)[0])
    assert set(reports.visible_reports(store, who["comune-massa"])["pro_com_t"]) == {MASSA}
    assert set(reports.visible_reports(store, who["comune-carrara"])["pro_com_t"]) == {CARRARA}
    assert set(reports.visible_reports(store, who["polizia"])["pro_com_t"]) == {MASSA, CARRARA}
    assert reports.visible_reports(store, who["comune-massa"], comuni=[CARRARA]).empty
    for name in ("regione", "osservatore"):
        with pytest.raises(PermissionDenied):
            reports.visible_reports(store, who[name])
    assert reports.readable_comuni(who["comune-massa"]) == {MASSA}
    assert reports.readable_comuni(who["polizia"]) is None
    assert reports.readable_comuni(who["osservatore"]) == frozenset()


def test_agenda_and_its_exports(store, who, massa):
    officer, prefettura = who["comune-massa"], who["prefettura"]
    a = _new(store, officer, massa[0], category="bivacco_marginalita", severity=2, description=f"{SCRIPT} {FORMULA}")
    b = _new(store, officer, massa[1], category="spaccio_assembramenti", severity=3)
    c = _new(store, officer, massa[2], category="altro", severity=3)
    for rid in (a, b, c):
        reports.change_status(store, officer, rid, "presa_in_carico")
    reports.change_status(store, officer, a, "in_agenda_cposp", comment=FORMULA)
    reports.change_status(store, officer, b, "in_agenda_cposp")
    reports.change_status(store, officer, c, "in_agenda_cposp")
    reports.change_status(store, prefettura, c, "intervento_programmato", comment="Sgombero programmato")
    table = reports.agenda(store, prefettura, today=TODAY + timedelta(days=10))
    assert table["Codice"].tolist() == [b, a, c]  # to discuss first, severity, then age
    assert table["Giorni"].tolist() == [10, 10, 10]
    assert table["Ultima nota"].tolist() == ["", FORMULA, "Sgombero programmato"]
    assert table["All'ordine del giorno dal"].notna().all()
    assert reports.agenda(store, who["comune-carrara"]).empty
    with pytest.raises(PermissionDenied):
        reports.agenda(store, who["regione"])
    data = reports.agenda_csv(store, prefettura)
    frame = pd.read_csv(io.BytesIO(data), sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert frame.loc[frame["Codice"] == a, "Ultima nota"].item() == "'" + FORMULA
    assert frame.loc[frame["Codice"] == a, "Descrizione"].item() == f"{SCRIPT} {FORMULA}"  # text, not a formula
    page = reports.agenda_html(store, prefettura, territory="Provincia di <b>Massa</b>", today=TODAY)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Provincia di &lt;b&gt;Massa&lt;/b&gt;" in page
    assert page.count("<tr>") == 4
    assert set(store.audit_frame(action="esportazione")["record_key"]) == {"agenda_cposp.csv", "agenda_cposp.html"}
    with pytest.raises(PermissionDenied):
        reports.agenda_csv(store, who["osservatore"])


def test_html_and_scripts_are_text_on_maps_tables_and_csv(store, who, massa):
    rid = _new(store, who["comune-massa"], massa[0], description=SCRIPT)
    frame = reports.visible_reports(store, who["comune-massa"])
    assert reports.table(frame).loc[frame["report_id"] == rid, "Descrizione"].item() == SCRIPT  # st.dataframe: text
    data = json.dumps(maps.point_features("reports", frame, role="comune"))
    assert "<script>" not in data
    assert "&lt;script&gt;" in data
    assert "onerror=" not in data.replace("onerror=alert", "")
    hidden = maps.point_features("reports", frame, role="osservatore", report_text_comuni=frozenset())
    assert all(f["properties"]["v"][3] == "" for f in hidden["features"])  # no free text for observers
    m = reports.reports_map(frame, store.comuni_geometries().head(1), tiles="none")
    m.add_child(reports.draft_layer(lat=massa[1][0], lon=massa[1][1], selected=store.report_row(rid)))
    page = m.get_root().render()
    assert "<script>alert('x')</script>" not in page
    assert "<img src=x onerror" not in page
    assert reports.SELECTED_CLASS in page
    assert f"title=\\u0027{rid}\\u0027" in page
    csv = pd.read_csv(io.BytesIO(reports.reports_csv(frame.assign(description=FORMULA))), sep=";", dtype=str,
                      encoding="utf-8-sig", keep_default_na=False)
    assert (csv["Descrizione"] == "'" + FORMULA).all()
    assert isinstance(m, folium.Map)


# --------------------------------------------------------------------------------------------
# Bulk import
# --------------------------------------------------------------------------------------------

def test_municipium_import(store, who, mc_territory, import_data):
    path = import_data / "segnalazioni_municipium.csv"
    with pytest.raises(PermissionDenied):
        reports.import_municipium(store, mc_territory, who["comune-carrara"], path, pro_com_t=MASSA)
    with pytest.raises(PermissionDenied):
        reports.import_municipium(store, mc_territory, who["regione"], path, pro_com_t=MASSA)
    result = reports.import_municipium(store, mc_territory, who["comune-massa"], path, pro_com_t=MASSA)
    assert result.rows_written == 6
    assert result.rows_rejected == 0
    assert any("fuori ambito" in m and "Buche 1" in m and "Tombini 1" in m for m in result.messages)
    rows = store.reports_frame(report_ids=[f"MUN-{MASSA}-{i}" for i in range(700101, 700109)]).set_index("report_id")
    assert len(rows) == 6
    status = rows["status"].to_dict()
    assert status[f"MUN-{MASSA}-700101"] == "nuova"
    assert status[f"MUN-{MASSA}-700102"] == "risolta"
    assert status[f"MUN-{MASSA}-700103"] == "presa_in_carico"
    assert status[f"MUN-{MASSA}-700105"] == "respinta"
    assert rows.loc[f"MUN-{MASSA}-700106", "category"] == "verde_incolto"
    assert rows.loc[f"MUN-{MASSA}-700108", "source"] == "Municipium (<script>alert(1)</script>)"
    assert pd.Timestamp(rows.loc[f"MUN-{MASSA}-700102", "closed"]).date() == date(2025, 3, 11)
    entry = store.audit_frame(action="importazione").iloc[-1]
    assert entry["username"] == "comune-massa"
    assert entry["pro_com_t"] == MASSA
    # the same file again: nothing new
    again = reports.import_municipium(store, mc_territory, who["comune-massa"], path, pro_com_t=MASSA)
    assert again.already_imported


def test_municipium_rows_outside_the_comune_keep_their_row_numbers(store, who, mc_territory, import_data, tmp_path):
    text = (import_data / "segnalazioni_municipium.csv").read_text(encoding="utf-8").splitlines()
    c_lat, c_lon = points_in(store, CARRARA, 1)[0]
    text[6] = f"700106;aperta;2025;2025-03-20;;App Municipium;Verde pubblico;{c_lat};{c_lon}"  # line 7: Carrara
    path = tmp_path / "misto.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    before = store.count("reports")
    with pytest.raises(ImportFailed) as exc:
        reports.import_municipium(store, mc_territory, who["prefettura"], path, pro_com_t=MASSA)
    assert exc.value.report["riga"].tolist() == [7]
    assert store.count("reports") == before
    result = reports.import_municipium(store, mc_territory, who["prefettura"], path, pro_com_t=MASSA, partial=True,
                                       rejects_path=tmp_path / "scarti.csv")
    assert result.rows_written == 5
    assert result.rows_rejected == 1
    assert (tmp_path / "scarti.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith("7;700106")


def test_municipium_needs_its_columns(store, who, mc_territory, tmp_path):
    path = tmp_path / "altro.csv"
    path.write_text("Numero;Quando\n1;2025-01-01\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="forma di un'esportazione Municipium"):
        reports.import_municipium(store, mc_territory, who["comune-massa"], path, pro_com_t=MASSA)


def test_generic_import_is_checked_per_role_and_comune(store, who, mc_territory, tmp_path):
    m_lat, m_lon = points_in(store, MASSA, 1)[0]
    c_lat, c_lon = points_in(store, CARRARA, 1)[0]
    path = tmp_path / "segnalazioni.csv"
    path.write_text("codice;categoria;data;lat;lon\n"
                    f"A1;rifiuti;2025-05-01;{m_lat};{m_lon}\n"
                    f"A2;graffiti;2025-05-02;{c_lat};{c_lon}\n", encoding="utf-8")
    with pytest.raises(PermissionDenied):
        import_file(store, mc_territory, "reports", path, actor=who["osservatore"])
    with pytest.raises(PermissionDenied):
        import_file(store, mc_territory, "incidents", path, actor=who["comune-massa"])
    with pytest.raises(ImportFailed) as exc:
        import_file(store, mc_territory, "reports", path, actor=who["comune-massa"])
    assert exc.value.report["riga"].tolist() == [3]
    assert "non di competenza" in exc.value.report["motivo"].iloc[0]
    result = import_file(store, mc_territory, "reports", path, actor=who["comune-massa"], partial=True)
    assert result.rows_written == 1
    assert store.report_row("A1") is not None
    assert store.report_row("A2") is None
    # the command line (no actor) may import everything (a new file: the same content is skipped)
    path.write_text(path.read_text(encoding="utf-8").replace("codice;", "Codice;"), encoding="utf-8")
    result = import_file(store, mc_territory, "reports", path)
    assert result.rows_written == 2
    entry = store.audit_frame(action="importazione").iloc[-1]
    assert entry["username"] == "sistema"
    assert json.loads(entry["before_json"])["righe_sostituite"] == 1
    assert store.table("imports")["user_name"].tolist()[-2:] == ["comune-massa", "sistema"]


def test_aulla_officer_created_through_the_system_account(store):
    officer = auth.add_user(store, SYSTEM, username="vigile.aulla", password=None, role="comune", comuni=[AULLA])
    rid = _new(store, officer, points_in(store, AULLA, 1, step=5)[0])
    assert rid.startswith(f"SEG-{AULLA}-")
    assert User("x", "comune", (MASSA,)) != officer
