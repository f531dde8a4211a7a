"""Which runtime pins did installing the wheel move? ``python tests/runtime_moves.py PINS FREEZE`` exits 1 unless
every moved package is in ALLOWED_MOVES.

PINS is constraints/<profile>.txt (the runtime as preinstalled), FREEZE is ``uv pip freeze`` right after the wheel
was installed on top without those pins, as a Databricks job library is (the Makefile writes it).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

# Each entry says why a cluster moving this package is acceptable.
ALLOWED_MOVES = {
    # 17.3 LTS ML preinstalls future 0.18.3, whose past/standard_library import `imp` and so cannot be imported on
    # Python 3.12 at all; hyperopt needs `past`. Upgrading it to 1.0 breaks nothing that worked.
    "future": "0.18.3 cannot be imported on Python 3.12",
}

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def pins(text: str) -> dict[str, str]:
    """``name==version`` lines as {normalised name: version}; comments, editables and other lines ignored."""
    out = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            out[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return out


def moved(runtime: dict[str, str], installed: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Runtime packages whose version changed (or that vanished) after the wheel install: {name: (pin, now)}."""
    return {name: (v, installed.get(name, "removed")) for name, v in runtime.items() if installed.get(name) != v}


def main(argv: list[str]) -> int:
    runtime, installed = (pins(Path(p).read_text()) for p in argv[1:3])
    changes = moved(runtime, installed)
    bad = {n: c for n, c in changes.items() if n not in ALLOWED_MOVES}
    for name, (old, new) in sorted(changes.items()):
        note = ALLOWED_MOVES.get(name, "NOT ALLOWED: the wheel's requirements must accept the runtime's version")
        print(f"wheel install moved {name} {old} -> {new} ({note})")
    print(f"{len(changes)} runtime package(s) moved by the wheel, {len(bad)} not allowed ({argv[1]})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
