"""A hand-made database of three hexagons whose figures can be computed by hand.

Three resolution-8 hexagons in Massa-Carrara, each filled with its 49 resolution-10 children:

====  ========  =========================  ===========================================
hex   comune    residents                  layers
====  ========  =========================  ===========================================
A     Massa     49 x 10 = 490              2024: 5 day burglaries (Jan), 3 night outdoor
                                           robberies (Feb), 2 night assaults (Mar);
                                           2023-06: 4 other thefts. 4 lights (1 broken
                                           mercury lamp), 3 reports (2 open), 1 school
B     Massa     49 x 1 = 49 (< 50)         2024: 1 day vehicle theft (Jan), 1 night damage
                                           (May); 2 lights; 2 services (one not public)
C     Carrara   49 x 2 = 98                2024-07: 3 day frauds; 2023-01: 1 other theft;
                                           1 confiscated property
====  ========  =========================  ===========================================

With the period January-December 2024 (12 months): A has 10 incidents (5 at night), B 2 (hidden
from roles without clearance), C 3 (none at night); the previous period 2023 holds 5.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import h3
import numpy as np
import pandas as pd
import shapely

from geo.data import hexgrid
from geo.data.storage import Store

MASSA, CARRARA = "045010", "045003"
CELL_A = h3.str_to_int(h3.latlng_to_cell(44.035, 10.14, 8))
CELL_B, CELL_C = sorted(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(CELL_A), 1))[:2]
SCRIPT = "<script>alert('x')</script>"
PERIOD_2024 = (date(2024, 1, 1), date(2024, 12, 1))


def children(cell: int) -> list[int]:
    return sorted(h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(cell), 10))


def first_child(cell: int) -> int:
    return children(cell)[0]


def _center(cell: int) -> tuple[float, float]:
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    return lon, lat


def build_tiny_store(path: Path) -> Store:
    """Create the database described in the module docstring at ``path`` and return it open."""
    store = Store(path)
    hexes = {CELL_A: (MASSA, 10.0), CELL_B: (MASSA, 1.0), CELL_C: (CARRARA, 2.0)}
    cells = []
    for parent, (comune, residents) in hexes.items():
        for child in children(parent):
            cells.append({"cell": child, "r9": int(hexgrid.cell_to_parent(np.array([child]), 9)[0]),
                          "r8": parent, "r7": int(hexgrid.cell_to_parent(np.array([child]), 7)[0]),
                          "pro_com_t": comune, "residents": residents, "pop_method": "test"})
    massa = shapely.union_all(hexgrid.cells_to_polygons([CELL_A, CELL_B]))
    carrara = hexgrid.cells_to_polygons([CELL_C])[0]
    comuni = pd.DataFrame({
        "pro_com_t": [MASSA, CARRARA], "nome": ["Massa", "Carrara"], "area_km2": [1.5, 0.7],
        "residenti": [539, 98], "anno_popolazione": [2023, 2023],
        "geometry_wkb": [shapely.to_wkb(massa), shapely.to_wkb(carrara)],
    })
    a, b, c = first_child(CELL_A), first_child(CELL_B), first_child(CELL_C)
    incidents = pd.DataFrame([
        (a, date(2024, 1, 1), "furti_abitazione", "giorno", False, 5),
        (a, date(2024, 2, 1), "rapine", "notte", True, 3),
        (a, date(2024, 3, 1), "lesioni_minacce", "notte", True, 2),
        (a, date(2023, 6, 1), "furti_altri", "giorno", False, 4),
        (b, date(2024, 1, 1), "furti_veicoli", "giorno", True, 1),
        (b, date(2024, 5, 1), "danneggiamenti", "notte", True, 1),
        (c, date(2024, 7, 1), "truffe_frodi", "giorno", False, 3),
        (c, date(2023, 1, 1), "furti_altri", "giorno", False, 1),
    ], columns=["cell", "month", "category", "time_band", "outdoor", "count"]).assign(synthetic=True)
    lon_a, lat_a = _center(a)
    lon_b, lat_b = _center(b)
    lon_c, lat_c = _center(c)
    lighting = pd.DataFrame([
        ("L1", lon_a, lat_a, a, MASSA, "led", "funzionante"),
        ("L2", lon_a, lat_a, a, MASSA, "led", "funzionante"),
        ("L3", lon_a, lat_a, a, MASSA, "led", "funzionante"),
        ("L4", lon_a, lat_a, a, MASSA, "mercurio", "guasto"),
        ("L5", lon_b, lat_b, b, MASSA, "led", "funzionante"),
        ("L6", lon_b, lat_b, b, MASSA, "led", "funzionante"),
    ], columns=["pl_id", "lon", "lat", "cell", "pro_com_t", "technology", "status"]).assign(synthetic=True)
    reports = pd.DataFrame([
        ("R1", MASSA, lon_a, lat_a, a, "rifiuti_abbandonati", 3, "nuova", date(2024, 3, 2), None,
         f"{SCRIPT} sacchi & rifiuti"),
        ("R2", MASSA, lon_a, lat_a, a, "vandalismo_graffiti", 1, "presa_in_carico", date(2024, 4, 5), None,
         "Scritte sul muro"),
        ("R3", MASSA, lon_a, lat_a, a, "verde_incolto", 2, "risolta", date(2024, 1, 9), date(2024, 2, 1),
         "Erba alta"),
    ], columns=["report_id", "pro_com_t", "lon", "lat", "cell", "category", "severity", "status", "opened",
                "closed", "description"]).assign(synthetic=True)
    schools = pd.DataFrame([("MSEE000001", "Scuola <b>Test</b>", "primaria", MASSA, lon_a, lat_a, a)],
                           columns=["code", "name", "level", "pro_com_t", "lon", "lat", "cell"]).assign(synthetic=True)
    services = pd.DataFrame([
        ("S1", "Mensa aperta", ["mensa"], True, MASSA, lon_b, lat_b, b),
        ("S2", "Rifugio riservato", ["accoglienza_notturna"], False, MASSA, lon_b, lat_b, b),
    ], columns=["service_id", "name", "types", "public", "pro_com_t", "lon", "lat", "cell"]).assign(synthetic=True)
    confiscated = pd.DataFrame([("B1", "Villa confiscata", "Immobili", CARRARA, lon_c, lat_c, c)],
                               columns=["id", "nome", "tipologia", "pro_com_t", "lon", "lat", "cell"])
    with store.transaction() as cur:
        Store.write_frame(cur, "comuni", comuni)
        Store.write_frame(cur, "cells", pd.DataFrame(cells))
        Store.write_frame(cur, "incidents", incidents)
        Store.write_frame(cur, "lighting", lighting)
        Store.write_frame(cur, "reports", reports)
        Store.write_frame(cur, "schools", schools)
        Store.write_frame(cur, "services", services)
        Store.write_frame(cur, "confiscated", confiscated)
        store.set_meta(cur, "built_at", "2026-01-01T00:00:00")
    return store
