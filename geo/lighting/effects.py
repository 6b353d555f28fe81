"""Expected effect of lighting interventions on night-time outdoor incidents, per crime family, with its range.

The evidence
------------
* Welsh & Farrington (2008), Campbell systematic review of 13 evaluations: improved street
  lighting was followed by a 21 % decrease in crime (violent and property crime alike) in
  experimental areas compared with control areas (odds ratio 1.27).
* Welsh, Farrington & Douglas (2022), Criminology & Public Policy: the update of that review, 21
  evaluations (1974-2021): a significant 14 % decrease of total crime; significant for property
  crime, **not significant for violent crime**.
* Chalfin, Hansen, Lerner & Parker (2022), J. Quant. Criminol.: randomised trial in 40 New York
  public-housing developments, at least a 36 % reduction of night-time outdoor *index crimes*
  (murder, robbery, felony assault, burglary, grand larceny, vehicle theft). The only randomised
  trial; its temporary light towers were far brighter than a street lamp.
* Painter & Farrington (1999), Stoke-on-Trent: the decrease also appeared in the adjacent area
  (diffusion of benefits, not displacement). Used for the optional diffusion to neighbour cells.
* Steinbach et al. (2015), England and Wales, 62 local authorities: **no association** between
  switching off, dimming or part-night lighting and crime (white light/LED: RR 0.89, 95 % CI
  0.77-1.03). An effect of zero is compatible with the evidence at ordinary lighting levels.

Effects per crime family (:data:`FAMILIES`)
-------------------------------------------
The studies measured property crime (thefts, burglary, vehicle crime), robbery and violence
(assault): only those families get an effect by default. The low end is **0** for every family
(Steinbach et al. 2015, and the non-significant result for violence of Welsh et al. 2022), the
high end 36 % (Chalfin et al. 2022: the families it measured are index crimes). The central
value is 21 % for property crime (Welsh & Farrington 2008; property is the family where Welsh et
al. 2022 find a significant effect) and 14 % for robbery and violence (Welsh et al. 2022's total:
its estimate for violent crime alone is not significant, so the family is given no more than the
total). Damage (vandalism), drugs, frauds and "other" crimes were not what these studies measured:
their effect is 0 by default; the planner can change every value (the page shows the citation
next to each).

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
Prevented incidents per year = ``share * sum_f effect_f * (N_f + diffusion * N_neighbours_f / 6)``,
with ``N_f`` the hexagon's night-time outdoor incidents of family ``f`` per year and
``N_neighbours_f`` their sum over its six neighbours (each borders the lit hexagon along one of
its six sides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from geo.data.schemas import INCIDENT_CATEGORIES


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
        use="valore centrale per i furti (21%)",
    ),
    Study(
        key="welsh_farrington_douglas_2022",
        short="Welsh, Farrington & Douglas 2022",
        citation="Welsh B.C., Farrington D.P., Douglas S. (2022). The impact and policy relevance of street lighting "
        "for crime prevention: a systematic review based on a half-century of evaluation research. Criminology & "
        "Public Policy 21(3):739-765. doi:10.1111/1745-9133.12585",
        finding="Aggiornamento della revisione sistematica, 21 valutazioni (1974-2021, Stati Uniti, Regno Unito, "
        "Brasile, Corea del Sud): reati complessivi −14%, significativo; calo significativo dei reati contro il "
        "patrimonio, non significativo dei reati violenti.",
        use="valore centrale per rapine e violenze (14%, il totale: la stima per i soli reati violenti non è "
        "significativa)",
    ),
    Study(
        key="chalfin_2022",
        short="Chalfin, Hansen, Lerner & Parker 2022",
        citation="Chalfin A., Hansen B., Lerner J., Parker L. (2022). Reducing crime through environmental design: "
        "evidence from a randomized experiment of street lighting in New York City. Journal of Quantitative "
        "Criminology 38(1):127-157. doi:10.1007/s10940-020-09490-6",
        finding="Esperimento randomizzato in 40 complessi di edilizia pubblica di New York: almeno il 36% in meno "
        "di reati gravi (index crimes) notturni all'aperto dove sono state installate le luci.",
        use="valore alto per furti, rapine e violenze (36%: reati «index», che comprendono queste famiglie)",
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
        use="valore basso 0 (nessun effetto) per ogni famiglia e peso ridotto della sola sostituzione LED",
    ),
)
STUDY_BY_KEY = {s.key: s for s in STUDIES}


@dataclass(frozen=True)
class CrimeFamily:
    """A family of incident categories with its default effect (relative reduction, 0-1) and the
    evidence behind it (Italian, for the app)."""

    key: str
    label: str
    categories: tuple[str, ...]
    low: float
    central: float
    high: float
    studies: tuple[str, ...]
    source: str

    @property
    def in_evidence(self) -> bool:
        """True when the studies measured this family (it has a default effect)."""
        return self.high > 0


_WF08, _WFD22 = STUDY_BY_KEY["welsh_farrington_2008"].short, STUDY_BY_KEY["welsh_farrington_douglas_2022"].short
_CH22, _ST15 = STUDY_BY_KEY["chalfin_2022"].short, STUDY_BY_KEY["steinbach_2015"].short
_OUTSIDE = ("Fuori da ciò che gli studi hanno misurato: effetto 0 per impostazione predefinita (modificabile, "
            "come ipotesi del pianificatore).")

#: The crime families of the planner, covering every category of
#: :data:`geo.data.schemas.INCIDENT_CATEGORIES` exactly once.
FAMILIES: tuple[CrimeFamily, ...] = (
    CrimeFamily(
        key="furti", label="Furti (abitazione, destrezza, esercizi, veicoli, altri)",
        categories=("furti_abitazione", "furti_destrezza", "furti_esercizi", "furti_veicoli", "furti_altri"),
        low=0.0, central=0.21, high=0.36,
        studies=("welsh_farrington_2008", "welsh_farrington_douglas_2022", "chalfin_2022", "steinbach_2015"),
        source=f"Centrale 21%: {_WF08} (13 studi); {_WFD22}: calo significativo dei reati contro il patrimonio. "
        f"Alto 36%: {_CH22} (furti con scasso e furti gravi sono reati «index»). Basso 0: {_ST15} non trova "
        "associazione tra illuminazione e reati.",
    ),
    CrimeFamily(
        key="rapine", label="Rapine", categories=("rapine",), low=0.0, central=0.14, high=0.36,
        studies=("welsh_farrington_douglas_2022", "chalfin_2022", "steinbach_2015"),
        source=f"Centrale 14%: {_WFD22}, calo complessivo dei reati (per i reati violenti non significativo). "
        f"Alto 36%: {_CH22} (la rapina è un reato «index»). Basso 0: {_WFD22} (violenza non significativa) e "
        f"{_ST15}.",
    ),
    CrimeFamily(
        key="violenze", label="Lesioni, percosse e minacce", categories=("lesioni_minacce",), low=0.0,
        central=0.14, high=0.36, studies=("welsh_farrington_douglas_2022", "chalfin_2022", "steinbach_2015"),
        source=f"Centrale 14%: {_WFD22}, calo complessivo dei reati (per i reati violenti non significativo). "
        f"Alto 36%: {_CH22} (le lesioni gravi sono reati «index»). Basso 0: {_WFD22} (violenza non "
        f"significativa) e {_ST15}.",
    ),
    CrimeFamily(key="danneggiamenti", label="Danneggiamenti (vandalismo)", categories=("danneggiamenti",),
                low=0.0, central=0.0, high=0.0, studies=(), source=_OUTSIDE),
    CrimeFamily(key="stupefacenti", label="Stupefacenti e spaccio", categories=("stupefacenti",),
                low=0.0, central=0.0, high=0.0, studies=(), source=_OUTSIDE),
    CrimeFamily(key="altro", label="Truffe, frodi e altri delitti", categories=("truffe_frodi", "altro"),
                low=0.0, central=0.0, high=0.0, studies=(), source=_OUTSIDE),
)
FAMILY_BY_KEY = {f.key: f for f in FAMILIES}
#: Incident category -> family key.
FAMILY_OF_CATEGORY = {c: f.key for f in FAMILIES for c in f.categories}
if set(FAMILY_OF_CATEGORY) != set(INCIDENT_CATEGORIES):  # pragma: no cover - a vocabulary change
    raise RuntimeError("every incident category must belong to exactly one crime family")

#: Default effects per family: ``(family, low, central, high)``.
DEFAULT_FAMILY_EFFECTS: tuple[tuple[str, float, float, float], ...] = tuple(
    (f.key, f.low, f.central, f.high) for f in FAMILIES)


def family_column(family: str, what: str = "count") -> str:
    """Column of the need table with a family's night-time outdoor incidents: ``count`` (period
    count), ``year`` (per year) or ``neighbours`` (per year, sum over the six neighbours)."""
    prefix = {"count": "night_outdoor", "year": "night_outdoor_year",
              "neighbours": "neighbour_night_outdoor_year"}[what]
    return f"{prefix}__{family}"


@dataclass(frozen=True)
class EffectModel:
    """Effect sizes per crime family (relative reduction of night-time outdoor incidents) and
    intervention weights.

    Attributes
    ----------
    families
        ``(family, low, central, high)`` for every family of :data:`FAMILIES` (in that order):
        the relative reduction (0-1) where a hexagon gets the full intervention. Defaults:
        :data:`DEFAULT_FAMILY_EFFECTS` (0 for the families the studies did not measure).
    repair_lit
        Weight of a repaired point in a hexagon that is not under-lit (a repair where it is
        under-lit and a new point weigh 1).
    led
        Weight of an LED replacement of a working old lamp.
    diffusion
        Share of the effect that also reaches the six neighbouring hexagons (0 = off; Painter &
        Farrington 1999 observed a comparable decrease in the adjacent area, i.e. about 1).
    low, central, high
        Optional: one value for every family *in the evidence* (:attr:`CrimeFamily.in_evidence`),
        replacing that bound of their defaults (the command line's ``--effetto-*``); the families
        outside keep theirs. None: the per-family values.
    """

    families: tuple[tuple[str, float, float, float], ...] = DEFAULT_FAMILY_EFFECTS
    repair_lit: float = 0.5
    led: float = 0.25
    diffusion: float = 0.0
    low: float | None = field(default=None, compare=False)
    central: float | None = field(default=None, compare=False)
    high: float | None = field(default=None, compare=False)

    LABELS: ClassVar[dict[str, str]] = {
        "families": "Effetto per famiglia di reato (basso / centrale / alto)",
        "repair_lit": "Peso di una riparazione dove l'esagono non è sottoilluminato",
        "led": "Peso di una sostituzione LED (lampada funzionante)",
        "diffusion": "Diffusione ai sei esagoni vicini",
    }
    SOURCES: ClassVar[dict[str, str]] = {
        "families": "Per famiglia: vedi la tabella degli effetti (" + STUDY_BY_KEY["welsh_farrington_2008"].short
        + "; " + STUDY_BY_KEY["welsh_farrington_douglas_2022"].short + "; " + STUDY_BY_KEY["chalfin_2022"].short
        + "; " + STUDY_BY_KEY["steinbach_2015"].short + ").",
        "repair_lit": "Ipotesi: un punto riparato dove l'illuminazione è già sufficiente elimina una zona buia "
        "locale, metà dell'effetto.",
        "led": "Ipotesi: stessi punti luce, migliore resa cromatica e uniformità; "
        + STUDY_BY_KEY["steinbach_2015"].short + " (luce bianca) trova solo deboli indizi di effetto.",
        "diffusion": STUDY_BY_KEY["painter_farrington_1999"].short + ": calo simile nell'area adiacente. "
        "0 = disattivata.",
    }

    def __post_init__(self) -> None:
        given = {str(k): (float(lo), float(c), float(h)) for k, lo, c, h in self.families}
        unknown = set(given) - set(FAMILY_BY_KEY)
        if unknown:
            raise ValueError(f"Famiglie di reato sconosciute: {', '.join(sorted(unknown))}.")
        rows = []
        for fam in FAMILIES:
            lo, c, h = given.get(fam.key, (fam.low, fam.central, fam.high))
            if fam.in_evidence:
                lo = lo if self.low is None else float(self.low)
                c = c if self.central is None else float(self.central)
                h = h if self.high is None else float(self.high)
            for value in (lo, c, h):
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"Effetto non valido per {fam.label}: {value} (serve un valore tra 0 e 1).")
            if not lo <= c <= h:
                raise ValueError(f"Gli effetti devono rispettare basso ≤ centrale ≤ alto ({fam.label}).")
            rows.append((fam.key, lo, c, h))
        object.__setattr__(self, "families", tuple(rows))
        object.__setattr__(self, "low", None)
        object.__setattr__(self, "central", None)
        object.__setattr__(self, "high", None)
        for name in ("repair_lit", "led", "diffusion"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Parametro di effetto non valido: {name} = {value} (serve un valore tra 0 e 1).")

    def key(self) -> tuple:
        """Plain tuple of the values (cache key; ``EffectModel(*key)`` rebuilds the model)."""
        return (self.families, self.repair_lit, self.led, self.diffusion)

    def effect(self, family: str) -> tuple[float, float, float]:
        """(low, central, high) relative reduction of a family."""
        for k, lo, c, h in self.families:
            if k == family:
                return lo, c, h
        raise KeyError(family)

    @property
    def range(self) -> dict[str, tuple[float, float, float]]:
        """``family -> (low, central, high)``."""
        return {k: (lo, c, h) for k, lo, c, h in self.families}

    def counted(self) -> list[str]:
        """Families whose effect is above 0 at the high end (the ones the plan counts)."""
        return [k for k, _, _, h in self.families if h > 0]


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
    share: np.ndarray | float, exposed: Mapping[str, np.ndarray | float], model: EffectModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prevented night-time outdoor incidents per year (low, central, high).

    ``exposed`` maps each family to ``N_f + diffusion * N_neighbours_f / 6`` (incidents/year),
    see the module docstring; the result is ``share * sum_f effect_f * exposed_f`` for each
    effect size (families absent from ``exposed`` have no incidents).
    """
    share = np.asarray(share, dtype=float)
    out = [np.zeros(np.broadcast(share, *[np.asarray(v, dtype=float) for v in exposed.values()]).shape)
           for _ in range(3)]
    for fam, lo, c, h in model.families:
        if fam not in exposed:
            continue
        n = np.asarray(exposed[fam], dtype=float)
        for i, e in enumerate((lo, c, h)):
            if e:
                out[i] = out[i] + share * n * e
    return out[0], out[1], out[2]
