"""What to do when prepare refuses the data: the fix for the dominant quarantine reason, and the degenerate checks.

Plain functions on counts and a few sample values (no Spark): the messages name the config key to change.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from gda_clv.data import transactions as tx
from gda_clv.errors import DataError

SAMPLES = 5  # raw values shown in a message
# Spark pattern -> the same pattern for Python's strptime, tried on the unparseable dates to suggest one.
_DATE_PATTERNS = {
    "dd/MM/yyyy": "%d/%m/%Y", "MM/dd/yyyy": "%m/%d/%Y", "yyyyMMdd": "%Y%m%d", "dd.MM.yyyy": "%d.%m.%Y",
    "yyyy/MM/dd": "%Y/%m/%d", "dd-MM-yyyy": "%d-%m-%Y", "MM-dd-yyyy": "%m-%d-%Y", "d/M/yyyy": "%d/%m/%Y",
    "M/d/yyyy": "%m/%d/%Y",
}
RawRow = tuple[str | None, str | None, str | None]  # a quarantined row's raw customer id, date and amount
# Which of the three raw values a reason is about (shown as samples); a null reason shows the whole rows.
_FIELD = {
    tx.NON_INTEGRAL_CUSTOMER_ID: 0, tx.IMPRECISE_CUSTOMER_ID: 0, tx.DUPLICATE_TRANSACTION_ID: 0,
    tx.UNPARSEABLE_DATE: 1, tx.IMPLAUSIBLE_DATE: 1,
    tx.UNPARSEABLE_AMOUNT: 2, tx.NON_POSITIVE_AMOUNT: 2, tx.IMPLAUSIBLE_AMOUNT: 2,
}
_NULLS = {tx.NULL_CUSTOMER_ID: "customer_id", tx.NULL_TRANSACTION_DATE: "transaction_date", tx.NULL_AMOUNT: "amount"}
MIN_CUSTOMERS = 5  # the frequency models have 4 parameters: fewer customers than that cannot identify them
MIN_REPEAT_CUSTOMERS = 4  # the Gamma-Gamma model has 3


def dominant(by_reason: dict[str, int]) -> str:
    """The reason with the most rows (the first in ``REASONS`` order on a tie)."""
    return max(by_reason, key=lambda reason: (by_reason[reason], -tx.REASONS.index(reason)))


def _guess_date_format(samples: Sequence[str]) -> str | None:
    for pattern, strptime in _DATE_PATTERNS.items():
        try:
            for value in samples:
                dt.datetime.strptime(value.strip(), strptime)
        except ValueError:
            continue
        return pattern
    return None


def samples(reason: str, rows: Sequence[RawRow]) -> list[str]:
    """The raw values of ``rows`` that ``reason`` is about (whole rows for a null reason), as shown in messages."""
    if reason in _FIELD:
        return [repr(row[_FIELD[reason]]) for row in rows]
    return ["(" + ", ".join(repr(value) for value in row) + ")" for row in rows]


def fix_for(reason: str, rows: Sequence[RawRow], columns: tx.ColumnMapping, date_format: str | None) -> str | None:
    """The config change that fixes most rows of ``reason``, given some of them; None when none is known."""
    shown = ", ".join(samples(reason, rows))
    column = (columns.customer_id, columns.transaction_date, columns.amount)[_FIELD.get(reason, 0)]
    if reason == tx.UNPARSEABLE_DATE:
        now = f"'{date_format}'" if date_format else "not set, so ISO yyyy-MM-dd is expected"
        guess = _guess_date_format([row[1] for row in rows if row[1]])
        hint = f" (these look like --set data.source.date_format={guess})" if guess else ""
        return (f"dates in '{column}' like {shown} do not match data.source.date_format ({now}); set "
                f"data.source.date_format to their Spark datetime pattern{hint}.")
    if reason in _NULLS:
        key = _NULLS[reason]
        return (f"rows like {shown} (customer_id, transaction_date, amount): check that "
                f"data.source.columns.{key} names the column with the {key}, and that data.source.options (sep, "
                "header) match the file.")
    if reason == tx.UNPARSEABLE_AMOUNT:
        return (f"amounts in '{column}' like {shown} are not numbers: check that data.source.columns.amount names "
                "the amount column; amounts must be plain numbers with a '.' decimal point (no currency sign or "
                "thousands separator).")
    if reason in (tx.NON_INTEGRAL_CUSTOMER_ID, tx.IMPRECISE_CUSTOMER_ID):
        return (f"customer ids in '{column}' like {shown} are not whole numbers a float holds exactly: point "
                "data.source.columns.customer_id at the id column, and export the ids as text or integers.")
    if reason == tx.IMPLAUSIBLE_DATE:
        return (f"dates in '{column}' like {shown} are before data.validation.earliest_date: check "
                "data.source.date_format (a two-digit year reads as year 99), or lower data.validation.earliest_date "
                "if they are real.")
    if reason == tx.IMPLAUSIBLE_AMOUNT:
        return (f"amounts in '{column}' like {shown} are above data.validation.max_amount: check the unit of "
                "data.source.columns.amount, or raise data.validation.max_amount if they are real.")
    if reason == tx.NON_POSITIVE_AMOUNT and all(_is_zero(row[2]) for row in rows):
        return (f"amounts in '{column}' like {shown} are zero: set data.keep_zero_amounts: true to count $0 orders "
                "as purchases.")
    if reason == tx.DUPLICATE_TRANSACTION_ID:
        return (f"ids in '{columns.transaction_id}' repeat (customers {shown}): check that "
                "data.source.columns.transaction_id names a per-purchase id, or set it to null.")
    return None


def _is_zero(value: str | None) -> bool:
    try:
        return value is not None and float(value) == 0.0
    except ValueError:
        return False


def share_error(
    by_reason: dict[str, int], rows: int, max_share: float, sampled: Sequence[RawRow], columns: tx.ColumnMapping,
    date_format: str | None,
) -> DataError:
    """The error for a quarantined share of ``rows`` (the rows inside the window) above ``max_share``.

    It names the fix for the dominant reason (see :func:`fix_for`, given ``sampled`` rows of that reason); only
    without one does it say to raise data.quarantine_max_share, showing those rows' values.
    """
    total = sum(by_reason.values())
    reasons = ", ".join(f"{reason}: {count}" for reason, count in by_reason.items())
    head = (f"{total} of {rows} rows ({total / rows:.1%}) failed validation ({reasons}), above "
            f"data.quarantine_max_share {max_share:.1%}; nothing was written.")
    reason = dominant(by_reason)
    fix = fix_for(reason, sampled, columns, date_format)
    if fix:
        return DataError(f"{head} Most are {reason}: {fix}")
    return DataError(
        f"{head} Most are {reason} (like {', '.join(samples(reason, sampled))}). Fix the source, or raise "
        "data.quarantine_max_share if these rows are expected."
    )


def check_fittable(customers: int, repeat: int, calibration_end: dt.date) -> None:
    """DataError, before any fit, when the calibration customers cannot fit the models (see ``MIN_*``).

    ``customers`` bought on or before ``calibration_end``; ``repeat`` of them bought again with positive spend.
    """
    more = (f"Use more customers, or move the calibration end ({calibration_end}) later: set data.calibration_end "
            "or a smaller data.holdout_days.")
    if customers < MIN_CUSTOMERS:
        raise DataError(
            f"only {customers} customer{'s' if customers != 1 else ''} bought on or before the calibration end; "
            f"the frequency model needs at least {MIN_CUSTOMERS}. {more}"
        )
    if repeat == 0:
        raise DataError(
            f"nobody of the {customers} calibration customers bought again before the calibration end: the models "
            f"learn from repeat purchases. {more}"
        )
    if repeat < MIN_REPEAT_CUSTOMERS:
        raise DataError(
            f"only {repeat} of the {customers} calibration customers bought again with positive spend; the "
            f"Gamma-Gamma model needs at least {MIN_REPEAT_CUSTOMERS}. {more}"
        )
