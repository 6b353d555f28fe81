"""Build the demo database of a territory: its real layers plus deterministic synthetic ones.

:func:`build_demo` is what ``python -m geo demo`` and the dashboard's first start call. It loads
the territory's real files with :func:`geo.data.loader.write_territory` (comuni, cells with
residents, localities, kindergartens, confiscated properties, official crime totals), then adds
the generated layers of :mod:`geo.demo.synth` (incidents, lighting, reports, schools, services), all
flagged ``synthetic = true``. Everything is written in one transaction into a temporary file
next to the target, which replaces the target only at the end (``os.replace``): a crash never
leaves a half-built database. The same seed always gives the same table contents.

The assumptions of every generator are documented in ``docs/DEMO.md``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from geo import config
from geo.access.auth import create_demo_accounts
from geo.data import hexgrid
from geo.data.loader import write_territory
from geo.data.storage import StorageError, StorageInUseError, Store
from geo.data.territory import Territory, load_territory
from geo.demo.interventions import plant as plant_interventions
from geo.demo.interventions import register as register_interventions
from geo.demo.synth import cameras, child_rng, incidents, lighting, reports, schools, services
from geo.demo.synth._places import PlaceContext

#: Generated tables, in the order they are written.
GENERATED_TABLES = ("incidents", "lighting", "reports", "schools", "services", "cameras")

Progress = Callable[[float, str], None]


def _no_progress(_fraction: float, _text: str) -> None:
    """Default progress callback: does nothing."""


def generate_layers(
    territory: Territory,
    cells: pd.DataFrame,
    localities: pd.DataFrame,
    comuni: pd.DataFrame,
    *,
    seed: int = config.DEMO_SEED,
    real_schools: pd.DataFrame | None = None,
    official: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate every synthetic layer for a territory, without touching a database.

    Parameters
    ----------
    territory
        The territory (official crime table, capoluogo, sigla).
    cells
        Its resolution-10 cells: ``cell``, ``pro_com_t``, ``residents``.
    localities
        Its localities: ``nome``, ``tipo``, ``abitanti``, ``pro_com_t``, ``lon``, ``lat``.
    comuni
        ``pro_com_t``, ``nome``, ``residenti``.
    seed
        Master seed; each generator draws from its own child stream (:func:`geo.demo.synth.child_rng`).
    real_schools
        The real schools already stored (``code``, ``level``): their levels are not generated.
    official
        Official yearly totals (``anno, categoria, delitti, fonte``); default the territory's
        (``build_demo`` passes what the loader stored, national tables included).
    progress
        Optional ``progress(fraction, italian_text)`` callback (fractions 0.30-0.80 here).

    Returns
    -------
    dict of pandas.DataFrame
        The generated tables (keys of :data:`GENERATED_TABLES`) plus ``targets`` (yearly
        crime targets, :func:`geo.demo.synth.incidents.yearly_targets`) and ``hotspots``.
    """
    say = progress or _no_progress
    capoluogo = territory.capoluogo
    say(0.30, "Preparazione della geografia del territorio (centri, attrattori, periferie)")
    places = PlaceContext.build(cells, localities, comuni, capoluogo=capoluogo)

    say(0.35, "Generazione dei delitti dimostrativi calibrati sui totali ufficiali")
    targets = incidents.yearly_targets(
        territory.official_crime if official is None else official, incidents.load_national_categories(),
        population=float(comuni["residenti"].sum())
    )
    hotspots = incidents.choose_hotspots(cells, localities, comuni, rng=child_rng(seed, "hotspots"), places=places)
    inc = incidents.generate_incidents(
        cells, localities, comuni, targets, rng=child_rng(seed, "incidents"), hotspots=hotspots, places=places
    )
    say(0.50, "Generazione dell'inventario dei punti luce")
    lights = lighting.generate_lighting(cells, localities, comuni, rng=child_rng(seed, "lighting"), places=places)
    say(0.60, "Generazione delle segnalazioni di degrado")
    calibration = reports.calibrate(reports.load_alessandria())
    reps = reports.generate_reports(
        cells, localities, comuni, calibration, rng=child_rng(seed, "reports"), lighting=lights,
        hotspots=hotspots, places=places,
    )
    say(0.70, "Generazione di scuole e servizi per persone senza dimora")
    sigla = str(territory.manifest.get("sigla") or "XX")
    sch = schools.generate_schools(cells, localities, comuni, rng=child_rng(seed, "schools"), sigla=sigla,
                                   real_schools=real_schools, places=places)
    srv = services.generate_services(cells, localities, comuni, rng=child_rng(seed, "services"), places=places)
    say(0.75, "Generazione dell'inventario delle telecamere")
    cams = cameras.generate_cameras(cells, localities, comuni, rng=child_rng(seed, "cameras"), places=places,
                                    hotspots=hotspots)
    return {"incidents": inc, "lighting": lights, "reports": reps, "schools": sch, "services": srv, "cameras": cams,
            "targets": targets, "hotspots": hotspots}


