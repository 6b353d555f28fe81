"""A simple baseline for pilot zones: greedy region growing from the best free hexagon.

The baseline answers one question of the ranking benchmark (``scripts/bench_ranking.py``): does
the product's top 10 hold at least as much priority, and as many hot hexagons, as the first ten
zones a planner would draw by hand with the same priority and the same size bounds? The planner
takes the free hexagon of highest priority as a seed, adds the adjacent free hexagon of highest
priority one at a time while the zone stays within ``max_km2``, stops when the zone is full or
has no free neighbour with a positive priority, keeps the zone if it reached ``min_km2``, and
starts again from the best free hexagon left.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp


def greedy_zones(
    priority: np.ndarray,
    area_km2: np.ndarray,
    adj: sp.csr_matrix,
    *,
    min_km2: float,
    max_km2: float,
    n_zones: int,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Labels ``1..n_zones`` of the first ``n_zones`` greedy zones (0 = no zone), in the order
    they were grown (the baseline's ranking). Ties go to the lower cell index.

    ``candidates`` (boolean per cell, optional) is the product's priority bound: seeds are
    candidates, and a zone grows beyond ``min_km2`` only through candidates (below ``min_km2`` it
    may take any neighbour with a positive priority, as the product does)."""
    priority = np.asarray(priority, dtype=np.float64)
    area = np.asarray(area_km2, dtype=np.float64)
    n = len(priority)
    labels = np.zeros(n, dtype=np.int64)
    used = np.zeros(n, dtype=bool)  # in a zone, or tried as a seed of a zone that stayed too small
    indptr, indices = adj.indptr, adj.indices
    cand = np.ones(n, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool)
    seeds = np.lexsort((np.arange(n), -priority))
    zone = 0
    for seed in seeds:
        if zone >= n_zones or priority[seed] <= 0:
            break
        if used[seed] or not cand[seed] or area[seed] > max_km2:
            continue
        members = [int(seed)]
        taken = {int(seed)}
        total = float(area[seed])
        heap: list[tuple[float, int]] = []
        _push(heap, int(seed), indptr, indices, used, taken, priority)
        while heap:
            _, j = heapq.heappop(heap)
            if j in taken or total + area[j] > max_km2 or (total >= min_km2 and not cand[j]):
                continue
            taken.add(j)
            members.append(j)
            total += float(area[j])
            _push(heap, j, indptr, indices, used, taken, priority)
        if total >= min_km2:
            zone += 1
            labels[members] = zone
            used[members] = True
        else:
            used[seed] = True
    return labels


def _push(heap: list, i: int, indptr: np.ndarray, indices: np.ndarray, used: np.ndarray, taken: set,
          priority: np.ndarray) -> None:
    """Put the free neighbours of cell ``i`` with a positive priority on the heap."""
    for j in indices[indptr[i]:indptr[i + 1]]:
        if not used[j] and int(j) not in taken and priority[j] > 0:
            heapq.heappush(heap, (-priority[j], int(j)))


def top_mass(priority: np.ndarray, area_km2: np.ndarray, labels: np.ndarray, top: int) -> float:
    """Priority mass (points x km²) of the zones ranked ``1..top`` (``labels``: rank, 0 = none)."""
    keep = (labels >= 1) & (labels <= top)
    return float((np.asarray(priority)[keep] * np.asarray(area_km2)[keep]).sum())
