"""Synthetic public-lighting inventory with PELL-IP fields (ENEA/AgID "punto luce" model).

No real inventory of light points was found for any Italian comune (see
``data/national/sources/schema_pell_illuminazione.md``), so the demo generates one with the
fields of the PELL-IP model (``data/national/pell_ip_punto_luce_fields.csv``): PL_ID, lamp
technology (PL_SL_TY), nominal power (PL_SL_POW, W), mounting height (PL_IS_ALT, m), fixture
type (PL_AP_TY labels) and an installation year consistent with the technology.

Size and placement: about one light point per :data:`RESIDENTS_PER_LIGHT` residents, placed on
settled cells in proportion to ``residents ** 0.7`` (:func:`lighting_target`), so that sparsely
settled cells still have lights. A few *under-lit outskirts* (patches of settled cells far from
the comune's centre) get only 15-40 % of their target, older lamps and more failures: the need
the lighting planner must find. Old technologies and failures are more frequent in the outskirts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.data.schemas import DEMO_SOURCE
from geo.data.sources import RESIDENTS_PER_LIGHT
from geo.demo.synth._places import PlaceContext

#: Lights grow less than proportionally with residents (a road through a hamlet needs lights
#: whatever its density): target per cell proportional to ``residents ** DENSITY_EXPONENT``.
DENSITY_EXPONENT = 0.7

#: Technology mix of an Italian province around 2024 (assumption from the brief: LED ~45 %,
#: high-pressure sodium ~40 %, metal halide ~7 %, mercury ~5 % – banned from sale since 2015 by
#: Reg. EC 245/2009 but still installed in outskirts –, others ~3 %).
TECHNOLOGY_MIX: dict[str, float] = {
    "led": 0.45,
    "sodio_alta_pressione": 0.40,
    "ioduri_metallici": 0.07,
    "mercurio": 0.05,
    "fluorescenza_compatta": 0.015,
    "sodio_bassa_pressione": 0.005,
    "alogena": 0.005,
    "altro": 0.005,
}
#: Change of each technology's probability per unit of peripherality above the mean (sums to 0,
#: so the overall mix stays :data:`TECHNOLOGY_MIX`): LED replacements started in the centres.
TECHNOLOGY_PERIPHERY_SHIFT: dict[str, float] = {
    "led": -0.60,
    "sodio_alta_pressione": 0.35,
    "ioduri_metallici": 0.05,
    "mercurio": 0.15,
    "fluorescenza_compatta": 0.03,
    "sodio_bassa_pressione": 0.01,
    "alogena": 0.005,
    "altro": 0.005,
}
#: Nominal lamp powers (W) and their probabilities by technology (catalogue values of street
#: lighting lamps: SAP 70/100/150 W, mercury 125/250 W, LED modules 30-90 W).
POWER_W: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "led": ((30, 40, 50, 60, 70, 90), (0.15, 0.25, 0.2, 0.2, 0.12, 0.08)),
    "sodio_alta_pressione": ((70, 100, 150), (0.45, 0.35, 0.20)),
    "ioduri_metallici": ((70, 100, 150), (0.4, 0.3, 0.3)),
    "mercurio": ((125, 250), (0.8, 0.2)),
    "fluorescenza_compatta": ((36, 55), (0.5, 0.5)),
    "sodio_bassa_pressione": ((55, 90), (0.6, 0.4)),
    "alogena": ((100, 150), (0.6, 0.4)),
    "altro": ((50, 100), (0.5, 0.5)),
}
#: Installation years (first, most likely, last) by technology: LED street lighting spread after
#: 2012; mercury lamps were not installed after the 1990s (and cannot be sold since 2015).
INSTALL_YEARS: dict[str, tuple[int, int, int]] = {
    "led": (2012, 2024, 2024),
    "sodio_alta_pressione": (1985, 2002, 2014),
    "ioduri_metallici": (1995, 2010, 2020),
    "mercurio": (1965, 1985, 1998),
    "fluorescenza_compatta": (1990, 2000, 2012),
    "sodio_bassa_pressione": (1975, 1985, 1995),
    "alogena": (1990, 2000, 2010),
    "altro": (1980, 2000, 2015),
}
#: Fixture types (PELL-IP PL_AP_TY labels) in a centre (peripherality 0) and in the outskirts
#: (peripherality 1); interpolated linearly in between. Street luminaires dominate everywhere;
#: decorative lanterns and globes are a centre thing.
FIXTURE_CENTRE: dict[str, float] = {
    "armatura stradale": 0.45, "arredo urbano": 0.25, "lanterna": 0.15, "sfera": 0.07, "proiettore": 0.05,
    "altro": 0.03,
}
FIXTURE_OUTSKIRTS: dict[str, float] = {
    "armatura stradale": 0.85, "arredo urbano": 0.05, "lanterna": 0.03, "sfera": 0.02, "proiettore": 0.03,
    "altro": 0.02,
}
#: Mounting height range (m) by fixture type (UNI 11248 road classes: 8-12 m on main roads,
#: 6-8 m on local roads; pedestrian/decorative fittings 4-5 m).
HEIGHT_M: dict[str, tuple[float, float]] = {
    "armatura stradale": (6.0, 12.0),
    "arredo urbano": (4.0, 5.5),
    "lanterna": (4.0, 5.0),
    "sfera": (4.0, 4.5),
    "proiettore": (6.0, 12.0),
    "altro": (4.0, 8.0),
}
#: Share of light points out of order at any time (assumption: 4-7 % in maintenance contracts'
#: service reports), more in the outskirts: ``BROKEN_SHARE * (0.5 + r) / (0.5 + mean r)``.
BROKEN_SHARE = 0.055

#: Peripherality (share of the comune's residents living closer to its centre) from which a
#: settled cell counts as outskirts.
OUTSKIRTS_MIN_PERIPHERALITY = 0.65
#: One under-lit patch per this many residents (at least :data:`MIN_UNDERLIT_PATCHES`).
RESIDENTS_PER_UNDERLIT_PATCH = 10_000
MIN_UNDERLIT_PATCHES = 2
#: Range of the share of the target an under-lit patch receives.
UNDERLIT_FACTOR = (0.15, 0.40)
#: Minimum distance between two under-lit patch centres (m).
UNDERLIT_SEPARATION_M = 800.0
#: A patch seed must have at least this many target light points (a real street, not a house).
UNDERLIT_MIN_SEED_TARGET = 1.5

LIGHTING_COLUMNS = [
    "pl_id", "lon", "lat", "cell", "pro_com_t", "technology", "power_w", "height_m", "status", "year", "fixture",
    "synthetic", "source", "import_id",
]


def lighting_target(
    residents: np.ndarray | pd.Series, *, residents_per_light: float = RESIDENTS_PER_LIGHT,
    exponent: float = DENSITY_EXPONENT,
) -> np.ndarray:
    """Target number of light points per cell (float).

    Proportional to ``residents ** exponent`` on settled cells (zero elsewhere) and scaled so that
    the total is ``sum(residents) / residents_per_light``.
    """
    r = np.asarray(residents, dtype=float)
    w = np.where(r > 0, np.maximum(r, 0.0) ** exponent, 0.0)
    if w.sum() <= 0:
        return np.zeros_like(r)
    return w / w.sum() * (r[r > 0].sum() / residents_per_light)


def underlit_patches(
    places: PlaceContext, target: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose the under-lit outskirts.

    Seeds are settled outskirts cells (peripherality >= :data:`OUTSKIRTS_MIN_PERIPHERALITY`,
    target >= :data:`UNDERLIT_MIN_SEED_TARGET`), drawn in proportion to their target and at least
    :data:`UNDERLIT_SEPARATION_M` apart; a patch is the seed and its settled outskirts neighbours
    within two steps in the same comune.

    Returns
    -------
    tuple of numpy.ndarray
        Positions of the patch cells, the light factor of each (in :data:`UNDERLIT_FACTOR`) and the
        patch number of each.
    """
    n_patches = max(MIN_UNDERLIT_PATCHES, round(places.residents.sum() / RESIDENTS_PER_UNDERLIT_PATCH))
    outskirts = (places.residents > 0) & (places.peripherality >= OUTSKIRTS_MIN_PERIPHERALITY)
    candidates = np.flatnonzero(outskirts & (target >= UNDERLIT_MIN_SEED_TARGET))
    if candidates.size == 0:
        candidates = np.flatnonzero(outskirts)
    if candidates.size == 0:
        return np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64)
    p = np.maximum(target[candidates], 1e-9)
    order = candidates[rng.choice(candidates.size, size=candidates.size, replace=False, p=p / p.sum())]
    seeds: list[int] = []
    for pos in order:
        if all(np.hypot(places.x[pos] - places.x[s], places.y[pos] - places.y[s]) >= UNDERLIT_SEPARATION_M
               for s in seeds):
            seeds.append(int(pos))
            if len(seeds) == n_patches:
                break
    positions, factors, patch = [], [], []
    seen: set[int] = set()
    for k, seed in enumerate(seeds):
        factor = rng.uniform(*UNDERLIT_FACTOR)
        pos, _ = places.footprint(int(places.cells[seed]))
        keep = [int(q) for q in pos if q not in seen and outskirts[q] and places.codes[q] == places.codes[seed]]
        seen.update(keep)
        positions += keep
        factors += [factor] * len(keep)
        patch += [k] * len(keep)
    return np.asarray(positions, np.int64), np.asarray(factors, float), np.asarray(patch, np.int64)


