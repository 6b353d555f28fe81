"""Calibration of the school-exposure intervals (issue 10, point 6): coverage and false "alta".

Simulates school areas whose true rate ratio to their similar areas is known (1 = the null, and
planted 2x and 4x) and compares the two intervals of :func:`geo.services.schools.rate_ratio`:

* **OLD**: the exact conditional Poisson interval (``dispersion = 1``), the former method;
* **NEW**: quasi-Poisson, the dispersion estimated on the reference's blocks
  (:func:`~geo.services.schools.block_dispersion`), effective counts ``O / φ`` and the
  Student-t widening for the estimated dispersion; the method of the page.

Layout of every simulated comune: a reference of ``--blocks`` blocks of 7 hexagons (the
resolution-9 parents of the resolution-10 hexagons) and a school area of 9 hexagons straddling two
other blocks (4 + 5), as the 7-13 hexagons of a 300 m area do. Counts:

* **Poisson**: independent hexagons, the model OLD assumes;
* **negative binomial (clustered)**: every block has a gamma rate multiplier shared by its
  hexagons (a Poisson-gamma mixture, i.e. negative-binomial block counts), with the variance /
  mean of the block counts set to the **demo's dispersion** (measured on the database, see
  below) or to ``--phi``.

Only areas with at least :data:`~geo.services.schools.MIN_EXPECTED` expected incidents get a
ratio (the rule of the page); the tables give, among them, the **coverage** of the 95 % intervals
(share containing the true ratio), the share flagged **alta** (lower limit > 1: a *false* "above
average" at ratio 1, the power at 2x and 4x) and the share shown as a number.

With the database (``--db``, default the demo) it also prints the **demo's dispersion**: the
variance / mean of single reference hexagons and the block dispersion of every school's
reference, for the whole period and for 2024. Usage::

    python scripts/bench_exposure.py [--runs 4000] [--seed 1] [--quick] [--phi 15] [--db PATH | --no-db]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from geo.services import schools as ex  # noqa: E402

BLOCK = 7
AREA_SPLIT = (4, 5)
RATIOS = (1.0, 2.0, 4.0)
#: (Σ k_b² / n) / n̄ of the simulated area (4 + 5 hexagons) against blocks of 7.
CONCENTRATION = sum(k * k for k in AREA_SPLIT) / sum(AREA_SPLIT) / BLOCK
EXPECTED = (5.0, 10.0, 30.0)


def simulate(*, runs: int, ratio: float, expected: float, phi: float, blocks: int = 30,
             rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``runs`` simulated comuni: counts of the school area and of the reference blocks.

    ``expected``: incidents expected in the school area at the reference's rate (its 9 hexagons
    x the hexagon rate); ``phi``: variance / mean of a block count of the reference (1 = Poisson);
    ``ratio``: true rate ratio of the school area. Returns ``o1``, ``e1``, ``ref_blocks``
    (runs x blocks), ``block_sizes``.
    """
    n1 = sum(AREA_SPLIT)
    rate = expected / n1  # per hexagon
    if phi > 1:
        shape = BLOCK * rate / (phi - 1)  # block count: mean 7 rate, variance 7 rate (1 + 7 rate / shape)
        ref_mult = rng.gamma(shape, 1 / shape, size=(runs, blocks))
        area_mult = rng.gamma(shape, 1 / shape, size=(runs, len(AREA_SPLIT)))
    else:
        ref_mult = np.ones((runs, blocks))
        area_mult = np.ones((runs, len(AREA_SPLIT)))
    ref = rng.poisson(BLOCK * rate * ref_mult)
    o1 = sum(rng.poisson(k * rate * ratio * area_mult[:, i]) for i, k in enumerate(AREA_SPLIT))
    return {"o1": o1.astype(float), "e1": np.full(runs, float(n1)), "ref_blocks": ref.astype(float),
            "block_sizes": np.full((runs, blocks), float(BLOCK))}


