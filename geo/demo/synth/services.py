"""Synthetic services for people without a home (pact art. 14).

Art. 14 of the Massa-Carrara pact asks the Comuni for a census of the services for homeless
people (street meals, canteens, night shelters, showers, wardrobes, listening centres, legal,
psychological and health assistance), with priority areas in the capoluogo. No such census is
published, so the demo places a plausible set (:data:`SERVICE_PLAN`, 8-14 services) near the
centres and stations of the capoluogo, the second and the third largest comune. Names and
operators are generic ("Caritas diocesana", "Croce Rossa Italiana – Comitato locale",
"Cooperativa sociale", ...): they make no claim about any real address. Night shelters are not
public (only some roles may see where they are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.data.schemas import DEMO_SOURCE
from geo.demo.synth._places import PlaceContext

#: Services of the demo. ``city``: 0 the capoluogo, 1 the second most populated comune, 2 the
#: third (only if it has at least :data:`THIRD_CITY_MIN_RESIDENTS`); ``near``: ``stazione`` (the
#: comune's station when it has one, else its centre) or ``centro``; ``capacity``: (low, high)
#: places or None; ``hours`` in OpenStreetMap ``opening_hours`` syntax.
SERVICE_PLAN: tuple[dict, ...] = (
    {"city": 0, "near": "centro", "name": "Mensa solidale", "operator": "Caritas diocesana",
     "types": ["mensa"], "hours": "Mo-Sa 11:45-13:30", "open_24h": False, "capacity": (50, 80), "public": True},
    {"city": 0, "near": "stazione", "name": "Dormitorio di accoglienza notturna", "operator": "Cooperativa sociale",
     "types": ["accoglienza_notturna", "docce"], "hours": "Mo-Su 19:30-08:00", "open_24h": False,
     "capacity": (20, 30), "public": False},
    {"city": 0, "near": "stazione", "name": "Unità di strada – distribuzione pasti",
     "operator": "Croce Rossa Italiana – Comitato locale", "types": ["pasti_strada"],
     "hours": "Mo,We,Fr 20:00-22:00", "open_24h": False, "capacity": None, "public": True},
    {"city": 0, "near": "centro", "name": "Servizio docce e guardaroba", "operator": "Associazione di volontariato",
     "types": ["docce", "guardaroba"], "hours": "Tu,Th 09:00-12:00; Sa 09:00-11:00", "open_24h": False,
     "capacity": None, "public": True},
    {"city": 0, "near": "centro", "name": "Centro di ascolto", "operator": "Caritas diocesana",
     "types": ["ascolto", "assistenza_psicologica"], "hours": "Mo-Fr 09:00-12:00, Tu,Th 15:00-18:00",
     "open_24h": False, "capacity": None, "public": True},
    {"city": 0, "near": "stazione", "name": "Ambulatorio solidale",
     "operator": "Associazione di volontariato sanitario",
     "types": ["assistenza_sanitaria"], "hours": "We 15:00-18:00; Sa 09:00-12:00", "open_24h": False,
     "capacity": None, "public": True},
    {"city": 0, "near": "centro", "name": "Sportello di assistenza legale gratuita",
     "operator": "Associazione di volontariato", "types": ["assistenza_legale"], "hours": "Th 15:00-18:00",
     "open_24h": False, "capacity": None, "public": True},
    {"city": 0, "near": "centro", "name": "Segretariato sociale – sportello senza dimora",
     "operator": "Comune – Servizi sociali", "types": ["ascolto"], "hours": "Mo-Fr 09:00-12:30, Tu 15:00-17:00",
     "open_24h": False, "capacity": None, "public": True},
    {"city": 0, "near": "centro", "name": "Comunità di accoglienza a bassa soglia", "operator": "Cooperativa sociale",
     "types": ["accoglienza_notturna", "docce", "guardaroba", "assistenza_psicologica"], "hours": "24/7",
     "open_24h": True, "capacity": (10, 14), "public": False},
    {"city": 1, "near": "centro", "name": "Mensa", "operator": "Caritas parrocchiale", "types": ["mensa"],
     "hours": "Mo-Fr 12:00-13:30", "open_24h": False, "capacity": (30, 50), "public": True},
    {"city": 1, "near": "stazione", "name": "Accoglienza notturna – emergenza freddo",
     "operator": "Comune – Servizi sociali", "types": ["accoglienza_notturna"], "hours": "Dec-Mar Mo-Su 20:00-08:00",
     "open_24h": False, "capacity": (15, 22), "public": False},
    {"city": 1, "near": "stazione", "name": "Unità di strada – distribuzione pasti",
     "operator": "Croce Rossa Italiana – Comitato locale", "types": ["pasti_strada"],
     "hours": "Tu,Th,Sa 19:30-21:00", "open_24h": False, "capacity": None, "public": True},
    {"city": 1, "near": "centro", "name": "Centro di ascolto e guardaroba", "operator": "Caritas parrocchiale",
     "types": ["ascolto", "guardaroba"], "hours": "Mo,We,Fr 09:30-12:00", "open_24h": False, "capacity": None,
     "public": True},
    {"city": 2, "near": "centro", "name": "Sportello sociale", "operator": "Comune – Servizi sociali",
     "types": ["ascolto", "assistenza_sanitaria"], "hours": "Mo,Th 09:00-12:00", "open_24h": False,
     "capacity": None, "public": True},
)
#: The third comune gets services only from this size (a town with its own social desk).
THIRD_CITY_MIN_RESIDENTS = 10_000
#: Services sit within this distance (m) of their anchor, on a cell not used by another service.
ANCHOR_RADIUS_M = 400.0

SERVICE_COLUMNS = [
    "service_id", "name", "operator", "types", "hours", "open_24h", "capacity", "public", "pro_com_t", "lon", "lat",
    "cell", "synthetic", "source", "import_id",
]


def service_cities(places: PlaceContext) -> list[str]:
    """PRO_COM_T of the comuni that host services: the capoluogo, then the next two by
    population (the third only above :data:`THIRD_CITY_MIN_RESIDENTS`)."""
    order = [str(places.comuni[i]) for i in np.argsort(-places.population, kind="stable")]
    pop = dict(zip(places.comuni.astype(str), places.population, strict=True))
    cities = [places.capoluogo] + [c for c in order if c != places.capoluogo]
    cities = cities[:3]
    if len(cities) == 3 and pop[cities[2]] < THIRD_CITY_MIN_RESIDENTS:
        cities = cities[:2]
    return cities


def _anchor(places: PlaceContext, code: str, near: str) -> tuple[float, float]:
    """Local metric coordinates of a comune's station (when ``near == 'stazione'`` and it has
    one, the one closest to the centre) or of its main centre."""
    centre = places.centre_points.set_index("pro_com_t").loc[code]
    if near == "stazione":
        stations = places.localities[(places.localities["tipo"] == "stazione")
                                     & (places.localities["pro_com_t"].astype(str) == code)]
        if len(stations):
            d = np.hypot(stations["x"] - centre["x"], stations["y"] - centre["y"]).to_numpy()
            best = stations.iloc[int(np.argmin(d))]
            return float(best["x"]), float(best["y"])
    return float(centre["x"]), float(centre["y"])


def generate_services(
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame | None = None,
    *,
    rng: np.random.Generator,
    capoluogo: str | None = None,
    places: PlaceContext | None = None,
) -> pd.DataFrame:
    """Synthetic services for homeless people following :data:`SERVICE_PLAN`.

    Parameters
    ----------
    cells, localities, comuni
        Territory frames (see :func:`geo.demo.synth.incidents.generate_incidents`); ``comuni`` gives
        the names used in the service names.
    rng
        Random generator (the ``services`` stream).
    capoluogo
        PRO_COM_T of the capoluogo (default: the most populated comune).
    places
        Prebuilt place context for these cells.

    Returns
    -------
    pandas.DataFrame
        Columns of the ``services`` table; ``service_id`` like ``SRV-045010-03``; ``types`` a list
        of :data:`geo.data.schemas.SERVICE_TYPES` codes.
    """
    places = places or PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)
    cities = service_cities(places)
    used: set[int] = set()
    rows = []
    numbers: dict[str, int] = {}
    for item in SERVICE_PLAN:
        if item["city"] >= len(cities):
            continue
        code = cities[item["city"]]
        ax, ay = _anchor(places, code, item["near"])
        near = [int(q) for q in places.cells_within(ax, ay, ANCHOR_RADIUS_M)
                if places.codes[q] == code and int(q) not in used]
        if near:
            w = np.asarray([places.residents[q] for q in near]) + 0.5
            pos = near[int(rng.choice(len(near), p=w / w.sum()))]
        else:
            mine = np.flatnonzero(places.codes == code)
            pos = int(mine[np.argmin(np.hypot(places.x[mine] - ax, places.y[mine] - ay))])
        used.add(pos)
        numbers[code] = numbers.get(code, 0) + 1
        capacity = None if item["capacity"] is None else int(rng.integers(item["capacity"][0], item["capacity"][1] + 1))
        rows.append({
            "service_id": f"SRV-{code}-{numbers[code]:02d}",
            "name": f"{item['name']} – {places.names.get(code, code)}",
            "operator": item["operator"],
            "types": list(item["types"]),
            "hours": item["hours"],
            "open_24h": bool(item["open_24h"]),
            "capacity": capacity,
            "public": bool(item["public"]),
            "pos": pos,
        })
    if not rows:
        return pd.DataFrame(columns=SERVICE_COLUMNS)
    df = pd.DataFrame(rows)
    pos = df["pos"].to_numpy()
    lat, lon = places.jitter(pos, rng)
    out = df.drop(columns="pos")
    out["capacity"] = pd.array(df["capacity"].tolist(), dtype="Int32")
    out["pro_com_t"] = places.codes[pos].astype(str)
    out["lon"] = lon
    out["lat"] = lat
    out["cell"] = places.cells[pos].astype("int64")
    out["synthetic"] = True
    out["source"] = DEMO_SOURCE
    out["import_id"] = pd.array([pd.NA] * len(out), dtype="Int32")
    return out[SERVICE_COLUMNS]
