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
:data:`CAMERA_COSTS` are **estimates** (order of magnitude of installed cost per camera, pole,
network link to the control room and first configuration included) to be replaced with the
prices of the Comune's own tender; their ``source`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


_COST_SOURCE = ("Stima indicativa (non un prezzo di listino): ordine di grandezza del costo installato per "
                "telecamera, con palo, collegamento di rete alla sala di controllo e configurazione; sostituire "
                "con i prezzi del capitolato del Comune.")

#: Default costs and geometry per camera type (estimates, see :data:`_COST_SOURCE`).
CAMERA_COSTS: dict[str, CameraCost] = {
    c.kind: c for c in (
        CameraCost("fissa", "Telecamera fissa", 2_500.0, 70.0, 90.0, _COST_SOURCE),
        CameraCost("dome", "Dome / PTZ", 7_500.0, 60.0, 360.0, _COST_SOURCE),
        CameraCost("lettura_targhe", "Lettura targhe (OCR)", 12_000.0, 25.0, 30.0, _COST_SOURCE),
    )
}


def costs_table() -> list[dict[str, object]]:
    """The cost table as rows for the page and the exports (Italian headers)."""
    return [{"Tipo": c.label, "Costo (€)": c.cost_eur, "Portata (m)": c.range_m, "Angolo (°)": c.fov_deg,
             "Fonte": c.source} for c in CAMERA_COSTS.values()]


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