def evaluate(sim: dict[str, np.ndarray], ratio: float, *, confidence: float = ex.CONFIDENCE) -> dict[str, dict]:
    """Coverage, share flagged alta and share shown, OLD vs NEW, on one simulated set."""
    o2 = sim["ref_blocks"].sum(axis=1)
    e2 = sim["block_sizes"].sum(axis=1)
    expected = ex.expected_count(o2, sim["e1"], e2)
    shown = expected >= ex.MIN_EXPECTED
    phi, df = ex.block_dispersion(sim["ref_blocks"], sim["block_sizes"])
    out = {}
    rr = np.where(o2 > 0, (sim["o1"] / sim["e1"]) / np.where(o2 > 0, o2 / e2, 1.0), np.inf)
    variants = (("old", {}), ("qp", {"dispersion": phi, "df": df}),
                ("new", {"dispersion": phi, "df": df, "area_dispersion": ex.area_dispersion(phi, rr, CONCENTRATION)}))
    for name, kw in variants:
        _, lo, hi = ex.rate_ratio(sim["o1"], sim["e1"], o2, e2, confidence=confidence, **kw)
        lo, hi = lo[shown], hi[shown]
        n = max(int(shown.sum()), 1)
        out[name] = {"coverage": float(np.mean((lo <= ratio) & (ratio <= hi))) if shown.any() else np.nan,
                     "alta": float(np.mean(lo > 1)) if shown.any() else np.nan, "n": n}
    out["shown"] = float(shown.mean())
    out["phi_median"] = float(np.median(phi))
    return out


def calibration_table(*, runs: int, seed: int, phis: dict[str, float], blocks: int = 30,
                      expected_levels: tuple[float, ...] = EXPECTED) -> pd.DataFrame:
    """One row per count model x expected count x true ratio."""
    rng = np.random.default_rng(seed)
    rows = []
    for model, phi in phis.items():
        for expected in expected_levels:
            for ratio in RATIOS:
                sim = simulate(runs=runs, ratio=ratio, expected=expected, phi=phi, blocks=blocks, rng=rng)
                r = evaluate(sim, ratio)
                rows.append({"model": model, "expected": expected, "ratio": ratio, "shown": r["shown"],
                             "phi_est": r["phi_median"], "cov_old": r["old"]["coverage"],
                             "cov_new": r["new"]["coverage"], "cov_qp": r["qp"]["coverage"], "alta_qp": r["qp"]["alta"],
                             "alta_old": r["old"]["alta"],
                             "alta_new": r["new"]["alta"], "n": r["new"]["n"]})
    return pd.DataFrame(rows)


def demo_dispersion(db: str) -> pd.DataFrame:
    """Dispersion of the schools' references on the database, whole period and 2024 (exact counts)."""
    from geo.data import hexgrid
    from geo.data.storage import open_store

    store = open_store(db)
    rows = []
    for label, start, end in (("tutto il periodo", None, None), ("2024", date(2024, 1, 1), date(2024, 12, 1))):
        res = ex.compute_exposure(store, start=start, end=end)
        sch = res.schools[res.schools["reference"] != "nessuno"]
        # single hexagons: variance / mean of the focus counts of the inhabited hexagons of each comune x class
        inc = store.incidents_series(by=("cell", "category", "time_band"), res=10, start=start, end=end)
        per_cell = ex._incident_columns(inc)
        ctx = store.cell_context(10)[["cell", "pro_com_t", "residents", "area_km2"]].copy()
        ctx["cell"] = ctx["cell"].astype("int64")
        ctx["dclass"] = ex.density_class(ex.smoothed_density(ctx))
        ctx = ctx.merge(per_cell[["cell", "spaccio_all", "violenza_all"]], on="cell", how="left").fillna(0)
        ctx["y"] = ctx["spaccio_all"] + ctx["violenza_all"]
        ctx["block"] = hexgrid.cell_to_parent(ctx["cell"].to_numpy(np.int64), ex.BLOCK_RES)
        cell_ratio, block_phi = [], []
        for _, g in ctx[ctx["dclass"] >= 2].groupby(["pro_com_t", "dclass"]):
            if len(g) < ex.MIN_REFERENCE_CELLS or g["y"].sum() == 0:
                continue
            cell_ratio.append(g["y"].var() / g["y"].mean())
            b = g.groupby("block")["y"].agg(["sum", "size"])
            block_phi.append(float(ex.block_dispersion(b["sum"].to_numpy(), b["size"].to_numpy())[0]))
        q = np.percentile
        rows.append({
            "period": label, "schools": len(sch),
            "cell var/mean (median, max)": f"{np.median(cell_ratio):.1f}, {max(cell_ratio):.1f}",
            "block phi of classes (median, max)": f"{np.median(block_phi):.1f}, {max(block_phi):.1f}",
            "school reference phi (p25, median, p75, max)": ", ".join(
                f"{v:.1f}" for v in (*q(sch["dispersion"], [25, 50, 75]), sch["dispersion"].max())),
            "schools with a ratio (expected >= 5)": int((sch["expected"] >= ex.MIN_EXPECTED).sum()),
            "alta NEW": int((sch["exposure_level"] == "alta").sum()),
            "alta OLD (exact Poisson, no minimum)": int(_old_alta(sch)),
            "median phi": float(np.median(sch["dispersion"])),
        })
    return pd.DataFrame(rows)


