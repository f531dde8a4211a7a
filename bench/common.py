"""Shared benchmark plumbing: timing, machine description, result rows, the printed table and the JSON files."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
RESULTS_DIR = Path(__file__).with_name("results")
CACHE_DIR = Path(__file__).resolve().parents[1] / ".gda_clv" / "bench"


@dataclass
class Row:
    """One measurement: ``seconds`` of ``impl`` on ``size`` units of ``bench``; ``ratio`` = reference / this."""

    bench: str
    size: int
    unit: str
    impl: str
    seconds: float | None
    reference: str | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def race_contestant_args(prog: str, description: str | None, argv: list[str] | None) -> argparse.Namespace:
    """The command line every race contestant takes: ``SOURCE.csv OUT_DIR --observation-end DATE``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("source", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--observation-end", required=True)
    return parser.parse_args(argv)


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as sw: ...`` then ``sw["s"]`` holds the wall seconds."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["s"] = time.perf_counter() - start


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """Run ``fn(*args, **kwargs)`` once; return its result and the wall seconds it took."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def with_ratios(rows: list[Row], reference: str) -> list[Row]:
    """Fill ``ratio`` (reference seconds / seconds) for rows of the same bench and size as a ``reference`` row."""
    ref = {(r.bench, r.size): r.seconds for r in rows if r.impl == reference and r.seconds}
    for r in rows:
        base = ref.get((r.bench, r.size))
        if base and r.seconds and r.impl != reference:
            r.reference, r.ratio = reference, base / r.seconds
    return rows


def max_rel_diff(a: Any, b: Any, floor: float = 1e-12) -> float:
    """Largest |a - b| / max(|b|, floor) over aligned arrays (0.0 for empty input)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(y), floor)))


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, load and the versions that matter for these numbers."""
    import duckdb
    import lifetimes
    import pandas
    import pyspark
    import scipy

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        mem_gb = round(total_kb / 1024**2, 1)
    return {
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "cpu_model": cpu,
        "load_avg_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            "numpy": np.__version__, "pandas": pandas.__version__, "scipy": scipy.__version__,
            "pyspark": pyspark.__version__, "lifetimes": lifetimes.__version__, "duckdb": duckdb.__version__,
            "java": _java_version(),
        },
    }


def _java_version() -> str:
    import subprocess

    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0] if out else "unknown"


def _fmt_size(n: int) -> str:
    """1000000 -> 1M, 2980644 -> 2.98M, 20289 -> 20.29k (two decimals at most)."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= 0.95 * div:
            return f"{n / div:.2f}".rstrip("0").rstrip(".") + suffix
    return str(n)


def format_table(rows: list[Row]) -> str:
    """A plain-text table: bench, size, implementation, seconds, ratio vs the reference, target."""
    header = ("bench", "size", "impl", "seconds", "ratio", "target", "met")
    lines = [header]
    for r in rows:
        lines.append((
            r.bench, f"{_fmt_size(r.size)} {r.unit}", r.impl,
            "-" if r.seconds is None else f"{r.seconds:.2f}",
            "" if r.ratio is None else f"{r.ratio:.1f}x vs {r.reference}",
            r.target or "", "" if r.met is None else ("yes" if r.met else "NO"),
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_results(payload: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Write ``payload`` to ``<results_dir>/<utc timestamp>-<sizes>.json`` and ``latest.json``; return the first."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(payload, indent=2, default=_json_default) + "\n"
    path = results_dir / f"{stamp}-{payload.get('sizes', 'custom')}.json"
    for target in (path, results_dir / "latest.json"):
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return path


def rows_payload(rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as plain dicts for JSON."""
    return [asdict(r) for r in rows]


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (dt.date, Path)):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_record(record: dict[str, Any], results_dir: Path, name: str) -> Path:
    """Write one benchmark's record as ``<results_dir>/<name>`` (JSON, replaced each run); return its path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / name
    path.write_text(json.dumps(record, indent=2, default=float) + "\n")
    return path
