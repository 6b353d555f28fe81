"""Costs per camera type and the effect of video-surveillance on crime, with their sources.

Effects
-------
Welsh & Farrington (2009), the updated systematic review and meta-analysis of public-area CCTV
(44 evaluations, mostly United Kingdom and United States), is the evidence base: an overall
reduction of about 16 % in the areas with cameras against comparable control areas, the
largest in **car parks** (about 51 %), smaller in **residential areas / public housing**, and
**not significant in city and town centres**. Every range here therefore starts at 0 (no
effect): the low end of the evidence includes no effect at all. The central values are those of
the meta-analysis; the high values are planning assumptions (labelled as such), not findings.

A camera reduces crime only where it looks: the expected prevented incidents of a cell are
``covered share x incidents per year x effect`` (:func:`prevented`), the same discipline as the
lighting planner (:mod:`geo.lighting.effects`).

Costs
-----
:data:`CAMERA_COSTS` come from ``data/national/costi_telecamere.csv`` (:data:`COSTS_FILE`):
installed cost per camera (pole, network link to the control room and first configuration
included), range and angle, and a ``fonte`` per row. No public price list of cameras is available
offline, so the national figures are **estimates**, flagged ``stima`` and with their reasoning in
``fonte``. A territory overrides them with a ``costi_telecamere.csv`` of the same columns in its
folder (:func:`territory_costs`: e.g. the items of its regional price list or of a tender, with
``stima = false``), as the lighting costs name the territory's price list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo import config
from geo.data.schemas import CAMERA_TYPES

WELSH_FARRINGTON_2009 = (
    "Welsh B.C., Farrington D.P. (2009). Public area CCTV and crime prevention: an updated systematic review "
    "and meta-analysis. Justice Quarterly 26(4):716-745. doi:10.1080/07418820802506206"
)
WELSH_FARRINGTON_SHORT = "Welsh & Farrington 2009"


@dataclass(frozen=True)
class Setting:
    """Where the cameras are: the effect (relative reduction 0-1) low / central / high."""

    key: str
    label: str
    low: float
    central: float
    high: float
    note: str


#: The settings of the meta-analysis; ``complessivo`` is the default.
SETTINGS: dict[str, Setting] = {
    s.key: s for s in (
        Setting("complessivo", "Complessivo (tutti i contesti)", 0.0, 0.16, 0.25,
                f"{WELSH_FARRINGTON_SHORT}: riduzione complessiva di circa il 16% (significativa). Basso 0: "
                "l'intervallo delle evidenze comprende l'assenza di effetto. Alto 25%: ipotesi di pianificazione."),
        Setting("parcheggi", "Parcheggi", 0.0, 0.51, 0.51,
                f"{WELSH_FARRINGTON_SHORT}: nei parcheggi la riduzione maggiore, circa il 51% (spesso insieme "
                "a illuminazione e custodia). Basso 0 per prudenza; alto uguale al valore centrale."),
        Setting("residenziale", "Aree residenziali", 0.0, 0.08, 0.16,
                f"{WELSH_FARRINGTON_SHORT}: effetti minori nelle aree residenziali e di edilizia pubblica. "
                "Centrale 8%: ipotesi (metà dell'effetto complessivo); alto 16% (il complessivo)."),
        Setting("centro", "Centri urbani", 0.0, 0.0, 0.16,
                f"{WELSH_FARRINGTON_SHORT}: nei centri urbani l'effetto non è significativo. Centrale 0; "
                "alto 16% (il complessivo) come ipotesi favorevole."),
    )
}
DEFAULT_SETTING = "complessivo"


@dataclass(frozen=True)
class CameraCost:
    """Installed cost of one camera of a type (EUR) and its default geometry."""

    kind: str
    label: str
    cost_eur: float
    range_m: float
    fov_deg: float
    source: str
    estimate: bool = True


#: The national defaults: ``data/national/costi_telecamere.csv``.
COSTS_FILE = config.NATIONAL_DIR / "costi_telecamere.csv"
#: Key of a territory's own price list in its folder (``costi_telecamere.csv``).
TERRITORY_COSTS_KEY = "costi_telecamere"
COST_COLUMNS = ("tipo", "etichetta", "costo_eur", "portata_m", "angolo_gradi", "stima", "fonte")
ESTIMATE_LABEL = "stima"
SOURCED_LABEL = "prezzo documentato"


class CostsFileError(ValueError):
    """A cost file that cannot be used; the message is Italian and names the file."""


def read_costs(path: Path, *, base: dict[str, CameraCost] | None = None) -> dict[str, CameraCost]:
    """Camera costs from a CSV with :data:`COST_COLUMNS` (``,`` separated, UTF-8).

    With ``base`` the file overrides the types it lists and keeps the others; every row needs a
    ``fonte`` (where the figure comes from, or why it is an estimate).
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise CostsFileError(f"File dei costi delle telecamere illeggibile ({path.name}): {exc}") from exc
    missing = [c for c in ("tipo", "costo_eur", "fonte") if c not in frame.columns]
    if missing:
        raise CostsFileError(f"{path.name}: mancano le colonne {', '.join(missing)}.")
    out = dict(base or {})
    for i, row in enumerate(frame.to_dict("records"), start=2):
        kind = row["tipo"].strip()
        old = out.get(kind)
        if kind not in CAMERA_TYPES:
            raise CostsFileError(f"{path.name}, riga {i}: tipo '{kind}' sconosciuto "
                                 f"(ammessi: {', '.join(CAMERA_TYPES)}).")
        if not row["fonte"].strip():
            raise CostsFileError(f"{path.name}, riga {i}: manca la fonte del costo ('fonte').")

        def number(col: str, default: float | None, row=row, i=i) -> float:
            text = str(row.get(col, "")).strip().replace(",", ".")
            if not text and default is not None:
                return default
            try:
                value = float(text)
            except ValueError:
                raise CostsFileError(f"{path.name}, riga {i}: '{col}' non è un numero ({text!r}).") from None
            if value <= 0:
                raise CostsFileError(f"{path.name}, riga {i}: '{col}' deve essere positivo.")
            return value

        out[kind] = CameraCost(
            kind=kind, label=str(row.get("etichetta", "")).strip() or (old.label if old else CAMERA_TYPES[kind]),
            cost_eur=number("costo_eur", None), range_m=number("portata_m", old.range_m if old else None),
            fov_deg=number("angolo_gradi", old.fov_deg if old else None), source=row["fonte"].strip(),
            estimate=str(row.get("stima", "")).strip().lower() in ("true", "sì", "si", "1", "vero"))
    return out


