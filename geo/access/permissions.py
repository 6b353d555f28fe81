"""Who may do what: the single role x action matrix of Lanterna, checked by every write in ``geo``.

Pages hide what a role cannot use, but hiding a button protects nothing: every function of
``geo`` that changes the database calls :func:`require` with the acting :class:`User` before it
writes, and every listing filters by :func:`allows`. The dashboard's navigation is built from
:data:`PAGE_ACTIONS` with the same matrix.

Scopes
------
Each entry of :data:`MATRIX` gives a role a scope on an action:

* ``ALL`` ("tutti"): anywhere in the territory;
* ``OWN`` ("propri"): only for the comuni (ISTAT ``PRO_COM_T`` codes) the user is bound to. A
  check with ``pro_com_t=None`` asks "somewhere in its own comuni" (a page or a listing, which
  then filters); writes always pass the comune of the row they touch.

Roles (pact articles in brackets): **prefettura** chairs the CPOSP and may do everything;
**forze_polizia** see everything, exact incident counts included, and take part in the CPOSP
agenda (art. 3); **regione** sees every map with protected incident counts and plans lighting (art. 5);
**comune** manages the reports, the lighting inventory and the homeless-service census of its own
territory (artt. 4, 8, 14); **osservatore** only reads, with protected incident counts.

The command line acts as :data:`SYSTEM`, the operator who owns the database file (and could edit
it directly anyway): it passes every check, is recorded as such in the audit log, and cannot be
assigned to a dashboard account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from geo.access.privacy import ROLES
from geo.data.schemas import REPORT_STATUS

ALL: Final = "tutti"
OWN: Final = "propri"
#: Role of the command-line operator (never a dashboard account).
SYSTEM_ROLE: Final = "sistema"

PREFETTURA, POLIZIA, REGIONE, COMUNE, OSSERVATORE = "prefettura", "forze_polizia", "regione", "comune", "osservatore"
EVERYONE = (PREFETTURA, POLIZIA, REGIONE, COMUNE, OSSERVATORE)


@dataclass(frozen=True)
class User:
    """The subject of a permission check.

    Attributes
    ----------
    username
        Login name (lower case).
    role
        One of :data:`geo.access.privacy.ROLES` (or :data:`SYSTEM_ROLE` for :data:`SYSTEM`).
    comuni
        ISTAT codes (``PRO_COM_T``, 6 characters) the user is bound to; only role ``comune``
        has any.
    display_name
        Name shown in the interface and in the audit log.
    email
        Address used to match an OpenID Connect identity (optional).
    active
        Disabled users pass no check.
    """

    username: str
    role: str
    comuni: tuple[str, ...] = ()
    display_name: str = ""
    email: str | None = None
    active: bool = True
    extra: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """``"Nome (Ruolo)"`` for the interface."""
        return f"{self.display_name or self.username} ({role_label(self.role)})"


#: The command-line operator (see the module notes).
SYSTEM: Final = User(username="sistema", role=SYSTEM_ROLE, display_name="Operatore (riga di comando)")


class PermissionDenied(Exception):  # noqa: N818 - the name says what happened, like Django's
    """An action the user's role does not allow; ``str(exc)`` is an Italian sentence."""

    def __init__(self, message: str, *, action: str = "", role: str | None = None) -> None:
        super().__init__(message)
        self.action = action
        self.role = role


def role_label(role: str | None) -> str:
    """Italian label of a role (the code itself when unknown)."""
    if role == SYSTEM_ROLE:
        return "Sistema"
    return ROLES.get(role or "", role or "nessuno")


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------

