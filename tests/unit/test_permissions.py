"""The role x action matrix (geo.access.permissions): scopes, the Comune's own territory, messages."""

from __future__ import annotations

import pytest

from geo.access import permissions as perm
from geo.access.privacy import CLEARED_ROLES, ROLES
from geo.data.schemas import LAYERS, REPORT_STATUS

MASSA, CARRARA = "045010", "045003"
USERS = {
    "prefettura": perm.User("p", "prefettura"),
    "forze_polizia": perm.User("q", "forze_polizia"),
    "regione": perm.User("r", "regione"),
    "comune": perm.User("m", "comune", comuni=(MASSA,)),
    "osservatore": perm.User("o", "osservatore"),
}


def test_every_action_has_an_italian_description_and_only_known_roles():
    assert set(perm.MATRIX) == set(perm.ACTIONS)
    for action, scopes in perm.MATRIX.items():
        assert perm.ACTIONS[action]
        assert set(scopes) <= set(ROLES), action
        assert set(scopes.values()) <= {perm.ALL, perm.OWN}, action


def test_exact_counts_follow_the_privacy_module():
    cleared = {role for role in ROLES if perm.allows(USERS[role], "view_exact_counts")}
    assert cleared == set(CLEARED_ROLES) == {"prefettura", "forze_polizia"}


def test_prefettura_may_do_everything_and_observer_only_read():
    for action in perm.MATRIX:
        assert perm.allows(USERS["prefettura"], action, pro_com_t=CARRARA), action
    reads = {"view_map", "view_trends", "view_zones", "view_schools", "view_services", "view_data", "view_dossier"}
    assert {a for a in perm.MATRIX if perm.allows(USERS["osservatore"], a)} == reads


def test_comune_only_in_its_own_territory():
    comune = USERS["comune"]
    assert perm.allows(comune, "create_report", pro_com_t=MASSA)
    assert perm.allows(comune, "create_report", pro_com_t="45010")  # codes are normalised
    assert not perm.allows(comune, "create_report", pro_com_t=CARRARA)
    assert not perm.allows(comune, "create_report", pro_com_t=[MASSA, CARRARA])
    assert perm.allows(comune, "create_report")  # "somewhere in its comuni": pages and listings
    assert not perm.allows(perm.User("x", "comune"), "create_report")  # a Comune without codes: nowhere
    with pytest.raises(perm.PermissionDenied, match="solo nel territorio dei propri comuni"):
        perm.require(comune, "create_report", pro_com_t=CARRARA, comune_name="Comune di Carrara")
    assert not perm.allows(comune, "view_audit")
    assert not perm.allows(comune, "manage_users")
    assert not perm.allows(comune, "view_exact_counts")


def test_report_workflow_transitions_by_role():
    comune, police = USERS["comune"], USERS["forze_polizia"]
    assert perm.allowed_transitions(comune, "nuova", pro_com_t=MASSA) == ["presa_in_carico", "respinta"]
    assert perm.allowed_transitions(comune, "nuova", pro_com_t=CARRARA) == []
    assert perm.allowed_transitions(police, "presa_in_carico", pro_com_t=CARRARA) == ["in_agenda_cposp"]
    # the CPOSP decides: only the Prefettura moves agenda items on
    assert perm.allowed_transitions(comune, "in_agenda_cposp", pro_com_t=MASSA) == []
    assert perm.allowed_transitions(USERS["prefettura"], "in_agenda_cposp", pro_com_t=MASSA) == [
        "intervento_programmato", "presa_in_carico", "respinta"]
    for closed in ("risolta", "respinta"):
        assert perm.allowed_transitions(USERS["prefettura"], closed, pro_com_t=MASSA) == []
    for a, b in perm.TRANSITIONS:
        assert a in REPORT_STATUS
        assert b in REPORT_STATUS
    assert not perm.allows(USERS["prefettura"], perm.transition_action("risolta", "nuova"))


def test_imports_by_layer():
    assert set(perm.IMPORT_SCOPES) == set(LAYERS)
    assert perm.importable_layers(USERS["forze_polizia"]) == ["incidents", "cameras"]
    assert perm.importable_layers(USERS["comune"]) == ["lighting", "reports", "services", "cameras"]
    assert perm.importable_layers(USERS["osservatore"]) == []
    assert perm.importable_layers(USERS["regione"]) == []


def test_police_camera_positions_only_for_cleared_roles():
    assert perm.allows(USERS["prefettura"], "view_police_cameras")
    assert perm.allows(USERS["forze_polizia"], "view_police_cameras")
    for role in ("comune", "regione", "osservatore"):
        assert not perm.allows(USERS[role], "view_police_cameras")
    assert perm.allows(USERS["comune"], "view_cameras", pro_com_t=MASSA)
    assert not perm.allows(USERS["osservatore"], "view_cameras")


def test_nobody_disabled_or_unknown():
    assert not perm.allows(None, "view_map")
    with pytest.raises(perm.PermissionDenied, match="login"):
        perm.require(None, "view_map")
    disabled = perm.User("x", "prefettura", active=False)
    assert not perm.allows(disabled, "view_map")
    with pytest.raises(perm.PermissionDenied, match="disattivato"):
        perm.require(disabled, "view_map")
    assert not perm.allows(perm.User("x", "amministratore"), "view_map")  # unknown role: nothing
    with pytest.raises(ValueError, match="azione sconosciuta"):
        perm.allows(USERS["prefettura"], "cancella_tutto")


def test_system_is_only_the_command_line_operator():
    assert perm.allows(perm.SYSTEM, "manage_users")
    assert perm.allows(perm.SYSTEM, "view_audit")
    impostor = perm.User("mario", perm.SYSTEM_ROLE)
    assert not perm.allows(impostor, "view_map")


def test_pages_per_role():
    assert perm.allowed_pages(USERS["osservatore"]) == ["mappa", "andamento", "zone_pilota", "scuole_sicure",
                                                        "servizi", "dossier", "dati"]
    assert "registro" in perm.allowed_pages(USERS["prefettura"])
    assert "registro" not in perm.allowed_pages(USERS["forze_polizia"])
    assert "illuminazione" in perm.allowed_pages(USERS["regione"])
    assert "segnalazioni" not in perm.allowed_pages(USERS["regione"])
    assert {"segnalazioni", "agenda"} <= set(perm.allowed_pages(USERS["comune"]))
    assert perm.allowed_pages(None) == []


def test_matrix_table_for_the_cli():
    rows = perm.matrix_table()
    assert len(rows) == len(perm.MATRIX)
    audit_row = next(r for r in rows if r["azione"] == "view_audit")
    assert audit_row["prefettura"] == perm.ALL
    assert audit_row["comune"] == ""
