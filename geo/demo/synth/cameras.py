"""Synthetic video-surveillance cameras (issue 18): a plausible inventory, labelled synthetic.

No public camera inventory exists for the bundled territory, so the demo adds one: about one
camera per 2,500 residents (between :data:`MIN_CAMERAS` and :data:`MAX_CAMERAS` in all), placed
mostly in town centres and at attractors (squares, stations, schools' localities) and partly
around the demo hot spots, as Comuni do when they cover "luoghi sensibili". Owners: mostly the
Comune (polizia locale), some police forces, a few private cameras under agreement. Codes end
in ``-D`` (demo); every row has ``synthetic = true`` and the demo source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.data.schemas import DEMO_SOURCE
from geo.demo.synth._places import Mix, PlaceContext, largest_remainder

RESIDENTS_PER_CAMERA = 2_500.0
MIN_CAMERAS, MAX_CAMERAS = 60, 120
#: Share of cameras placed at the demo hot spots (the rest follow centres and attractors).
HOTSPOT_SHARE = 0.3
SPACE = Mix(centre=0.6, attractors=0.4, kinds={"piazza": 1.0, "stazione": 1.0, "parco": 0.5,
                                                "centro_commerciale": 0.5})
KIND_P = {"fissa": 0.6, "dome": 0.3, "lettura_targhe": 0.1}
OWNER_P = {"comune": 0.7, "polizia": 0.2, "privato_convenzionato": 0.1}
STATUS_P = {"attiva": 0.88, "guasta": 0.08, "in_progetto": 0.04}
DEFAULT_GEOMETRY = {"fissa": (70.0, 90.0), "dome": (60.0, 360.0), "lettura_targhe": (25.0, 30.0)}

CAMERA_COLUMNS = ["camera_id", "lon", "lat", "cell", "pro_com_t", "kind", "direction_deg", "fov_deg", "range_m",
                  "owner", "control_room", "status", "year", "synthetic", "source", "import_id"]


def generate_cameras(cells: pd.DataFrame, localities: pd.DataFrame, comuni: pd.DataFrame, *,
                     rng: np.random.Generator, places: PlaceContext | None = None,
                     hotspots: pd.DataFrame | None = None) -> pd.DataFrame:
    """The demo camera inventory (:data:`CAMERA_COLUMNS`), deterministic for a given ``rng``."""
    places = places or PlaceContext.build(cells, localities, comuni)
    total = int(np.clip(round(float(np.sum(places.population)) / RESIDENTS_PER_CAMERA), MIN_CAMERAS, MAX_CAMERAS))
    n_hot = round(total * HOTSPOT_SHARE) if hotspots is not None and len(hotspots) else 0
    p = places.weights(SPACE, comune_exponent=1.0, capoluogo_premium=1.5)
    positions = [rng.choice(places.cells.size, size=total - n_hot, replace=True, p=p)]
    if n_hot:
        hot_idx = places.index_of(np.asarray(hotspots["cell"], dtype=np.int64))
        hot_idx = hot_idx[hot_idx >= 0]
        if hot_idx.size:
            per = largest_remainder(n_hot, np.ones(hot_idx.size))
            near = []
            for idx, k in zip(hot_idx, per, strict=True):
                if k <= 0:
                    continue
                pos, w = places.footprint(int(places.cells[idx]))
                near.append(rng.choice(pos, size=int(k), replace=True, p=w / w.sum()))
            if near:
                positions.append(np.concatenate(near))
    pos = np.concatenate(positions).astype(np.int64)
    n = pos.size
    lat, lon = places.jitter(pos, rng)
    kinds = rng.choice(list(KIND_P), size=n, p=list(KIND_P.values()))
    owners = rng.choice(list(OWNER_P), size=n, p=list(OWNER_P.values()))
    status = rng.choice(list(STATUS_P), size=n, p=list(STATUS_P.values()))
    rng_m = np.array([DEFAULT_GEOMETRY[k][0] for k in kinds]) * rng.uniform(0.8, 1.2, n)
    fov = np.array([DEFAULT_GEOMETRY[k][1] for k in kinds], dtype=float)
    direction = np.round(rng.uniform(0, 360, n), 0)
    # about one fixed camera in five has no recorded direction (as in real inventories)
    unknown = (kinds == "fissa") & (rng.random(n) < 0.2)
    direction = np.where((kinds == "dome") | unknown, np.nan, direction)
    fov = np.where(unknown, np.nan, fov)
    codes = places.codes[pos]
    names = np.array([places.names.get(c, c) for c in codes], dtype=object)
    room = np.where(owners == "polizia", "Sala operativa Questura",
                    np.where(owners == "comune", "Centrale polizia locale " + names, "Centrale polizia locale "
                             + names))
    frame = pd.DataFrame({
        "lon": lon, "lat": lat, "cell": places.cells[pos], "pro_com_t": codes, "kind": kinds,
        "direction_deg": direction, "fov_deg": fov, "range_m": np.round(rng_m, 0), "owner": owners,
        "control_room": room, "status": status, "year": rng.integers(2010, 2026, n),
    })
    frame = frame.sort_values(["pro_com_t", "cell", "kind"], kind="stable").reset_index(drop=True)
    frame.insert(0, "camera_id", [f"TLC-{c}-{i + 1:03d}-D" for i, c in enumerate(frame["pro_com_t"])])
    frame["synthetic"] = True
    frame["source"] = DEMO_SOURCE
    frame["import_id"] = pd.array([pd.NA] * n, dtype="Int64")
    frame["year"] = frame["year"].astype("Int64")
    return frame[CAMERA_COLUMNS]