#: Report workflow: the allowed transitions (pact art. 4) and which roles may make each.
#: ``in_agenda_cposp`` items are decided by the CPOSP, whose decisions the Prefettura records.
TRANSITIONS: dict[tuple[str, str], dict[str, str]] = {
    ("nuova", "presa_in_carico"): {PREFETTURA: ALL, COMUNE: OWN},
    ("nuova", "respinta"): {PREFETTURA: ALL, COMUNE: OWN},
    ("presa_in_carico", "in_agenda_cposp"): {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
    ("presa_in_carico", "intervento_programmato"): {PREFETTURA: ALL, COMUNE: OWN},
    ("presa_in_carico", "risolta"): {PREFETTURA: ALL, COMUNE: OWN},
    ("presa_in_carico", "respinta"): {PREFETTURA: ALL, COMUNE: OWN},
    ("in_agenda_cposp", "intervento_programmato"): {PREFETTURA: ALL},
    ("in_agenda_cposp", "presa_in_carico"): {PREFETTURA: ALL},
    ("in_agenda_cposp", "respinta"): {PREFETTURA: ALL},
    ("intervento_programmato", "risolta"): {PREFETTURA: ALL, COMUNE: OWN},
}
#: Statuses whose transition needs a written reason.
REASON_REQUIRED = frozenset({"respinta"})

#: Layers a role may import (``import_layer:<layer>``).
IMPORT_SCOPES: dict[str, dict[str, str]] = {
    "incidents": {PREFETTURA: ALL, POLIZIA: ALL},
    "lighting": {PREFETTURA: ALL, COMUNE: OWN},
    "reports": {PREFETTURA: ALL, COMUNE: OWN},
    "schools": {PREFETTURA: ALL},
    "services": {PREFETTURA: ALL, COMUNE: OWN},
    "roads": {PREFETTURA: ALL},
    "cameras": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
}


def transition_action(from_status: str, to_status: str) -> str:
    """Name of the action that moves a report from ``from_status`` to ``to_status``."""
    return f"transition_report:{from_status}→{to_status}"


def import_action(layer: str) -> str:
    """Name of the action that imports a file into ``layer`` (a key of :data:`geo.data.schemas.LAYERS`)."""
    return f"import_layer:{layer}"


def _everyone() -> dict[str, str]:
    return dict.fromkeys(EVERYONE, ALL)


#: Italian description of every action (used in messages: "non può <descrizione>").
ACTIONS: dict[str, str] = {
    "view_map": "vedere la mappa integrata",
    "view_trends": "vedere l'andamento dei delitti",
    "view_zones": "vedere le zone pilota",
    "view_schools": "vedere l'esposizione delle scuole",
    "view_services": "vedere il censimento dei servizi per persone senza dimora",
    "view_data": "vedere i dati e le fonti",
    "view_exact_counts": "vedere i conteggi esatti dei delitti (anche inferiori alla soglia)",
    "view_private_services": "vedere dove si trovano i servizi di accoglienza non pubblici",
    "plan_lighting": "pianificare gli interventi di illuminazione",
    "view_reports": "vedere le segnalazioni",
    "create_report": "creare segnalazioni",
    "edit_report": "modificare segnalazioni o aggiungere foto",
    "comment_report": "commentare segnalazioni",
    "view_interventions": "vedere gli interventi e la loro valutazione",
    "manage_interventions": "registrare e aggiornare interventi",
    "view_agenda": "vedere l'ordine del giorno del CPOSP",
    "export_agenda": "esportare l'ordine del giorno del CPOSP",
    "view_audit": "consultare il registro delle modifiche",
    "export_audit": "esportare il registro delle modifiche",
    "manage_users": "gestire gli utenti",
    "manage_services": "aggiornare il censimento dei servizi per persone senza dimora",
    "view_cameras": "vedere la videosorveglianza (copertura e piano delle nuove telecamere)",
    "view_police_cameras": "vedere la posizione esatta delle telecamere delle forze di polizia",
    "view_dossier": "preparare il dossier per la riunione del CPOSP",
}
for (_a, _b) in TRANSITIONS:
    ACTIONS[transition_action(_a, _b)] = (f"portare una segnalazione da «{REPORT_STATUS[_a]}» "
                                          f"a «{REPORT_STATUS[_b]}»")
for _layer in IMPORT_SCOPES:
    ACTIONS[import_action(_layer)] = f"importare file nel livello «{_layer}»"

#: The matrix: action -> role -> scope (:data:`ALL` or :data:`OWN`). Roles absent are denied.
MATRIX: dict[str, dict[str, str]] = {
    "view_map": _everyone(),
    "view_trends": _everyone(),
    "view_zones": _everyone(),
    "view_schools": _everyone(),
    "view_services": _everyone(),
    "view_data": _everyone(),
    "view_exact_counts": {PREFETTURA: ALL, POLIZIA: ALL},
    "view_private_services": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
    "plan_lighting": {PREFETTURA: ALL, POLIZIA: ALL, REGIONE: ALL},
    "view_reports": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
    "create_report": {PREFETTURA: ALL, COMUNE: OWN},
    "edit_report": {PREFETTURA: ALL, COMUNE: OWN},
    "comment_report": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
    "view_interventions": {PREFETTURA: ALL, POLIZIA: ALL, REGIONE: ALL, COMUNE: OWN},
    "manage_interventions": {PREFETTURA: ALL, COMUNE: OWN},
    "view_agenda": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
    "export_agenda": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN},
    "view_audit": {PREFETTURA: ALL},
    "export_audit": {PREFETTURA: ALL},
    "manage_users": {PREFETTURA: ALL},
    "manage_services": {PREFETTURA: ALL, COMUNE: OWN},
    "view_cameras": {PREFETTURA: ALL, POLIZIA: ALL, COMUNE: OWN, REGIONE: ALL},
    "view_police_cameras": {PREFETTURA: ALL, POLIZIA: ALL},
    "view_dossier": _everyone(),
    **{transition_action(a, b): dict(scopes) for (a, b), scopes in TRANSITIONS.items()},
    **{import_action(layer): dict(scopes) for layer, scopes in IMPORT_SCOPES.items()},
}