def _draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category index per row of a row-stochastic matrix."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(probabilities.shape[0]) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), probabilities.shape[1] - 1)


def generate_lighting(
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame | None = None,
    *,
    rng: np.random.Generator,
    capoluogo: str | None = None,
    residents_per_light: float = RESIDENTS_PER_LIGHT,
    places: PlaceContext | None = None,
) -> pd.DataFrame:
    """Synthetic light points of the territory.

    Parameters
    ----------
    cells
        Resolution-10 cells with ``cell``, ``pro_com_t``, ``residents``.
    localities
        Localities (``nome``, ``tipo``, ``abitanti``, ``pro_com_t``, ``lon``, ``lat``): they define
        each comune's centre, hence the peripherality of each cell.
    comuni
        ``pro_com_t``, ``nome``, ``residenti``; optional.
    rng
        Random generator (the ``lighting`` stream).
    capoluogo
        PRO_COM_T of the capoluogo (not used for sizing; passed to the place context).
    residents_per_light
        Residents per light point (:data:`RESIDENTS_PER_LIGHT`).
    places
        Prebuilt place context for these cells.

    Returns
    -------
    pandas.DataFrame
        Columns of the ``lighting`` table; ``pl_id`` like ``PL-045010-000123`` numbered within
        each comune; ``lon``/``lat`` inside the row's resolution-10 ``cell``.
    """
    places = places or PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)
    target = lighting_target(places.residents, residents_per_light=residents_per_light)
    factor = np.ones_like(target)
    periph = places.peripherality.copy()
    patch_pos, patch_factor, _ = underlit_patches(places, target, rng)
    factor[patch_pos] = patch_factor
    # Under-lit patches are also the neglected ones: treat them as the farthest outskirts.
    periph[patch_pos] = 1.0
    expected = target * factor
    n_total = round(target.sum())
    counts = rng.multinomial(n_total, expected / expected.sum()) if n_total > 0 else np.zeros_like(target, int)
    pos = np.repeat(np.arange(target.size), counts)
    n = pos.size
    r = periph[pos]
    r_mean = float(r.mean()) if n else 0.0

    techs = list(TECHNOLOGY_MIX)
    base = np.asarray([TECHNOLOGY_MIX[t] for t in techs])
    shift = np.asarray([TECHNOLOGY_PERIPHERY_SHIFT[t] for t in techs])
    p_tech = np.clip(base[None, :] + (r - r_mean)[:, None] * shift[None, :], 0.002, None)
    tech = np.asarray(techs, dtype=object)[_draw(p_tech, rng)]

    power = np.zeros(n)
    year = np.zeros(n, dtype=np.int64)
    for t in techs:
        sel = np.flatnonzero(tech == t)
        if sel.size == 0:
            continue
        values, probs = POWER_W[t]
        power[sel] = rng.choice(np.asarray(values, float), size=sel.size, p=np.asarray(probs) / sum(probs))
        first, mode, last = INSTALL_YEARS[t]
        year[sel] = np.floor(rng.triangular(first, mode, last + 1, size=sel.size)).astype(np.int64).clip(first, last)

    fixtures = list(FIXTURE_CENTRE)
    fc = np.asarray([FIXTURE_CENTRE[f] for f in fixtures])
    fo = np.asarray([FIXTURE_OUTSKIRTS[f] for f in fixtures])
    fixture = np.asarray(fixtures, dtype=object)[_draw((1 - r)[:, None] * fc + r[:, None] * fo, rng)]
    lo = np.asarray([HEIGHT_M[f][0] for f in fixture]) if n else np.zeros(0)
    hi = np.asarray([HEIGHT_M[f][1] for f in fixture]) if n else np.zeros(0)
    height = np.round((lo + (hi - lo) * rng.random(n)) * 2) / 2

    p_broken = BROKEN_SHARE * (0.5 + r) / (0.5 + r_mean)
    status = np.where(rng.random(n) < p_broken, "guasto", "funzionante")
    lat, lon = places.jitter(pos, rng)

    codes = places.codes[pos]
    order = np.lexsort((np.arange(n), places.cells[pos], codes))
    seq = pd.Series(codes[order]).groupby(codes[order]).cumcount().to_numpy() + 1
    pl_id = np.empty(n, dtype=object)
    pl_id[order] = [f"PL-{c}-{i:06d}" for c, i in zip(codes[order], seq, strict=True)]

    out = pd.DataFrame({
        "pl_id": pl_id.astype(str),
        "lon": lon,
        "lat": lat,
        "cell": places.cells[pos].astype("int64"),
        "pro_com_t": codes.astype(str),
        "technology": tech.astype(str),
        "power_w": power,
        "height_m": height,
        "status": status,
        "year": year.astype("int32"),
        "fixture": fixture.astype(str),
        "synthetic": True,
        "source": DEMO_SOURCE,
        "import_id": pd.array([pd.NA] * n, dtype="Int32"),
    })
    return out.iloc[order].reset_index(drop=True)[LIGHTING_COLUMNS]
