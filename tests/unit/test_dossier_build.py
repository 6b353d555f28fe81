"""The CPOSP dossier: its sections under each role's rules, the anchor of the audit chain, the
PDF made offline, and the HTML pieces it is assembled from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geo.access import audit
from geo.access.permissions import PermissionDenied, User
from geo.cli.main import main
from geo.data.storage import Store, close_all
from geo.dossier.build import (
    DossierError,
    DossierOptions,
    _table,
    build_dossier,
    fragment,
    md_html,
    pdf_available,
    pdf_bytes,
)
from geo.zones.report import PROTECTED_NOTE


@pytest.fixture(scope="module")
def dossiers(demo_db_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("dossier") / "demo.duckdb"
    shutil.copy(demo_db_file, path)
    with Store(path, read_only=True) as store:
        out = {role: build_dossier(store, User(f"u-{role}", role, comuni=("045003",) if role == "comune" else ()),
                                   DossierOptions(top_zones=3, budget_eur=200_000))
               for role in ("prefettura", "osservatore", "comune")}
    close_all()
    return path, out


def test_fragment_takes_the_body_and_lowers_every_heading():
    doc = "<html><head><title>x</title></head><body class='a'><h1 id='t'>T</h1><p>p</p><h2>S</h2></body></html>"
    assert fragment(doc) == "<h2 id='t'>T</h2><p>p</p><h3>S</h3>"
    assert fragment("<h3>solo</h3>") == "<h4>solo</h4>"


def test_markdown_sentences_are_escaped_then_bolded():
    assert md_html("**Soglia:** <b>x</b> & y") == "<b>Soglia:</b> &lt;b&gt;x&lt;/b&gt; &amp; y"


def test_tables_escape_every_cell():
    import pandas as pd

    html = _table(pd.DataFrame({"<th>": ["<script>alert(1)</script>"], "n": [1234]}), empty="")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "1.234" in html


def test_options_are_checked_in_italian():
    with pytest.raises(DossierError, match="tra 1 e 30"):
        DossierOptions(top_zones=0)
    with pytest.raises(DossierError, match="Profilo di pesi sconosciuto"):
        DossierOptions(preset="nessuno")


def test_the_prefettura_gets_every_section_with_exact_figures(dossiers):
    _, out = dossiers
    d = out["prefettura"]
    assert all(s.available for s in d.sections), [s.title for s in d.sections if not s.available]
    assert [s.anchor for s in d.sections] == ["situazione", "punti-caldi", "zone-pilota", "illuminazione", "agenda",
                                              "interventi", "videosorveglianza", "dati"]
    assert "Valori esatti (profilo autorizzato)." in d.html
    assert "Dati dimostrativi" in d.html  # the demo is labelled
    assert "INT-" in d.html  # the demo interventions are listed
    assert "segnalazioni da discutere" in d.html
    assert "Piano di investimento nell'illuminazione pubblica" in d.html
    assert d.metadata["Profilo"] == "Prefettura"
    cameras = next(s for s in d.sections if s.anchor == "videosorveglianza").body
    assert "Fascia oraria" in cameras
    assert "Nessuna rete stradale importata" in cameras  # the demo has no road layer
    assert "<td>stima</td>" in cameras  # every cost says it is an estimate


def test_the_observer_gets_only_what_its_pages_show(dossiers):
    _, out = dossiers
    d = out["osservatore"]
    missing = {s.anchor for s in d.sections if not s.available}
    assert missing == {"illuminazione", "agenda", "interventi", "videosorveglianza"}
    assert "Sezione non disponibile per il profilo Osservatore" in d.html
    assert "INT-" not in d.html  # nothing of the interventions register
    assert "segnalazioni da discutere" not in d.html
    assert PROTECTED_NOTE in d.html
    assert "Valori esatti" not in d.html


def test_a_comune_sees_its_own_agenda_only(dossiers):
    _, out = dossiers
    d = out["comune"]
    agenda = next(s for s in d.sections if s.anchor == "agenda")
    assert agenda.available
    assert "Carrara" in agenda.body
    assert "Massa<" not in agenda.body  # no row of another comune


def test_no_account_no_dossier(dossiers):
    path, _ = dossiers
    with Store(path, read_only=True) as store, pytest.raises(PermissionDenied):
        build_dossier(store, None)


def test_the_cli_writes_a_dossier_stamped_with_the_chain_head(dossiers, tmp_path, capsys):
    path, _ = dossiers
    out = tmp_path / "dossier.html"
    assert main(["dossier", "--db", str(path), "--ruolo", "osservatore", "--zone", "2", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Dossier per il Comitato provinciale" in text
    last = text[text.rindex('<p class="lanterna-registro"'):]
    assert "Registro delle modifiche: voce n. " in last
    with Store(path, read_only=True) as store:
        check = audit.verify_chain(store)
    assert check.ok
    assert "non disponibili per il ruolo" in capsys.readouterr().err


def test_the_cli_refuses_a_comune_without_its_comune_and_a_pdf_without_a_file(dossiers, capsys):
    path, _ = dossiers
    assert main(["dossier", "--db", str(path), "--ruolo", "comune"]) != 0
    assert "--comune" in capsys.readouterr().err
    assert main(["dossier", "--db", str(path), "--formato", "pdf"]) != 0
    assert "--output" in capsys.readouterr().err


def test_the_pdf_is_made_offline_and_refuses_remote_resources():
    assert pdf_available() is None  # scripts/setup.sh installs Pango
    doc = ("<html><body><h1>Dossier àèìòù</h1><img src='http://198.51.100.1/x.png'>"
           "<svg width='50' height='20'><rect width='50' height='20'/></svg></body></html>")
    pdf = pdf_bytes(doc)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 500


def test_the_cli_writes_a_pdf(dossiers, tmp_path):
    path, _ = dossiers
    out = tmp_path / "d.pdf"
    assert main(["dossier", "--db", str(path), "--ruolo", "osservatore", "--zone", "1", "--formato", "pdf",
                 "-o", str(out)]) == 0
    assert Path(out).read_bytes().startswith(b"%PDF")
