"""Raw transaction log -> validated transactions (``customer_id`` string, ``transaction_date`` date, ``amount`` double).

Pure Spark transforms: nothing here reads config, files or tables. Row-level problems are never dropped
silently: :func:`validate_transactions` splits a raw frame into the clean rows and the quarantined rows, and
the quarantined rows keep their raw values (as strings) plus a ``reason``. Every source row ends in exactly one
of the two frames.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from gda_clv.errors import DataError
from gda_clv.names import AMOUNT, CUSTOMER_ID, TRANSACTION_DATE

REASON = "reason"
STANDARD_COLUMNS = (CUSTOMER_ID, TRANSACTION_DATE, AMOUNT)
RAW_COLUMNS = ("raw_customer_id", "raw_transaction_date", "raw_amount")

# Quarantine reasons, in the order they are checked: a row gets the first one that applies.
NULL_CUSTOMER_ID = "null_customer_id"
NULL_TRANSACTION_DATE = "null_transaction_date"
UNPARSEABLE_DATE = "unparseable_date"
NULL_AMOUNT = "null_amount"
UNPARSEABLE_AMOUNT = "unparseable_amount"
NON_POSITIVE_AMOUNT = "non_positive_amount"
AFTER_OBSERVATION_END = "after_observation_end"
DUPLICATE_TRANSACTION_ID = "duplicate_transaction_id"
REASONS = (
    NULL_CUSTOMER_ID,
    NULL_TRANSACTION_DATE,
    UNPARSEABLE_DATE,
    NULL_AMOUNT,
    UNPARSEABLE_AMOUNT,
    NON_POSITIVE_AMOUNT,
    AFTER_OBSERVATION_END,
    DUPLICATE_TRANSACTION_ID,
)

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


def check_columns(raw: DataFrame, columns: ColumnMapping) -> None:
    """Raise :class:`DataError` naming the first mapped column that ``raw`` lacks, what it has, and the key to fix."""
    found = raw.columns
    for ours, source in columns.items():
        if source not in found:
            raise DataError(
                f"Source column '{source}' (data.source.columns.{ours}) not found; the source has columns: "
                f"{', '.join(found)}. Set data.source.columns.{ours} to the column that holds the {ours}."
            )


def _text(column: Column) -> Column:
    """The value as a string with surrounding whitespace removed; blank -> null."""
    text = F.regexp_replace(column.cast(T.StringType()), r"^\s+|\s+$", "")
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


def parse_transactions(
    raw: DataFrame,
    columns: ColumnMapping,
    date_format: str | None = None,
    keep_zero_amounts: bool = False,
    observation_end: dt.date | None = None,
) -> DataFrame:
    """Standardise types and tag each row with the first quarantine reason that applies (null when clean).

    Amounts below zero (returns) are quarantined; so are zero amounts unless ``keep_zero_amounts`` (the
    literature's CDNOW counts a $0 order as a purchase); so are rows dated after ``observation_end`` when given.
    Identical rows are all purchases; only when ``columns.transaction_id`` is declared are the later rows of one
    id quarantined as ``duplicate_transaction_id``.

    Returns ``customer_id`` (string, trimmed), ``transaction_date`` (date), ``amount`` (double),
    ``raw_customer_id``, ``raw_transaction_date``, ``raw_amount`` (the source values as strings, kept for
    quarantined rows only: null on clean rows, which need just the typed columns) and ``reason``.
    ``date_format`` is a Spark datetime pattern (e.g. ``yyyyMMdd``) for string dates; without it, ISO dates
    (``yyyy-MM-dd``, optionally followed by a time) are read. Date and timestamp sources are used as they are.
    """
    check_columns(raw, columns)
    types = {field.name: field.dataType for field in raw.schema.fields}
    source = {ours: F.col(f"`{name}`") for ours, name in columns.items()}
    staged = raw.select(
        source[CUSTOMER_ID].cast(T.StringType()).alias("raw_customer_id"),
        source[TRANSACTION_DATE].cast(T.StringType()).alias("raw_transaction_date"),
        source[AMOUNT].cast(T.StringType()).alias("raw_amount"),
        _text(source[CUSTOMER_ID]).alias(CUSTOMER_ID),
        source[TRANSACTION_DATE].alias("__date__"),
        _text(source[TRANSACTION_DATE]).alias("__date_text__"),
        source[AMOUNT].alias("__amount__"),
        _text(source[AMOUNT]).alias("__amount_text__"),
        *([F.col(f"`{columns.transaction_id}`")] if columns.transaction_id else []),
    )
    staged = staged.withColumn(TRANSACTION_DATE, _parsed_date(types[columns.transaction_date], date_format))
    staged = staged.withColumn(AMOUNT, _parsed_amount(types[columns.amount]))
    amount = F.col(AMOUNT)
    reason = (
        F.when(F.col(CUSTOMER_ID).isNull(), F.lit(NULL_CUSTOMER_ID))
        .when(F.col("__date_text__").isNull(), F.lit(NULL_TRANSACTION_DATE))
        .when(F.col(TRANSACTION_DATE).isNull(), F.lit(UNPARSEABLE_DATE))
        .when(F.col("__amount_text__").isNull(), F.lit(NULL_AMOUNT))
        .when(amount.isNull() | F.isnan(amount) | (F.abs(amount) == float("inf")), F.lit(UNPARSEABLE_AMOUNT))
        .when((amount < 0) if keep_zero_amounts else (amount <= 0), F.lit(NON_POSITIVE_AMOUNT))
    )
    if observation_end is not None:
        reason = reason.when(F.col(TRANSACTION_DATE) > F.lit(observation_end), F.lit(AFTER_OBSERVATION_END))
    tagged = staged.withColumn(REASON, reason)
    if columns.transaction_id:
        tagged = _tag_duplicate_ids(tagged.withColumn("__id__", _text(F.col(f"`{columns.transaction_id}`"))))
    quarantined = F.col(REASON).isNotNull()
    return tagged.select(
        CUSTOMER_ID, TRANSACTION_DATE, AMOUNT,
        *[F.when(quarantined, F.col(name)).alias(name) for name in RAW_COLUMNS],
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
    """What one pass over a parsed frame tells: rows, quarantined rows by reason, clean rows and their dates."""

    rows: int
    by_reason: dict[str, int]
    clean_rows: int
    first_clean: dt.date | None
    last_clean: dt.date | None


def validation_counts(parsed: DataFrame) -> ValidationCounts:
    """Count a :func:`parse_transactions` frame by reason, with the first and last clean date, in one aggregation."""
    groups = parsed.groupBy(REASON).agg(
        F.count(F.lit(1)).alias("rows"), F.min(TRANSACTION_DATE).alias("first"), F.max(TRANSACTION_DATE).alias("last")
    ).collect()
    by_reason = {row[REASON]: int(row["rows"]) for row in sorted(groups, key=lambda r: r[REASON] or "")}
    clean = by_reason.pop(None, 0)
    clean_row = next((row for row in groups if row[REASON] is None), None)
    return ValidationCounts(
        rows=clean + sum(by_reason.values()),
        by_reason=by_reason,
        clean_rows=clean,
        first_clean=clean_row["first"] if clean_row else None,
        last_clean=clean_row["last"] if clean_row else None,
    )


def split_parsed(parsed: DataFrame) -> ValidatedTransactions:
    """Clean rows (standard columns) and quarantined rows (raw values as strings + ``reason``)."""
    clean = parsed.where(F.col(REASON).isNull()).select(*STANDARD_COLUMNS)
    quarantined = parsed.where(F.col(REASON).isNotNull()).select(
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
) -> ValidatedTransactions:
    """Check columns, standardise types and split ``raw`` into clean and quarantined rows (no row lost)."""
    return split_parsed(parse_transactions(raw, columns, date_format, keep_zero_amounts, observation_end))


def apply_outlier_rule(
    clean: DataFrame, rule: str = "none", quantile: float = 0.99
) -> tuple[DataFrame, dict[str, Any]]:
    """Handle large spend by ``rule`` and return the transactions plus a record of what was done.

    - ``none``: unchanged (the literature's setting).
    - ``cap``: amounts above the ``quantile`` of transaction amounts are set to that quantile.
    - ``drop_customers``: customers whose total spend is above the ``quantile`` of customer totals are removed.
    Quantiles are Spark's ``percentile_approx`` (relative rank error 1e-5).

    Raises ``DataError`` for an unknown rule, a quantile outside (0, 1), or no clean transactions.
    """
    if rule not in OUTLIER_RULES:
        raise DataError(f"Unknown outlier rule '{rule}' (data.outliers.rule); use one of: {', '.join(OUTLIER_RULES)}.")
    if rule == "none":
        return clean, {"rule": "none"}
    if not 0.0 < quantile < 1.0:
        raise DataError(f"data.outliers.quantile must be between 0 and 1 (exclusive), got {quantile}.")
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
    ).first()
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
    text = F.regexp_replace(F.col("value"), r"^\s+|\s+$", "")
    fields = F.split(text, r"\s+")
    rows = lines.select(text.alias("__line__"), fields.alias("__fields__")).where(
        (F.col("__line__") != "") & ~F.lower(F.col("__line__")).startswith(CUSTOMER_ID)
    )
    size = F.size("__fields__")
    return rows.select(
        *[F.when(size > i, F.col("__fields__")[i]).alias(name) for i, name in enumerate(CDNOW_COLUMNS)]
    )
