"""Synthetic crime aggregates 2019-2024 whose yearly totals equal the official statistics.

Three steps:

1. :func:`yearly_targets` fixes, for every year and category, how many crimes the demo holds:
   the official figure where one exists (ISTAT total every year; the Viminale breakdown where the
   territory has it; SDI *lesioni, percosse e minacce*), an estimate elsewhere (the last official
   category mix carried forward with the national trend of its macro-category), apportioned with
   integer largest remainders so that every year adds up exactly to the ISTAT total.
2. :func:`choose_hotspots` picks a few persistent hot spots (stations, squares, parks, shopping
   centres of the larger comuni) and a couple of emerging ones (residential quarters, growing over
   the period) so that the hot-spot analyses have something real to find.
3. :func:`generate_incidents` draws each crime's month (seasonality, 2020 lockdown), cell (a
   mixture of residents, town centres and attractors, with an urban premium and the hot spots),
   time band and outdoor flag (per-category assumptions), and aggregates them per
   cell x month x category x time band x outdoor.

All assumption tables below are reproduced, with their rationale, in ``docs/DEMO.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geo import config
from geo.data import hexgrid
from geo.data.population import KIND_WEIGHTS
from geo.data.schemas import DEMO_SOURCE, INCIDENT_CATEGORIES
from geo.demo.synth._places import Mix, PlaceContext, largest_remainder

#: Years the demo covers (the official series is complete up to 2024).
YEARS: tuple[int, ...] = tuple(range(2019, 2025))

#: National ISTAT macro-category (``istat_delitti_italia_per_categoria_2014_2024.csv``, grouping of
#: AlbGri/osservatorio-criminalita-next) whose trend each Lanterna category follows.
MACRO_OF_CATEGORY: dict[str, str] = {
    "furti_abitazione": "Furti",
    "furti_destrezza": "Furti",
    "furti_esercizi": "Furti",
    "furti_veicoli": "Furti",
    "furti_altri": "Furti",
    "rapine": "Rapine",
    "danneggiamenti": "Altro",
    "lesioni_minacce": "Violenze contro la persona",
    "stupefacenti": "Droga",
    "truffe_frodi": "Truffe e Frodi",
    "altro": "Altro",
}
#: Split of a national macro-category into Lanterna categories, used only for a territory with no
#: official breakdown in any year. Assumption: the Massa-Carrara Viminale breakdown 2017-2019
#: (shares of the five theft types; danneggiamenti = 1/3 of danneggiamenti + altro), rounded.
FALLBACK_SPLIT: dict[str, float] = {
    "furti_abitazione": 0.25,
    "furti_destrezza": 0.11,
    "furti_esercizi": 0.07,
    "furti_veicoli": 0.21,
    "furti_altri": 0.36,
    "danneggiamenti": 0.33,
    "altro": 0.67,
    "rapine": 1.0,
    "lesioni_minacce": 1.0,
    "stupefacenti": 1.0,
    "truffe_frodi": 1.0,
}

#: Monthly profile (January..December, mean 1 after normalisation) per category. Assumptions with
#: their rationale (``docs/DEMO.md``): burglaries peak with the short days of November-January
#: and with August holidays; pickpocketing with summer tourism and Christmas shopping; shop
#: thefts at Christmas; violence, vandalism and drug dealing in summer (coastal nightlife).
SEASONALITY: dict[str, tuple[float, ...]] = {
    "furti_abitazione": (1.30, 1.05, 0.95, 0.85, 0.80, 0.80, 0.85, 1.00, 0.90, 1.05, 1.20, 1.25),
    "furti_destrezza": (0.90, 0.85, 0.90, 0.95, 1.00, 1.10, 1.25, 1.30, 1.00, 0.90, 0.90, 1.15),
    "furti_esercizi": (1.00, 0.90, 0.95, 0.95, 1.00, 1.00, 1.05, 1.00, 0.95, 1.00, 1.05, 1.25),
    "furti_veicoli": (1.00, 0.95, 0.95, 0.95, 1.00, 1.05, 1.10, 1.10, 1.00, 1.00, 0.95, 1.00),
    "furti_altri": (0.90, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15, 1.15, 1.00, 0.95, 0.90, 0.95),
    "rapine": (1.05, 1.00, 0.95, 0.95, 0.95, 0.95, 1.00, 1.00, 0.95, 1.00, 1.05, 1.15),
    "danneggiamenti": (0.90, 0.90, 0.95, 1.00, 1.05, 1.15, 1.20, 1.20, 1.00, 0.95, 0.85, 0.85),
    "lesioni_minacce": (0.85, 0.85, 0.95, 1.00, 1.05, 1.15, 1.25, 1.25, 1.00, 0.95, 0.85, 0.85),
    "stupefacenti": (0.85, 0.85, 0.90, 1.00, 1.05, 1.15, 1.30, 1.30, 1.00, 0.90, 0.85, 0.85),
    "truffe_frodi": (1.00, 1.00, 1.00, 1.00, 1.00, 0.95, 0.95, 0.90, 1.00, 1.05, 1.05, 1.10),
    "altro": (1.00,) * 12,
}
#: Multiplier of the monthly profile during the COVID-19 restrictions (national lockdown
#: 9 March - 18 May 2020, DPCM 9.3.2020; the "zone" regime of November-December 2020). The yearly
#: 2020 totals are official and already low: this only moves crimes between months.
LOCKDOWN_FACTOR: dict[tuple[int, int], float] = {
    (2020, 3): 0.45, (2020, 4): 0.45, (2020, 5): 0.45, (2020, 11): 0.85, (2020, 12): 0.85,
}
#: Categories not reduced by the lockdown: frauds moved online and rose nationally in 2020
#: (ISTAT "Truffe e Frodi" 233,758 in 2019 → 270,690 in 2020, national table).
LOCKDOWN_EXEMPT = frozenset({"truffe_frodi"})

#: Night share (20:00-06:00) and outdoor share by day and by night, per category. Assumptions,
#: rationale in ``docs/DEMO.md``. ``outdoor`` marks crimes in public space, the ones public
#: lighting can affect.
TIME_PLACE: dict[str, dict[str, float]] = {
    "furti_abitazione": {"night": 0.35, "outdoor_day": 0.05, "outdoor_night": 0.05},
    "furti_destrezza": {"night": 0.25, "outdoor_day": 0.75, "outdoor_night": 0.80},
    "furti_esercizi": {"night": 0.15, "outdoor_day": 0.05, "outdoor_night": 0.20},
    "furti_veicoli": {"night": 0.60, "outdoor_day": 0.90, "outdoor_night": 0.95},
    "furti_altri": {"night": 0.40, "outdoor_day": 0.55, "outdoor_night": 0.65},
    "rapine": {"night": 0.45, "outdoor_day": 0.55, "outdoor_night": 0.75},
    "danneggiamenti": {"night": 0.60, "outdoor_day": 0.80, "outdoor_night": 0.90},
    "lesioni_minacce": {"night": 0.50, "outdoor_day": 0.30, "outdoor_night": 0.55},
    "stupefacenti": {"night": 0.60, "outdoor_day": 0.80, "outdoor_night": 0.85},
    "truffe_frodi": {"night": 0.10, "outdoor_day": 0.00, "outdoor_night": 0.00},
    "altro": {"night": 0.35, "outdoor_day": 0.30, "outdoor_night": 0.35},
}

#: Where each category happens inside a comune (see :class:`geo.demo.synth._places.Mix`).
SPACE: dict[str, Mix] = {
    "furti_abitazione": Mix(residents=0.85, centre=0.15),
    "furti_destrezza": Mix(residents=0.15, centre=0.35, attractors=0.50,
                           kinds={"stazione": 3, "piazza": 2, "centro_commerciale": 2, "albergo": 1, "stadio": 0.5}),
    "furti_esercizi": Mix(residents=0.20, centre=0.40, attractors=0.40, kinds={"centro_commerciale": 4, "piazza": 1}),
    "furti_veicoli": Mix(residents=0.55, centre=0.20, attractors=0.25,
                         kinds={"stazione": 2, "centro_commerciale": 1.5, "stadio": 1, "albergo": 1}),
    "furti_altri": Mix(residents=0.50, centre=0.30, attractors=0.20,
                       kinds={"stazione": 1, "piazza": 1, "albergo": 1, "parco": 1}),
    "rapine": Mix(residents=0.25, centre=0.40, attractors=0.35,
                  kinds={"stazione": 2, "piazza": 1.5, "centro_commerciale": 1.5}),
    "danneggiamenti": Mix(residents=0.50, centre=0.30, attractors=0.20,
                          kinds={"piazza": 1.5, "parco": 1.5, "stadio": 1, "stazione": 1}),
    "lesioni_minacce": Mix(residents=0.55, centre=0.25, attractors=0.20,
                           kinds={"piazza": 2, "stazione": 1.5, "stadio": 1, "albergo": 1}),
    "stupefacenti": Mix(residents=0.10, centre=0.30, attractors=0.60, kinds={"stazione": 3, "piazza": 2, "parco": 2}),
    "truffe_frodi": Mix(residents=0.95, centre=0.05),
    "altro": Mix(residents=0.60, centre=0.30, attractors=0.10, kinds={"stazione": 1, "piazza": 1}),
}
#: Urban scaling: a comune's share is proportional to ``population ** exponent``. Crime grows
#: super-linearly with city size (Bettencourt et al. 2007, PNAS 104:7301, exponent ~1.16 for
#: serious crimes); burglaries and frauds follow residents (exponent 1).
COMUNE_EXPONENT: dict[str, float] = {
    "furti_abitazione": 1.0, "furti_destrezza": 1.2, "furti_esercizi": 1.15, "furti_veicoli": 1.1,
    "furti_altri": 1.15, "rapine": 1.25, "danneggiamenti": 1.1, "lesioni_minacce": 1.1,
    "stupefacenti": 1.3, "truffe_frodi": 1.0, "altro": 1.1,
}
#: Extra weight of the capoluogo (courts, hospital, main station and offices draw daily
#: commuters who are not residents). Assumption.
CAPOLUOGO_PREMIUM = 1.10
#: Share of a category's crimes falling in the persistent hot spots (all together); each emerging
#: hot spot grows from 0 in the first year to the intensity of one persistent spot in the last.
HOTSPOT_SHARE: dict[str, float] = {
    "furti_abitazione": 0.0, "furti_destrezza": 0.12, "furti_esercizi": 0.0, "furti_veicoli": 0.04,
    "furti_altri": 0.04, "rapine": 0.12, "danneggiamenti": 0.06, "lesioni_minacce": 0.05,
    "stupefacenti": 0.25, "truffe_frodi": 0.0, "altro": 0.02,
}
#: Kinds of attractor that can host a persistent hot spot, with their relative weight.
HOTSPOT_KINDS: dict[str, float] = {"stazione": 3.0, "piazza": 2.0, "parco": 1.5, "centro_commerciale": 1.0}
#: Locality kinds that can host an emerging hot spot (residential quarters and towns); hamlets
#: (``frazione``) only when a territory has none of these.
EMERGING_KINDS = ("quartiere", "paese", "sede_comunale")
EMERGING_FALLBACK_KINDS = ("frazione",)
#: An emerging hot spot needs a locality of at least this weight (1 = ~250 residents, as in
#: :func:`geo.data.population.locality_weights`) in a comune of at least this share of the largest
#: comune's population: dealing moves to urban quarters, not to hamlets.
EMERGING_MIN_LOCALITY_WEIGHT = 2.0
EMERGING_MIN_COMUNE_SHARE = 0.10
#: Minimum distance between two hot spots, and between an emerging spot and a comune centre (m).
HOTSPOT_SEPARATION_M = 1200.0
EMERGING_CENTRE_DISTANCE_M = 800.0

INCIDENT_COLUMNS = ["cell", "month", "category", "time_band", "outdoor", "count", "synthetic", "source", "import_id"]
HOTSPOT_COLUMNS = ["cell", "pro_com_t", "tipo", "nome", "lat", "lon"]


def load_national_categories(path: str | Path | None = None) -> pd.DataFrame:
    """National crimes by macro-category (``anno``, ``categoria``, ``delitti_denunciati``, ...)."""
    p = Path(path) if path else config.NATIONAL_DIR / "istat_delitti_italia_per_categoria_2014_2024.csv"
    return pd.read_csv(p)


def _national_pivot(national: pd.DataFrame) -> pd.DataFrame:
    if national is None or national.empty:
        return pd.DataFrame()
    return national.pivot_table(index="anno", columns="categoria", values="delitti_denunciati", aggfunc="sum")


def _estimated_weights(
    year: int, official: pd.DataFrame, full_years: list[int], nat: pd.DataFrame
) -> tuple[dict[str, float], str]:
    """Weights of every category in ``year`` for the estimated part, and a description."""
    cats = list(INCIDENT_CATEGORIES)
    if full_years:
        before = [y for y in full_years if y <= year]
        base = max(before) if before else min(full_years)
        mix = official[official["anno"] == base].set_index("categoria")["delitti"]
        weights = {}
        for c in cats:
            macro = MACRO_OF_CATEGORY[c]
            trend = 1.0
            if macro in nat.columns and year in nat.index and base in nat.index and nat.at[base, macro] > 0:
                trend = float(nat.at[year, macro] / nat.at[base, macro])
            weights[c] = float(mix.get(c, 0)) * trend
        return weights, f"Stima: composizione ufficiale {base} × andamento nazionale ISTAT per macro-categoria"
    if year in nat.index:
        weights = {c: float(nat.at[year, MACRO_OF_CATEGORY[c]]) * FALLBACK_SPLIT[c]
                   if MACRO_OF_CATEGORY[c] in nat.columns else 0.0 for c in cats}
        return weights, f"Stima: composizione nazionale ISTAT {year}"
    return {c: FALLBACK_SPLIT[c] for c in cats}, "Stima: composizione ipotetica"


def yearly_targets(
    official: pd.DataFrame,
    national: pd.DataFrame | None = None,
    *,
    years: tuple[int, ...] = YEARS,
    population: float | None = None,
) -> pd.DataFrame:
    """Crimes per year and category that the demo must contain.

    Parameters
    ----------
    official
        The territory's official totals (``anno``, ``categoria``, ``delitti``, ``fonte``):
        ``categoria = 'totale'`` is the ISTAT total, other rows are Lanterna categories.
    national
        National crimes by macro-category (:func:`load_national_categories`), for the trend of
        estimated categories and for territories without official figures.
    years
        Years to return.
    population
        Residents of the territory; used only for a year without an official total (national
        rate per resident times population).

    Returns
    -------
    pandas.DataFrame
        ``anno``, ``categoria``, ``delitti`` (int), ``ufficiale`` (bool: the figure is an official
        statistic, not an estimate), ``fonte``. For each year the categories add up exactly to the
        official total, and official categories keep their official value: the estimated ones
        share, by largest remainder, what is left.
    """
    cats = list(INCIDENT_CATEGORIES)
    off = official.copy() if official is not None else pd.DataFrame(columns=["anno", "categoria", "delitti", "fonte"])
    off["anno"] = pd.to_numeric(off["anno"]).astype(int)
    off["categoria"] = off["categoria"].astype(str)
    off["delitti"] = pd.to_numeric(off["delitti"]).astype(int)
    if "fonte" not in off.columns:
        off["fonte"] = ""
    nat = _national_pivot(national)
    full_years = sorted(int(y) for y, g in off.groupby("anno") if set(cats) <= set(g["categoria"]))

    rows = []
    for year in years:
        here = off[off["anno"] == year].set_index("categoria")
        if "totale" in here.index:
            total = int(here.at["totale", "delitti"])
        else:
            if population is None or year not in nat.index:
                raise ValueError(f"Manca il totale ufficiale dei delitti per il {year} e non è possibile stimarlo.")
            nat_pop = float(national.loc[national["anno"] == year, "popolazione"].iloc[0])
            total = round(float(nat.loc[year].sum()) / nat_pop * population)
        fixed = {c: int(here.at[c, "delitti"]) for c in cats if c in here.index}
        weights, method = _estimated_weights(year, off, full_years, nat)
        free = [c for c in cats if c not in fixed]
        rest = total - sum(fixed.values())
        values = dict(fixed)
        official_flag = dict.fromkeys(fixed, True)
        sources = {c: str(here.at[c, "fonte"]) for c in fixed}
        if rest < 0:
            # Inconsistent sources: keep the total, share it by the official figures.
            split = largest_remainder(total, np.array([fixed.get(c, weights[c]) for c in cats], dtype=float))
            values = dict(zip(cats, split.tolist(), strict=True))
            official_flag = dict.fromkeys(cats, False)
            sources = dict.fromkeys(cats, "Stima: categorie ufficiali riproporzionate al totale ISTAT")
        elif free:
            split = largest_remainder(rest, np.array([weights[c] for c in free], dtype=float))
            for c, v in zip(free, split.tolist(), strict=True):
                values[c], official_flag[c], sources[c] = int(v), False, method
        elif rest > 0:
            values["altro"] += rest
            official_flag["altro"] = False
            sources["altro"] = "Stima: chiude sul totale ISTAT"
        for c in cats:
            rows.append({"anno": int(year), "categoria": c, "delitti": int(values[c]),
                         "ufficiale": bool(official_flag[c]), "fonte": sources[c]})
    out = pd.DataFrame(rows)
    out["delitti"] = out["delitti"].astype("int64")
    return out


def _ordered_pick(
    places: PlaceContext, candidates: pd.DataFrame, weights: np.ndarray, n: int, rng: np.random.Generator,
    taken: list[tuple[float, float]], *, min_centre_m: float = 0.0,
) -> list[int]:
    """Draw up to ``n`` candidates (weighted, without replacement), each at least
    :data:`HOTSPOT_SEPARATION_M` from those already ``taken`` (updated in place)."""
    if n <= 0 or candidates.empty or weights.sum() <= 0:
        return []
    p = weights / weights.sum()
    order = rng.choice(len(candidates), size=int((p > 0).sum()), replace=False, p=p)
    centres = places.centre_points.set_index("pro_com_t")
    picked = []
    for i in order:
        row = candidates.iloc[int(i)]
        if any(np.hypot(row["x"] - tx, row["y"] - ty) < HOTSPOT_SEPARATION_M for tx, ty in taken):
            continue
        if min_centre_m > 0 and row["pro_com_t"] in centres.index:
            c = centres.loc[row["pro_com_t"]]
            if np.hypot(row["x"] - c["x"], row["y"] - c["y"]) < min_centre_m:
                continue
        picked.append(int(i))
        taken.append((row["x"], row["y"]))
        if len(picked) == n:
            break
    return picked


def choose_hotspots(
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame | None = None,
    *,
    rng: np.random.Generator,
    capoluogo: str | None = None,
    n_persistent: int = 4,
    n_emerging: int = 2,
    places: PlaceContext | None = None,
) -> pd.DataFrame:
    """Persistent and emerging hot spots of the demo.

    Persistent spots sit on attractors (:data:`HOTSPOT_KINDS`), more likely in populous comuni;
    when a territory has too few attractors, the main centres of the largest comuni are used.
    Emerging spots sit on residential localities (:data:`EMERGING_KINDS`) at least
    :data:`EMERGING_CENTRE_DISTANCE_M` from their comune's centre. All spots are at least
    :data:`HOTSPOT_SEPARATION_M` apart.

    Returns
    -------
    pandas.DataFrame
        ``cell`` (resolution 10), ``pro_com_t``, ``tipo`` (``'persistente'`` or ``'emergente'``),
        ``nome`` (the locality it sits on), ``lat``, ``lon``.
    """
    places = places or PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)
    loc = places.localities.copy()
    loc["pos"] = places.index_of(_cells_of(loc))
    loc = loc[loc["pos"] >= 0].reset_index(drop=True)
    pop_share = pd.Series(places.population / places.population.max(), index=places.comuni)
    loc["comune_w"] = loc["pro_com_t"].astype(str).map(pop_share).fillna(0.0).to_numpy()
    taken: list[tuple[float, float]] = []

    attr = loc[loc["tipo"].isin(HOTSPOT_KINDS)].reset_index(drop=True)
    w = attr["tipo"].map(HOTSPOT_KINDS).to_numpy(float) * attr["comune_w"].to_numpy()
    persistent = attr.iloc[_ordered_pick(places, attr, w, n_persistent, rng, taken)]
    if len(persistent) < n_persistent:
        centres = places.centre_points.copy()
        centres["pos"] = places.index_of(_cells_of(centres))
        centres = centres[centres["pos"] >= 0]
        centres["comune_w"] = centres["pro_com_t"].map(pop_share).to_numpy()
        centres = centres.sort_values("comune_w", ascending=False).reset_index(drop=True)
        extra = []
        for i, row in centres.iterrows():
            if all(np.hypot(row["x"] - tx, row["y"] - ty) >= HOTSPOT_SEPARATION_M for tx, ty in taken):
                extra.append(i)
                taken.append((row["x"], row["y"]))
            if len(persistent) + len(extra) == n_persistent:
                break
        persistent = pd.concat([persistent, centres.loc[extra]], ignore_index=True)

    settled = loc[places.residents[loc["pos"].to_numpy()] > 0]
    resid = settled[settled["tipo"].isin(EMERGING_KINDS)].reset_index(drop=True)
    if resid.empty:
        resid = settled[settled["tipo"].isin(EMERGING_FALLBACK_KINDS)].reset_index(drop=True)
    pop_known = resid["abitanti"].to_numpy()
    size_w = np.where(pop_known > 0, pop_known / 250.0, resid["tipo"].map(KIND_WEIGHTS).to_numpy(float))
    urban = (size_w >= EMERGING_MIN_LOCALITY_WEIGHT) & (resid["comune_w"].to_numpy() >= EMERGING_MIN_COMUNE_SHARE)
    if urban.any():
        resid, size_w = resid[urban].reset_index(drop=True), size_w[urban]
    w = size_w * resid["comune_w"].to_numpy()
    emerging = resid.iloc[_ordered_pick(places, resid, w, n_emerging, rng, taken,
                                        min_centre_m=EMERGING_CENTRE_DISTANCE_M)]

    rows = []
    for kind, frame in (("persistente", persistent), ("emergente", emerging)):
        for _, row in frame.iterrows():
            pos = int(row["pos"])
            rows.append({"cell": int(places.cells[pos]), "pro_com_t": str(places.codes[pos]), "tipo": kind,
                         "nome": str(row["nome"]), "lat": float(places.lat[pos]), "lon": float(places.lon[pos])})
    return pd.DataFrame(rows, columns=HOTSPOT_COLUMNS)


def _cells_of(frame: pd.DataFrame) -> np.ndarray:
    if frame.empty:
        return np.empty(0, dtype=np.int64)
    return hexgrid.points_to_cells(frame["lat"].to_numpy(float), frame["lon"].to_numpy(float), config.STORE_RES)


def emerging_ramp(year: int, years: tuple[int, ...] = YEARS) -> float:
    """Intensity of an emerging hot spot in ``year``, relative to a persistent one: 0 in the first
    year of ``years``, 1 in the last, linear in between."""
    first, last = min(years), max(years)
    if last == first:
        return 1.0
    return float(np.clip((year - first) / (last - first), 0.0, 1.0))


def monthly_weights(category: str, year: int) -> np.ndarray:
    """Probability of each month (January..December) for a crime of ``category`` in ``year``:
    :data:`SEASONALITY` times :data:`LOCKDOWN_FACTOR` (except :data:`LOCKDOWN_EXEMPT`)."""
    w = np.asarray(SEASONALITY[category], dtype=float).copy()
    if category not in LOCKDOWN_EXEMPT:
        for month in range(12):
            w[month] *= LOCKDOWN_FACTOR.get((year, month + 1), 1.0)
    return w / w.sum()


def cell_probabilities(
    places: PlaceContext, category: str, year: int, hotspots: pd.DataFrame | None, *, years: tuple[int, ...] = YEARS,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """Probability of each cell of ``places`` for one crime of ``category`` in ``year``.

    ``base`` is the category's surface without hot spots (computed when not given).
    """
    if base is None:
        base = places.weights(SPACE[category], comune_exponent=COMUNE_EXPONENT[category],
                              capoluogo_premium=CAPOLUOGO_PREMIUM)
    share = HOTSPOT_SHARE[category]
    if hotspots is None or hotspots.empty or share <= 0:
        return base
    n_persistent = max(int((hotspots["tipo"] == "persistente").sum()), 1)
    per_spot = share / n_persistent
    extra = np.zeros_like(base)
    mass = 0.0
    for cell, kind in zip(hotspots["cell"], hotspots["tipo"], strict=True):
        m = per_spot if kind == "persistente" else per_spot * emerging_ramp(year, years)
        if m <= 0:
            continue
        pos, w = places.footprint(int(cell))
        if pos.size == 0:
            continue
        extra[pos] += m * w / w.sum()
        mass += m
    return (1.0 - mass) * base + extra


def generate_incidents(
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame | None,
    targets: pd.DataFrame,
    *,
    rng: np.random.Generator,
    capoluogo: str | None = None,
    hotspots: pd.DataFrame | None = None,
    places: PlaceContext | None = None,
) -> pd.DataFrame:
    """Synthetic incident aggregates matching ``targets`` exactly.

    Parameters
    ----------
    cells
        The territory's resolution-10 cells: ``cell``, ``pro_com_t``, ``residents``.
    localities
        Localities and attractors: ``nome``, ``tipo``, ``abitanti``, ``pro_com_t``, ``lon``, ``lat``.
    comuni
        ``pro_com_t``, ``nome``, ``residenti`` (official populations); None uses cell residents.
    targets
        :func:`yearly_targets` output: ``anno``, ``categoria``, ``delitti``.
    rng
        Random generator (the orchestrator passes the ``incidents`` stream).
    capoluogo
        PRO_COM_T of the capoluogo (urban premium); default the most populated comune.
    hotspots
        :func:`choose_hotspots` output; None or empty for no hot spots.
    places
        A prebuilt :class:`~geo.demo.synth._places.PlaceContext` for these cells (saves time).

    Returns
    -------
    pandas.DataFrame
        Columns of the ``incidents`` table: ``cell``, ``month`` (first day of the month),
        ``category``, ``time_band`` (``giorno``/``notte``), ``outdoor``, ``count`` (> 0),
        ``synthetic`` (True), ``source``, ``import_id`` (null). For every year and category the
        counts add up to the target.
    """
    places = places or PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)
    years = tuple(sorted(int(y) for y in targets["anno"].unique()))
    bases: dict[str, np.ndarray] = {}
    parts = []
    for (year, category), n in targets.groupby(["anno", "categoria"], sort=True)["delitti"].sum().items():
        n = int(n)
        if n <= 0:
            continue
        if category not in bases:
            bases[category] = places.weights(SPACE[category], comune_exponent=COMUNE_EXPONENT[category],
                                             capoluogo_premium=CAPOLUOGO_PREMIUM)
        p = cell_probabilities(places, category, int(year), hotspots, years=years, base=bases[category])
        support = np.flatnonzero(p > 0)
        pos = support[rng.choice(support.size, size=n, p=p[support] / p[support].sum())]
        month = rng.choice(12, size=n, p=monthly_weights(category, int(year))) + 1
        tp = TIME_PLACE[category]
        night = rng.random(n) < tp["night"]
        outdoor = rng.random(n) < np.where(night, tp["outdoor_night"], tp["outdoor_day"])
        parts.append(pd.DataFrame({"cell": places.cells[pos], "year": int(year), "m": month, "category": category,
                                   "night": night, "outdoor": outdoor}))
    if not parts:
        return _empty_incidents()
    events = pd.concat(parts, ignore_index=True)
    agg = events.groupby(["year", "m", "category", "cell", "night", "outdoor"], sort=True).size().reset_index(
        name="count")
    month = pd.to_datetime(pd.DataFrame({"year": agg["year"], "month": agg["m"], "day": 1})).astype("datetime64[s]")
    out = pd.DataFrame({
        "cell": agg["cell"].astype("int64"),
        "month": month,
        "category": agg["category"].astype(str),
        "time_band": np.where(agg["night"], "notte", "giorno"),
        "outdoor": agg["outdoor"].astype(bool),
        "count": agg["count"].astype("int32"),
        "synthetic": True,
        "source": DEMO_SOURCE,
        "import_id": pd.array([pd.NA] * len(agg), dtype="Int32"),
    })
    return out[INCIDENT_COLUMNS]


def _empty_incidents() -> pd.DataFrame:
    return pd.DataFrame({
        "cell": pd.Series(dtype="int64"), "month": pd.Series(dtype="datetime64[s]"),
        "category": pd.Series(dtype=str), "time_band": pd.Series(dtype=str), "outdoor": pd.Series(dtype=bool),
        "count": pd.Series(dtype="int32"), "synthetic": pd.Series(dtype=bool), "source": pd.Series(dtype=str),
        "import_id": pd.Series(dtype="Int32"),
    })[INCIDENT_COLUMNS]
