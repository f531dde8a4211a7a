"""``gda-clv prepare``: read the transaction log, validate and quarantine, write the RFM feature table.

Phases: read -> validate (quarantine, repeated transaction ids, threshold) -> timeline -> features -> write. Every
check that can fail the run happens before the first write, so a failed run leaves the previous tables as they were.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gda_clv.data import rfm
from gda_clv.data.transactions import (
    CDNOW_DATE_FORMAT,
    RAW_COLUMNS,
    REASON,
    ColumnMapping,
    ValidationCounts,
    apply_outlier_rule,
    parse_transactions,
    read_cdnow_lines,
    split_parsed,
    validation_counts,
)
from gda_clv.errors import DataError
from gda_clv.monitoring import inputs
from gda_clv.names import AS_OF, TRANSACTION_DATE
from gda_clv.pipelines import _advice
from gda_clv.utils import failures
from gda_clv.utils import feature_store_utils as fs
from gda_clv.utils.common import JobContext
from gda_clv.utils.config_schema import DataConfig, SourceConfig
from gda_clv.utils.task_values import set_task_values

STEP = "prepare"


def lifetimes_cdnow_path() -> Path:
    """``CDNOW_master.txt`` as the installed lifetimes package ships it (found without importing lifetimes).

    Raises ``DataError`` when lifetimes (which ships CDNOW) is absent or lacks the file.
    """
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("data.source.path is not set and the lifetimes package (which ships CDNOW) is not installed.")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
    if not path.is_file():
        raise DataError(f"lifetimes is installed but has no {path}; set data.source.path.")
    return path


def source_location(source: SourceConfig) -> str:
    """The path or table name to read; the CDNOW file lifetimes ships when format is cdnow and no path is set (the
    schema requires a path for every other format)."""
    return source.path or lifetimes_cdnow_path().as_uri()


def read_source(ctx: JobContext, source: SourceConfig) -> DataFrame:
    """The raw source frame (CSV columns as strings), lazy: validation reads it once, into its cached parsed frame
    (which also counts it: an empty source is found there).

    DataError when the source cannot be read (a missing path or table, a file that is not of its format).
    """
    location = source_location(source)
    reader = ctx.spark.read.options(**source.options)
    raw: DataFrame
    try:
        if source.format == "csv":
            raw = reader.option("header", source.options.get("header", "true")).csv(location)
        elif source.format == "parquet":
            raw = reader.parquet(location)
        elif source.format == "table":
            raw = ctx.spark.table(location)
        else:
            raw = read_cdnow_lines(reader.text(location))
    except (AnalysisException, Py4JJavaError) as exc:
        raise _read_error(exc, source.format, location) from None
    return raw


def _read_error(exc: Exception, source_format: str, location: str) -> DataError:
    """A DataError naming the path/table and what was expected, from Spark's exception."""
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)  # 4.0 renamed it
    condition = getter() if getter else None
    if condition == "PATH_NOT_FOUND":
        return DataError(
            f"data.source.path '{location}' does not exist; set it to the {source_format} file or folder to read."
        )
    if condition == "TABLE_OR_VIEW_NOT_FOUND":
        return DataError(f"data.source.path '{location}' is not a table in the metastore; set it to an existing table.")
    detail = failures.java_root_cause(exc) or str(exc).strip().splitlines()[0]
    return DataError(
        f"cannot read data.source.path '{location}' as {source_format}: {detail}. "
        "Check data.source.path and data.source.format."
    )


def _check_share(
    parsed: DataFrame, counts: ValidationCounts, max_share: float, columns: ColumnMapping, date_format: str | None
) -> float:
    """The quarantined share of the rows inside the window (rows after the observation end are not counted).

    Raises ``DataError`` above ``max_share``, naming the fix for the dominant reason with some of its raw values.
    """
    rows = counts.rows - sum(counts.excluded.values())
    share = sum(counts.by_reason.values()) / rows if rows else 0.0
    if share > max_share:
        reason = _advice.dominant(counts.by_reason)
        sampled = parsed.where(F.col(REASON) == reason).select(*RAW_COLUMNS).limit(_advice.SAMPLES).collect()
        raise _advice.share_error(counts.by_reason, rows, max_share, [tuple(row) for row in sampled], columns,
                                  date_format)
    return share


def _counts(features: DataFrame) -> dict[str, int]:
    row = features.agg(
        F.count(F.lit(1)).alias("customers"),
        F.sum(F.when(F.col("frequency") > 0, 1).otherwise(0)).alias("repeat_customers"),
        F.sum(F.when(F.col("T_cal").isNotNull(), 1).otherwise(0)).alias("calibration_customers"),
        F.sum(F.when((F.col("frequency_cal") > 0) & (F.col("monetary_value_cal") > 0), 1).otherwise(0)).alias(
            "filtered_cal_customers"
        ),
    ).collect()[0]  # an aggregate without grouping: one row
    return {key: int(row[key] or 0) for key in row.asDict()}


