"""Demo: the bundled demo dataset.

The orchestrator (:mod:`~geo.demo.build`) and the generators of the synthetic layers
(:mod:`geo.demo.synth`).
"""

__all__ = ["build"]
