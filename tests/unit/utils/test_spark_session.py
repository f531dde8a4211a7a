from __future__ import annotations

from pathlib import Path

import pyspark
import pytest

from gda_clv.errors import ConfigError
from gda_clv.utils.spark_session import _linked_spark_home, build_local_session


def test_a_bad_master_is_a_config_error_before_any_jvm_starts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^runtime.spark_master: 'yarn' is not a local Spark master; use local"):
        build_local_session(tmp_path, master="yarn")
    assert not (tmp_path / "metastore_db").exists()


def test_linked_spark_home_is_the_package_but_its_work_folder(tmp_path: Path) -> None:
    package = Path(pyspark.__file__).parent
    home = tmp_path / "spark_home"
    (home / "jars").mkdir(parents=True)
    (home / "jars").rmdir()
    (home / "jars").symlink_to(tmp_path / "gone")  # left by an environment that no longer exists
    assert _linked_spark_home(home) == home
    assert (home / "jars").resolve() == (package / "jars").resolve()
    assert (home / "bin" / "spark-submit").is_file() and (home / "python" / "lib").is_dir()
    assert sorted(p.name for p in home.iterdir()) == sorted(p.name for p in package.iterdir() if p.name != "work")
    (home / "work").mkdir()  # what a local-cluster worker creates: local, never linked
    assert _linked_spark_home(home) == home and not (home / "work").is_symlink()