def _settings(ctx: JobContext) -> dict[str, Any]:
    """The config that shapes the features (for the skip-if-unchanged fingerprint)."""
    data = ctx.config.data.model_dump(mode="json")
    data.pop("skip_if_unchanged", None)
    data.pop("quarantine_max_share", None)
    return data


def _log_counts(ctx: JobContext, counts: ValidationCounts, observation_end: dt.date) -> None:
    """One line per quarantine reason, per reason rows were left out, and a warning for float customer ids."""
    for reason, count in counts.by_reason.items():
        ctx.logger.info("%s: quarantined %d rows: %s", STEP, count, reason)
    for reason, count in counts.excluded.items():
        ctx.logger.info("%s: left out %d rows dated after the observation end %s (%s; not quarantined)",
                        STEP, count, observation_end, reason)
    if counts.integral_float_ids:
        ctx.logger.warning(
            "%s: %d customer ids are whole numbers written as floats (like '%s'); read as integers. Export them as "
            "integers or text to silence this.", STEP, counts.integral_float_ids, counts.integral_float_id_example,
        )


def source_reading(source: SourceConfig) -> tuple[ColumnMapping, str | None]:
    """The column mapping and date format ``source`` is parsed with (CDNOW's own format for format cdnow)."""
    date_format = source.date_format or (CDNOW_DATE_FORMAT if source.format == "cdnow" else None)
    return ColumnMapping(**source.columns.model_dump()), date_format


def parse_source(raw: DataFrame, data: DataConfig, observation_end: dt.date | None) -> DataFrame:
    """``raw`` parsed and tagged as prepare does: column mapping, date format, zero amounts, validation bounds."""
    columns, date_format = source_reading(data.source)
    return parse_transactions(raw, columns, date_format, data.keep_zero_amounts, observation_end,
                              earliest_date=data.validation.earliest_date, max_amount=data.validation.max_amount)


@dataclass
class _Validated:
    timeline: fs.Timeline
    clean: DataFrame
    quarantined: DataFrame
    parsed: DataFrame  # every row parsed and tagged, cached


def _validate(ctx: JobContext, raw: DataFrame, summary: dict[str, Any], cached: list[DataFrame]) -> _Validated:
    """Parse, fix the timeline, quarantine (duplicate transaction ids too), check the share, apply the outlier rule.

    No row is collapsed: a log without ``data.source.columns.transaction_id`` is all purchases, and with it every
    repeated id is a quarantine row. Frames cached on the way are added to ``cached`` (the caller releases them).
    """
    data = ctx.config.data
    columns, date_format = source_reading(data.source)
    # Parsed once and cached slim: one aggregation over the cache gives the counts by reason and the clean dates.
    parsed = parse_source(raw, data, data.observation_end).cache()
    cached.append(parsed)
    counts = validation_counts(parsed)
    if counts.rows == 0:
        raise DataError(f"the source '{source_location(data.source)}' ({data.source.format}) has no rows; "
                        "check data.source.path.")
    summary["source_rows"] = counts.rows
    # Without a configured observation end it is the last clean date, so no row can be after it.
    timeline = fs.Timeline.resolve(data.calibration_end, data.observation_end, data.holdout_days, counts.last_clean)
    summary.update(timeline.as_dict())
    _log_counts(ctx, counts, timeline.observation_end)
    summary["excluded"] = counts.excluded
    if counts.integral_float_ids:
        summary["customer_ids_read_as_integers"] = counts.integral_float_ids
    by_reason = counts.by_reason
    share = _check_share(parsed, counts, data.quarantine_max_share, columns, date_format)
    summary["quarantined"] = {"total": sum(by_reason.values()), "share": round(share, 6), "by_reason": by_reason}
    split = split_parsed(parsed)
    clean, summary["outliers"] = apply_outlier_rule(split.clean, data.outliers.rule, data.outliers.quantile)
    if data.outliers.rule == "drop_customers":
        stats = clean.agg(F.count(F.lit(1)).alias("rows"), F.min(TRANSACTION_DATE).alias("first")).collect()[0]
        summary["transactions"], first = int(stats["rows"]), stats["first"]
    else:  # none / cap keep every clean row and its date
        summary["transactions"], first = counts.clean_rows, counts.first_clean
    if first is None or first > timeline.calibration_end:
        raise DataError(
            f"no clean transactions on or before the calibration end {timeline.calibration_end}; "
            "set data.calibration_end later or data.holdout_days smaller."
        )
    return _Validated(timeline, clean, split.quarantined, parsed)


def _plan(ctx: JobContext, backend: fs.FeatureBackend, as_of: dt.date, digest: str | None) -> str:
    table = ctx.feature_table
    exists = backend.exists(table)
    as_of_there = exists and fs.as_of_exists(ctx.spark, table, as_of)
    unchanged = bool(as_of_there and digest and fs.stored_fingerprint(ctx.spark, table, as_of) == digest)
    return fs.plan_update(exists, as_of_there, ctx.config.data.skip_if_unchanged, unchanged)


