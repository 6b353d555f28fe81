"""The role x page x action matrix: for every role, which pages are in the navigation (and that
the others cannot be reached), and for every action what ``geo`` allows — nothing visible or
doable beyond the role. The expectations are written out here, independently of
``geo.access.permissions``: changing the matrix means changing this specification too."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from geo.access import audit, auth
from geo.access import permissions as perm
from geo.data.io import ImportFailed
from geo.data.schemas import LAYERS
from geo.data.storage import open_store
from geo.data.territory import load_territory
from geo.ingest.importers import import_file
from geo.reports import workflow as reports
from geo.services import homeless
from pages.common import NAV_KEY
from tests.app.conftest import DASHBOARD, login_as

ROLES = ("prefettura", "forze_polizia", "regione", "comune", "osservatore")
MASSA, CARRARA = "045010", "045003"
MASSA_POINT = (44.035474, 10.139555)

#: Pages in the navigation of each role, in order.
PAGES = {
    "prefettura": ["mappa", "andamento", "scuole_sicure", "servizi", "zone_pilota", "illuminazione",
                   "videosorveglianza", "interventi", "dossier", "segnalazioni", "agenda", "dati", "registro"],
    "forze_polizia": ["mappa", "andamento", "scuole_sicure", "servizi", "zone_pilota", "illuminazione",
                      "videosorveglianza", "interventi", "dossier", "segnalazioni", "agenda", "dati"],
    "regione": ["mappa", "andamento", "scuole_sicure", "servizi", "zone_pilota", "illuminazione",
                "videosorveglianza", "interventi", "dossier", "dati"],
    "comune": ["mappa", "andamento", "scuole_sicure", "servizi", "zone_pilota", "videosorveglianza", "interventi",
               "dossier", "segnalazioni", "agenda", "dati"],
    "osservatore": ["mappa", "andamento", "scuole_sicure", "servizi", "zone_pilota", "dossier", "dati"],
}
ALL_PAGES = sorted({p for pages in PAGES.values() for p in pages})

#: Who may do each action: role -> "tutti" (anywhere), "propri" (own comuni); absent: nobody.
P, F, R, C = ROLES[:4]  # prefettura, forze_polizia, regione, comune (osservatore: reads only)
EVERYWHERE = dict.fromkeys(ROLES, "tutti")
EXPECTED: dict[str, dict[str, str]] = {
    "view_map": EVERYWHERE, "view_trends": EVERYWHERE, "view_zones": EVERYWHERE, "view_schools": EVERYWHERE,
    "view_services": EVERYWHERE, "view_data": EVERYWHERE,
    "view_exact_counts": {P: "tutti", F: "tutti"},
    "view_private_services": {P: "tutti", F: "tutti", C: "propri"},
    "plan_lighting": {P: "tutti", F: "tutti", R: "tutti"},
    "view_reports": {P: "tutti", F: "tutti", C: "propri"},
    "create_report": {P: "tutti", C: "propri"},
    "edit_report": {P: "tutti", C: "propri"},
    "comment_report": {P: "tutti", F: "tutti", C: "propri"},
    "view_interventions": {P: "tutti", F: "tutti", R: "tutti", C: "propri"},
    "manage_interventions": {P: "tutti", C: "propri"},
    "view_agenda": {P: "tutti", F: "tutti", C: "propri"},
    "export_agenda": {P: "tutti", F: "tutti", C: "propri"},
    "view_audit": {P: "tutti"},
    "export_audit": {P: "tutti"},
    "manage_users": {P: "tutti"},
    "manage_services": {P: "tutti", C: "propri"},
    "transition_report:nuova→presa_in_carico": {P: "tutti", C: "propri"},
    "transition_report:nuova→respinta": {P: "tutti", C: "propri"},
    "transition_report:presa_in_carico→in_agenda_cposp": {P: "tutti", F: "tutti", C: "propri"},
    "transition_report:presa_in_carico→intervento_programmato": {P: "tutti", C: "propri"},
    "transition_report:presa_in_carico→risolta": {P: "tutti", C: "propri"},
    "transition_report:presa_in_carico→respinta": {P: "tutti", C: "propri"},
    "transition_report:in_agenda_cposp→intervento_programmato": {P: "tutti"},
    "transition_report:in_agenda_cposp→presa_in_carico": {P: "tutti"},
    "transition_report:in_agenda_cposp→respinta": {P: "tutti"},
    "transition_report:intervento_programmato→risolta": {P: "tutti", C: "propri"},
    "import_layer:incidents": {P: "tutti", F: "tutti"},
    "import_layer:lighting": {P: "tutti", C: "propri"},
    "import_layer:reports": {P: "tutti", C: "propri"},
    "import_layer:schools": {P: "tutti"},
    "import_layer:services": {P: "tutti", C: "propri"},
    "import_layer:roads": {P: "tutti"},
    "import_layer:cameras": {P: "tutti", F: "tutti", C: "propri"},
    "view_cameras": {P: "tutti", F: "tutti", R: "tutti", C: "propri"},
    "view_police_cameras": {P: "tutti", F: "tutti"},
    "view_dossier": EVERYWHERE,
}


def _user(role: str) -> perm.User:
    return perm.User(f"u-{role}", role, comuni=(MASSA,) if role == "comune" else ())


def test_the_matrix_is_exactly_the_specification():
    assert set(perm.MATRIX) == set(EXPECTED)
    for action, scopes in EXPECTED.items():
        assert perm.MATRIX[action] == scopes, action


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_require_outcome_for_every_role_and_action(role, action):
    user = _user(role)
    scope = EXPECTED[action].get(role)
    for where, allowed in ((MASSA, scope is not None), (CARRARA, scope == "tutti"), (None, scope is not None)):
        assert perm.allows(user, action, pro_com_t=where) is allowed, (role, action, where)
        if allowed:
            perm.require(user, action, pro_com_t=where)
        else:
            with pytest.raises(perm.PermissionDenied):
                perm.require(user, action, pro_com_t=where)


@pytest.mark.usefixtures("demo_db")
@pytest.mark.parametrize("role", ROLES)
def test_navigation_per_role_and_nothing_beyond(role):
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    login_as(at, role)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[NAV_KEY] == PAGES[role]
    assert at.title[0].value == "Mappa integrata"  # everybody lands on the map
    for page in ALL_PAGES:
        if page in PAGES[role]:
            continue
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{page}.py")


@pytest.mark.usefixtures("demo_db")
@pytest.mark.parametrize("role", ROLES)
def test_data_page_offers_uploads_only_to_importers(role):
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    login_as(at, role)
    at.run()
    at.switch_page("pages/dati.py").run()
    assert not at.exception
    importable = [layer for layer, scopes in perm.IMPORT_SCOPES.items() if role in scopes]
    if importable:
        assert at.selectbox(key="imp_layer").options == [LAYERS[k].label for k in importable]
    else:
        assert not [w for w in at.selectbox if w.key == "imp_layer"]
        assert any("non importa file" in i.value for i in at.info)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "JPEG")
    return out.getvalue()


def test_every_write_in_geo_checks_the_role(writable_db, import_data):
    """Each write function, called directly (no page, no button), as every role."""
    store = open_store(writable_db)
    territory = load_territory("massa-carrara")
    users = {role: auth.get_user(store, name) for role, name in
             (("prefettura", "prefettura"), ("forze_polizia", "polizia"), ("regione", "regione"),
              ("comune", "comune-massa"), ("osservatore", "osservatore"))}
    prefettura = users["prefettura"]
    service = {"name": "Mensa", "operator": "Caritas", "types": ["mensa"], "hours": "Mo-Fr 12:00-13:30",
               "open_24h": False, "capacity": 30, "public": True, "lat": MASSA_POINT[0], "lon": MASSA_POINT[1]}

    def fresh_report(status: str = "nuova") -> str:
        rid = reports.create_report(store, prefettura, lat=MASSA_POINT[0], lon=MASSA_POINT[1], category="altro",
                                    severity=1, description="Controllo", confirm_duplicates=True)
        path = {"presa_in_carico": ["presa_in_carico"], "in_agenda_cposp": ["presa_in_carico", "in_agenda_cposp"]}
        for step in path.get(status, []):
            reports.change_status(store, prefettura, rid, step)
        return rid

    writes = {
        "create_report": lambda u: reports.create_report(store, u, lat=MASSA_POINT[0], lon=MASSA_POINT[1],
                                                         category="altro", severity=1, description="x",
                                                         confirm_duplicates=True),
        "edit_report": lambda u: reports.edit_report(store, u, fresh_report(), severity=3),
        "edit_report (foto)": lambda u: reports.add_photos(store, u, fresh_report(), [("f.jpg", _jpeg())]),
        "comment_report": lambda u: reports.add_comment(store, u, fresh_report(), "nota"),
        "transition_report:nuova→presa_in_carico": lambda u: reports.change_status(store, u, fresh_report(),
                                                                                   "presa_in_carico"),
        "transition_report:presa_in_carico→in_agenda_cposp": lambda u: reports.change_status(
            store, u, fresh_report("presa_in_carico"), "in_agenda_cposp"),
        "transition_report:in_agenda_cposp→intervento_programmato": lambda u: reports.change_status(
            store, u, fresh_report("in_agenda_cposp"), "intervento_programmato"),
        "view_agenda": lambda u: reports.agenda(store, u),
        "export_agenda": lambda u: reports.agenda_csv(store, u),
        "view_audit": lambda u: audit.entries(store, u),
        "export_audit": lambda u: audit.export_csv(store, u),
        "manage_users": lambda u: auth.set_details(store, u, "osservatore", display_name="Osservatore"),
        "import_layer:reports": lambda u: import_file(store, territory, "reports",
                                                      import_data / "segnalazioni.geojson", actor=u, partial=True),
        "import_layer:incidents": lambda u: import_file(store, territory, "incidents",
                                                        import_data / "delitti_eventi.csv", actor=u, partial=True),
    }
    for action, write in writes.items():
        base = action.split(" ")[0]
        for role, user in users.items():
            allowed = role in EXPECTED[base]
            if allowed:
                try:
                    write(user)
                except ImportFailed:  # the fixture file itself may have rows outside a Comune: not a refusal
                    assert role == "comune"
            else:
                before = store.audit_count()
                with pytest.raises(perm.PermissionDenied):
                    write(user)
                assert store.audit_count() <= before + 3, (action, role)  # only the setup's own writes
    for role, user in users.items():
        if role in EXPECTED["manage_services"]:
            homeless.add_service(store, service, role=user.role, user_comuni=user.comuni, user_name=user.username)
        else:
            with pytest.raises(homeless.ServicePermissionError):
                homeless.add_service(store, service, role=user.role, user_comuni=user.comuni,
                                     user_name=user.username)
    assert audit.verify_chain(store).ok
