"""The class archive as the user meets it: two local sessions in their own processes, the second one's JVM loads
classes from the archive the first one's JVM wrote (and, asked for the quick JIT, compiles with C1 only)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SESSION = """
from pathlib import Path
from gda_clv.utils.spark_session import build_local_session
spark = build_local_session(Path({state!r}), "local[1]", 1, quick_jit={quick})
assert spark.range(5).groupBy().sum("id").first()[0] == 10
print("JVM options:", spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
      .getInputArguments().toString())
"""


def _session(tmp_path: Path, env: dict[str, str], quick: bool = False) -> subprocess.CompletedProcess[str]:
    code = SESSION.format(state=str(tmp_path / "state"), quick=quick)
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_the_second_session_maps_the_archive_the_first_one_wrote(tmp_path: Path) -> None:
    archives, logs = tmp_path / "jvm", tmp_path / "class-load"
    logs.mkdir()
    env = {**os.environ, "GDA_CLV_JVM_ARCHIVE": str(archives)}
    first = _session(tmp_path, env)
    assert first.returncode == 0, first.stderr
    written = sorted(p.name for p in archives.iterdir())
    assert len(written) == 1 and written[0].endswith(".jsa"), written  # renamed in place, no dump left behind
    assert "[cds" not in first.stdout + first.stderr  # the JVM's archive messages ("[warning][cds]") stay off it
    # the second JVM logs where each class came from: "shared objects file (top)" is the archive the first one wrote
    second = _session(tmp_path, {**env, "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={logs}/%p.log"},
                      quick=True)
    assert second.returncode == 0, second.stderr
    assert "-XX:TieredStopAtLevel=1" in second.stdout and "-XX:TieredStopAtLevel=1" not in first.stdout
    assert "-XX:+UseParallelGC" in first.stdout and "-XX:+UseParallelGC" in second.stdout
    sources = "".join(log.read_text() for log in logs.iterdir())
    assert sources.count("source: shared objects file (top)") > 1000
    assert sorted(p.name for p in archives.iterdir()) == written
