"""save_to_blob: dated run folders, cleanup, failure safety, lineage JSON."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gda_clv.errors import ConfigError
from gda_clv.utils.pipelines import save_to_blob as stb

T0 = dt.datetime(2024, 5, 1, 10, 15, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def predictions(spark):
    return spark.createDataFrame(
        [("c1", 10.5, "top"), ("c2", 0.25, "low"), ("c3", 3.0, "medium")], "customer_id string, clv double, tier string"
    )


def _save(predictions, root: Path, i: int, **kwargs) -> stb.InferenceOutput:
    return stb.save_inference_to_blob_storage(
        predictions, str(root), run_id=f"run{i}", run_time=T0 + dt.timedelta(hours=7 * i), **kwargs
    )


def test_run_folder_name_is_dated_and_sortable() -> None:
    assert stb.run_folder_name("abc/1", T0) == "2024-05-01/101530Z_abc-1"


def test_writes_parquet_csv_marker_and_latest(spark, predictions, tmp_path: Path) -> None:
    out = _save(predictions, tmp_path, 0, write_csv=True)
    assert out.run_folder == f"{tmp_path}/2024-05-01/101530Z_run0"
    back = spark.read.parquet(out.parquet_path).orderBy("customer_id").collect()
    expected = [("c1", 10.5, "top"), ("c2", 0.25, "low"), ("c3", 3.0, "medium")]
    assert [(r.customer_id, r.clv, r.tier) for r in back] == expected
    csv_parts = list(Path(out.csv_path).glob("part-*.csv"))
    assert len(csv_parts) == 1
    assert csv_parts[0].read_text().splitlines()[0] == "customer_id,clv,tier"
    assert (Path(out.run_folder) / stb.COMPLETE_MARKER).exists()
    assert stb.latest_run_folder(str(tmp_path)) == out.run_folder
    assert stb.list_runs(str(tmp_path)) == [("2024-05-01/101530Z_run0", True)]


def test_keeps_last_n_complete_runs(predictions, tmp_path: Path) -> None:
    outs = [_save(predictions, tmp_path, i, keep_last=2) for i in range(4)]
    assert stb.list_runs(str(tmp_path)) == [("2024-05-02/001530Z_run2", True), ("2024-05-02/071530Z_run3", True)]
    assert [o.removed_runs for o in outs] == [(), (), ("2024-05-01/101530Z_run0",), ("2024-05-01/171530Z_run1",)]
    assert not (tmp_path / "2024-05-01").exists()  # empty day folder removed too
    assert stb.latest_run_folder(str(tmp_path)) == outs[3].run_folder


def test_failed_write_leaves_previous_run_readable(spark, predictions, tmp_path: Path) -> None:
    good = _save(predictions, tmp_path, 0, keep_last=1)
    # A DataFrame whose computation fails on the executors: the write dies midway.
    failing = predictions.selectExpr("customer_id", "CASE WHEN clv < 5 THEN clv ELSE raise_error('boom') END AS clv")
    with pytest.raises(Exception, match="boom"):
        _save(failing, tmp_path, 1, keep_last=1)
    assert stb.latest_run_folder(str(tmp_path)) == good.run_folder
    assert spark.read.parquet(good.parquet_path).count() == 3
    assert stb.list_runs(str(tmp_path)) == [("2024-05-01/101530Z_run0", True), ("2024-05-01/171530Z_run1", False)]
    # The next good run cleans the failed leftover and the run beyond keep_last.
    third = _save(predictions, tmp_path, 2, keep_last=1)
    assert third.removed_runs == ("2024-05-01/101530Z_run0", "2024-05-01/171530Z_run1")
    assert stb.list_runs(str(tmp_path)) == [("2024-05-02/001530Z_run2", True)]


def test_cleanup_never_touches_foreign_folders(predictions, tmp_path: Path) -> None:
    (tmp_path / "keep_me").mkdir()
    (tmp_path / "2020-01-01" / "notes").mkdir(parents=True)
    for i in range(3):
        _save(predictions, tmp_path, i, keep_last=1)
    assert (tmp_path / "keep_me").is_dir()
    assert (tmp_path / "2020-01-01" / "notes").is_dir()


def test_keep_last_must_be_positive(predictions, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        _save(predictions, tmp_path, 0, keep_last=0)
    assert str(err.value) == "keep_last must be at least 1, got 0"
    assert not any(tmp_path.iterdir())  # refused before anything is written


def test_remote_path_without_dbutils_or_fsspec_names_the_fix() -> None:
    try:
        import fsspec  # noqa: F401

        pytest.skip("fsspec is installed: remote paths are handled through it")
    except ImportError:
        pass
    with pytest.raises(ConfigError) as err:
        stb.latest_run_folder("abfss://c@acct.dfs.core.windows.net/clv")
    assert str(err.value) == (
        "output.path 'abfss://c@acct.dfs.core.windows.net/clv' is a remote URI: run on Databricks (dbutils) "
        "or install fsspec with the filesystem's driver (e.g. adlfs for abfss://), or set output.path to a local folder"
    )


def test_meta_json_and_config_hash(tmp_path: Path) -> None:
    cfg = {"b": 1, "a": {"x": [1, 2]}}
    assert stb.config_hash(cfg) == stb.config_hash({"a": {"x": [1, 2]}, "b": 1})
    assert stb.config_hash(cfg) != stb.config_hash({**cfg, "b": 2})
    path = stb.save_meta_to_blob_storage({"as_of": dt.date(2024, 5, 1), "rows": 3}, str(tmp_path))
    meta = json.loads(Path(path).read_text())
    assert meta["as_of"] == "2024-05-01" and meta["rows"] == 3
    assert dt.datetime.fromisoformat(meta["written_at"]).tzinfo is not None


def test_layout_and_commit_names_are_importable_from_save_to_blob() -> None:
    """The split kept the seed's module path: pipelines and notebooks import these names from save_to_blob."""
    from gda_clv.utils import commit
    from gda_clv.utils.pipelines import run_folders

    assert stb.get_commit_id is commit.get_commit_id
    for name in ("COMPLETE_MARKER", "InferenceOutput", "run_folder_name", "write_run_files", "publish_run",
                 "list_runs", "latest_run_folder", "cleanup_old_runs"):
        assert getattr(stb, name) is getattr(run_folders, name), name
