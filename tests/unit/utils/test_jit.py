from __future__ import annotations

from pathlib import Path

import pytest

from gda_clv.utils import jit
from gda_clv.utils.config_schema import SourceConfig


def _source(tmp_path: Path, **fields: object) -> SourceConfig:
    base = {"format": "csv", "path": None, "options": {}, "date_format": None,
            "columns": {"customer_id": "customer_id", "transaction_date": "transaction_date", "amount": "amount",
                        "transaction_id": None}}
    return SourceConfig.model_validate({**base, **fields})


def test_auto_is_quick_for_small_local_sources_only(tmp_path: Path) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large"
    small.write_bytes(b"x" * 1000)
    large.mkdir()
    for i in range(2):  # a folder counts all of its files
        (large / f"part-{i}.csv").write_bytes(b"x" * (jit.QUICK_BELOW_BYTES // 2 + 1))
    assert jit.quick("auto", _source(tmp_path, path=str(small)))
    assert jit.quick("auto", _source(tmp_path, path=small.as_uri()))
    assert not jit.quick("auto", _source(tmp_path, path=str(large)))
    assert jit.quick("auto", _source(tmp_path, format="cdnow"))  # the file lifetimes ships
    assert not jit.quick("auto", _source(tmp_path, format="table", path="cat.sch.tx"))
    assert not jit.quick("auto", _source(tmp_path, path="s3://bucket/tx.csv"))  # size unknown: full
    assert not jit.quick("auto", _source(tmp_path, path=str(tmp_path / "missing.csv")))


@pytest.mark.parametrize(("setting", "expected"), [("quick", True), ("full", False)])
def test_an_explicit_setting_wins(tmp_path: Path, setting: str, expected: bool) -> None:
    assert jit.quick(setting, _source(tmp_path, format="cdnow")) is expected
    assert jit.quick(setting, _source(tmp_path, format="table", path="cat.sch.tx")) is expected