#: Default costs and geometry per camera type (:data:`COSTS_FILE`: estimates, with their reasoning).
CAMERA_COSTS: dict[str, CameraCost] = read_costs(COSTS_FILE)


def territory_costs(territory) -> dict[str, CameraCost]:
    """The costs of a territory: its folder's ``costi_telecamere.csv`` over the national defaults."""
    path = territory.path(TERRITORY_COSTS_KEY) if territory is not None else None
    return read_costs(path, base=CAMERA_COSTS) if path is not None else dict(CAMERA_COSTS)


def cost_nature(cost: CameraCost) -> str:
    """"stima" or "prezzo documentato"."""
    return ESTIMATE_LABEL if cost.estimate else SOURCED_LABEL


def costs_table(costs: dict[str, CameraCost] | None = None) -> pd.DataFrame:
    """The cost table for the page and the exports (Italian headers)."""
    rows = (costs or CAMERA_COSTS).values()
    return pd.DataFrame([{"Tipo": c.label, "Costo (€)": c.cost_eur, "Valore": cost_nature(c),
                          "Portata (m)": c.range_m, "Angolo (°)": c.fov_deg, "Fonte": c.source} for c in rows])


def effect(setting: str = DEFAULT_SETTING) -> tuple[float, float, float]:
    """(low, central, high) relative reduction of a setting."""
    s = SETTINGS[setting]
    return s.low, s.central, s.high


def prevented(covered_incidents_year: np.ndarray | float, setting: str = DEFAULT_SETTING
              ) -> tuple[float, float, float]:
    """Prevented incidents per year (low, central, high) for incidents per year inside coverage."""
    total = float(np.nansum(np.asarray(covered_incidents_year, dtype=float)))
    lo, c, h = effect(setting)
    return total * lo, total * c, total * h


def citation_text(setting: str = DEFAULT_SETTING) -> str:
    """Italian sentence with the effect range and the full citation."""
    s = SETTINGS[setting]
    return f"{s.note} Fonte: {WELSH_FARRINGTON_2009}."
