"""Category mapping of Municipium exports (the reporting app used by many Comuni).

Used both by the Municipium CSV import (:func:`geo.reports.workflow.import_municipium`) and by the
demo generator, which calibrates the report mix on the real reports of the Comune di Alessandria
(Municipium, CC-BY 4.0).
"""

from __future__ import annotations

#: Alessandria category → Lanterna category, or None when the category is outside degradation
#: (road and utility maintenance, cemeteries, pests, proposals, accessibility, animals).
ALESSANDRIA_CATEGORY_MAP: dict[str, str | None] = {
    "Verde pubblico": "verde_incolto",
    "Parchi gioco e aree cani": "verde_incolto",
    "Arredo urbano": "vandalismo_graffiti",
    "Illuminazione pubblica": "illuminazione_guasta",
    "Altro": "altro",
    "Buche": None,
    "Semafori e segnaletica stradale": None,
    "Tombini": None,
    "Acquedotto e fognature": None,
    "Cimiteri": None,
    "Disinfestazione (topi, blatte, vespe, piccioni)": None,
    "Idee e proposte": None,
    "Accessibilità ed inclusione delle persone con disabilità": None,
    "Tutela animali": None,
}
