"""``python -m bench.report [results.json]``: the results as a Markdown table (for bench/README.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, _fmt_size


def _agreement(row: dict[str, Any]) -> str:
    extra = row.get("extra") or {}
    if "agreement" in extra:  # prep
        check = extra["agreement"]
        worst = max([*check.get("max_rel_diff_vs_lifetimes", {}).values(), *check["max_rel_diff_vs_duckdb"].values()])
        return f"{'agree' if check['agree'] else 'DIFFER'} (max rel {worst:.0e})"
    if "max_rel_diff_vs_lifetimes" in extra:
        return f"max rel diff {extra['max_rel_diff_vs_lifetimes']:.0e}"
    if "peak_rss_gb" in extra:
        return f"peak {extra['peak_rss_gb']:.2f} GB, {extra['us_per_transaction']:.1f} us/tx"
    return extra.get("skipped", "")


def markdown(payload: dict[str, Any]) -> str:
    """One Markdown row per measurement: benchmark, size, implementation, seconds, speed-up, check, target met."""
    lines = ["| benchmark | size | implementation | seconds | vs reference | check | target met |",
             "|---|---|---|---:|---|---|---|"]
    for r in payload["rows"]:
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.2f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.1f}x faster than {r['reference']}"
        if r["ratio"] is not None and r["ratio"] < 1:
            ratio = f"{1 / r['ratio']:.1f}x slower than {r['reference']}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {r['bench']} | {_fmt_size(r['size'])} {r['unit']} | {r['impl']} | {seconds} | {ratio} | "
                     f"{_agreement(r)} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else RESULTS_DIR / "latest.json"
    print(markdown(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