def _old_alta(sch: pd.DataFrame) -> int:
    e2 = sch["ref_cells"].to_numpy(float)
    _, lo, _ = ex.rate_ratio(sch["focus_all"], sch["n_cells"].to_numpy(float), sch["ref_focus"], e2)
    return int(np.sum(lo > 1))


def markdown(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table (no extra dependency)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _pct(v: float) -> str:
    return "–" if pd.isna(v) else f"{100 * v:.1f} %"


def print_table(table: pd.DataFrame) -> None:
    print("| counts | expected in the area | true ratio | areas with a ratio | coverage OLD | coverage NEW "
          "| (quasi-Poisson only) | flagged alta OLD | flagged alta NEW | (quasi-Poisson only) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.model} | {r.expected:g} | {r.ratio:g}x | {_pct(r.shown)} | {_pct(r.cov_old)} | "
              f"**{_pct(r.cov_new)}** | {_pct(r.cov_qp)} | {_pct(r.alta_old)} | **{_pct(r.alta_new)}** | "
              f"{_pct(r.alta_qp)} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=4000, help="simulated comuni per cell of the table")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="400 runs, no database")
    parser.add_argument("--phi", type=float, default=None,
                        help="block dispersion of the first negative binomial (default: the demo's 2024 median; "
                             "2.5 without the database)")
    parser.add_argument("--blocks", type=int, default=30, help="reference blocks of 7 hexagons")
    parser.add_argument("--db", default=str(ROOT / "data" / "lanterna_massa-carrara.duckdb"))
    parser.add_argument("--no-db", action="store_true")
    args = parser.parse_args(argv)
    runs = 400 if args.quick else args.runs
    t0 = time.perf_counter()
    phi = args.phi
    if not (args.quick or args.no_db) and Path(args.db).exists():
        demo = demo_dispersion(args.db)
        print("Demo dispersion (exact counts; focus = drug offences + violence):")
        print(markdown(demo.drop(columns="median phi")))
        print()
        if phi is None:
            phi = float(demo.loc[demo["period"] == "2024", "median phi"].iloc[0])
    phi = 2.5 if phi is None else phi
    phis = {"Poisson": 1.0, f"NB, block phi {phi:.1f} (demo 2024, median)": phi,
            "NB, block phi 15 (issue; demo, whole period, 3rd quartile)": 15.0}
    table = calibration_table(runs=runs, seed=args.seed, phis=phis, blocks=args.blocks)
    print(f"Calibration, {runs} runs per row, seed {args.seed}, reference {args.blocks} blocks of 7 hexagons, "
          f"nominal coverage 95 %, nominal false alta <= 2.5 %:")
    print_table(table)
    print(f"\n({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
