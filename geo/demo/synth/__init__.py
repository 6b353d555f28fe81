"""Generators of the demo's synthetic layers.

Every generator is a pure function: it takes plain frames (the territory's ``cells`` with
residents, its ``localities``, its ``comuni`` with population, official tables) and a
:class:`numpy.random.Generator`, and returns a DataFrame with exactly the columns of its storage
table (see ``geo.data.storage``), every row flagged ``synthetic = True``. The orchestrator is
:func:`geo.demo.build.build_demo`; the assumptions are documented in ``docs/DEMO.md``.

Modules: :mod:`~geo.demo.synth.incidents` (crime aggregates calibrated on the official totals),
:mod:`~geo.demo.synth.lighting` (PELL-IP light points), :mod:`~geo.demo.synth.reports` (degradation
reports calibrated on the Comune di Alessandria's real reports), :mod:`~geo.demo.synth.schools`
(primary and secondary schools), :mod:`~geo.demo.synth.services` (services for homeless people,
pact art. 14); :mod:`~geo.demo.synth._places` holds the shared spatial helpers.
"""

from __future__ import annotations

import zlib

import numpy as np

from geo.data.schemas import DEMO_SOURCE

#: Names of the random streams, one per generator (see :func:`child_rng`).
__all__ = ["DEMO_SOURCE", "STREAMS", "child_rng"]

STREAMS = ("hotspots", "incidents", "lighting", "reports", "schools", "services")


def child_rng(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for one generator.

    The stream is keyed by the generator's *name* (``SeedSequence(seed, spawn_key=(crc32(name),))``,
    the mechanism behind :meth:`numpy.random.SeedSequence.spawn`), not by its position in a list,
    so adding, removing or changing one generator leaves the numbers drawn by the others unchanged.
    """
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(key,)))
