"""Expected effect of lighting interventions on night-time outdoor incidents, with its range.

The evidence
------------
* Welsh & Farrington (2008), Campbell systematic review of 13 evaluations: improved street
  lighting was followed by a 21 % decrease in crime in experimental areas compared with control
  areas (odds ratio 1.27). Used as the **central** value.
* Chalfin, Hansen, Lerner & Parker (2022), J. Quant. Criminol.: randomised trial in 40 New York
  public-housing developments, at least a 36 % reduction of night-time outdoor index crimes.
  Used as the **high** value: it is the only randomised trial and it measures exactly the
  incidents the planner counts, but its temporary light towers were far brighter than a street lamp.
* Painter & Farrington (1999), Stoke-on-Trent: the decrease also appeared in the adjacent area
  (diffusion of benefits, not displacement). Used for the optional diffusion to neighbour cells.
* Steinbach et al. (2015), England and Wales: no clear evidence that switching off, dimming or
  part-night lighting changed crime (white light/LED: RR 0.89, 95 % CI 0.77-1.03). It warns that
  the effect is not guaranteed at ordinary lighting levels: the **low** value is a prudent 10 %,
  about half the central one.

Never quote the central value without its range: every figure the planner shows is a triple
(low, central, high).

How an intervention maps to an effect share
-------------------------------------------
A hexagon reaches the *full* effect when all its light points work and it has the number its
target asks for. Its points after the full intervention are ``D = lights + new points``; each
intervention improves ``k`` of those ``D`` points, with a weight by kind:

* a new point, or a repair where the hexagon is under-lit: weight 1 (full effect);
* a repair where the hexagon is not under-lit: :attr:`EffectModel.repair_lit` (0.5);
* an LED replacement of a working old lamp: :attr:`EffectModel.led` (0.25: same number of points,
  better colour rendering and uniformity; Steinbach et al. found only weak evidence for white
  light); an old lamp that is out of order and gets replaced counts as a repair.

``share = sum(weights) / D`` is at most 1, and the shares of the three interventions of one
hexagon add up to at most 1, so doing all of them never promises more than the full effect.
Prevented incidents per year = ``share * effect * (N + diffusion * N_neighbours / 6)``, with
``N`` the hexagon's night-time outdoor incidents per year and ``N_neighbours`` the sum over its
six neighbours (each borders the lit hexagon along one of its six sides).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Study:
    """One piece of evidence: full citation, finding (Italian, for the app) and how it is used."""

    key: str
    short: str
    citation: str
    finding: str
    use: str


STUDIES: tuple[Study, ...] = (
    Study(
        key="welsh_farrington_2008",
        short="Welsh & Farrington 2008",
        citation="Welsh B.C., Farrington D.P. (2008). Effects of improved street lighting on crime. "
        "Campbell Systematic Reviews 2008:13. doi:10.4073/csr.2008.13",
        finding="Revisione sistematica di 13 valutazioni (Stati Uniti e Regno Unito): dopo il miglioramento "
        "dell'illuminazione i reati sono diminuiti del 21% rispetto alle aree di controllo (odds ratio 1,27).",
        use="valore centrale (21%)",
    ),
    Study(
        key="chalfin_2022",
        short="Chalfin, Hansen, Lerner & Parker 2022",
        citation="Chalfin A., Hansen B., Lerner J., Parker L. (2022). Reducing crime through environmental design: "
        "evidence from a randomized experiment of street lighting in New York City. Journal of Quantitative "
        "Criminology 38(1):127-157. doi:10.1007/s10940-020-09490-6",
        finding="Esperimento randomizzato in 40 complessi di edilizia pubblica di New York: almeno il 36% in meno "
        "di reati gravi (index crimes) notturni all'aperto dove sono state installate le luci.",
        use="valore alto (36%)",
    ),
    Study(
        key="painter_farrington_1999",
        short="Painter & Farrington 1999 (Stoke-on-Trent)",
        citation="Painter K., Farrington D.P. (1999). Street lighting and crime: diffusion of benefits in the "
        "Stoke-on-Trent project. Crime Prevention Studies 10:77-122.",
        finding="L'incidenza dei reati è scesa del 43% nell'area con la nuova illuminazione e del 45% nell'area "
        "adiacente, contro il 2% nell'area di controllo: i benefici si diffondono alle zone vicine.",
        use="diffusione facoltativa agli esagoni vicini",
    ),
    Study(
        key="steinbach_2015",
        short="Steinbach et al. 2015",
        citation="Steinbach R., Perkins C., Tompson L., Johnson S., Armstrong B., Green J., Grundy C., Wilkinson P., "
        "Edwards P. (2015). The effect of reduced street lighting on road casualties and crime in England and "
        "Wales: controlled interrupted time series analysis. J Epidemiol Community Health 69(11):1118-1124. "
        "doi:10.1136/jech-2015-206012",
        finding="In 62 enti locali inglesi e gallesi spegnimento, riduzione o accensione parziale dell'illuminazione "
        "non hanno mostrato effetti chiari sui reati (luce bianca/LED: RR 0,89, IC 95% 0,77-1,03).",
        use="motiva il valore basso prudente (10%) e il peso ridotto della sola sostituzione LED",
    ),
)
STUDY_BY_KEY = {s.key: s for s in STUDIES}


@dataclass(frozen=True)
class EffectModel:
    """Effect sizes (relative reduction of night-time outdoor incidents) and intervention weights.

    Attributes
    ----------
    low, central, high
        Relative reduction (0-1) where a hexagon gets the full intervention: 0.10 (prudent, see
        Steinbach et al. 2015), 0.21 (Welsh & Farrington 2008), 0.36 (Chalfin et al. 2022).
    repair_lit
        Weight of a repaired point in a hexagon that is not under-lit (a repair where it is
        under-lit and a new point weigh 1).
    led
        Weight of an LED replacement of a working old lamp.
    diffusion
        Share of the effect that also reaches the six neighbouring hexagons (0 = off; Painter &
        Farrington 1999 observed a comparable decrease in the adjacent area, i.e. about 1).
    """

    low: float = 0.10
    central: float = 0.21
    high: float = 0.36
    repair_lit: float = 0.5
    led: float = 0.25
    diffusion: float = 0.0

    LABELS: ClassVar[dict[str, str]] = {
        "low": "Effetto basso",
        "central": "Effetto centrale",
        "high": "Effetto alto",
        "repair_lit": "Peso di una riparazione dove l'esagono non è sottoilluminato",
        "led": "Peso di una sostituzione LED (lampada funzionante)",
        "diffusion": "Diffusione ai sei esagoni vicini",
    }
    SOURCES: ClassVar[dict[str, str]] = {
        "low": "Ipotesi prudente, circa metà del valore centrale: " + STUDY_BY_KEY["steinbach_2015"].short
        + " non trova effetti chiari delle variazioni d'illuminazione.",
        "central": STUDY_BY_KEY["welsh_farrington_2008"].short + ": −21% dei reati (13 studi).",
        "high": STUDY_BY_KEY["chalfin_2022"].short + ": almeno −36% dei reati notturni all'aperto (esperimento "
        "randomizzato).",
        "repair_lit": "Ipotesi: un punto riparato dove l'illuminazione è già sufficiente elimina una zona buia "
        "locale, metà dell'effetto.",
        "led": "Ipotesi: stessi punti luce, migliore resa cromatica e uniformità; "
        + STUDY_BY_KEY["steinbach_2015"].short + " (luce bianca) trova solo deboli indizi di effetto.",
        "diffusion": STUDY_BY_KEY["painter_farrington_1999"].short + ": calo simile nell'area adiacente. "
        "0 = disattivata.",
    }

    def __post_init__(self) -> None:
        for name, value in zip(("low", "central", "high", "repair_lit", "led", "diffusion"), astuple(self),
                               strict=True):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"Parametro di effetto non valido: {name} = {value} (serve un valore tra 0 e 1).")
        if not self.low <= self.central <= self.high:
            raise ValueError("Gli effetti devono rispettare basso ≤ centrale ≤ alto.")

    def key(self) -> tuple:
        """Plain tuple of the values (cache key)."""
        return astuple(self)

    @property
    def range(self) -> tuple[float, float, float]:
        """(low, central, high) relative reductions."""
        return (self.low, self.central, self.high)


def repair_weight(under_lit: np.ndarray | bool, model: EffectModel) -> np.ndarray:
    """Weight of one repaired point: 1 where the hexagon is under-lit, ``model.repair_lit`` elsewhere."""
    return np.where(np.asarray(under_lit, dtype=bool), 1.0, model.repair_lit)


def effect_shares(
    *,
    repaired: np.ndarray,
    replaced_working: np.ndarray,
    replaced_broken: np.ndarray,
    new_points: np.ndarray,
    points_after: np.ndarray,
    under_lit: np.ndarray,
    model: EffectModel,
) -> dict[str, np.ndarray]:
    """Effect share (0-1) of each kind of intervention, per hexagon.

    Parameters
    ----------
    repaired
        Out-of-order points of a modern technology that a repair brings back (count).
    replaced_working, replaced_broken
        Old-technology points replaced with LED, working and out of order (counts).
    new_points
        New light points (count).
    points_after
        Light points of the hexagon after every intervention, ``D`` (count, at least 1).
    under_lit
        Whether the hexagon is under-lit.
    model
        Effect model (weights).

    Returns
    -------
    dict
        ``repair``, ``led``, ``new``: arrays of shares; for every hexagon their sum is at most 1.
    """
    d = np.maximum(np.asarray(points_after, dtype=float), 1.0)
    w_rep = repair_weight(under_lit, model)
    return {
        "repair": np.asarray(repaired, dtype=float) * w_rep / d,
        "led": (np.asarray(replaced_broken, dtype=float) * w_rep
                + np.asarray(replaced_working, dtype=float) * model.led) / d,
        "new": np.asarray(new_points, dtype=float) / d,
    }


def prevented(
    share: np.ndarray | float, exposed_incidents: np.ndarray | float, model: EffectModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prevented night-time outdoor incidents per year (low, central, high).

    ``exposed_incidents`` is ``N + diffusion * N_neighbours / 6`` (incidents/year), see the module
    docstring; the result is ``share * exposed_incidents * effect`` for each effect size.
    """
    base = np.asarray(share, dtype=float) * np.asarray(exposed_incidents, dtype=float)
    return base * model.low, base * model.central, base * model.high
