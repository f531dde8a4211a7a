"""End to end: ``gda-clv run`` on a Parquet transaction log in a subprocess, with its wall time per step (from
``--summary-json``) and the peak resident memory of the driver process tree (Python driver + its JVM), sampled
from /proc every 0.2 s.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import Row
from bench.datasets import CALIBRATION_END, END, FREQ, FREQ_MULTIPLIER, transactions

STEPS = ("prepare", "train_frequency", "train_monetary", "project", "monitor")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _rss_bytes(pid: int) -> int:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * 4096


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


@dataclass
class PeakMemory:
    """Samples the summed RSS of a process tree in a thread; ``peak_bytes`` and per-command peaks."""

    pid: int
    interval: float = 0.2
    peak_bytes: int = 0
    peak_by_name: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            total, by_name = 0, {}
            for p in process_tree(self.pid):
                rss = _rss_bytes(p)
                total += rss
                name = _name(p)
                by_name[name] = by_name.get(name, 0) + rss
            self.peak_bytes = max(self.peak_bytes, total)
            for name, rss in by_name.items():
                self.peak_by_name[name] = max(self.peak_by_name.get(name, 0), rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def run_measured(cmd: list[str], log_path: Path, timeout: float | None = None) -> dict[str, Any]:
    """Run ``cmd`` (output to ``log_path``); return wall seconds, exit code and the tree's peak memory."""
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        with PeakMemory(proc.pid) as mem:
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        wall = time.perf_counter() - start
    return {"wall_s": wall, "returncode": code, "peak_rss_gb": mem.peak_bytes / 1024**3,
            "peak_rss_gb_by_process": {k: round(v / 1024**3, 3) for k, v in mem.peak_by_name.items()}}


def _durations(node: Any) -> dict[str, float]:
    """Phase durations of one step summary (its ``durations``/``timings``/``phases`` dict, in seconds)."""
    found: dict[str, float] = {}
    if isinstance(node, dict):
        for key in ("durations", "timings", "phases"):
            value = node.get(key)
            if isinstance(value, dict):
                found.update({k: float(v) for k, v in value.items() if isinstance(v, (int, float))})
    return found


def step_times(summary: dict[str, Any]) -> dict[str, Any]:
    """Per step of a ``gda-clv run`` summary: wall seconds (``timings.steps``) and its phase durations (the step's
    own ``durations`` plus the run's ``timings.phases`` named ``"<step>: ..."``)."""
    timings = summary.get("timings") or {}
    totals, run_phases = timings.get("steps") or {}, timings.get("phases") or {}
    out: dict[str, Any] = {}
    for step in STEPS:
        prefix = step.replace("_", "-") + ":"
        phases = {k: float(v) for k, v in run_phases.items() if k.startswith(prefix)}
        phases.update(_durations(summary.get(step)))
        total = totals.get(step.replace("_", "-"), totals.get(step))
        if total is not None or phases:
            out[step] = {"total_s": total if total is not None else sum(phases.values()), "phases": phases}
    return out


def run_command(source: Path, state_dir: Path, summary: Path, extra_sets: tuple[str, ...] = ()) -> list[str]:
    """The ``gda-clv run`` command line for a Parquet source and a fresh state folder."""
    exe = Path(sys.executable).with_name("gda-clv")
    sets = ["data.source.format=parquet", f"data.source.path={source}", f"runtime.state_dir={state_dir}",
            f"data.freq={FREQ}", f"data.freq_multiplier={FREQ_MULTIPLIER}",
            f"data.calibration_end={CALIBRATION_END}", f"data.observation_end={END}", *extra_sets]
    cmd = [str(exe), "run", "--env", "local"]
    for s in sets:
        cmd += ["--set", s]
    return cmd + ["--summary-json", str(summary)]


def bench_e2e(sizes: list[int], work_dir: Path, cache_dir: Path, timeout: float = 3 * 3600) -> list[Row]:
    """``gda-clv run`` per size (transactions) in a fresh state folder; wall, steps, peak memory, cost per tx."""
    rows: list[Row] = []
    for n in sizes:
        data = transactions(n, cache_dir)
        base = Path(work_dir) / f"e2e_{n}"
        state, summary = base / "state", base / "summary.json"
        base.mkdir(parents=True, exist_ok=True)
        summary.unlink(missing_ok=True)
        cmd = run_command(data.path, state, summary)
        measured = run_measured(cmd, base / "run.log", timeout=timeout)
        steps = step_times(json.loads(summary.read_text())) if summary.exists() else {}
        ok = measured["returncode"] == 0 and summary.exists()
        outside_steps = measured["wall_s"] - sum(s["total_s"] for s in steps.values())
        extra = {**measured, "customers": data.n_customers, "steps": steps, "command": " ".join(cmd),
                 "log": str(base / "run.log"), "ok": ok,
                 "outside_steps_s": outside_steps,  # interpreter + JVM start, config, MLflow setup, report
                 "us_per_transaction": measured["wall_s"] / data.n_transactions * 1e6}
        rows.append(Row("e2e", data.n_transactions, "tx", "gda-clv run", measured["wall_s"] if ok else None,
                        target="driver <4 GB peak; us/tx at 10M <=1.5x 1M", extra=extra))
    per_tx = {r.size: r.extra["us_per_transaction"] for r in rows if r.seconds}
    if len(per_tx) >= 2:
        small, large = min(per_tx), max(per_tx)
        growth = per_tx[large] / per_tx[small]
        for r in rows:
            r.extra["us_per_tx_growth_vs_smallest"] = per_tx.get(r.size, float("nan")) / per_tx[small]
        big = next(r for r in rows if r.size == large)
        big.met = bool(big.extra["peak_rss_gb"] < 4 and growth <= 1.5)
    return rows
