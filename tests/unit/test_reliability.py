"""Reliability: many officers filing at the same moment, and an import killed halfway.

* 50 reports submitted at the same time by 10 users from 50 threads, through one
  :class:`~geo.data.storage.Store` (one DuckDB connection, a cursor per thread, writes serialised by
  the store's lock): all stored, none lost, no lock error, the audit chain intact.
* A subprocess imports a large lighting file and is SIGKILLed inside the write transaction
  (after the rows are written, before the commit); the database reopened afterwards equals the
  one before, and works.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from geo.access import audit, auth
from geo.access.permissions import SYSTEM
from geo.data.schemas import REPORT_CATEGORIES
from geo.data.storage import Store
from geo.reports import workflow as reports
from tests.unit.auth_store import CARRARA, CHEAP, MASSA, demo_users, points_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cheap(monkeypatch):
    monkeypatch.setattr(auth, "HASHER", CHEAP)


def test_fifty_reports_at_the_same_time_are_all_stored(mc_store):
    store = mc_store
    demo_users(store)
    officers = []
    for i in range(5):
        for code in (MASSA, CARRARA):
            officers.append(auth.add_user(store, SYSTEM, username=f"agente{i}-{code}", password=None, role="comune",
                                          comuni=[code]))
    spots = {MASSA: points_in(store, MASSA, 25, step=9), CARRARA: points_in(store, CARRARA, 25, step=9)}
    categories = list(REPORT_CATEGORIES)
    jobs = []
    for n in range(50):
        officer = officers[n % len(officers)]
        lat, lon = spots[officer.comuni[0]][n // 2]
        jobs.append((officer, lat, lon, categories[n % len(categories)], f"Segnalazione {n} di {officer.username}"))
    before_reports, before_audit = store.count("reports"), store.audit_count()
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def file(job) -> None:
        officer, lat, lon, category, text = job
        try:
            barrier.wait(timeout=30)
            rid = reports.create_report(store, officer, lat=lat, lon=lon, category=category, severity=2,
                                        description=text, confirm_duplicates=True)
            with lock:
                results.append(rid)
        except BaseException as exc:  # noqa: BLE001 - every failure is collected and reported
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=file, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, [repr(e) for e in errors]
    assert len(results) == 50
    assert len(set(results)) == 50
    assert store.count("reports") == before_reports + 50
    stored = store.reports_frame(report_ids=results)
    assert len(stored) == 50
    assert sorted(stored["description"]) == sorted(job[4] for job in jobs)
    assert stored["created_by"].value_counts().to_dict() == {o.username: 5 for o in officers}
    assert store.audit_count() == before_audit + 50
    assert audit.verify_chain(store).ok
    assert len(store.report_events(results)) == 50
    # identifiers are consecutive per comune: nothing was skipped or reused
    for code in (MASSA, CARRARA):
        numbers = sorted(int(r.rsplit("-", 1)[1]) for r in results if r.startswith(f"SEG-{code}-"))
        assert numbers == list(range(1, 26))


def _snapshot(path: Path) -> dict:
    with Store(path, read_only=True) as store:
        lighting = store.table("lighting").sort_values("pl_id").reset_index(drop=True)
        return {
            "lighting_rows": len(lighting),
            "lighting_hash": hashlib.sha256(pd.util.hash_pandas_object(lighting, index=False).values.tobytes())
            .hexdigest(),
            "imports": len(store.table("imports")),
            "audit": store.audit_count(),
            "audit_ok": audit.verify_chain(store).ok,
        }


KILLED_IMPORT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from geo.ingest.importers import import_file
    from geo.data.storage import Store
    from geo.data.territory import load_territory

    db, csv, marker = sys.argv[1:4]
    store = Store(db)
    territory = load_territory("massa-carrara")

    def progress(fraction, text):
        if fraction >= 0.9:  # inside the transaction: rows written, import row updated next
            Path(marker).write_text("in transazione")
            time.sleep(120)

    import_file(store, territory, "lighting", csv, progress=progress)
    print("commit: must not happen", flush=True)
""")


def test_import_killed_halfway_leaves_the_database_as_it_was(mc_db_file, tmp_path):
    db = tmp_path / "kill.duckdb"
    db.write_bytes(mc_db_file.read_bytes())
    with Store(db) as store:
        demo_users(store)
        points = points_in(store, MASSA, 40, step=20) + points_in(store, CARRARA, 40, step=20)
    rows = [f"PL-KILL-{i:06d};led;{30 + i % 40};8;funzionante;{lat + (i % 7) * 1e-5:.6f};{lon:.6f}"
            for i, (lat, lon) in enumerate(points * 250)]
    csv = tmp_path / "punti_luce.csv"
    csv.write_text("pl_id;tecnologia;potenza;altezza;stato;lat;lon\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert len(rows) == 20_000
    before = _snapshot(db)
    marker = tmp_path / "marker"
    script = tmp_path / "killed_import.py"
    script.write_text(KILLED_IMPORT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(csv), str(marker)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"the import ended before the kill: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the import never reached its transaction")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert b"commit" not in proc.stdout.read()
    after = _snapshot(db)
    assert after == before
    # the database still works: the same import, not killed, goes through
    from geo.data.territory import load_territory
    from geo.ingest.importers import import_file

    with Store(db) as store:
        result = import_file(store, load_territory("massa-carrara"), "lighting", csv)
        assert result.rows_written == 20_000
        assert store.count("lighting") == before["lighting_rows"] + 20_000
        assert audit.verify_chain(store).ok
