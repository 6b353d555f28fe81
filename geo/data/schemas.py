"""Canonical layer schemas and controlled vocabularies.

Every layer Lanterna stores has one schema here: its fields, their types, the header aliases an
importer accepts (Italian and English), and the code lists. Codes are stable ASCII identifiers
stored in the database; labels are the Italian text the interface shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: ``source`` written on every generated (demo) row; such rows also carry ``synthetic = True``.
DEMO_SOURCE = "Generato (demo)"

# --------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------

#: Incident categories, following the families of the official *delitti denunciati* statistic
#: (Ministero dell'Interno, table INT00062; ISTAT DCCV_DELITTIPS).
INCIDENT_CATEGORIES: dict[str, str] = {
    "furti_abitazione": "Furti in abitazione",
    "furti_destrezza": "Furti con destrezza",
    "furti_esercizi": "Furti in esercizi commerciali",
    "furti_veicoli": "Furti di e su veicoli",
    "furti_altri": "Altri furti",
    "rapine": "Rapine",
    "danneggiamenti": "Danneggiamenti",
    "lesioni_minacce": "Lesioni, percosse e minacce",
    "stupefacenti": "Stupefacenti e spaccio",
    "truffe_frodi": "Truffe e frodi",
    "altro": "Altri delitti",
}

#: Day and night bands. Night is 20:00-06:00 local time: the hours when public lighting is on for
#: most of the year in Italy (sunset 17:00-21:00, sunrise 05:30-07:45 over the year).
TIME_BANDS: dict[str, str] = {"giorno": "Giorno (6-20)", "notte": "Notte (20-6)"}
NIGHT_START_HOUR = 20
NIGHT_END_HOUR = 6

#: Lamp technologies, codes of the PELL-IP model (PL_SL_TY) mapped to Lanterna codes.
LAMP_TECHNOLOGIES: dict[str, str] = {
    "mercurio": "Vapori di mercurio",
    "incandescenza": "Incandescenza",
    "fluorescenza_compatta": "Fluorescenza compatta",
    "fluorescenza_tubolare": "Fluorescenza tubolare",
    "sodio_alta_pressione": "Sodio alta pressione",
    "sodio_bassa_pressione": "Sodio bassa pressione",
    "ioduri_metallici": "Ioduri metallici",
    "alogena": "Alogena",
    "led": "LED",
    "altro": "Altro",
}
PELL_LAMP_CODES: dict[str, str] = {
    "01": "mercurio",
    "02": "incandescenza",
    "03": "fluorescenza_compatta",
    "04": "fluorescenza_tubolare",
    "05": "sodio_alta_pressione",
    "06": "sodio_bassa_pressione",
    "07": "ioduri_metallici",
    "08": "alogena",
    "09": "led",
    "95": "altro",
}
#: Technologies considered old (candidates for LED replacement).
OLD_LAMP_TECHNOLOGIES = frozenset(
    {"mercurio", "incandescenza", "sodio_alta_pressione", "sodio_bassa_pressione", "alogena"}
)
LIGHT_STATUS: dict[str, str] = {"funzionante": "Funzionante", "guasto": "Guasto"}

#: Categories of degradation reports (issue 6; pact art. 4, 8).
REPORT_CATEGORIES: dict[str, str] = {
    "rifiuti_abbandonati": "Rifiuti abbandonati",
    "edificio_degradato": "Edificio abbandonato o degradato",
    "occupazione_abusiva": "Occupazione abusiva",
    "bivacco_marginalita": "Bivacco o marginalità",
    "illuminazione_guasta": "Illuminazione guasta o assente",
    "vandalismo_graffiti": "Vandalismo e graffiti",
    "verde_incolto": "Verde pubblico incolto",
    "spaccio_assembramenti": "Spaccio o assembramenti",
    "movida_rumore": "Movida e rumore notturno",
    "altro": "Altro",
}
REPORT_STATUS: dict[str, str] = {
    "nuova": "Nuova",
    "presa_in_carico": "Presa in carico",
    "in_agenda_cposp": "All'ordine del giorno del CPOSP",
    "intervento_programmato": "Intervento programmato",
    "risolta": "Risolta",
    "respinta": "Respinta",
}
OPEN_REPORT_STATUS = frozenset({"nuova", "presa_in_carico", "in_agenda_cposp", "intervento_programmato"})
REPORT_SEVERITY: dict[int, str] = {1: "Bassa", 2: "Media", 3: "Alta"}

SCHOOL_LEVELS: dict[str, str] = {
    "infanzia": "Scuola dell'infanzia",
    "primaria": "Scuola primaria",
    "secondaria_i": "Secondaria di I grado",
    "secondaria_ii": "Secondaria di II grado",
}

#: Services for people without a home listed by art. 14 of the Massa-Carrara pact.
SERVICE_TYPES: dict[str, str] = {
    "pasti_strada": "Distribuzione pasti in strada",
    "mensa": "Mensa",
    "accoglienza_notturna": "Accoglienza notturna",
    "docce": "Docce",
    "guardaroba": "Guardaroba",
    "ascolto": "Centro di ascolto",
    "assistenza_legale": "Assistenza legale",
    "assistenza_psicologica": "Assistenza psicologica",
    "assistenza_sanitaria": "Assistenza sanitaria",
}

#: Video-surveillance cameras (issue 18; Massa-Carrara pact art. 1, Lodi pact "sistemi integrati di
#: video-sorveglianza").
CAMERA_TYPES: dict[str, str] = {
    "fissa": "Telecamera fissa",
    "dome": "Dome / PTZ (brandeggiabile)",
    "lettura_targhe": "Lettura targhe (OCR)",
}
CAMERA_OWNERS: dict[str, str] = {
    "comune": "Comune (polizia locale)",
    "polizia": "Forze di polizia",
    "privato_convenzionato": "Privato convenzionato",
}
CAMERA_STATUS: dict[str, str] = {
    "attiva": "Attiva",
    "guasta": "Guasta o non funzionante",
    "in_progetto": "In progetto",
    "dismessa": "Dismessa",
}

# --------------------------------------------------------------------------------------------
# Layer schemas
# --------------------------------------------------------------------------------------------

FieldKind = Literal["str", "int", "float", "bool", "date", "datetime", "month", "enum", "enum_list"]

LAT_ALIASES = ("lat", "latitude", "latitudine", "y", "coord_y", "nord", "northing", "y_coord", "lat_wgs84")
LON_ALIASES = (
    "lon", "lng", "long", "longitude", "longitudine", "x", "coord_x", "est", "easting", "x_coord", "lon_wgs84",
)
COMUNE_ALIASES = ("pro_com_t", "comune", "cod_comune", "codice_comune", "istat", "cod_istat", "com_istat_code")


@dataclass(frozen=True)
class Field:
    """One column of a canonical layer.

    ``aliases`` are compared after normalisation (lower case, accents removed, spaces and dashes
    as underscores). ``choices`` maps stored codes to Italian labels; for enum fields an importer
    also accepts the label and the extra ``value_aliases``.
    """

    name: str
    kind: FieldKind
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: dict | None = None
    value_aliases: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    max_len: int = 2000


@dataclass(frozen=True)
class Layer:
    """A canonical layer: its table, how it is located, its fields."""

    key: str
    label: str
    table: str
    location: Literal["point", "aggregate", "line"]
    fields: tuple[Field, ...]
    id_field: str | None = None
    description: str = ""

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


_SOURCE = Field("fonte", "str", "Fonte", aliases=("source", "origine", "provenienza"), max_len=200)

INCIDENTS = Layer(
    key="incidents",
    label="Delitti (aggregati)",
    table="incidents",
    location="aggregate",
    description=(
        "Aggregati anonimi di delitti per cella H3 x mese x categoria x fascia oraria (art. 3). "
        "Un file con un record per evento viene aggregato all'importazione e le coordinate non "
        "vengono mai salvate."
    ),
    fields=(
        Field("cell", "str", "Cella H3", aliases=("h3", "h3_cell", "cella", "hex", "h3_index")),
        Field("month", "month", "Mese", aliases=("mese", "periodo", "anno_mese", "year_month")),
        Field("date", "datetime", "Data e ora", aliases=("data", "data_ora", "datetime", "data_fatto", "timestamp")),
        Field(
            "category", "enum", "Categoria", required=True, aliases=("categoria", "reato", "tipo", "type"),
            choices=INCIDENT_CATEGORIES,
            value_aliases={
                "furto in abitazione": "furti_abitazione", "furti in abitazione": "furti_abitazione",
                "furto con destrezza": "furti_destrezza", "borseggio": "furti_destrezza",
                "furto in esercizio commerciale": "furti_esercizi", "taccheggio": "furti_esercizi",
                "furto su auto in sosta": "furti_veicoli", "furto di autovettura": "furti_veicoli",
                "furto di ciclomotore": "furti_veicoli", "furto di motociclo": "furti_veicoli",
                "furto": "furti_altri", "furti": "furti_altri", "rapina": "rapine",
                "danneggiamento": "danneggiamenti", "lesioni": "lesioni_minacce",
                "lesioni dolose": "lesioni_minacce", "percosse": "lesioni_minacce",
                "minacce": "lesioni_minacce", "spaccio": "stupefacenti", "stupefacenti": "stupefacenti",
                "truffa": "truffe_frodi", "truffe": "truffe_frodi", "frode": "truffe_frodi",
                "altri delitti": "altro",
            },
        ),
        Field(
            "time_band", "enum", "Fascia oraria", aliases=("fascia", "fascia_oraria", "band", "giorno_notte"),
            choices=TIME_BANDS,
            value_aliases={"day": "giorno", "night": "notte", "diurno": "giorno", "notturno": "notte"},
        ),
        Field("outdoor", "bool", "All'aperto", aliases=("aperto", "all_aperto", "pubblica_via", "esterno")),
        Field("count", "int", "Numero", aliases=("n", "numero", "conteggio", "delitti", "totale", "count_"),
              min=0, max=1_000_000),
        _SOURCE,
    ),
)

LIGHTING = Layer(
    key="lighting",
    label="Punti luce (illuminazione pubblica)",
    table="lighting",
    location="point",
    id_field="pl_id",
    description="Punti luce secondo il modello PELL-IP (ENEA/AgID).",
    fields=(
        Field("pl_id", "str", "Codice punto luce", required=True, aliases=("id", "codice", "id_punto_luce", "pl_id"),
              max_len=50),
        Field(
            "technology", "enum", "Tecnologia lampada", required=True,
            aliases=("pl_sl_ty", "tecnologia", "lampada", "sorgente", "tipo_lampada", "lamp_type"),
            choices=LAMP_TECHNOLOGIES,
            value_aliases={**PELL_LAMP_CODES, "1": "mercurio", "5": "sodio_alta_pressione", "9": "led",
                           "sodio": "sodio_alta_pressione", "sap": "sodio_alta_pressione", "hg": "mercurio",
                           "vapori mercurio": "mercurio", "sodio alta pressione": "sodio_alta_pressione"},
        ),
        Field("power_w", "float", "Potenza (W)", aliases=("pl_sl_pow", "potenza", "potenza_w", "watt", "power"),
              min=0, max=5000),
        Field("height_m", "float", "Altezza (m)", aliases=("pl_is_alt", "altezza", "altezza_m", "height"),
              min=0, max=60),
        Field(
            "status", "enum", "Stato", required=True, aliases=("stato", "funzionamento", "state"),
            choices=LIGHT_STATUS,
            value_aliases={"ok": "funzionante", "attivo": "funzionante", "working": "funzionante",
                           "acceso": "funzionante", "guasta": "guasto", "non funzionante": "guasto",
                           "fuori servizio": "guasto", "broken": "guasto", "out of order": "guasto", "ko": "guasto"},
        ),
        Field("year", "int", "Anno installazione", aliases=("anno", "anno_installazione", "installed"),
              min=1900, max=2100),
        Field("fixture", "str", "Tipo apparecchio", aliases=("pl_ap_ty", "apparecchio", "tipo_apparecchio"),
              max_len=100),
        Field("pro_com_t", "str", "Comune (codice ISTAT)", aliases=COMUNE_ALIASES, max_len=6),
        _SOURCE,
    ),
)

REPORTS = Layer(
    key="reports",
    label="Segnalazioni di degrado",
    table="reports",
    location="point",
    id_field="report_id",
    description="Segnalazioni di degrado dei Comuni (artt. 4 e 8).",
    fields=(
        Field("report_id", "str", "Codice segnalazione", required=True, aliases=("id", "codice", "numero"),
              max_len=60),
        Field("pro_com_t", "str", "Comune (codice ISTAT)", aliases=COMUNE_ALIASES, max_len=6),
        Field(
            "category", "enum", "Categoria", required=True, aliases=("categoria", "tipo", "type"),
            choices=REPORT_CATEGORIES,
            value_aliases={"rifiuti": "rifiuti_abbandonati", "illuminazione pubblica": "illuminazione_guasta",
                           "illuminazione": "illuminazione_guasta", "verde pubblico": "verde_incolto",
                           "graffiti": "vandalismo_graffiti", "vandalismo": "vandalismo_graffiti",
                           "arredo urbano": "vandalismo_graffiti", "bivacco": "bivacco_marginalita",
                           "spaccio": "spaccio_assembramenti", "rumore": "movida_rumore"},
        ),
        Field("severity", "int", "Gravità (1-3)", aliases=("gravita", "priorita", "severity"), min=1, max=3),
        Field(
            "status", "enum", "Stato", aliases=("stato", "state"), choices=REPORT_STATUS,
            value_aliases={"aperta": "nuova", "in carico": "presa_in_carico", "chiusa": "risolta",
                           "annullata": "respinta", "archiviata": "risolta", "eliminata": "respinta",
                           "open": "nuova", "closed": "risolta"},
        ),
        Field("opened", "date", "Data apertura", required=True,
              aliases=("creato", "data_apertura", "aperta_il", "data", "created", "opened_at")),
        Field("closed", "date", "Data chiusura", aliases=("chiusa", "data_chiusura", "chiusa_il", "closed_at")),
        Field("description", "str", "Descrizione", aliases=("descrizione", "testo", "note", "descrizionebreve"),
              max_len=2000),
        _SOURCE,
    ),
)

SCHOOLS = Layer(
    key="schools",
    label="Scuole",
    table="schools",
    location="point",
    id_field="code",
    description="Scuole per codice meccanografico (art. 11, Scuole sicure).",
    fields=(
        Field("code", "str", "Codice meccanografico", required=True,
              aliases=("codice", "codice_scuola", "codicescuola", "codice_meccanografico", "cod_mecc"), max_len=12),
        Field("name", "str", "Denominazione", required=True,
              aliases=("nome", "denominazione", "denominazionescuola", "scuola"), max_len=200),
        Field(
            "level", "enum", "Grado", required=True, aliases=("grado", "livello", "ordine", "tipo"),
            choices=SCHOOL_LEVELS,
            value_aliases={"scuola infanzia": "infanzia", "scuola primaria": "primaria", "elementare": "primaria",
                           "media": "secondaria_i", "secondaria i grado": "secondaria_i",
                           "secondaria di i grado": "secondaria_i", "superiore": "secondaria_ii",
                           "secondaria ii grado": "secondaria_ii", "secondaria di ii grado": "secondaria_ii"},
        ),
        Field("pro_com_t", "str", "Comune (codice ISTAT)", aliases=COMUNE_ALIASES, max_len=6),
        Field("students", "int", "Alunni", aliases=("alunni", "studenti", "iscritti"), min=0, max=10000),
        Field("address", "str", "Indirizzo", aliases=("indirizzo", "indirizzoscuola"), max_len=300),
        _SOURCE,
    ),
)

SERVICES = Layer(
    key="services",
    label="Servizi per persone senza dimora",
    table="services",
    location="point",
    id_field="service_id",
    description="Censimento dei servizi per persone senza fissa dimora (art. 14).",
    fields=(
        Field("service_id", "str", "Codice servizio", required=True, aliases=("id", "codice"), max_len=60),
        Field("name", "str", "Nome", required=True, aliases=("nome", "denominazione"), max_len=200),
        Field("operator", "str", "Gestore", aliases=("gestore", "ente", "operatore"), max_len=200),
        Field("types", "enum_list", "Tipi di servizio", required=True,
              aliases=("tipi", "servizi", "tipo_servizio", "tipologie"), choices=SERVICE_TYPES),
        Field("hours", "str", "Orari", aliases=("orari", "orario", "opening_hours"), max_len=300),
        Field("open_24h", "bool", "Aperto 24 ore", aliases=("h24", "aperto_24h", "24h")),
        Field("capacity", "int", "Posti", aliases=("posti", "capienza", "capacita"), min=0, max=10000),
        Field("public", "bool", "Indirizzo pubblico", aliases=("pubblico", "visibile")),
        Field("pro_com_t", "str", "Comune (codice ISTAT)", aliases=COMUNE_ALIASES, max_len=6),
        _SOURCE,
    ),
)

ROADS = Layer(
    key="roads",
    label="Strade (OSM highway)",
    table="roads",
    location="line",
    description="Rete stradale facoltativa (linee OSM con attributo highway): lunghezza per cella.",
    fields=(
        Field("highway", "str", "Tipo strada (OSM)", required=True, aliases=("highway", "tipo", "classe"), max_len=60),
        Field("name", "str", "Nome", aliases=("nome",), max_len=200),
    ),
)

CAMERAS = Layer(
    key="cameras",
    label="Telecamere di videosorveglianza",
    table="cameras",
    location="point",
    id_field="camera_id",
    description=("Inventario delle telecamere (art. 1): tipo, direzione e angolo di ripresa se noti, portata, "
                 "proprietario, sala di controllo, stato. La posizione esatta delle telecamere delle forze di "
                 "polizia è visibile solo a Prefettura e forze di polizia."),
    fields=(
        Field("camera_id", "str", "Codice telecamera", required=True,
              aliases=("id", "codice", "id_telecamera", "codice_telecamera", "camera"), max_len=60),
        Field(
            "kind", "enum", "Tipo", required=True, aliases=("tipo", "tipologia", "type", "tipo_telecamera"),
            choices=CAMERA_TYPES,
            value_aliases={"fisso": "fissa", "fixed": "fissa", "bullet": "fissa", "ptz": "dome",
                           "dome/ptz": "dome", "dome ptz": "dome", "brandeggiabile": "dome", "speed dome": "dome",
                           "lpr": "lettura_targhe", "anpr": "lettura_targhe", "ocr": "lettura_targhe",
                           "lettura targhe": "lettura_targhe", "varco": "lettura_targhe",
                           "varco lettura targhe": "lettura_targhe"},
        ),
        Field("direction_deg", "float", "Direzione (gradi da nord)",
              aliases=("direzione", "direzione_gradi", "azimut", "azimuth", "bearing", "heading"), min=0, max=360),
        Field("fov_deg", "float", "Angolo di ripresa (gradi)",
              aliases=("angolo", "angolo_ripresa", "fov", "campo_visivo", "apertura"), min=1, max=360),
        Field("range_m", "float", "Portata (m)", aliases=("portata", "portata_m", "raggio", "range", "distanza"),
              min=1, max=1000),
        Field(
            "owner", "enum", "Proprietario", required=True,
            aliases=("proprietario", "proprieta", "ente", "gestore", "owner"), choices=CAMERA_OWNERS,
            value_aliases={"polizia locale": "comune", "polizia municipale": "comune", "comunale": "comune",
                           "police": "polizia", "carabinieri": "polizia", "polizia di stato": "polizia",
                           "questura": "polizia", "guardia di finanza": "polizia", "forze di polizia": "polizia",
                           "privato": "privato_convenzionato", "privati": "privato_convenzionato",
                           "convenzionato": "privato_convenzionato", "private": "privato_convenzionato"},
        ),
        Field("control_room", "str", "Sala di controllo",
              aliases=("sala_controllo", "sala_operativa", "centrale", "control_room"), max_len=200),
        Field(
            "status", "enum", "Stato", aliases=("stato", "state", "funzionamento"), choices=CAMERA_STATUS,
            value_aliases={"attivo": "attiva", "funzionante": "attiva", "ok": "attiva", "active": "attiva",
                           "guasto": "guasta", "non funzionante": "guasta", "ko": "guasta", "broken": "guasta",
                           "progetto": "in_progetto", "prevista": "in_progetto", "planned": "in_progetto",
                           "dismesso": "dismessa", "rimossa": "dismessa", "removed": "dismessa"},
        ),
        Field("year", "int", "Anno installazione", aliases=("anno", "anno_installazione", "installata"),
              min=1980, max=2100),
        Field("pro_com_t", "str", "Comune (codice ISTAT)", aliases=COMUNE_ALIASES, max_len=6),
        _SOURCE,
    ),
)

LAYERS: dict[str, Layer] = {layer.key: layer for layer in (INCIDENTS, LIGHTING, REPORTS, SCHOOLS, SERVICES, ROADS,
                                                          CAMERAS)}

#: Italian names users may type for a layer on the command line.
LAYER_ALIASES = {
    "delitti": "incidents", "incidenti": "incidents", "illuminazione": "lighting", "punti_luce": "lighting",
    "segnalazioni": "reports", "scuole": "schools", "servizi": "services", "strade": "roads",
    "telecamere": "cameras", "videosorveglianza": "cameras",
}


def get_layer(name: str) -> Layer:
    """Return a layer by key or Italian alias; raise ``KeyError`` with the valid names."""
    key = LAYER_ALIASES.get(name, name)
    if key not in LAYERS:
        valid = ", ".join(sorted(set(LAYERS) | set(LAYER_ALIASES)))
        raise KeyError(f"Livello sconosciuto '{name}'. Livelli validi: {valid}")
    return LAYERS[key]
