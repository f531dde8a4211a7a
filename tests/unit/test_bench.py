"""Smoke runs of the benchmark harness on tiny sizes, so bench/ cannot rot. No wall-clock assertions."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.common import Row, format_table, with_ratios, write_record, write_results
from bench.e2e import run_measured, step_times
from bench.fit import bench_fit
from bench.prep import bench_prep
from bench.score import bench_score


def test_prep_spark_lifetimes_duckdb_agree(spark, tmp_path: Path) -> None:
    rows = bench_prep(spark, [3_000], tmp_path / "work", tmp_path / "cache", warmup=False)
    assert [r.impl for r in rows] == ["lifetimes", "gda_clv spark", "duckdb"]
    check = rows[1].extra["agreement"]
    assert check["agree"] and check["same_customers_lifetimes"] and check["same_customers_duckdb"]
    assert check["customers"] == rows[1].extra["customers"] > 500
    assert max(check["max_rel_diff_vs_lifetimes"].values()) < 1e-9
    assert rows[1].reference == "lifetimes" and rows[1].ratio > 0


def test_fit_and_numpy_score_match_lifetimes(tmp_path: Path) -> None:
    fit = bench_fit([3_000], tmp_path / "cache")
    ours = next(r for r in fit if r.impl == "gda_clv compress+fit")
    assert ours.extra["agree"] and ours.extra["max_rel_diff_vs_lifetimes"] < 1e-4
    assert 0 < ours.extra["tuples"] <= 3_000
    score = bench_score(None, [3_000], tmp_path / "work", tmp_path / "cache")
    assert [r.impl for r in score] == ["lifetimes", "gda_clv numpy clv"]
    assert score[1].extra["max_rel_diff_vs_lifetimes"] < 1e-6


def test_peak_memory_of_a_child_process_tree(tmp_path: Path) -> None:
    code = "import time; b = bytearray(300 * 1024**2); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.0)"
    out = run_measured([sys.executable, "-c", code], tmp_path / "child.log")
    assert out["returncode"] == 0
    assert 0.28 < out["peak_rss_gb"] < 1.0


def test_step_times_from_a_run_summary() -> None:
    summary = {  # the shape gda_clv.pipelines.run_all writes
        "prepare": {"customers": 5, "durations": {"prepare: read": 1.5, "prepare: write": 2.0}},
        "train_frequency": {"converged": True},
        "timings": {"steps": {"prepare": 3.75, "train-frequency": 4.0}, "total": 7.75,
                    "phases": {"train-frequency: tune (20 evals)": 3.5, "project: score customers": 1.0}},
    }
    assert step_times(summary) == {
        "prepare": {"total_s": 3.75, "phases": {"prepare: read": 1.5, "prepare: write": 2.0}},
        "train_frequency": {"total_s": 4.0, "phases": {"train-frequency: tune (20 evals)": 3.5}},
        "project": {"total_s": 1.0, "phases": {"project: score customers": 1.0}},  # no step total: phase sum
    }


def test_table_ratios_and_result_files(tmp_path: Path) -> None:
    rows = with_ratios([Row("fit", 1_000_000, "customers", "lifetimes", 20.0),
                        Row("fit", 1_000_000, "customers", "ours", 0.5, target=">=20x", met=True)], "lifetimes")
    assert rows[1].ratio == 40.0
    table = format_table(rows)
    assert "1M customers" in table and "40.0x vs lifetimes" in table and "yes" in table
    path = write_results({"sizes": "small", "rows": []}, tmp_path)
    assert json.loads(path.read_text()) == json.loads((tmp_path / "latest.json").read_text()) == {
        "sizes": "small", "rows": []}


def test_cli_rejects_unknown_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--only", "prep,nope"])
    assert "--only: unknown benchmarks ['nope']; choose from prep, fit, score, e2e" in capsys.readouterr().err


def test_race_notebook_reference_and_phase_table(tmp_path: Path) -> None:
    import pandas as pd

    from bench.common import max_rel_diff
    from bench.datasets import END, customer_log
    from bench.race import floor_command, notebook_command, phase_table

    data = customer_log(300, tmp_path / "cache")
    assert data.n_transactions == len(pd.read_csv(data.path)) > 300
    out = run_measured(notebook_command(data.path, tmp_path / "nb"), tmp_path / "nb.log")
    assert out["returncode"] == 0, (tmp_path / "nb.log").read_text()
    clv = pd.read_parquet(tmp_path / "nb" / "clv.parquet")
    assert len(clv) == 300 and (clv["clv"] >= 0).all() and clv["clv"].sum() > 0
    params = json.loads((tmp_path / "nb" / "params.json").read_text())
    assert set(params["frequency"]) == {"r", "alpha", "a", "b"} and set(params["phases"]) >= {"fit BG/NBD", "CLV"}
    assert str(END) in notebook_command(data.path, tmp_path)
    summary = {"timings": {"steps": {"prepare": 3.0, "project": 1.0},
                           "phases": {"prepare: read": 1.0, "prepare: write": 2.0, "project: score": 0.5}}}
    assert phase_table(summary) == [("prepare", 3.0), ("  read", 1.0), ("  write", 2.0), ("project", 1.0),
                                    ("  score", 0.5)]
    # the Spark floor computes the notebook's features, so it is the floor of the same work
    floor = run_measured(floor_command(data.path, tmp_path / "floor"), tmp_path / "floor.log")
    assert floor["returncode"] == 0, (tmp_path / "floor.log").read_text()
    ours = pd.read_parquet(tmp_path / "floor" / "features.parquet").set_index("customer_id").sort_index()
    ref = clv.set_index("customer_id").sort_index()
    assert ours.index.equals(ref.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        assert max_rel_diff(ours[column], ref[column]) <= 1e-9, column
    assert set(json.loads((tmp_path / "floor" / "phases.json").read_text())) == {"start Spark",
                                                                                  "read, summarise, write"}


def test_scale_compares_outputs_and_reports_the_scaling(tmp_path: Path) -> None:
    import pandas as pd

    from bench.scale import FLOAT_RTOL, _same_phase_names, compare, report, scaling

    ref = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [1, 2], "clv": [10.0, 0.0],
                        "prediction_run": ["x", "x"]})
    shuffled = ref.iloc[::-1].assign(clv=[0.0, 10.0 * (1 + FLOAT_RTOL / 10)], prediction_run="y")
    assert compare(shuffled, ref) == {"rows": 2, "same_customers": True, "unequal_columns": [],
                                      "max_rel_diff": pytest.approx(FLOAT_RTOL / 10), "ok": True}
    assert compare(shuffled.assign(frequency=[2, 3]), ref)["unequal_columns"] == ["frequency"]
    assert not compare(shuffled.assign(clv=[0.0, 10.1]), ref)["ok"]
    assert not compare(ref.iloc[:1], ref)["ok"]

    def run(label: str, prepare: float, score: float) -> dict[str, object]:
        return {"label": label, "wall_s": prepare + score, "peak_rss_gb": 1.0, "steps": {
            "prepare": {"total_s": prepare, "phases": {"prepare: validate": prepare / 2}},
            "project": {"total_s": score + 1, "phases": {"project: score customers": score}}}}

    runs = [run("local[*]", 10.0, 4.0), run("1 executor", 16.0, 6.0), run("2 executors", 10.0, 4.0)]
    assert scaling(runs) == {"prepare": 1.6, "scoring": 1.5}
    record = {"transactions": 1000, "customers": 300, "cores": 2, "load_avg_before": [1.0], "load_avg_after": [1.2],
              "runs": runs, "scaling_1_to_2_executors": scaling(runs),
              "outputs": {"vs": "local[*]", "ok": True, "checks": {"2 executors": {"features": compare(ref, ref)}}}}
    printed = report(record)
    assert "1 -> 2 executors (seconds with 1 / with 2; 2.00 is linear): prepare 1.60x, scoring 1.50x" in printed
    assert "outputs vs local[*]: identical; 2 executors features 2 rows, floats max rel 0.0e+00" in printed
    assert "  score customers" in printed and "  validate" in printed
    steps = {"project": {"total_s": 2.0, "phases": {f"project: write files under {tmp_path}/local/out": 1.0}}}
    assert _same_phase_names(steps, tmp_path / "local") == {
        "project": {"total_s": 2.0, "phases": {"project: write files under <run>/out": 1.0}}}
    assert json.loads(write_record(record, tmp_path / "results", "scale-latest.json").read_text()) == record
