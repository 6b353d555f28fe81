"""The interventions register: kind, cells, dates, cost, responsible body, status, linked reports.

Every change goes through :func:`geo.access.permissions.require` (the comune of the intervention
must be one of the user's) and is written to the audit log in the same transaction, as for the
report workflow (:mod:`geo.reports.workflow`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from geo.access import audit
from geo.access.permissions import OWN, User, normalise_comuni, require, scope
from geo.data.storage import Store
from geo.overview import places
from geo.reports import workflow
from geo.zones import naming
from geo.zones.pilot import planar_km

KINDS: dict[str, str] = {
    "zona_pilota": "Azioni zona pilota",
    "illuminazione": "Lavori di illuminazione",
    "decoro": "Decoro da segnalazioni",
    "pattugliamento": "Piano di pattugliamento",
}
STATUSES: dict[str, str] = {
    "programmato": "Programmato",
    "in_corso": "In corso",
    "concluso": "Concluso",
    "sospeso": "Sospeso",
}
TITLE_MAX = 200
SOURCE = "lanterna:interventi"


class InterventionError(ValueError):
    """An invalid intervention; ``str(exc)`` is an Italian sentence."""


def _clean(text: object, *, max_len: int, what: str, required: bool = False) -> str:
    value = " ".join(str(text or "").split())
    if required and not value:
        raise InterventionError(f"{what} è obbligatorio.")
    if len(value) > max_len:
        raise InterventionError(f"{what} supera {max_len} caratteri.")
    return value


def _new_id(store: Store, cur, year: int) -> str:
    prefix = f"INT-{year}-"
    taken = store.intervention_ids_with_prefix(cur, prefix)
    last = max((int(x.rsplit("-", 1)[1]) for x in taken if x.rsplit("-", 1)[1].isdigit()), default=0)
    return f"{prefix}{last + 1:04d}"


def checked_reports(store: Store, actor: User | None, report_ids: Sequence[str]) -> tuple[str, ...]:
    """``report_ids`` without repeats, each an existing report ``actor`` may see (``view_reports``:
    PermissionDenied otherwise; an unknown id is an :class:`InterventionError`)."""
    ids = tuple(dict.fromkeys(str(r).strip() for r in report_ids if str(r).strip()))
    for rid in ids:
        try:
            workflow.get_report(store, actor, rid)
        except workflow.ReportError as exc:
            raise InterventionError(str(exc)) from None
    return ids


def create_intervention(
    store: Store, actor: User | None, *, kind: str, title: str, cells: Iterable[int], res: int,
    start: date, end: date | None = None, cost_eur: float | None = None, responsible: str = "",
    status: str = "programmato", report_ids: Sequence[str] = (), pro_com_t: str | None = None,
    source: str = SOURCE, notes: str = "", synthetic: bool = False,
) -> str:
    """Register an intervention; returns its id (``INT-<year>-<n>``)."""
    require(actor, "manage_interventions")
    if kind not in KINDS:
        raise InterventionError(f"Tipo di intervento sconosciuto: {kind}.")
    if status not in STATUSES:
        raise InterventionError(f"Stato sconosciuto: {status}.")
    cells = sorted({int(c) for c in cells})
    if not cells:
        raise InterventionError("L'intervento deve riguardare almeno un esagono.")
    if end is not None and end < start:
        raise InterventionError("La data di fine precede quella di inizio.")
    if cost_eur is not None and cost_eur < 0:
        raise InterventionError("Il costo non può essere negativo.")
    name = _clean(title, max_len=TITLE_MAX, what="Il titolo", required=True)
    require(actor, "manage_interventions", pro_com_t=pro_com_t)
    report_ids = checked_reports(store, actor, report_ids)
    now = audit.utcnow()
    with store.transaction() as cur:
        iid = _new_id(store, cur, start.year)
        row = {"intervention_id": iid, "kind": kind, "title": name, "pro_com_t": pro_com_t, "res": int(res),
               "source": source, "start_date": start, "end_date": end,
               "cost_eur": None if cost_eur is None else float(cost_eur),
               "responsible": _clean(responsible, max_len=TITLE_MAX, what="Il soggetto responsabile"),
               "status": status, "report_ids": ",".join(str(r) for r in report_ids),
               "notes": _clean(notes, max_len=2000, what="Le note"), "synthetic": bool(synthetic),
               "created_at": now, "created_by": actor.username}
        store.insert_intervention(cur, row, cells)
        store.insert_intervention_event(cur, {"intervention_id": iid, "event_at": now, "username": actor.username,
                                              "role": actor.role, "kind": "creazione", "to_status": status})
        audit.record(store, cur, actor, action="creazione", table="interventions", key=iid, pro_com_t=pro_com_t,
                     after={**row, "cells": cells}, at=now)
    return iid


def set_status(store: Store, actor: User | None, intervention_id: str, status: str, *, note: str = "") -> None:
    """Move an intervention to ``status`` (history row + audit entry)."""
    if status not in STATUSES:
        raise InterventionError(f"Stato sconosciuto: {status}.")
    now = audit.utcnow()
    with store.transaction() as cur:
        before = store.intervention_row(intervention_id, cur=cur)
        if before is None:
            raise InterventionError(f"Intervento {intervention_id} inesistente.")
        require(actor, "manage_interventions", pro_com_t=before["pro_com_t"])
        store.update_intervention(cur, intervention_id, {"status": status})
        store.insert_intervention_event(cur, {"intervention_id": intervention_id, "event_at": now,
                                              "username": actor.username, "role": actor.role, "kind": "stato",
                                              "from_status": before["status"], "to_status": status,
                                              "text": _clean(note, max_len=2000, what="La nota")})
        audit.record(store, cur, actor, action="transizione", table="interventions", key=intervention_id,
                     pro_com_t=before["pro_com_t"], before={"status": before["status"]}, after={"status": status},
                     at=now)


def list_interventions(store: Store, actor: User | None) -> pd.DataFrame:
    """The interventions ``actor`` may see, with Italian labels (``tipo``, ``stato``)."""
    require(actor, "view_interventions")
    frame = store.interventions_frame()
    if scope(actor.role, "view_interventions") == OWN:
        frame = frame[frame["pro_com_t"].isin(normalise_comuni(actor.comuni))]
    frame = frame.copy()
    frame["tipo"] = frame["kind"].map(KINDS)
    frame["stato"] = frame["status"].map(STATUSES)
    frame["luogo"] = intervention_places(store, frame)
    return frame.reset_index(drop=True)


def intervention_places(store: Store, frame: pd.DataFrame) -> list[str]:
    """Where each intervention of ``frame`` is: the place of its core hexagon (the one nearest the
    centre of its hexagons, :func:`geo.zones.naming.core_cells`), "Marina di Carrara (Carrara)"."""
    if frame.empty:
        return []
    pairs = store.intervention_cell_pairs()
    pairs = pairs[pairs["intervention_id"].isin(frame["intervention_id"])]
    if pairs.empty:
        return [""] * len(frame)
    ids = {iid: k + 1 for k, iid in enumerate(frame["intervention_id"])}
    cells = pairs["cell"].to_numpy(dtype=np.int64)
    cores = naming.core_cells(cells, pairs["intervention_id"].map(ids).to_numpy(), planar_km(cells))
    order = [k for k in range(1, len(frame) + 1) if k in cores]
    comune = dict(zip(range(1, len(frame) + 1), frame["pro_com_t"], strict=True))
    found = places.locate(store, [cores[k] for k in order], comuni=[comune[k] for k in order])
    label = dict(zip(order, found["label"], strict=True))
    return [label.get(k, "") for k in range(1, len(frame) + 1)]


def get_intervention(store: Store, actor: User | None, intervention_id: str) -> tuple[dict, list[int]]:
    require(actor, "view_interventions")
    row = store.intervention_row(intervention_id)
    if row is None:
        raise InterventionError(f"Intervento {intervention_id} inesistente.")
    require(actor, "view_interventions", pro_com_t=row["pro_com_t"])
    return row, store.intervention_cells(intervention_id)