def _write_quarantine(ctx: JobContext, quarantined: DataFrame, as_of: dt.date) -> None:
    rows = quarantined.select(
        F.lit(ctx.run_id).alias("run_id"),
        F.lit(as_of).cast("date").alias("as_of"),
        F.current_timestamp().alias("quarantined_at"),
        *quarantined.columns,
    )
    ctx.tables.replace_where(rows, ctx.quarantine_table.full_name, "as_of", as_of)


def _write_input_summary(ctx: JobContext, parsed: DataFrame, as_of: dt.date) -> None:
    """The per-day counts and amount histogram of the log up to ``as_of`` (rows after it are left out, as from the
    features) for monitor, which reads no source: ``tables.input_summary``, replaced per as_of."""
    upto = parsed.where(F.col(TRANSACTION_DATE) <= F.lit(as_of))
    summary = inputs.daily_summary(upto, ctx.config.data.freq)
    # a row per day: one file; cached, as replace_where may look at the rows before writing them
    rows = summary.select(F.lit(as_of).cast("date").alias(AS_OF), "*").coalesce(1).cache()
    try:
        ctx.tables.replace_where(rows, ctx.input_summary_table_name, AS_OF, as_of)
    finally:
        rows.unpersist()


def _input_summary_missing(ctx: JobContext, as_of: dt.date) -> bool:
    name = ctx.input_summary_table_name
    return not ctx.tables.exists(name) or not ctx.tables.read(name).where(F.col(AS_OF) == F.lit(as_of)).take(1)


def run(ctx: JobContext) -> dict[str, Any]:
    """Validate the source, quarantine bad rows, write features for one as_of; return the step summary."""
    data = ctx.config.data
    source = data.source
    timings: dict[str, float] = {}
    feature_table = ctx.feature_table
    summary: dict[str, Any] = {
        "run_id": ctx.run_id,
        "env": ctx.env,
        "source": {"format": source.format, "location": source_location(source)},
        "freq": data.freq,
        "freq_multiplier": data.freq_multiplier,
        "tables": {"features": feature_table.full_name, "quarantine": ctx.quarantine_table.full_name,
                   "input_summary": ctx.input_summary_table_name},
        "durations": timings,
    }
    cached: list[DataFrame] = []
    try:
        with ctx.phase(f"{STEP}: read {source.format} source", timings):
            raw = read_source(ctx, source)
            digest = fs.fingerprint(_settings(ctx), raw) if data.skip_if_unchanged else None
        with ctx.phase(f"{STEP}: validate", timings):
            valid = _validate(ctx, raw, summary, cached)
        as_of = valid.timeline.as_of
        with ctx.phase(f"{STEP}: check {feature_table.full_name}", timings):
            backend = fs.feature_backend(ctx)
            summary["write_mode"] = action = _plan(ctx, backend, as_of, digest)
        if action == fs.SKIP:
            ctx.logger.info("%s: features for as_of %s exist and the source is unchanged: skipped", STEP, as_of)
            if _input_summary_missing(ctx, as_of):  # prepared by a version that wrote none
                with ctx.phase(f"{STEP}: input summary", timings):
                    _write_input_summary(ctx, valid.parsed, as_of)
            set_task_values(ctx.dbutils, as_of=as_of, calibration_end=valid.timeline.calibration_end)
            return {**summary, "status": "skipped"}
        with ctx.phase(f"{STEP}: RFM features ({data.freq}, multiplier {data.freq_multiplier})", timings):
            tl = valid.timeline
            features = rfm.rfm_features(valid.clean, tl.calibration_end, as_of, data.freq, data.freq_multiplier)
            features = features.cache()
            cached.append(features)
            summary.update(_counts(features))
            # degenerate data fails here, before any write or fit
            _advice.check_fittable(summary["calibration_customers"], summary["filtered_cal_customers"],
                                   tl.calibration_end)
        with ctx.phase(f"{STEP}: write ({action}) {feature_table.full_name} as_of {as_of}", timings):
            # quarantine first: a run that fails after it leaves the features as they were, and its rejected rows
            # (replaced per as_of, so a rerun never doubles them) are kept for inspection
            if summary["quarantined"]["total"] or ctx.tables.exists(ctx.quarantine_table.full_name):
                _write_quarantine(ctx, valid.quarantined, as_of)
            backend.write(features, feature_table, as_of)
            if digest:
                fs.record_fingerprint(ctx.spark, feature_table, as_of, digest)
        with ctx.phase(f"{STEP}: input summary", timings):
            _write_input_summary(ctx, valid.parsed, as_of)
    finally:
        for frame in cached:
            frame.unpersist()
    # What the later tasks of this job run work on ({{tasks.prepare.values.as_of}} in their parameters).
    set_task_values(ctx.dbutils, as_of=as_of, calibration_end=valid.timeline.calibration_end)
    ctx.logger.info(
        "%s: %d customers (%d repeat) as_of %s -> %s",
        STEP, summary["customers"], summary["repeat_customers"], as_of, feature_table.full_name,
    )
    return {**summary, "status": "succeeded"}
