"""Column names and time units have one home, gda_clv.names: no other module defines them again."""
from __future__ import annotations

import ast
from pathlib import Path

from gda_clv import names

PACKAGE = Path(names.__file__).parent
SHARED = {name: getattr(names, name) for name in ("CUSTOMER_ID", "TRANSACTION_DATE", "AMOUNT", "AS_OF",
                                                  "CALIBRATION_END", "FREQS", "CALENDAR_MONTH_DAYS")}


def _module_constants(path: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    try:
                        found[target.id] = ast.literal_eval(node.value)
                    except ValueError:
                        continue
    return found


def test_no_module_redefines_a_shared_name_or_unit() -> None:
    twins = [
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path in sorted(PACKAGE.rglob("*.py")) if path != Path(names.__file__)
        for name, value in _module_constants(path).items()
        if name in SHARED or value in ({"D": 1.0, "W": 7.0}, 365.25 / 12)
        or (isinstance(value, dict) and 4.345 in value.values())
    ]
    assert twins == []


def test_the_two_month_lengths_refer_to_each_other_where_they_meet() -> None:
    assert names.DAYS_PER_PERIOD["M"] == names.CALENDAR_MONTH_DAYS
    assert 12 * names.CALENDAR_MONTH_DAYS == 365.25
