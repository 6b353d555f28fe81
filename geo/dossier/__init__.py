"""The CPOSP dossier: one document for a committee meeting (printable HTML and PDF).

It combines what the other capabilities publish (the province against the others, hot spots
with their noise floor and back-test, pilot zones, the lighting plan, the agenda, the
interventions, video-surveillance) under the disclosure rules of the role that asks for it,
dated and stamped with the head of the audit chain. Layer 7: it reads from every capability
below it and is read only by the command line and the pages.
"""
