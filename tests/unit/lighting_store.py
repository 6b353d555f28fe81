"""A hand-made database for the lighting planner whose need can be computed by hand.

Four resolution-9 hexagons, each filled with its 7 resolution-10 children (equal residents):

====  ========  ==========  ==================================================================
hex   comune    residents   layers
====  ========  ==========  ==================================================================
A     Massa     7 x 100     centre (the ``capoluogo`` locality is at its centre); 70 LED points
                            of 40 W, 2 of them out of order; 12 night-time outdoor incidents in
                            2024, 6 daytime ones
B     Massa     7 x 50      next to A; 30 LED + 5 working high-pressure sodium lamps of 100 W
C     Massa     7 x 60      about 2.8 km north of A (outskirts); 6 LED (1 out of order) + 4
                            mercury lamps of 125 W (1 out of order); 24 night-time outdoor and 5
                            night-time indoor incidents in 2024; 2 open reports of broken
                            lighting, 1 other open report, 1 closed one; 1 school; 1 station
D     Carrara   7 x 20      centre of Carrara (its ``sede_comunale``); 14 LED points
====  ========  ==========  ==================================================================

Hand computation at resolution 9 with the default parameters (residents basis; fewer than 10
central hexagons, so the reference is the centres' ratio of sums, exponent 1):

* centres A, B, D: 70 + 35 + 14 = 119 points for 0.7 + 0.35 + 0.14 = 1.19 thousand residents,
  scale = 100 points per 1,000 residents;
* C: target 100 x 0.42 = 42 points, 8 working < 0.5 x 42 = 21, so under-lit; new points
  round(42 - 10) = 32; points after the interventions D = 42;
* A: target 70, 68 working, not under-lit; B: target 35, 35 working; D: 14.
* incidents per year (12 months): A 12, C 24.
* demand points of C: 2 x 2 (lighting reports) + 1 (other open report) + 1 (school) + 1
  (station) = 7.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import h3
import numpy as np
import pandas as pd

from geo.data import hexgrid
from geo.data.storage import Store

MASSA, CARRARA = "045010", "045003"
HEX_A = h3.str_to_int(h3.latlng_to_cell(44.035, 10.14, 9))
HEX_B = min(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(HEX_A), 1))
HEX_C = h3.str_to_int(h3.latlng_to_cell(44.060, 10.14, 9))
HEX_D = h3.str_to_int(h3.latlng_to_cell(44.079, 10.098, 9))
RESIDENTS_PER_CHILD = {HEX_A: 100.0, HEX_B: 50.0, HEX_C: 60.0, HEX_D: 20.0}
COMUNE = {HEX_A: MASSA, HEX_B: MASSA, HEX_C: MASSA, HEX_D: CARRARA}


def children(cell: int) -> list[int]:
    return sorted(h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(cell), 10))


def center(cell: int) -> tuple[float, float]:
    """(lat, lon) of a cell's centre."""
    return h3.cell_to_latlng(h3.int_to_str(cell))


def _lights(hexagon: int, specs: list[tuple[str, float, str, int]], start: int) -> list[dict]:
    """Light points spread over the hexagon's children: (technology, W, status, how many)."""
    kids = children(hexagon)
    rows, k = [], start
    for tech, watts, status, n in specs:
        for _ in range(n):
            child = kids[k % len(kids)]
            lat, lon = center(child)
            rows.append({"pl_id": f"PL-{k:05d}", "lon": lon, "lat": lat, "cell": child, "pro_com_t": COMUNE[hexagon],
                         "technology": tech, "power_w": watts, "status": status, "synthetic": False})
            k += 1
    return rows