#: Page of the dashboard (file stem under ``pages/``) -> the action needed to see it.
PAGE_ACTIONS: dict[str, str] = {
    "mappa": "view_map",
    "andamento": "view_trends",
    "zone_pilota": "view_zones",
    "illuminazione": "plan_lighting",
    "videosorveglianza": "view_cameras",
    "interventi": "view_interventions",
    "scuole_sicure": "view_schools",
    "servizi": "view_services",
    "segnalazioni": "view_reports",
    "agenda": "view_agenda",
    "dossier": "view_dossier",
    "registro": "view_audit",
    "dati": "view_data",
}


def _known(action: str) -> bool:
    return action in MATRIX or action.startswith(("transition_report:", "import_layer:"))


def normalise_comuni(codes: Iterable[str] | str | None) -> tuple[str, ...]:
    """ISTAT codes as sorted, unique 6-character strings (``"45010"`` → ``"045010"``)."""
    if codes is None:
        return ()
    if isinstance(codes, str):
        codes = [codes]
    return tuple(sorted({str(c).strip().zfill(6) for c in codes if str(c).strip()}))


def scope(role: str | None, action: str) -> str | None:
    """The scope ``role`` has on ``action``: :data:`ALL`, :data:`OWN` or None (denied)."""
    if not _known(action):
        raise ValueError(f"azione sconosciuta: {action}")
    if role == SYSTEM_ROLE:
        return ALL
    return MATRIX.get(action, {}).get(role or "")


def allows(user: User | None, action: str, *, pro_com_t: str | Iterable[str] | None = None) -> bool:
    """True when ``user`` may do ``action`` (in comune ``pro_com_t``, or in every one of several).

    Parameters
    ----------
    user
        The acting user; None (nobody logged in) and disabled users may do nothing.
    action
        A key of :data:`ACTIONS` (transitions and imports included; an unknown transition or
        layer is simply not allowed, an unknown action name raises ``ValueError``).
    pro_com_t
        The comune the action touches. Roles with an :data:`OWN` scope need it among their
        comuni; ``None`` asks whether they may do it in at least one comune.
    """
    if not _known(action):
        raise ValueError(f"azione sconosciuta: {action}")
    if user is None or not user.active:
        return False
    if user.role == SYSTEM_ROLE:
        return user == SYSTEM
    granted = scope(user.role, action)
    if granted is None:
        return False
    if granted == ALL:
        return True
    own = set(normalise_comuni(user.comuni))
    if pro_com_t is None:
        return bool(own)
    wanted = normalise_comuni(pro_com_t)
    return bool(wanted) and set(wanted) <= own


def require(user: User | None, action: str, *, pro_com_t: str | Iterable[str] | None = None,
            comune_name: str | None = None) -> None:
    """Raise :class:`PermissionDenied` (Italian message) unless :func:`allows` says yes.

    ``comune_name`` only improves the message ("nel Comune di Carrara").
    """
    if allows(user, action, pro_com_t=pro_com_t):
        return
    what = ACTIONS.get(action, action)
    if user is None:
        raise PermissionDenied(f"Accesso richiesto: effettuare il login per {what}.", action=action)
    if not user.active:
        raise PermissionDenied(f"L'utente {user.username} è disattivato: non può {what}.", action=action,
                               role=user.role)
    label = role_label(user.role)
    if scope(user.role, action) == OWN:
        where = comune_name or (", ".join(normalise_comuni(pro_com_t)) if pro_com_t is not None else "")
        own = ", ".join(normalise_comuni(user.comuni)) or "nessun comune"
        raise PermissionDenied(
            f"Il profilo «{label}» può {what} solo nel territorio dei propri comuni ({own})"
            + (f", non in quello di {where}." if where else "."),
            action=action, role=user.role)
    raise PermissionDenied(f"Il profilo «{label}» non può {what}.", action=action, role=user.role)


def allowed_pages(user: User | None) -> list[str]:
    """Pages (file stems, in :data:`PAGE_ACTIONS` order) the user may open."""
    return [page for page, action in PAGE_ACTIONS.items() if allows(user, action)]


def allowed_transitions(user: User | None, from_status: str, *, pro_com_t: str | None) -> list[str]:
    """Statuses ``user`` may move a report of comune ``pro_com_t`` to from ``from_status``."""
    return [b for (a, b) in TRANSITIONS if a == from_status
            and allows(user, transition_action(a, b), pro_com_t=pro_com_t)]


def importable_layers(user: User | None) -> list[str]:
    """Layers ``user`` may import into (possibly only for its own comuni)."""
    return [layer for layer in IMPORT_SCOPES if allows(user, import_action(layer))]


def matrix_table() -> list[dict[str, str]]:
    """The matrix as rows (``azione``, ``descrizione`` and one column per role with ``tutti``,
    ``propri`` or ``""``), for the CLI and the documentation."""
    rows = []
    for action in MATRIX:
        row = {"azione": action, "descrizione": ACTIONS[action]}
        for role in EVERYONE:
            row[role] = MATRIX[action].get(role, "")
        rows.append(row)
    return rows
