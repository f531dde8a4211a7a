"""`gda-clv evidently-report --env ENV`: Evidently's data-drift report of the latest scoring run against the run
before it, on a bounded random sample of each (driver-side), written as ``drift_evidently.html`` next to
``report.html``.

Optional: needs the extra ``gda_clv[evidently]``. Only ``--sample-rows`` rows per run reach the driver; the Spark
metrics of `gda-clv monitor` (all rows, binned in Spark) stay the source of truth and the only thing that alerts.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gda_clv.errors import ConfigError, DataError
from gda_clv.names import AS_OF

if TYPE_CHECKING:  # the CLI imports this module to build its parser: no Spark or pandas import at that point
    import pandas as pd
    from pyspark.sql import DataFrame

    from gda_clv.utils.common import JobContext

FILE_NAME = "drift_evidently.html"
SAMPLE_ROWS = 10_000
SEED = 42


def bounded_sample(df: DataFrame, rows: int, seed: int = SEED) -> pd.DataFrame:
    """At most ``rows`` rows of ``df``, drawn at random in Spark, as pandas (nothing else reaches the driver)."""
    total = df.count()
    fraction = min(1.0, 1.5 * rows / total) if total else 1.0
    return df.sample(withReplacement=False, fraction=fraction, seed=seed).limit(rows).toPandas()


def drift_report(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[str, dict[str, float]]:
    """Evidently's DataDriftPreset of ``current`` against ``reference``: (HTML page, drifted columns count/share).

    Raises ConfigError naming the extra to install when Evidently is missing.
    """
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError:
        raise ConfigError("the Evidently report needs the optional extra: pip install 'gda_clv[evidently]'") from None
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    counts = next(m["value"] for m in snapshot.dict()["metrics"] if m["metric_name"].startswith("DriftedColumnsCount"))
    return snapshot.get_html_str(as_iframe=False), {k: float(v) for k, v in counts.items()}


def write(ctx: JobContext, columns: Sequence[str], rows: int = SAMPLE_ROWS) -> dict[str, Any]:
    """Report the latest two ``as_of`` of the predictions table next to the latest prediction files.

    Raises DataError when there are fewer than two scoring runs or no prediction files yet.
    """
    from pyspark.sql import functions as F

    from gda_clv.utils.pipelines import save_to_blob

    name = ctx.targets_table.full_name
    targets = ctx.tables.read(name)
    as_ofs = sorted(r[AS_OF] for r in targets.select(AS_OF).distinct().collect())
    folder = save_to_blob.latest_run_folder(ctx.output_path, ctx.dbutils)
    if len(as_ofs) < 2 or folder is None:
        raise DataError(f"the Evidently report compares two scoring runs; '{name}' has {len(as_ofs)} as_of(s) and "
                        f"prediction files {'exist' if folder else 'do not exist yet'}: run `gda-clv project` first")
    samples = [bounded_sample(targets.where(F.col(AS_OF) == F.lit(d)).select(*columns), rows) for d in as_ofs[-2:]]
    html, drifted = drift_report(*samples)
    path = save_to_blob.save_text_to_blob_storage(html, folder, FILE_NAME, ctx.dbutils)
    return {"as_of": str(as_ofs[-1]), "reference_as_of": str(as_ofs[-2]), "sample_rows": [len(s) for s in samples],
            "drifted_columns": drifted, "outputs": {"evidently_report_path": path}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `gda-clv evidently-report`."""
    parser.add_argument("--sample-rows", type=int, default=SAMPLE_ROWS,
                        help=f"rows sampled from each scoring run for the driver (default {SAMPLE_ROWS})")


def run_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The report of ``args.env``: CLV, P(alive), the expected purchases of every horizon and the value tier.

    Raises ConfigError without the extra, DataError before two scoring runs.
    """
    from gda_clv.data.scoring import purchases_column
    from gda_clv.utils.common import JobContext

    ctx = JobContext(env=args.env, conf_files=tuple(args.conf_file), overrides=tuple(args.overrides))
    horizons = ctx.config.projection.horizons_days
    return write(ctx, ["clv", "p_alive", *(purchases_column(d) for d in horizons), "value_tier"], args.sample_rows)
