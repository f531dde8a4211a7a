from __future__ import annotations

import pytest

from gda_clv.utils.spark_master import LocalCluster, parse_master


@pytest.mark.parametrize("master", ["local", "local[*]", "local[2]", "local[4,3]", "local[*, 2]"])
def test_local_masters_run_in_one_jvm(master: str) -> None:
    assert parse_master(master) is None


def test_local_cluster_gives_its_executors() -> None:
    assert parse_master("local-cluster[2,1,1024]") == LocalCluster(executors=2, cores=1, memory_mb=1024)
    assert parse_master("local-cluster[ 3 , 2 , 512 ]") == LocalCluster(executors=3, cores=2, memory_mb=512)


@pytest.mark.parametrize("master", ["yarn", "spark://host:7077", "local[0]", "local[two]", "local-cluster[2,1]",
                                    "local-cluster[0,1,1024]", "Local[*]", "local[*] "])
def test_other_masters_name_the_accepted_forms(master: str) -> None:
    with pytest.raises(ValueError, match=r"is not a local Spark master; use local\[\*\] .*local-cluster\[N,C,M\]"):
        parse_master(master)


def test_too_small_executors_name_a_size_that_works() -> None:
    with pytest.raises(ValueError, match=r"gives each executor 256 MB; .* use local-cluster\[2,1,1024\]"):
        parse_master("local-cluster[2,1,256]")
