"""Raw transaction log -> validated transactions (``customer_id`` string, ``transaction_date`` date, ``amount`` double).

Pure Spark transforms: nothing here reads config, files or tables. Row-level problems are never dropped
silently: :func:`validate_transactions` splits a raw frame into the clean rows, the quarantined rows (their raw
values as strings plus a ``reason``) and the rows dated after the observation end, which are not bad, only outside
the window (a backtest on a longer log): they are counted and left out, not quarantined. Every source row ends in
exactly one of the three.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from gda_clv.errors import DataError
from gda_clv.names import AMOUNT, CUSTOMER_ID, TRANSACTION_DATE

REASON = "reason"
STANDARD_COLUMNS = (CUSTOMER_ID, TRANSACTION_DATE, AMOUNT)
RAW_COLUMNS = ("raw_customer_id", "raw_transaction_date", "raw_amount")

# Row reasons, in the order they are checked: a row gets the first one that applies. Every one but
# AFTER_OBSERVATION_END (left out of the window, see EXCLUDED) sends the row to quarantine.
NULL_CUSTOMER_ID = "null_customer_id"
NON_INTEGRAL_CUSTOMER_ID = "non_integral_customer_id"  # a number with a fraction (10020.5)
IMPRECISE_CUSTOMER_ID = "imprecise_customer_id"  # a float beyond 2**53 or in E notation: digits may be lost
NULL_TRANSACTION_DATE = "null_transaction_date"
UNPARSEABLE_DATE = "unparseable_date"
IMPLAUSIBLE_DATE = "implausible_date"  # before the earliest plausible date
AFTER_OBSERVATION_END = "after_observation_end"
NULL_AMOUNT = "null_amount"
UNPARSEABLE_AMOUNT = "unparseable_amount"
NON_POSITIVE_AMOUNT = "non_positive_amount"
IMPLAUSIBLE_AMOUNT = "implausible_amount"  # above the largest plausible amount
DUPLICATE_TRANSACTION_ID = "duplicate_transaction_id"
REASONS = (
    NULL_CUSTOMER_ID,
    NON_INTEGRAL_CUSTOMER_ID,
    IMPRECISE_CUSTOMER_ID,
    NULL_TRANSACTION_DATE,
    UNPARSEABLE_DATE,
    IMPLAUSIBLE_DATE,
    AFTER_OBSERVATION_END,
    NULL_AMOUNT,
    UNPARSEABLE_AMOUNT,
    NON_POSITIVE_AMOUNT,
    IMPLAUSIBLE_AMOUNT,
    DUPLICATE_TRANSACTION_ID,
)
EXCLUDED = (AFTER_OBSERVATION_END,)  # reasons that leave a row out without quarantining it
_EXACT_FLOAT_LIMIT = 2.0**53  # larger whole numbers are not all representable as a double
_INTEGRAL_TEXT = r"^[+-]?[0-9]+\.0+$"  # 10020.0: a whole number written as a float
_FRACTION_TEXT = r"^[+-]?[0-9]+\.[0-9]+$"
_E_NOTATION_TEXT = r"^[+-]?[0-9]\.[0-9]+[eE][+-]?[0-9]+$"  # 9.007199254743E15: a float printed by Java
_WHITESPACE = " \t\n\x0b\f\r"  # what a regular expression's \s matches

CDNOW_DATE_FORMAT = "yyyyMMdd"
CDNOW_COLUMNS = (CUSTOMER_ID, TRANSACTION_DATE, "number_of_cds", AMOUNT)

OUTLIER_RULES = ("none", "cap", "drop_customers")
_QUANTILE_ACCURACY = 100_000  # percentile_approx accuracy: relative rank error 1e-5


@dataclass(frozen=True)
class ColumnMapping:
    """Source column names for our three columns (config ``data.source.columns.<name>``).

    ``transaction_id`` is optional: without it every row is a purchase (a log of customer, date and amount cannot
    tell a re-delivered row from two equal orders on one day); with it, rows repeating an id are duplicates.
    """

    customer_id: str = CUSTOMER_ID
    transaction_date: str = TRANSACTION_DATE
    amount: str = AMOUNT
    transaction_id: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """(our name, source name) pairs in contract order (the transaction id last, when declared)."""
        pairs = [(CUSTOMER_ID, self.customer_id), (TRANSACTION_DATE, self.transaction_date), (AMOUNT, self.amount)]
        return pairs + ([("transaction_id", self.transaction_id)] if self.transaction_id else [])


@dataclass(frozen=True)
class ValidatedTransactions:
    """The two halves of a validated log: ``clean`` (standard typed columns) and ``quarantined``."""

    clean: DataFrame
    quarantined: DataFrame


_DELIMITERS = {";": ";", "\t": "\\t", "|": "|", ",": ","}  # delimiter -> how to write it in --set


def check_columns(raw: DataFrame, columns: ColumnMapping) -> None:
    """Raise :class:`DataError` naming every mapped column that ``raw`` lacks, what it has, and the keys to fix.

    A source read as one column whose name holds a delimiter (``a;b;c``) gets the reader option to set instead.
    """
    found = raw.columns
    missing = [(ours, source) for ours, source in columns.items() if source not in found]
    if not missing:
        return
    named = "; ".join(f"'{source}' (data.source.columns.{ours})" for ours, source in missing)
    plural = "s" if len(missing) > 1 else ""
    what = f"Source column{plural} {named} not found; the source has columns: {', '.join(found)}."
    delimiter = next((d for d in _DELIMITERS if len(found) == 1 and d in found[0]), None)
    if delimiter:
        raise DataError(
            f"{what} It was read as one column whose name holds '{_DELIMITERS[delimiter]}': the file is delimited by "
            f"it. Set the reader's delimiter: --set 'data.source.options={{sep: \"{_DELIMITERS[delimiter]}\"}}'."
        )
    if len(missing) == 1:
        ours = missing[0][0]
        raise DataError(f"{what} Set data.source.columns.{ours} to the column that holds the {ours}.")
    keys = [f"data.source.columns.{ours}" for ours, _ in missing]
    raise DataError(f"{what} Set {', '.join(keys[:-1])} and {keys[-1]} to the columns that hold them.")


def _trimmed(text: Column) -> Column:
    """``text`` without the whitespace around it: the characters a regular expression's ``\\s`` matches (space,
    tab, line feed, vertical tab, form feed, carriage return) at either end. A scan of the ends, which costs a
    fraction of a regular expression replacement (the largest part of parsing a large log, see bench/README.md)."""
    return F.btrim(text, F.lit(_WHITESPACE))


def _text(column: Column) -> Column:
    """The value as a string with surrounding whitespace removed (see :func:`_trimmed`); blank -> null."""
    text = _trimmed(column.cast(T.StringType()))
    return F.when(text != "", text)


def _is_temporal(data_type: T.DataType) -> bool:
    return isinstance(data_type, (T.DateType, T.TimestampType, T.TimestampNTZType))


def _parsed_date(source_type: T.DataType, date_format: str | None) -> Column:
    """``transaction_date`` from the staged ``__date__``/``__date_text__``; unparseable strings give null."""
    if _is_temporal(source_type):
        return F.to_date(F.col("__date__"))
    if date_format:
        pattern = date_format.replace("'", "''")
        return F.to_date(F.expr(f"try_to_timestamp(`__date_text__`, '{pattern}')"))
    return F.expr("try_cast(`__date_text__` AS DATE)")


def _parsed_amount(source_type: T.DataType) -> Column:
    if isinstance(source_type, T.NumericType):
        return F.col("__amount__").cast(T.DoubleType())
    return F.expr("try_cast(`__amount_text__` AS DOUBLE)")


def _is_float(data_type: T.DataType) -> bool:
    return isinstance(data_type, (T.FloatType, T.DoubleType)) or (
        isinstance(data_type, T.DecimalType) and data_type.scale > 0
    )


def _customer_id(source_type: T.DataType) -> tuple[Column, Column]:
    """(``customer_id`` text, its reason or null) from the staged ``__cid__``/``__id_text__``.

    A whole number written as a float (10020.0, in a float column or as text) is read as the integer (10020); one
    with a fraction is ``non_integral_customer_id``; a float beyond 2**53 or text in E notation (9.007199254743E15,
    as Java prints a double) is ``imprecise_customer_id``, as its last digits may be lost.
    """
    text = F.col("__id_text__")
    if _is_float(source_type):
        number = F.col("__cid__")
        whole = F.expr("try_cast(`__cid__` AS DECIMAL(38, 0))")
        reason = F.when(F.isnan(number.cast(T.DoubleType())) | (number != whole), F.lit(NON_INTEGRAL_CUSTOMER_ID))
        if not isinstance(source_type, T.DecimalType):
            reason = reason.when(F.abs(number) > _EXACT_FLOAT_LIMIT, F.lit(IMPRECISE_CUSTOMER_ID))
        return F.when(text.isNotNull(), whole.cast(T.StringType())), reason
    dotted = text.contains(".")  # a cheap test first: most ids have no dot and skip the regular expressions
    integral = dotted & text.rlike(_INTEGRAL_TEXT)
    reason = F.when(dotted & text.rlike(_FRACTION_TEXT) & ~integral, F.lit(NON_INTEGRAL_CUSTOMER_ID)).when(
        dotted & text.rlike(_E_NOTATION_TEXT), F.lit(IMPRECISE_CUSTOMER_ID)
    )
    return F.when(integral, F.regexp_replace(text, r"\.0+$", "")).otherwise(text), reason


def parse_transactions(
    raw: DataFrame,
    columns: ColumnMapping,
    date_format: str | None = None,
    keep_zero_amounts: bool = False,
    observation_end: dt.date | None = None,
    *,
    earliest_date: dt.date | None = None,
    max_amount: float | None = None,
) -> DataFrame:
    """Standardise types and tag each row with the first reason that applies (null when clean), see ``REASONS``.

    Amounts below zero (returns) are quarantined; so are zero amounts unless ``keep_zero_amounts`` (the
    literature's CDNOW counts a $0 order as a purchase); so are dates before ``earliest_date`` and amounts above
    ``max_amount`` when given (``implausible_date``, ``implausible_amount``). Rows dated after ``observation_end``
    are tagged ``after_observation_end`` (see ``EXCLUDED``: left out, not quarantined). Customer ids written as
    floats: see ``_customer_id``. Identical rows are all purchases; only when ``columns.transaction_id`` is
    declared are the later rows of one id quarantined as ``duplicate_transaction_id``.

    Returns ``customer_id`` (string, trimmed), ``transaction_date`` (date), ``amount`` (double),
    ``raw_customer_id``, ``raw_transaction_date``, ``raw_amount`` (the source values as strings, kept for
    quarantined rows only: null on clean rows, which need just the typed columns, except ``raw_customer_id`` on a
    clean row whose float id was read as an integer) and ``reason``.
    ``date_format`` is a Spark datetime pattern (e.g. ``yyyyMMdd``) for string dates; without it, ISO dates
    (``yyyy-MM-dd``, optionally followed by a time) are read. Date and timestamp sources are used as they are.

    Raises ``DataError`` (see :func:`check_columns`) when a mapped column is missing.
    """
    check_columns(raw, columns)
    types = {field.name: field.dataType for field in raw.schema.fields}
    source = {ours: F.col(f"`{name}`") for ours, name in columns.items()}
    staged = raw.select(
        source[CUSTOMER_ID].cast(T.StringType()).alias("raw_customer_id"),
        source[TRANSACTION_DATE].cast(T.StringType()).alias("raw_transaction_date"),
        source[AMOUNT].cast(T.StringType()).alias("raw_amount"),
        source[CUSTOMER_ID].alias("__cid__"),
        _text(source[CUSTOMER_ID]).alias("__id_text__"),
        source[TRANSACTION_DATE].alias("__date__"),
        _text(source[TRANSACTION_DATE]).alias("__date_text__"),
        source[AMOUNT].alias("__amount__"),
        _text(source[AMOUNT]).alias("__amount_text__"),
        *([F.col(f"`{columns.transaction_id}`")] if columns.transaction_id else []),
    )
    customer_id, id_reason = _customer_id(types[columns.customer_id])
    staged = staged.withColumns({
        CUSTOMER_ID: customer_id,
        "__id_reason__": id_reason,
        TRANSACTION_DATE: _parsed_date(types[columns.transaction_date], date_format),
        AMOUNT: _parsed_amount(types[columns.amount]),
    })
    date, amount = F.col(TRANSACTION_DATE), F.col(AMOUNT)
    checks = [
        (F.col(CUSTOMER_ID).isNull(), F.lit(NULL_CUSTOMER_ID)),
        (F.col("__id_reason__").isNotNull(), F.col("__id_reason__")),
        (F.col("__date_text__").isNull(), F.lit(NULL_TRANSACTION_DATE)),
        (date.isNull(), F.lit(UNPARSEABLE_DATE)),
        (date < F.lit(earliest_date) if earliest_date else None, F.lit(IMPLAUSIBLE_DATE)),
        (date > F.lit(observation_end) if observation_end else None, F.lit(AFTER_OBSERVATION_END)),
        (F.col("__amount_text__").isNull(), F.lit(NULL_AMOUNT)),
        (amount.isNull() | F.isnan(amount) | (F.abs(amount) == float("inf")), F.lit(UNPARSEABLE_AMOUNT)),
        ((amount < 0) if keep_zero_amounts else (amount <= 0), F.lit(NON_POSITIVE_AMOUNT)),
        (amount > F.lit(max_amount) if max_amount is not None else None, F.lit(IMPLAUSIBLE_AMOUNT)),
    ]
    active = [(condition, tag) for condition, tag in checks if condition is not None]
    reason = F.when(*active[0])
    for condition, tag in active[1:]:
        reason = reason.when(condition, tag)
    tagged = staged.withColumn(REASON, reason)
    if columns.transaction_id:
        tagged = _tag_duplicate_ids(tagged.withColumn("__id__", _text(F.col(f"`{columns.transaction_id}`"))))
    quarantined = F.col(REASON).isNotNull()
    rewritten = F.col("__id_text__") != F.col(CUSTOMER_ID)  # a float id read as an integer
    return tagged.select(
        CUSTOMER_ID, TRANSACTION_DATE, AMOUNT,
        F.when(quarantined | rewritten, F.col("raw_customer_id")).alias("raw_customer_id"),
        *[F.when(quarantined, F.col(name)).alias(name) for name in RAW_COLUMNS[1:]],
        REASON,
    )


def _tag_duplicate_ids(tagged: DataFrame) -> DataFrame:
    """Tag every row after the first of a non-null ``__id__`` as ``duplicate_transaction_id``.

    The kept row is a clean one when the id has one (then by raw values, so the choice is deterministic); a row
    that already has a reason keeps it.
    """
    order = Window.partitionBy("__id__").orderBy(
        F.col(REASON).isNotNull(), *[F.col(name).asc_nulls_first() for name in RAW_COLUMNS]
    )
    later = F.col("__id__").isNotNull() & (F.row_number().over(order) > 1)
    return tagged.withColumn(
        REASON, F.when(F.col(REASON).isNull() & later, F.lit(DUPLICATE_TRANSACTION_ID)).otherwise(F.col(REASON))
    )


@dataclass(frozen=True)
class ValidationCounts:
    """What one pass over a parsed frame tells: rows, quarantined rows by reason, rows left out by reason (see
    ``EXCLUDED``), clean rows and their dates, and the clean rows whose float customer id was read as an integer
    (with one such raw id)."""

    rows: int
    by_reason: dict[str, int]
    clean_rows: int
    first_clean: dt.date | None
    last_clean: dt.date | None
    excluded: dict[str, int] = field(default_factory=dict)
    integral_float_ids: int = 0
    integral_float_id_example: str | None = None


def validation_counts(parsed: DataFrame) -> ValidationCounts:
    """Count a :func:`parse_transactions` frame by reason, with the first and last clean date, in one aggregation."""
    groups = parsed.groupBy(REASON).agg(
        F.count(F.lit(1)).alias("rows"), F.min(TRANSACTION_DATE).alias("first"), F.max(TRANSACTION_DATE).alias("last"),
        F.count("raw_customer_id").alias("raw_ids"), F.min("raw_customer_id").alias("raw_id"),
    ).collect()
    by_reason = {row[REASON]: int(row["rows"]) for row in sorted(groups, key=lambda r: r[REASON] or "")}
    clean = by_reason.pop(None, 0)
    excluded = {reason: by_reason.pop(reason) for reason in EXCLUDED if reason in by_reason}
    clean_row = next((row for row in groups if row[REASON] is None), None)
    return ValidationCounts(
        rows=clean + sum(by_reason.values()) + sum(excluded.values()),
        by_reason=by_reason,
        clean_rows=clean,
        first_clean=clean_row["first"] if clean_row else None,
        last_clean=clean_row["last"] if clean_row else None,
        excluded=excluded,
        integral_float_ids=int(clean_row["raw_ids"]) if clean_row else 0,
        integral_float_id_example=clean_row["raw_id"] if clean_row else None,
    )


def split_parsed(parsed: DataFrame) -> ValidatedTransactions:
    """Clean rows (standard columns) and quarantined rows (raw values as strings + ``reason``); rows tagged with an
    ``EXCLUDED`` reason are in neither."""
    clean = parsed.where(F.col(REASON).isNull()).select(*STANDARD_COLUMNS)
    quarantined = parsed.where(F.col(REASON).isNotNull() & ~F.col(REASON).isin(*EXCLUDED)).select(
        F.col("raw_customer_id").alias(CUSTOMER_ID),
        F.col("raw_transaction_date").alias(TRANSACTION_DATE),
        F.col("raw_amount").alias(AMOUNT),
        REASON,
    )
    return ValidatedTransactions(clean=clean, quarantined=quarantined)


def validate_transactions(
    raw: DataFrame,
    columns: ColumnMapping,
    date_format: str | None = None,
    observation_end: dt.date | None = None,
    keep_zero_amounts: bool = False,
    *,
    earliest_date: dt.date | None = None,
    max_amount: float | None = None,
) -> ValidatedTransactions:
    """Check columns, standardise types and split ``raw`` into clean and quarantined rows (rows after
    ``observation_end`` are in neither, see :func:`parse_transactions`).

    Raises ``DataError`` (see :func:`check_columns`) when a mapped column is missing.
    """
    parsed = parse_transactions(raw, columns, date_format, keep_zero_amounts, observation_end,
                                earliest_date=earliest_date, max_amount=max_amount)
    return split_parsed(parsed)


def apply_outlier_rule(
    clean: DataFrame, rule: str = "none", quantile: float = 0.99
) -> tuple[DataFrame, dict[str, Any]]:
    """Handle large spend by ``rule`` and return the transactions plus a record of what was done.

    - ``none``: unchanged (the literature's setting).
    - ``cap``: amounts above the ``quantile`` of transaction amounts are set to that quantile.
    - ``drop_customers``: customers whose total spend is above the ``quantile`` of customer totals are removed.
    Quantiles are Spark's ``percentile_approx`` (relative rank error 1e-5).

    Raises ``ValueError`` for an unknown rule or a quantile outside (0, 1) (the config's are checked by its schema),
    ``DataError`` when there are no clean transactions.
    """
    if rule not in OUTLIER_RULES:
        raise ValueError(f"rule must be one of {', '.join(OUTLIER_RULES)}, got {rule!r}")
    if rule == "none":
        return clean, {"rule": "none"}
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be between 0 and 1 (exclusive), got {quantile}")
    if rule == "cap":
        threshold = _quantile(clean, AMOUNT, quantile)
        capped = clean.withColumn(AMOUNT, F.least(F.col(AMOUNT), F.lit(threshold)))
        rows = clean.where(F.col(AMOUNT) > threshold).count()
        return capped, {"rule": "cap", "quantile": quantile, "threshold": threshold, "rows_capped": rows}
    totals = clean.groupBy(CUSTOMER_ID).agg(F.sum(AMOUNT).alias("__total__"))
    threshold = _quantile(totals, "__total__", quantile)
    dropped = totals.where(F.col("__total__") > threshold).select(CUSTOMER_ID)
    kept = clean.join(dropped, on=CUSTOMER_ID, how="left_anti").select(*STANDARD_COLUMNS)
    stats = clean.join(dropped, on=CUSTOMER_ID, how="left_semi").agg(
        F.countDistinct(CUSTOMER_ID).alias("customers"), F.count(F.lit(1)).alias("rows")
    ).collect()[0]  # an aggregate without grouping: one row
    return kept, {
        "rule": "drop_customers",
        "quantile": quantile,
        "threshold": threshold,
        "customers_dropped": int(stats["customers"]),
        "rows_dropped": int(stats["rows"]),
    }


def _quantile(df: DataFrame, column: str, quantile: float) -> float:
    row = df.agg(F.percentile_approx(column, quantile, _QUANTILE_ACCURACY).alias("q")).first()
    if row is None or row["q"] is None:
        raise DataError(f"Cannot compute the {quantile} quantile of '{column}': there are no clean transactions.")
    return float(row["q"])


def read_cdnow_lines(lines: DataFrame) -> DataFrame:
    """The CDNOW layout (``CDNOW_master.txt`` as lifetimes ships it) from a text frame with one ``value`` per line.

    Fields are separated by whitespace: customer id, date (``yyyyMMdd``, see :data:`CDNOW_DATE_FORMAT`),
    number of CDs, dollar value. Returns string columns ``customer_id``, ``transaction_date``, ``number_of_cds``,
    ``amount`` (parse them with :func:`parse_transactions`); the header line and blank lines are skipped, and a
    line with missing fields keeps nulls there, so validation quarantines it rather than losing it.
    """
    text = _trimmed(F.col("value"))
    fields = F.split(text, r"\s+")
    rows = lines.select(text.alias("__line__"), fields.alias("__fields__")).where(
        (F.col("__line__") != "") & ~F.lower(F.col("__line__")).startswith(CUSTOMER_ID)
    )
    size = F.size("__fields__")
    return rows.select(
        *[F.when(size > i, F.col("__fields__")[i]).alias(name) for i, name in enumerate(CDNOW_COLUMNS)]
    )
