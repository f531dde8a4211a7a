"""The local Spark masters gda_clv starts (``runtime.spark_master``): threads in one JVM or executor processes."""
from __future__ import annotations

import re
from dataclasses import dataclass

_LOCAL = re.compile(r"local(\[\s*(\*|[1-9]\d*)\s*(,\s*[1-9]\d*\s*)?\])?")
_CLUSTER = re.compile(r"local-cluster\[\s*([1-9]\d*)\s*,\s*([1-9]\d*)\s*,\s*([1-9]\d*)\s*\]")
#: Spark refuses an executor heap under 1.5 x its 300 MB reserve (450 MB) with a Java error; ask for a bit more.
MIN_EXECUTOR_MB = 512
FORMS = ("local[*] (all cores, one process), local[N] (N threads) or "
         "local-cluster[N,C,M] (N executor processes of C cores and M MB each, M >= 512)")


@dataclass(frozen=True)
class LocalCluster:
    """``local-cluster[executors,cores,memory_mb]``: a standalone master and workers in the driver's JVM that start
    ``executors`` executor JVMs of ``cores`` cores and ``memory_mb`` MB heap each."""

    executors: int
    cores: int
    memory_mb: int


def parse_master(master: str) -> LocalCluster | None:
    """``None`` for a ``local``/``local[...]`` master, the executors of a ``local-cluster[N,C,M]`` one.

    Raises ValueError naming the accepted forms for anything else (a remote master, a typo, a too small executor).
    """
    if _LOCAL.fullmatch(master):
        return None
    match = _CLUSTER.fullmatch(master)
    if match is None:
        raise ValueError(f"'{master}' is not a local Spark master; use {FORMS}")
    cluster = LocalCluster(*(int(g) for g in match.groups()))
    if cluster.memory_mb < MIN_EXECUTOR_MB:
        raise ValueError(f"'{master}' gives each executor {cluster.memory_mb} MB; Spark needs at least "
                         f"{MIN_EXECUTOR_MB} (it reserves 300 MB of each heap): use "
                         f"local-cluster[{cluster.executors},{cluster.cores},1024]")
    return cluster