def _is_built(path: Path) -> bool:
    """True when ``path`` is a complete Lanterna database; missing or unreadable files count as
    not built. A file in use raises :class:`StorageError`: replacing it under a running
    dashboard would leave that dashboard on the old file."""
    if not path.exists():
        return False
    try:
        with Store(path, read_only=True) as store:
            return store.is_built()
    except StorageError as exc:
        if isinstance(exc, StorageInUseError):
            raise StorageError(
                f"Il database {path.name} è in uso (per esempio dalla dashboard): chiuderlo prima di ricostruirlo."
            ) from exc
        return False


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()


def build_demo(
    territory: Territory | str | Path | None = None,
    *,
    path: str | Path | None = None,
    seed: int = config.DEMO_SEED,
    force: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Build the demo database of a territory (real layers + synthetic layers).

    Parameters
    ----------
    territory
        A :class:`~geo.data.territory.Territory`, a slug or a folder; default
        :data:`geo.config.DEFAULT_TERRITORY`.
    path
        Target DuckDB file; default :func:`geo.config.db_path` of the territory.
    seed
        Master seed (default :data:`geo.config.DEMO_SEED`): the same seed gives the same tables.
    force
        Rebuild even if the target is already a built database.
    progress
        Optional callback ``progress(fraction, text)`` with ``fraction`` in [0, 1] and an Italian
        text, for the dashboard's progress bar.

    Returns
    -------
    dict
        ``path``, ``built`` and ``skipped`` (an existing built database was kept), ``territory``, ``seed``,
        ``seconds`` (wall time), ``size_bytes`` and ``counts`` (rows per table written).
    """
    started = time.perf_counter()
    say = progress or _no_progress
    terr = territory if isinstance(territory, Territory) else load_territory(territory)
    target = Path(path) if path else config.db_path(terr.slug)
    if _is_built(target) and not force:
        say(1.0, "Database già pronto")
        return {"path": str(target), "built": False, "skipped": True, "territory": terr.slug, "seed": None,
                "seconds": time.perf_counter() - started, "size_bytes": target.stat().st_size, "counts": {}}

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(tmp)
    say(0.02, f"Creazione del database per {terr.name}")
    store = Store(tmp)
    try:
        with store.transaction() as cur:
            say(0.05, "Caricamento dei dati reali: comuni, popolazione per cella, località, scuole, beni confiscati")
            counts = dict(write_territory(cur, terr))
            cells = cur.execute("SELECT cell, pro_com_t, residents FROM cells ORDER BY cell").df()
            localities = cur.execute(
                "SELECT nome, tipo, abitanti, pro_com_t, lon, lat FROM localities ORDER BY id").df()
            comuni = cur.execute("SELECT pro_com_t, nome, residenti FROM comuni ORDER BY pro_com_t").df()
            real_schools = cur.execute("SELECT code, level FROM schools WHERE NOT synthetic ORDER BY code").df()
            official = cur.execute("SELECT anno, categoria, delitti, fonte FROM crime_official").df()
            layers = generate_layers(terr, cells, localities, comuni, seed=seed, real_schools=real_schools,
                                     official=official, progress=say)
            layers["incidents"], demo_interventions = plant_interventions(
                layers["incidents"], layers["hotspots"], rng=child_rng(seed, "interventions"))
            say(0.80, "Scrittura dei livelli dimostrativi nel database")
            for table in GENERATED_TABLES:
                written = Store.write_frame(cur, table, layers[table], mode="append")
                counts[table] = counts.get(table, 0) + written  # schools: real + generated
            hotspots = layers["hotspots"]
            register_interventions(store, cur, demo_interventions)
            warnings = territory_warnings(terr, localities, comuni, official)
            store.set_meta(cur, "territory_warnings", json.dumps(warnings, ensure_ascii=False))
            store.set_meta(cur, "demo", "true")
            store.set_meta(cur, "seed", str(seed))
            store.set_meta(cur, "demo_hotspots", json.dumps([
                {"cell": hexgrid.to_str([c])[0], "pro_com_t": p, "tipo": t, "nome": n}
                for c, p, t, n in zip(hotspots["cell"], hotspots["pro_com_t"], hotspots["tipo"], hotspots["nome"],
                                      strict=True)
            ], ensure_ascii=False))
            say(0.90, "Creazione degli utenti dimostrativi (password pubbliche: solo per la demo)")
            create_demo_accounts(store, cur=cur)
            store.set_meta(cur, "built_at", datetime.now(UTC).isoformat(timespec="seconds"))
        say(0.95, "Salvataggio del database")
        store.cursor().execute("CHECKPOINT")
        store.close()
        target_wal = target.with_name(target.name + ".wal")
        if target_wal.exists():
            # A stale WAL of the old file would be replayed onto the new one.
            target_wal.unlink()
        os.replace(tmp, target)
    except BaseException:
        store.close()
        _remove(tmp)
        raise
    seconds = time.perf_counter() - started
    say(1.0, "Database dimostrativo pronto")
    return {"path": str(target), "built": True, "skipped": False, "territory": terr.slug, "seed": seed,
            "seconds": seconds,
            "size_bytes": target.stat().st_size, "counts": counts, "targets": layers["targets"],
            "official": official, "warnings": warnings}


def targets_report(targets: pd.DataFrame, official: pd.DataFrame) -> list[str]:
    """Italian lines saying, per year, which of the demo's yearly totals are official and which
    are estimated (the ``targets`` of :func:`geo.demo.synth.incidents.yearly_targets`)."""
    totals = official[official["categoria"] == "totale"].set_index("anno")["fonte"] if len(official) else {}
    lines = []
    for year, grp in targets.groupby("anno"):
        total = int(grp["delitti"].sum())
        source = f"ufficiale, {totals[year]}" if year in totals else "stimato dal tasso nazionale per residente"
        off = grp[grp["ufficiale"]]["categoria"].tolist()
        est = grp[~grp["ufficiale"]]["categoria"].tolist()
        cats = (f"categorie ufficiali: {len(off)}" + (f" ({', '.join(off)})" if 0 < len(off) < 4 else "")
                + f"; stimate: {len(est)}")
        number = f"{total:,}".replace(",", ".")
        lines.append(f"{year}: totale {number} ({source}); {cats}")
    return lines


def territory_warnings(territory: Territory, localities: pd.DataFrame, comuni: pd.DataFrame,
                       official: pd.DataFrame) -> list[str]:
    """Italian warnings about what the demo had to estimate: comuni without any populated
    locality (residents spread over the whole comune) and crime totals missing from every
    official table."""
    from geo.data.population import KIND_WEIGHTS
    from geo.data.territory_builder import official_crime_from_national

    out = []
    populated = set(localities.loc[localities["tipo"].isin(list(KIND_WEIGHTS)), "pro_com_t"])
    without = comuni[~comuni["pro_com_t"].isin(populated)]
    if len(without):
        names = ", ".join(without["nome"].astype(str).head(8)) + (
            f" e altri {len(without) - 8}" if len(without) > 8 else "")
        out.append(f"{len(without)} comuni su {len(comuni)} senza località abitate ({names}): i loro residenti "
                   "sono distribuiti su tutto il comune e la cella più densa può cadere lontano dal centro. "
                   "Aggiungere le località in localita.geojson.")
    if official.empty or not (official["categoria"] == "totale").any():
        _crime, note = official_crime_from_national(territory)
        out.append(note or "Nessun totale ufficiale dei delitti per questo territorio: i totali annui della demo "
                           "sono stimati dal tasso nazionale per residente.")
    return out
