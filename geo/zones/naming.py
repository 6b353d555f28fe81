"""Stable ids and place names of pilot zones.

A zone was called "Z01", "Z02"... by rank, so "Z01" was another area under each set of weights.
Now a zone's id comes from its **cells**, never from its rank or the weights:

1. the zone's *core* is the hexagon nearest the zone's centroid (mean of its cell centres on a
   local plane; ties to the lowest H3 index): it depends only on the set of cells;
2. the id is a short code of the core's parent at :data:`ID_RES` (resolution 8, about 0.7 km²,
   the size of the smallest zones): "Z-" and four Crockford base-32 characters of the BLAKE2b
   digest of the parent's H3 index (:func:`code_of`). A zone that gains or loses a few border
   hexagons under other weights usually keeps its core's parent, hence its id;
3. collisions (two zones whose cores share a parent, or two parents with the same code) are
   resolved deterministically: the zone with the lowest core index keeps the code, the others
   take the code of their core itself, then a suffix "-2", "-3"... in core order.

The zone's *name* is the place of its core (:mod:`geo.overview.places`), labelled with its comune:
"Marina di Carrara (Carrara)".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from geo.data import hexgrid

#: Resolution of the parent cell behind a zone id.
ID_RES = 8
#: Crockford's base-32 alphabet (no I, L, O, U: nothing to misread on paper).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 4
PREFIX = "Z-"


def code_of(cell: int) -> str:
    """"Z-7K3M": four base-32 characters of the BLAKE2b digest of an H3 index (stable across runs)."""
    digest = int.from_bytes(hashlib.blake2b(int(cell).to_bytes(8, "big"), digest_size=8).digest(), "big")
    chars = []
    for _ in range(CODE_CHARS):
        digest, r = divmod(digest, 32)
        chars.append(_ALPHABET[r])
    return PREFIX + "".join(chars)


def core_cells(cells: np.ndarray, labels: np.ndarray, xy: np.ndarray) -> dict[int, int]:
    """The core hexagon of each zone (``labels`` > 0 per cell of ``cells``; ``xy`` their planar
    positions): the cell nearest the zone's centroid, ties to the lowest H3 index."""
    cells = np.asarray(cells, dtype=np.int64)
    labels = np.asarray(labels)
    out: dict[int, int] = {}
    for zone in np.unique(labels[labels > 0]):
        idx = np.flatnonzero(labels == zone)
        pts = xy[idx]
        d2 = ((pts - pts.mean(axis=0)) ** 2).sum(axis=1)
        best = np.lexsort((cells[idx], np.round(d2, 9)))[0]
        out[int(zone)] = int(cells[idx[best]])
    return out


def zone_ids(cores: Mapping[int, int]) -> dict[int, str]:
    """Unique, stable id of each zone from its core cell (see the module notes)."""
    cores = {int(z): int(c) for z, c in cores.items()}
    parent_of = {z: _parent(c) for z, c in cores.items()}
    taken: set[str] = set()
    out: dict[int, str] = {}
    pending = []
    for z in sorted(cores, key=lambda k: cores[k]):
        code = code_of(parent_of[z])
        if code in taken:
            pending.append(z)
            continue
        taken.add(code)
        out[z] = code
    for z in pending:  # already in core order
        code = code_of(cores[z])
        base, n = code, 2
        while code in taken:
            code, n = f"{base}-{n}", n + 1
        taken.add(code)
        out[z] = code
    return out


def _parent(cell: int) -> int:
    res = int(hexgrid.cell_resolution(np.array([cell], dtype=np.int64))[0])
    if res <= ID_RES:
        return cell
    return int(hexgrid.cell_to_parent(np.array([cell], dtype=np.int64), ID_RES)[0])
