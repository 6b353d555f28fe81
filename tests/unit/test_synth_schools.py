"""School generator: counts per comune, codes, names, placement, students."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from geo.data.schemas import SCHOOL_LEVELS
from geo.demo.synth import child_rng
from geo.demo.synth import schools as sch


@pytest.fixture(scope="module")
def real(mc_places):
    ter, cells, loc, comuni, places = mc_places.ter, mc_places.cells, mc_places.loc, mc_places.comuni, mc_places.places
    frame = sch.generate_schools(cells, loc, comuni, rng=child_rng(1, "schools"), sigla=ter.manifest["sigla"],
                                 places=places)
    return SimpleNamespace(ter=ter, cells=cells, loc=loc, comuni=comuni, places=places, frame=frame)


def test_school_counts_rules():
    pop = pd.DataFrame({"pro_com_t": ["1", "2", "3", "4", "5"], "residenti": [900, 1500, 4000, 12000, 66000]})
    c = sch.school_counts(pop, capoluogo="3").set_index("pro_com_t")
    assert c["primaria"].tolist() == [0, 1, 1, 4, 22]
    assert c["secondaria_i"].tolist() == [0, 0, 1, 2, 12]  # the capoluogo always has secondary schools
    assert c["secondaria_ii"].tolist() == [0, 0, 1, 1, 7]


def test_counts_match_the_rules(real):
    counts = sch.school_counts(real.comuni, capoluogo=real.ter.capoluogo).set_index("pro_com_t")
    got = real.frame.groupby(["pro_com_t", "level"]).size().unstack(fill_value=0)
    for level in ("primaria", "secondaria_i", "secondaria_ii"):
        want = counts[level][counts[level] > 0]
        assert got[level].reindex(want.index).tolist() == want.tolist(), level
    assert set(real.frame["level"]) == {"primaria", "secondaria_i", "secondaria_ii"}
    assert set(real.frame["level"]) <= set(SCHOOL_LEVELS)


def test_codes_and_names(real):
    f = real.frame
    assert list(f.columns) == sch.SCHOOL_COLUMNS
    assert f["code"].is_unique
    assert f["code"].str.fullmatch(r"MS(EE8|MM8|PS0|IS0|TD0|PC0)\d{4}D").all()
    assert not f["code"].isin(real.ter.schools["codice"]).any()
    assert f["name"].is_unique
    primary = f[f["level"] == "primaria"]
    assert primary["name"].str.startswith("Scuola primaria ").all()
    # names come from real localities of the same comune (or the comune itself)
    places = set(real.loc["nome"]) | set(real.comuni["nome"])
    base = f["name"].str.replace(r" – plesso \d+$", "", regex=True)
    prefix = r"^(Scuola primaria|Scuola secondaria di I grado|Liceo scientifico|Istituto di istruzione superiore|" \
             r"Istituto tecnico|Liceo classico) "
    assert base.str.replace(prefix, "", regex=True).isin(places).all()
    assert f["synthetic"].all()
    assert f["address"].isna().all()


def test_students(real):
    f = real.frame
    assert (f["students"] >= 10).all()
    mean = f.groupby("level")["students"].mean()
    assert mean["secondaria_ii"] > mean["primaria"]
    # upper secondary schools serve the whole territory: their pupils ~ 4.7 % of its residents
    total = f.loc[f["level"] == "secondaria_ii", "students"].sum()
    assert total == pytest.approx(sch.AGE_SHARE["secondaria_ii"] * real.comuni["residenti"].sum(), rel=0.1)


def test_schools_near_settled_centres(real):
    pos = real.places.index_of(real.frame["cell"].to_numpy())
    assert (pos >= 0).all()
    assert (real.places.residents[pos] > 0).all()
    sec2 = real.frame["level"].to_numpy() == "secondaria_ii"
    r = real.places.peripherality[pos]
    assert r[sec2].mean() < r[~sec2].mean()
    assert np.median(r[sec2]) < 0.5


def test_sigla_fallback(real):
    f = sch.generate_schools(real.cells, real.loc, real.comuni, rng=child_rng(1, "schools"), sigla="",
                             places=real.places)
    assert f["code"].str.startswith("XX").all()


def test_real_levels_are_not_duplicated(real):
    """A territory that ships real primary schools gets no synthetic ones, and no code collides."""
    real_schools = pd.DataFrame({"code": ["MSEE80001D", "MSAA000001"], "level": ["primaria", "infanzia"]})
    f = sch.generate_schools(real.cells, real.loc, real.comuni, rng=child_rng(1, "schools"), sigla="MS",
                             real_schools=real_schools, places=real.places)
    assert "primaria" not in set(f["level"])
    assert not f["code"].isin(real_schools["code"]).any()
    f2 = sch.generate_schools(real.cells, real.loc, real.comuni, rng=child_rng(1, "schools"), sigla="MS",
                              real_schools=pd.DataFrame({"code": ["MSMM80001D"], "level": ["infanzia"]}),
                              places=real.places)
    assert "MSMM80001D" not in set(f2["code"])
    assert "MSMM80002D" in set(f2["code"])
