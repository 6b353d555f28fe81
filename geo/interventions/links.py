"""Reports linked to interventions: proposals in the intervention's cells, checks, decorum drafts.

Only reports the user may see (``view_reports``, :func:`geo.reports.workflow.visible_reports`)
are proposed, accepted as links and listed; a report's hexagon is taken at the intervention's
resolution (reports are stored at resolution 10).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import h3
import pandas as pd

from geo.access.permissions import PermissionDenied, User, allows
from geo.data.schemas import OPEN_REPORT_STATUS, REPORT_CATEGORIES, REPORT_STATUS
from geo.data.storage import Store
from geo.interventions.register import InterventionError, checked_reports
from geo.interventions.start import Draft, cell_comuni
from geo.reports import workflow

COLUMNS = ["report_id", "comune", "categoria", "stato", "aperta", "sintetico"]
ALL_COLUMNS = [*COLUMNS, "status", "cell", "pro_com_t"]


def parse_ids(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"A,B, C"`` (or a list) → ``("A", "B", "C")``, without repeats."""
    if text is None:
        return ()
    parts = text.replace("\n", ",").split(",") if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(p.strip() for p in parts if str(p).strip()))


def at_res(cells: pd.Series, res: int) -> pd.Series:
    """Report cells (resolution 10, integers) at resolution ``res`` (missing cells stay missing)."""
    def parent(c) -> int | None:
        if c is None or pd.isna(c):
            return None
        text = h3.int_to_str(int(c))
        r = h3.get_resolution(text)
        return int(c) if r <= res else h3.str_to_int(h3.cell_to_parent(text, res))
    return cells.map(parent)


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(
        categoria=frame["category"].map(REPORT_CATEGORIES).fillna(frame["category"]),
        stato=frame["status"].map(REPORT_STATUS).fillna(frame["status"]),
        aperta=[d.strftime("%d/%m/%Y") if pd.notna(d) else "" for d in frame["opened"]],
        sintetico=["sì" if s else "no" for s in frame["synthetic"]],
    )
    return out[ALL_COLUMNS].reset_index(drop=True)


def can_link(actor: User | None) -> bool:
    return allows(actor, "view_reports")


def reports_in_cells(store: Store, actor: User | None, cells: Iterable[int], res: int) -> pd.DataFrame:
    """Reports ``actor`` may see whose hexagon (at ``res``) is one of ``cells``, newest first."""
    if not can_link(actor):
        return pd.DataFrame(columns=ALL_COLUMNS)
    wanted = {int(c) for c in cells}
    frame = workflow.visible_reports(store, actor)
    frame = frame[at_res(frame["cell"], res).isin(wanted)]
    return _labelled(frame)


def open_reports(store: Store, actor: User | None) -> pd.DataFrame:
    """The open reports ``actor`` may see (newest first), labelled: the choice for a decorum action."""
    if not can_link(actor):
        return pd.DataFrame(columns=ALL_COLUMNS)
    return _labelled(workflow.visible_reports(store, actor, statuses=sorted(OPEN_REPORT_STATUS)))


def check_report_ids(store: Store, actor: User | None, report_ids: Sequence[str] | str) -> tuple[str, ...]:
    """The ids, each an existing report ``actor`` may see; an Italian error otherwise."""
    ids = parse_ids(report_ids)
    if ids and not can_link(actor):
        raise PermissionDenied("Il profilo non può vedere le segnalazioni: non può collegarle a un intervento.",
                               action="view_reports", role=getattr(actor, "role", None))
    return checked_reports(store, actor, ids)


def decoro_draft(store: Store, actor: User | None, report_ids: Sequence[str], res: int = 9, *,
                 today: date | None = None) -> Draft:
    """A ``decoro`` intervention from selected reports: cells = the reports' hexagons at ``res``,
    comune = the one with most of them, the reports linked."""
    ids = check_report_ids(store, actor, report_ids)
    if not ids:
        raise InterventionError("Selezionare almeno una segnalazione.")
    frame = store.reports_frame(report_ids=list(ids))
    cells = tuple(sorted({int(c) for c in at_res(frame["cell"], res).dropna()}))
    if not cells:
        raise InterventionError("Le segnalazioni scelte non hanno un esagono.")
    comuni = cell_comuni(store, cells, res)
    names = workflow.comune_names(store)
    main = str(comuni.index[0]) if len(comuni) else None
    return Draft(kind="decoro", title=f"Decoro – {len(ids)} segnalazioni, {names.get(main, main or 'più comuni')}",
                 cells=cells, res=int(res), pro_com_t=main, comuni=tuple(str(c) for c in comuni.index),
                 start=today or date.today(), report_ids=ids,
                 notes="Avviato dalle segnalazioni " + ", ".join(ids) + ".")


def linked_reports(store: Store, actor: User | None, row: dict) -> tuple[pd.DataFrame, int]:
    """The intervention's linked reports that ``actor`` may see (with their status) and how many
    others are hidden (not visible to the role, or deleted)."""
    ids = parse_ids(row.get("report_ids") or "")
    if not ids:
        return pd.DataFrame(columns=ALL_COLUMNS), 0
    if not can_link(actor):
        return pd.DataFrame(columns=ALL_COLUMNS), len(ids)
    own = workflow.visible_comuni(actor)
    frame = store.reports_frame(report_ids=list(ids))
    if own is not None:
        frame = frame[frame["pro_com_t"].isin(own)]
    frame = frame.assign(comune=frame["pro_com_t"].map(workflow.comune_names(store)))
    return _labelled(frame).sort_values("report_id").reset_index(drop=True), len(ids) - len(frame)
