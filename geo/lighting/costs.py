"""Unit costs and energy parameters of the lighting planner, each with its source.

Every number here is a *default* a Regione is expected to replace: unit costs with the items of
its own price list for public works (named by the territory: ``pact.price_list`` in
``territory.json``; for Massa-Carrara the Tuscan regional price list), the energy price with the
one of the comuni's supply contract, the emission factor with the latest ISPRA edition. The
dashboard shows each source next to the value, and the printable summary lists them.

Energy arithmetic (per light point, per year)::

    kWh  = W * hours / 1000
    EUR  = kWh * eur_per_kwh
    kgCO2 = kWh * kg_co2_per_kwh
    simple payback (years) = investment EUR / EUR saved per year
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import ClassVar, TypeVar

import numpy as np
import pandas as pd

#: A number, or numbers element-wise (the energy helpers keep the type they are given).
Amount = TypeVar("Amount", float, np.ndarray, pd.Series)

#: Nominal power (W) assumed for a lamp whose power is missing in the inventory, by technology
#: (common catalogue sizes of street-lighting lamps: high-pressure sodium 100 W, mercury 125 W,
#: LED street modules 30-60 W).
DEFAULT_LAMP_POWER_W: dict[str, float] = {
    "mercurio": 125.0,
    "incandescenza": 100.0,
    "fluorescenza_compatta": 36.0,
    "fluorescenza_tubolare": 58.0,
    "sodio_alta_pressione": 100.0,
    "sodio_bassa_pressione": 90.0,
    "ioduri_metallici": 100.0,
    "alogena": 150.0,
    "led": 40.0,
    "altro": 100.0,
}

_PRICE_LIST_NOTE = (
    "Ordine di grandezza indicativo: la Regione deve sostituirlo con la voce del proprio prezzario "
    "regionale dei lavori pubblici (capitolo impianti di illuminazione pubblica) o con i prezzi dei "
    "contratti in essere."
)


@dataclass(frozen=True)
class CostParams:
    """Unit costs of the three interventions, euros per light point, all-inclusive for the
    public body (works, safety costs, VAT).

    Attributes
    ----------
    repair_eur
        Repair of an out-of-order point (lamp, ballast or line fault, with an aerial platform).
    led_eur
        Replacement of an old-technology luminaire with an LED one (supply, fitting, disposal).
    new_point_eur
        A new light point: pole, foundation, pit, duct and cable, LED luminaire, connection.
    """

    repair_eur: float = 250.0
    led_eur: float = 600.0
    new_point_eur: float = 4000.0

    LABELS: ClassVar[dict[str, str]] = {
        "repair_eur": "Riparazione di un punto luce guasto (€/punto)",
        "led_eur": "Sostituzione con apparecchio LED (€/punto)",
        "new_point_eur": "Nuovo punto luce completo (€/punto)",
    }
    SOURCES: ClassVar[dict[str, str]] = {
        "repair_eur": "Sostituzione di lampada o alimentatore, o ripristino della linea, con autocestello. "
        + _PRICE_LIST_NOTE,
        "led_eur": "Fornitura e posa di armatura stradale LED con smaltimento della vecchia. " + _PRICE_LIST_NOTE,
        "new_point_eur": "Palo, plinto, pozzetto, cavidotto e linea, apparecchio LED, allaccio. " + _PRICE_LIST_NOTE,
    }

    def __post_init__(self) -> None:
        _check_positive(self)

    def key(self) -> tuple:
        """Plain tuple of the values (cache key)."""
        return astuple(self)


@dataclass(frozen=True)
class EnergyParams:
    """Energy assumptions for the savings of LED replacement and the consumption of new points.

    Attributes
    ----------
    hours_per_year
        Operating hours per year (h). Whole-night operation in Italy, dusk to dawn, is about
        4,200 h/year (on average about 11.5 h per night).
    eur_per_kwh
        Electricity price paid by the comuni (EUR/kWh, VAT excluded).
    kg_co2_per_kwh
        Emission factor of Italian electricity consumption (kg CO2/kWh), ISPRA.
    led_power_ratio
        Power of the LED luminaire as a share of the nominal power of the old lamp it replaces
        (0.45 means 55 % less power).
    new_point_w
        Power of the LED luminaire of a new light point (W).
    """

    hours_per_year: float = 4200.0
    eur_per_kwh: float = 0.25
    kg_co2_per_kwh: float = 0.26
    led_power_ratio: float = 0.45
    new_point_w: float = 40.0

    LABELS: ClassVar[dict[str, str]] = {
        "hours_per_year": "Ore di accensione all'anno (h)",
        "eur_per_kwh": "Prezzo dell'energia elettrica (€/kWh)",
        "kg_co2_per_kwh": "Fattore di emissione (kg CO₂/kWh)",
        "led_power_ratio": "Potenza LED / potenza della lampada sostituita",
        "new_point_w": "Potenza di un nuovo punto luce LED (W)",
    }
    SOURCES: ClassVar[dict[str, str]] = {
        "hours_per_year": "Accensione dal tramonto all'alba: circa 4.200 ore/anno in Italia (media di circa "
        "11,5 ore per notte), valore convenzionale delle diagnosi energetiche dell'illuminazione pubblica.",
        "eur_per_kwh": "Ordine di grandezza del prezzo per utenze pubbliche in bassa tensione (2024, IVA esclusa, "
        "rilevazioni ARERA e convenzioni Consip Energia elettrica): sostituire con il prezzo del contratto dei comuni.",
        "kg_co2_per_kwh": "ISPRA, Fattori di emissione per la produzione e il consumo di energia elettrica in Italia "
        "(serie storica, anno di riferimento 2022): circa 0,26 kg CO₂ per kWh consumato. Aggiornare con "
        "l'ultima edizione ISPRA.",
        "led_power_ratio": "Ipotesi: un apparecchio LED equivalente assorbe circa il 40-50% della potenza della "
        "lampada a scarica sostituita (risparmi del 50-60% tipici delle riqualificazioni a LED).",
        "new_point_w": "Apparecchio LED per strade locali e percorsi pedonali: 30-60 W.",
    }

    def __post_init__(self) -> None:
        _check_positive(self)
        if self.led_power_ratio > 1:
            raise ValueError("Il rapporto di potenza LED deve essere compreso tra 0 e 1.")

    def key(self) -> tuple:
        """Plain tuple of the values (cache key)."""
        return astuple(self)

    def kwh_per_year(self, watts: Amount) -> Amount:
        """Energy (kWh/year) drawn by ``watts`` (W) of lamps operating :attr:`hours_per_year`."""
        return watts * self.hours_per_year / 1000.0

    def eur(self, kwh: Amount) -> Amount:
        """Cost (EUR) of ``kwh`` (kWh)."""
        return kwh * self.eur_per_kwh

    def kg_co2(self, kwh: Amount) -> Amount:
        """Emissions (kg CO2) of ``kwh`` (kWh)."""
        return kwh * self.kg_co2_per_kwh


def payback_years(investment_eur: float, eur_saved_per_year: float) -> float:
    """Simple payback time (years): investment divided by yearly savings; ``inf`` without savings."""
    if eur_saved_per_year <= 0:
        return float("inf")
    return investment_eur / eur_saved_per_year


def lamp_power_w(technology: pd.Series, power_w: pd.Series) -> pd.Series:
    """Nominal lamp power (W), with :data:`DEFAULT_LAMP_POWER_W` where it is missing or zero
    (``technology`` and ``power_w`` aligned)."""
    tech = pd.Series(technology)
    power = pd.to_numeric(pd.Series(power_w, index=tech.index), errors="coerce")
    default = tech.map(DEFAULT_LAMP_POWER_W).fillna(DEFAULT_LAMP_POWER_W["altro"]).astype(float)
    return power.where(power > 0, default).astype(float)


def _check_positive(params: object) -> None:
    for f in fields(params):
        value = getattr(params, f.name)
        if not isinstance(value, int | float) or not value >= 0 or value != value or value == float("inf"):
            raise ValueError(f"Parametro non valido: {f.name} = {value!r} (serve un numero non negativo).")
