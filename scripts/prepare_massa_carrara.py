"""Build the bundled Massa-Carrara territory folder: the national tool plus two local sources.

Run once by a developer (``python scripts/prepare_massa_carrara.py [RAW] [--cartella DIR]``, RAW
defaults to ``../shared/data/raw``). The folder is what ``python -m geo territorio crea MS`` makes
from the national data (:func:`geo.data.territory_builder.create_territory`: boundaries,
population, OSM localities, kindergartens, official crime totals), with what only Massa-Carrara
has in the raw files:

- GeoNames places (squares, stations, hotels, shopping centres, quarters…) added to the localities;
- the confiscated properties of the Regione Toscana / ANBSC (January 2018);
- the pact's name, articles and price list, and the regional attribution (``pact`` in
  ``territory.json``).

It reshapes real files only; it generates nothing. The national reference tables are copied by
``scripts/prepare_national.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# GeoNames feature codes kept as localities / attractors, with Lanterna's locality kind
# (README, "Territory folder format"; ``vetta``, peaks, is kept as a landmark the generators ignore).
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

PACT = {
    "name": "Patto per la sicurezza urbana e per la promozione e attuazione di un sistema di sicurezza partecipata "
            "e integrata (Prefettura di Massa Carrara, Regione Toscana, Provincia, Comuni di Massa, Carrara, "
            "Montignoso, Aulla, Pontremoli)",
    "date": None,
    "date_note": "data di sottoscrizione non indicata nel testo (\"Massa, lì.....\"); riunione del CPOSP del "
                 "25 luglio 2022; durata 2 anni (art. 22)",
    "articles": {"dati_anonimi": 3, "zone_pilota": 4, "illuminazione": 5, "degrado": 8, "scuole": 11,
                 "senza_dimora": 14, "monitoraggio": 19},
    "price_list": "il Prezzario dei lavori pubblici della Regione Toscana (capitolo impianti di illuminazione "
                  "pubblica)",
    "attributions": [{"text": "Regione Toscana / ANBSC", "licence": "CC BY-SA 4.0", "url": "https://dati.toscana.it/"}],
}


def main(raw: Path, out: Path) -> None:
    from geo.data.territory_builder import create_territory

    created = create_territory("MS", out, overwrite=True)
    manifest = json.loads((out / "territory.json").read_text(encoding="utf-8"))
    comuni = gpd.read_file(out / "comuni.geojson")

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
    loc = gpd.read_file(out / "localita.geojson")
    pd.concat([loc, gn], ignore_index=True).pipe(gpd.GeoDataFrame, crs=4326).to_file(
        out / "localita.geojson", driver="GeoJSON")
    manifest["files"]["localita"]["source"] += "; GeoNames.org (2016)"
    manifest["files"]["localita"]["licence"] = "ODbL 1.0 (OSM); CC-BY 4.0 (GeoNames)"

    beni = gpd.read_file(raw / "beni_confiscati_toscana" / "beni_confiscati_prov045.geojson")
    name_to_code = dict(zip(comuni["nome"].str.upper(), comuni["pro_com_t"], strict=True))
    gpd.GeoDataFrame(
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
    ).to_file(out / "beni_confiscati.geojson", driver="GeoJSON")
    manifest["files"]["beni_confiscati"] = {
        "path": "beni_confiscati.geojson", "year": 2018,
        "source": "Regione Toscana / ANBSC, beni confiscati (gennaio 2018), via jackdbd/beni-confiscati",
        "licence": "CC BY-SA 4.0"}
    manifest["pact"] = PACT
    (out / "territory.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    (out / "sources").mkdir(exist_ok=True)
    for folder in ("geonames_ms", "beni_confiscati_toscana", "crime_ms"):
        shutil.copy(raw / folder / "SOURCE.md", out / "sources" / f"{folder}.md")
    with (out / "SOURCE.md").open("a", encoding="utf-8") as f:
        f.write("\nAdded by `scripts/prepare_massa_carrara.py`: GeoNames places in `localita.geojson` "
                f"({len(gn)} rows, CC-BY); `beni_confiscati.geojson` ({len(beni)} rows, Regione Toscana / ANBSC, "
                "CC BY-SA 4.0); the pact's name, articles and price list in `territory.json` (`pact`). "
                "See `sources/`.\n")
    print(f"{out}: {created.counts}, GeoNames {len(gn)}, beni confiscati {len(beni)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "raw")
    parser.add_argument("--cartella", type=Path, default=ROOT / "data" / "territories" / "massa-carrara")
    args = parser.parse_args()
    main(args.raw, args.cartella)
