"""Load a territory's real files into the store: comuni, cells with residents, and real layers."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import shapely

from geo import config
from geo.data import hexgrid, population
from geo.data.storage import Store
from geo.data.territory import Territory, TerritoryError


def territory_cells(territory: Territory) -> pd.DataFrame:
    """Every resolution-10 cell whose centre lies in a comune: ``cell``, ``r9``, ``r8``, ``r7``,
    ``pro_com_t``. Comuni are disjoint, so each cell belongs to exactly one."""
    frames = []
    for code, geom in zip(territory.comuni["pro_com_t"], territory.comuni.geometry, strict=True):
        cells = hexgrid.polygon_to_cells(geom, config.STORE_RES)
        frames.append(pd.DataFrame({"cell": cells, "pro_com_t": code}))
    df = pd.concat(frames, ignore_index=True).drop_duplicates("cell")
    for res in (9, 8, 7):
        df[f"r{res}"] = hexgrid.cell_to_parent(df["cell"].to_numpy(), res)
    return df[["cell", "r9", "r8", "r7", "pro_com_t"]].reset_index(drop=True)


def _points_frame(gdf, columns: dict[str, str]) -> pd.DataFrame:
    """Lon/lat, resolution-10 cell and renamed attribute columns of a point GeoDataFrame."""
    lon = gdf.geometry.x.to_numpy()
    lat = gdf.geometry.y.to_numpy()
    out = pd.DataFrame({dst: gdf[src].to_numpy() if src in gdf.columns else None for src, dst in columns.items()})
    out["lon"] = lon
    out["lat"] = lat
    out["cell"] = hexgrid.points_to_cells(lat, lon, config.STORE_RES)
    out["pro_com_t"] = gdf["pro_com_t"].to_numpy()
    return out


def write_territory(cur: duckdb.DuckDBPyConnection, territory: Territory) -> dict[str, int]:
    """Write the territory's real data inside the caller's transaction; return row counts."""
    comuni = territory.comuni
    pop = territory.population.set_index("pro_com_t")
    comuni_rows = pd.DataFrame(
        {
            "pro_com_t": comuni["pro_com_t"],
            "nome": comuni["nome"],
            "area_km2": comuni["area_km2"],
            "residenti": comuni["pro_com_t"].map(pop["residenti"]).astype("int64"),
            "anno_popolazione": comuni["pro_com_t"].map(pop["anno"]).astype("Int64"),
            "geometry_wkb": shapely.to_wkb(comuni.geometry.to_numpy()),
        }
    )
    counts = {"comuni": Store.write_frame(cur, "comuni", comuni_rows, mode="replace")}

    cells = territory_cells(territory)
    grid_path = territory.path("popolazione_griglia")
    if grid_path is not None:
        grid = pd.read_csv(grid_path)
        cells["residents"] = population.grid_population(cells, grid, territory.population)
        cells["pop_method"] = "griglia di popolazione"
    else:
        cells["residents"] = population.dasymetric_population(
            cells, territory.population, territory.localities, metric_crs=territory.metric_crs
        )
        cells["pop_method"] = population.METHOD
    counts["cells"] = Store.write_frame(cur, "cells", cells, mode="replace")

    loc = territory.localities
    loc_rows = _points_frame(loc, {"nome": "nome", "tipo": "tipo", "abitanti": "abitanti", "fonte": "source"})
    loc_rows.insert(0, "id", np.arange(1, len(loc_rows) + 1))
    loc_rows["abitanti"] = pd.to_numeric(loc_rows["abitanti"], errors="coerce").astype("Int64")
    counts["localities"] = Store.write_frame(cur, "localities", loc_rows, mode="replace")

    info = territory.file_info("scuole")
    cur.execute("DELETE FROM schools WHERE NOT synthetic AND import_id IS NULL")
    if territory.schools is not None:
        sch = _points_frame(
            territory.schools,
            {"codice": "code", "nome": "name", "grado": "level", "indirizzo": "address"},
        )
        sch["students"] = pd.array([pd.NA] * len(sch), dtype="Int64")
        sch["synthetic"] = False
        sch["source"] = info.get("source", "")
        counts["schools"] = Store.write_frame(cur, "schools", sch, mode="upsert")

    info = territory.file_info("beni_confiscati")
    cur.execute("DELETE FROM confiscated")
    if territory.confiscated is not None:
        conf = _points_frame(
            territory.confiscated,
            {"id": "id", "nome": "nome", "tipologia": "tipologia", "categoria": "categoria", "stato": "stato",
             "destinazione": "destinazione", "indirizzo": "indirizzo",
             "indirizzo_imprecisato": "indirizzo_imprecisato"},
        )
        conf["source"] = info.get("source", "")
        counts["confiscated"] = Store.write_frame(cur, "confiscated", conf, mode="replace")

    official = territory.official_crime
    if official.empty:
        from geo.data.territory_builder import official_crime_from_national

        official, _note = official_crime_from_national(territory)
    counts["crime_official"] = Store.write_frame(
        cur, "crime_official", official[["anno", "categoria", "delitti", "fonte"]], mode="replace"
    )
    national = config.NATIONAL_DIR / "istat_delitti_province_2014_2024.csv"
    if national.exists():
        prov = pd.read_csv(national).rename(
            columns={"REF_AREA": "ref_area", "Territorio": "territorio", "Anno": "anno", "Delitti": "delitti",
                     "Regione": "regione", "Popolazione": "popolazione", "Tasso_per_1000": "tasso_per_1000"}
        )
        counts["crime_provinces"] = Store.write_frame(cur, "crime_provinces", prov, mode="replace")
    cur.execute("INSERT OR REPLACE INTO meta VALUES ('territory', ?)", [territory.slug])
    cur.execute("INSERT OR REPLACE INTO meta VALUES ('territory_name', ?)", [territory.name])
    # The folder too: a territory given by path must be found again by every page.
    cur.execute("INSERT OR REPLACE INTO meta VALUES ('territory_folder', ?)", [str(territory.folder.resolve())])
    return counts


def load_territory_into_store(store: Store, territory: Territory) -> dict[str, int]:
    """Write a territory's real data in one transaction (all or nothing)."""
    if store.get_meta("territory") not in (None, territory.slug):
        raise TerritoryError(
            f"Il database contiene il territorio '{store.get_meta('territory')}', non '{territory.slug}': "
            "usare un altro file di database."
        )
    with store.transaction() as cur:
        return write_territory(cur, territory)