def build_lighting_store(path: Path, *, with_roads: bool = False) -> Store:
    """Create the database described in the module docstring and return it open (read-write)."""
    store = Store(path)
    cells = []
    for hexagon, per_child in RESIDENTS_PER_CHILD.items():
        for child in children(hexagon):
            arr = np.array([child])
            cells.append({"cell": child, "r9": hexagon, "r8": int(hexgrid.cell_to_parent(arr, 8)[0]),
                          "r7": int(hexgrid.cell_to_parent(arr, 7)[0]), "pro_com_t": COMUNE[hexagon],
                          "residents": per_child, "pop_method": "test"})
    comuni = pd.DataFrame({"pro_com_t": [MASSA, CARRARA], "nome": ["Massa", "Carrara"], "area_km2": [1.0, 0.5],
                           "residenti": [2100, 140], "anno_popolazione": [2023, 2023]})
    lights = (_lights(HEX_A, [("led", 40.0, "funzionante", 68), ("led", 40.0, "guasto", 2)], 0)
              + _lights(HEX_B, [("led", 40.0, "funzionante", 30), ("sodio_alta_pressione", 100.0, "funzionante", 5)],
                        1000)
              + _lights(HEX_C, [("led", 40.0, "funzionante", 5), ("led", 40.0, "guasto", 1),
                                ("mercurio", 125.0, "funzionante", 3), ("mercurio", 125.0, "guasto", 1)], 2000)
              + _lights(HEX_D, [("led", 40.0, "funzionante", 14)], 3000))
    a, c = children(HEX_A)[0], children(HEX_C)[0]
    incidents = pd.DataFrame([
        (a, date(2024, 2, 1), "rapine", "notte", True, 5),
        (a, date(2024, 9, 1), "furti_veicoli", "notte", True, 7),
        (a, date(2024, 3, 1), "furti_abitazione", "giorno", False, 6),
        (c, date(2024, 1, 1), "danneggiamenti", "notte", True, 20),
        (c, date(2024, 12, 1), "lesioni_minacce", "notte", True, 4),
        (c, date(2024, 6, 1), "furti_abitazione", "notte", False, 5),
    ], columns=["cell", "month", "category", "time_band", "outdoor", "count"])
    incidents["synthetic"] = False
    lat_c, lon_c = center(c)
    reports = pd.DataFrame([
        ("R1", "illuminazione_guasta", "nuova"), ("R2", "illuminazione_guasta", "presa_in_carico"),
        ("R3", "rifiuti_abbandonati", "nuova"), ("R4", "vandalismo_graffiti", "risolta"),
    ], columns=["report_id", "category", "status"]).assign(
        pro_com_t=MASSA, lon=lon_c, lat=lat_c, cell=c, severity=2, opened=date(2024, 5, 1), synthetic=False)
    schools = pd.DataFrame([{"code": "MSAA000001", "name": "Scuola C", "level": "primaria", "pro_com_t": MASSA,
                             "lon": lon_c, "lat": lat_c, "cell": c, "synthetic": False}])
    lat_a, lon_a = center(HEX_A)
    lat_d, lon_d = center(HEX_D)
    localities = pd.DataFrame([
        {"id": 1, "nome": "Massa", "tipo": "capoluogo", "pro_com_t": MASSA, "lon": lon_a, "lat": lat_a},
        {"id": 2, "nome": "Carrara", "tipo": "sede_comunale", "pro_com_t": CARRARA, "lon": lon_d, "lat": lat_d},
        {"id": 3, "nome": "Stazione", "tipo": "stazione", "pro_com_t": MASSA, "lon": lon_c, "lat": lat_c},
    ])
    localities["cell"] = hexgrid.points_to_cells(localities["lat"].to_numpy(), localities["lon"].to_numpy(), 10)
    with store.transaction() as cur:
        Store.write_frame(cur, "cells", pd.DataFrame(cells))
        Store.write_frame(cur, "comuni", comuni)
        Store.write_frame(cur, "lighting", pd.DataFrame(lights))
        Store.write_frame(cur, "incidents", incidents)
        Store.write_frame(cur, "reports", reports)
        Store.write_frame(cur, "schools", schools)
        Store.write_frame(cur, "localities", localities)
        if with_roads:
            # 2 km of residential street and 1 km of motorway in C, 3 km of streets in A.
            Store.write_frame(cur, "roads", pd.DataFrame({
                "cell": [c, c, a], "highway": ["residential", "motorway", "tertiary"],
                "length_m": [2000.0, 1000.0, 3000.0]}))
        store.set_meta(cur, "built_at", "test")
    return store
