"""Synthetic primary and secondary schools (the kindergartens of the territory folder are real).

Primary and secondary schools with coordinates were not found for the bundled territory (see
``data/territories/massa-carrara/sources/schools_ms.md``), so the demo adds plausible ones:
counts per comune from its population (:func:`school_counts`), placed near the comune's
populated localities, with fake but well-formed *codici meccanografici* that end in ``D`` (for
"demo") and names such as "Scuola primaria <località>". Every row is flagged synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.data.schemas import DEMO_SOURCE
from geo.demo.synth._places import Mix, PlaceContext

#: Residents per school building by level. Assumption (issue brief): about one primary per 3,000
#: residents, one lower secondary per 5,500 and one upper secondary per 9,000 – a little denser
#: than a national average because hill and mountain comuni keep small schools open.
RESIDENTS_PER_SCHOOL: dict[str, float] = {"primaria": 3_000, "secondaria_i": 5_500, "secondaria_ii": 9_000}
#: A comune gets a primary school from this many residents.
MIN_RESIDENTS_PRIMARY = 1_000
#: A comune gets secondary schools from this many residents (the capoluogo always).
MIN_RESIDENTS_SECONDARY = 5_000
#: Share of residents in the age of each level (ISTAT resident population 2023: ages 6-10 about
#: 4.3 %, 11-13 about 2.7 %, 14-18 about 4.7 %).
AGE_SHARE: dict[str, float] = {"primaria": 0.043, "secondaria_i": 0.027, "secondaria_ii": 0.047}
#: Placement inside the comune: primaries follow residents (one per neighbourhood or village),
#: secondary schools are more central; upper secondary schools are in the town centre.
SPACE: dict[str, Mix] = {
    "primaria": Mix(residents=0.7, centre=0.3),
    "secondaria_i": Mix(residents=0.4, centre=0.6),
    "secondaria_ii": Mix(residents=0.1, centre=0.9),
}
#: Ministry code type letters (MIM *codice meccanografico*: province sigla, two letters for the
#: school type, six characters): EE primary, MM secondary I; for secondary II PS liceo
#: scientifico, IS istituto d'istruzione superiore, TD istituto tecnico, PC liceo classico (used in
#: turn within a comune).
CODE_TYPES: dict[str, tuple[str, ...]] = {
    "primaria": ("EE",), "secondaria_i": ("MM",), "secondaria_ii": ("PS", "IS", "TD", "PC"),
}
NAME_PREFIX: dict[str, tuple[str, ...]] = {
    "primaria": ("Scuola primaria",),
    "secondaria_i": ("Scuola secondaria di I grado",),
    "secondaria_ii": ("Liceo scientifico", "Istituto di istruzione superiore", "Istituto tecnico", "Liceo classico"),
}

SCHOOL_COLUMNS = [
    "code", "name", "level", "pro_com_t", "lon", "lat", "cell", "students", "address", "synthetic", "source",
    "import_id",
]


def school_counts(population: pd.DataFrame, *, capoluogo: str | None = None) -> pd.DataFrame:
    """Number of synthetic schools of each level per comune.

    Parameters
    ----------
    population
        ``pro_com_t`` and ``residenti``.
    capoluogo
        PRO_COM_T of the capoluogo: it always gets secondary schools.

    Returns
    -------
    pandas.DataFrame
        ``pro_com_t``, ``residenti``, ``primaria``, ``secondaria_i``, ``secondaria_ii``: one
        primary per 3,000 residents above 1,000 residents (at least one), one secondary I per 5,500
        and one secondary II per 9,000 in comuni above 5,000 residents and in the capoluogo.
    """
    pop = population[["pro_com_t", "residenti"]].copy()
    pop["pro_com_t"] = pop["pro_com_t"].astype(str)
    res = pop["residenti"].to_numpy(float)
    big = (res > MIN_RESIDENTS_SECONDARY) | (pop["pro_com_t"].to_numpy() == capoluogo)
    pop["primaria"] = np.where(res > MIN_RESIDENTS_PRIMARY,
                               np.maximum(1, np.round(res / RESIDENTS_PER_SCHOOL["primaria"])), 0).astype(int)
    for level in ("secondaria_i", "secondaria_ii"):
        pop[level] = np.where(big, np.maximum(1, np.round(res / RESIDENTS_PER_SCHOOL[level])), 0).astype(int)
    return pop.sort_values("pro_com_t").reset_index(drop=True)


def generate_schools(
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame,
    *,
    rng: np.random.Generator,
    capoluogo: str | None = None,
    sigla: str = "XX",
    real_schools: pd.DataFrame | None = None,
    places: PlaceContext | None = None,
) -> pd.DataFrame:
    """Synthetic primary and secondary schools.

    Parameters
    ----------
    cells, localities
        Territory frames (see :func:`geo.demo.synth.incidents.generate_incidents`).
    comuni
        ``pro_com_t``, ``nome``, ``residenti``.
    rng
        Random generator (the ``schools`` stream).
    capoluogo
        PRO_COM_T of the capoluogo.
    sigla
        Two-letter province code for the school codes (``territory.manifest['sigla']``).
    real_schools
        The territory's real schools (``code``, ``level``): levels they already cover are not
        generated, and their codes are never reused.
    places
        Prebuilt place context for these cells.

    Returns
    -------
    pandas.DataFrame
        Columns of the ``schools`` table. Codes look like ``MSEE80012D`` (sigla, type, ``8`` or
        ``0``, a 4-digit number, ``D`` for demo); ``students`` is the comune's (secondary II: the
        territory's) residents of school age shared among its schools of the level, ±20 %.
    """
    places = places or PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)
    sigla = (sigla or "XX").upper()[:2]
    counts = school_counts(comuni, capoluogo=places.capoluogo)
    big = counts[counts["secondaria_ii"] > 0]
    rows = []
    serial = {"primaria": 0, "secondaria_i": 0, "secondaria_ii": 0}
    taken: set[str] = set()
    real_levels: set[str] = set()
    if real_schools is not None and len(real_schools):
        taken = set(real_schools["code"].astype(str))
        real_levels = set(real_schools["level"].astype(str))
    for level in ("primaria", "secondaria_i", "secondaria_ii"):
        if level in real_levels:
            continue
        p_all = places.weights(SPACE[level])
        per_school = {}
        for code, res, n in zip(counts["pro_com_t"], counts["residenti"], counts[level], strict=True):
            if n <= 0:
                continue
            if level == "secondaria_ii":
                # Upper secondary schools also serve the comuni without one.
                catchment = float(res) / float(big["residenti"].sum()) * float(counts["residenti"].sum())
            else:
                catchment = float(res)
            per_school[code] = AGE_SHARE[level] * catchment / n
            idx = np.flatnonzero(places.codes == code)
            p = p_all[idx]
            if p.sum() <= 0:
                p = np.ones(idx.size)
            k = min(int(n), int((p > 0).sum()))
            chosen = idx[rng.choice(idx.size, size=k, replace=False, p=p / p.sum())]
            chosen = chosen[np.argsort(places.cells[chosen])]
            names = places.nearest_locality(chosen)
            seen: dict[str, int] = {}
            for j, (pos, place) in enumerate(zip(chosen, names, strict=True)):
                variant = j % len(CODE_TYPES[level])
                base = f"{NAME_PREFIX[level][variant]} {place}"
                seen[base] = seen.get(base, 0) + 1
                suffix = "" if seen[base] == 1 else f" – plesso {seen[base]}"
                digit = "8" if level != "secondaria_ii" else "0"
                serial[level] += 1
                while (school_code := f"{sigla}{CODE_TYPES[level][variant]}{digit}{serial[level]:04d}D") in taken:
                    serial[level] += 1
                rows.append({
                    "code": school_code,
                    "name": f"{base}{suffix}",
                    "level": level,
                    "pos": int(pos),
                    "students": max(10, round(per_school[code] * rng.uniform(0.8, 1.2))),
                })
    if not rows:
        return pd.DataFrame(columns=SCHOOL_COLUMNS)
    df = pd.DataFrame(rows)
    pos = df["pos"].to_numpy()
    lat, lon = places.jitter(pos, rng)
    out = pd.DataFrame({
        "code": df["code"].astype(str),
        "name": df["name"].astype(str),
        "level": df["level"].astype(str),
        "pro_com_t": places.codes[pos].astype(str),
        "lon": lon,
        "lat": lat,
        "cell": places.cells[pos].astype("int64"),
        "students": df["students"].astype("int32"),
        "address": pd.Series([None] * len(df), dtype=object),
        "synthetic": True,
        "source": DEMO_SOURCE,
        "import_id": pd.array([pd.NA] * len(df), dtype="Int32"),
    })
    return out[SCHOOL_COLUMNS]
