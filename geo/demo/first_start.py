"""The demo database built when the dashboard starts without one (no Streamlit)."""

from __future__ import annotations

from collections.abc import Callable

from geo.data.storage import close_all
from geo.data.territory_builder import resolve_territory
from geo.demo.build import build_demo


def build_first_start(progress: Callable[[float, str], None]) -> None:
    """Close the open stores, resolve the territory and build the demo into the configured
    database, reporting to ``progress(fraction, text)``.

    ``LANTERNA_TERRITORY`` may name a province without a folder yet (for example BG): the folder
    is made first from the national tables. Raises :class:`geo.data.territory.TerritoryError`
    when the territory cannot be resolved.
    """
    close_all()
    progress(0.0, "Preparazione della cartella del territorio dai dati nazionali…")
    territory = resolve_territory()
    build_demo(territory, progress=progress, force=True)
