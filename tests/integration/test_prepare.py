"""``gda-clv prepare`` end to end on local Spark: CSV and CDNOW sources, bad inputs, reruns, failed runs."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from gda_clv.cli import main as cli_main
from gda_clv.errors import DataError
from gda_clv.pipelines import prepare
from gda_clv.utils.common import JobContext

D = dt.date
HEADER = "cust,day,value,note"
GOOD_ROWS = [
    "a,2021-01-05,10,x",
    "a,2021-01-05,10,x",  # an identical row is a second purchase (no transaction id declared)
    "a,2021-01-20,20,x",
    "a,2021-02-10,30,x",  # holdout
    "b,2021-01-10,5,x",  # one-time buyer
    "c,2021-02-05,7,x",  # first purchase in the holdout
    "g,2021-01-02,8,x", "g,2021-01-12,9,x",  # three more repeat customers: enough to fit the models
    "h,2021-01-03,6,x", "h,2021-01-15,6,x",
    "i,2021-01-04,3,x", "i,2021-01-18,5,x",
]
BAD_ROWS = [
    ",2021-01-01,1,x",  # null_customer_id
    "d,notadate,1,x",  # unparseable_date
    "e,2021-01-03,-2,x",  # non_positive_amount
    "f,2021-03-15,4,x",  # after_observation_end: left out, not quarantined
]
BASE_SETTINGS = (
    "data.source.format=csv",
    "data.source.columns={customer_id: cust, transaction_date: day, amount: value}",
    "data.calibration_end=2021-01-31",
    "data.observation_end=2021-02-28",
    "data.freq=D",
    "data.freq_multiplier=1",
)


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.fixture()
def run_prepare(spark, tmp_path: Path) -> Iterator[Callable[..., dict]]:
    """Run the step with a fresh JobContext on a per-test schema; returns the summary."""
    schema = f"prep_{uuid.uuid4().hex[:8]}"

    def _run(*settings: str) -> dict:
        ctx = JobContext(
            env="local", overrides=(f"runtime.state_dir={tmp_path}", f"tables.schema={schema}", *settings)
        )
        return prepare.run(ctx)

    _run.schema = schema  # type: ignore[attr-defined]
    yield _run


def _rows(spark, table: str) -> list[dict]:
    return sorted((r.asDict() for r in spark.table(table).collect()), key=lambda r: (str(r["as_of"]), r["customer_id"]))


@contextlib.contextmanager
def _captured(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """gda_clv's logger does not propagate to the root: attach pytest's handler to it."""
    logger = logging.getLogger("gda_clv")
    logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)


def test_small_csv_features_quarantine_and_summary(spark, tmp_path: Path, run_prepare, caplog) -> None:
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS + BAD_ROWS)
    with _captured(caplog):
        summary = run_prepare(*BASE_SETTINGS, f"data.source.path={csv}", "data.quarantine_max_share=0.5")
    schema = run_prepare.schema
    expected = {
        "status": "succeeded", "source_rows": 16, "transactions": 12,
        "customers": 6, "repeat_customers": 4, "calibration_customers": 5, "filtered_cal_customers": 4,
        "calibration_end": "2021-01-31", "observation_end": "2021-02-28", "as_of": "2021-02-28",
        "holdout_days": 28, "freq": "D", "freq_multiplier": 1, "write_mode": "create", "outliers": {"rule": "none"},
        "tables": {"features": f"{schema}.clv_features", "quarantine": f"{schema}.clv_quarantine",
                   "input_summary": f"{schema}.clv_input_summary"},
        "quarantined": {  # the share of the 15 rows inside the window
            "total": 3, "share": 0.2,
            "by_reason": {"non_positive_amount": 1, "null_customer_id": 1, "unparseable_date": 1},
        },
        "excluded": {"after_observation_end": 1},
    }
    assert {k: summary[k] for k in expected} == expected
    assert "prepare: left out 1 rows dated after the observation end 2021-02-28 (after_observation_end; not " \
           "quarantined)" in caplog.messages
    assert set(summary["durations"]) == {
        "prepare: read csv source", "prepare: validate", f"prepare: check {schema}.clv_features",
        "prepare: RFM features (D, multiplier 1)", f"prepare: write (create) {schema}.clv_features as_of 2021-02-28",
        "prepare: input summary",
    }

    features = {r["customer_id"]: r for r in _rows(spark, f"{schema}.clv_features")}
    assert set(features) == {"a", "b", "c", "g", "h", "i"}
    a = features["a"]
    assert [a[c] for c in ("frequency_cal", "recency_cal", "T_cal", "monetary_value_cal", "frequency_holdout",
                           "monetary_value_holdout", "duration_holdout")] == [1.0, 15.0, 26.0, 20.0, 1.0, 30.0, 28.0]
    assert [a[c] for c in ("frequency", "recency", "T", "monetary_value")] == [2.0, 36.0, 54.0, 25.0]
    assert a["as_of"] == D(2021, 2, 28)
    assert features["c"]["T_cal"] is None and features["c"]["T"] == 23.0

    quarantine = spark.table(f"{schema}.clv_quarantine").collect()
    got = [(r["customer_id"], r["transaction_date"], r["amount"], r["reason"]) for r in quarantine]
    assert sorted(got, key=str) == sorted([
        (None, "2021-01-01", "1", "null_customer_id"),
        ("d", "notadate", "1", "unparseable_date"),
        ("e", "2021-01-03", "-2", "non_positive_amount"),
    ], key=str)
    assert {(r["run_id"], r["as_of"]) for r in quarantine} == {(summary["run_id"], D(2021, 2, 28))}
    # monitor's input summary: the days up to the as_of (the row after it is left out, as from the features)
    stored = spark.table(f"{schema}.clv_input_summary").collect()
    days = {r["transaction_date"]: r for r in stored if r["amount_bin"] is None}
    bins = {(r["transaction_date"], r["amount_bin"]): r["transactions"] for r in stored if r["amount_bin"] is not None}
    assert max(days) == D(2021, 2, 10) and {r["as_of"] for r in stored} == {D(2021, 2, 28)}
    assert (sum(r["rows"] for r in days.values()), sum(r["transactions"] for r in days.values())) == (14, 12)
    jan5 = days[D(2021, 1, 5)]
    assert ((jan5["rows"], jan5["transactions"], jan5["customers"], jan5["new_customers"], jan5["period_starts"])
            == (2, 2, 1, 1, 1))  # a's two purchases on its first day
    assert {k: n for k, n in bins.items() if k[0] == D(2021, 1, 5)} == {(D(2021, 1, 5), 231): 2}  # 1.01**231 <= 10
    assert sum(bins.values()) == 12


def test_rerun_replaces_its_as_of_and_a_new_as_of_appends(spark, tmp_path: Path, run_prepare) -> None:
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS)
    settings = (*BASE_SETTINGS, f"data.source.path={csv}")
    run_prepare(*settings)
    table = f"{run_prepare.schema}.clv_features"
    first = _rows(spark, table)
    assert run_prepare(*settings)["write_mode"] == "replace"
    assert _rows(spark, table) == first  # idempotent: no duplicates, same values

    later = run_prepare(*settings, "data.calibration_end=2021-01-20", "data.observation_end=2021-02-20")
    assert later["write_mode"] == "append"
    rows = _rows(spark, table)
    assert [r for r in rows if r["as_of"] == D(2021, 2, 28)] == first
    assert sorted(r["customer_id"] for r in rows if r["as_of"] == D(2021, 2, 20)) == ["a", "b", "c", "g", "h", "i"]


def test_failed_run_leaves_the_previous_tables_as_they_were(spark, tmp_path: Path, run_prepare) -> None:
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS + BAD_ROWS[:1])
    run_prepare(*BASE_SETTINGS, f"data.source.path={csv}", "data.quarantine_max_share=0.5")
    schema = run_prepare.schema
    before = _rows(spark, f"{schema}.clv_features"), spark.table(f"{schema}.clv_quarantine").count()

    _write_csv(csv, ["a,2021-01-05,99,x", *BAD_ROWS])  # changed data, mostly bad
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, f"data.source.path={csv}")
    assert str(err.value).startswith(
        "3 of 4 rows (75.0%) failed validation (non_positive_amount: 1, null_customer_id: 1, unparseable_date: 1), "
        "above data.quarantine_max_share 5.0%; nothing was written. Most are null_customer_id: "
    )
    assert (_rows(spark, f"{schema}.clv_features"), spark.table(f"{schema}.clv_quarantine").count()) == before


def test_skip_if_unchanged(spark, tmp_path: Path, run_prepare) -> None:
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS)
    settings = (*BASE_SETTINGS, f"data.source.path={csv}", "data.skip_if_unchanged=true")
    assert run_prepare(*settings)["write_mode"] == "create"
    skipped = run_prepare(*settings)
    assert (skipped["status"], skipped["write_mode"]) == ("skipped", "skip")
    _write_csv(csv, [*GOOD_ROWS, "b,2021-01-25,5,x"])
    changed = run_prepare(*settings)
    assert (changed["status"], changed["write_mode"]) == ("succeeded", "replace")
    b = next(r for r in _rows(spark, f"{run_prepare.schema}.clv_features") if r["customer_id"] == "b")
    assert b["frequency_cal"] == 1.0


@pytest.mark.parametrize(
    ("rows", "settings", "message"),
    [
        (GOOD_ROWS, ("data.source.columns.amount=price",),
         "Source column 'price' (data.source.columns.amount) not found; the source has columns: cust, day, value, "
         "note. Set data.source.columns.amount to the column that holds the amount."),
        ([], (), "the source '{path}' (csv) has no rows; check data.source.path."),
        (["a,2021-01-05,10,x"], ("data.calibration_end=2021-01-01",),
         "no clean transactions on or before the calibration end 2021-01-01; "
         "set data.calibration_end later or data.holdout_days smaller."),
    ],
    ids=["missing-column", "empty-source", "nothing-in-calibration"],
)
def test_bad_sources_fail_before_any_write(spark, tmp_path: Path, run_prepare, rows, settings, message) -> None:
    csv = _write_csv(tmp_path / "tx.csv", rows)
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, f"data.source.path={csv}", *settings)
    assert str(err.value) == message.format(path=csv)
    assert not spark.catalog.tableExists(f"{run_prepare.schema}.clv_features")


def test_unreadable_sources(spark, tmp_path: Path, run_prepare) -> None:
    missing = tmp_path / "nowhere" / "tx.csv"
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, f"data.source.path={missing}")
    assert str(err.value) == f"data.source.path '{missing}' does not exist; set it to the csv file or folder to read."
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, "data.source.format=table", "data.source.path=nope.transactions")
    assert str(err.value) == (
        "data.source.path 'nope.transactions' is not a table in the metastore; set it to an existing table."
    )
    not_parquet = _write_csv(tmp_path / "tx.parquet", GOOD_ROWS)
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, "data.source.format=parquet", f"data.source.path={not_parquet}")
    message = str(err.value)  # the middle is Spark's own words, which differ between Spark versions
    assert message.startswith(f"cannot read data.source.path '{not_parquet}' as parquet: ")
    assert f"file:{not_parquet} is not a Parquet file" in message
    assert message.endswith(". Check data.source.path and data.source.format.")


def test_cli_reports_a_user_error_in_the_summary(spark, tmp_path: Path) -> None:
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS)
    out = tmp_path / "summary.json"
    code = cli_main([
        "prepare", "--env", "local", "--set", f"runtime.state_dir={tmp_path}", "--set", "tables.schema=prep_cli",
        "--set", "data.source.format=csv", "--set", f"data.source.path={csv}", "--summary-json", str(out),
    ])
    assert code == 2
    assert json.loads(out.read_text()) == {
        "step": "prepare", "status": "failed",
        "error": "Source columns 'customer_id' (data.source.columns.customer_id); 'transaction_date' "
                 "(data.source.columns.transaction_date); 'amount' (data.source.columns.amount) not found; the "
                 "source has columns: cust, day, value, note. Set data.source.columns.customer_id, "
                 "data.source.columns.transaction_date and data.source.columns.amount to the columns that hold them.",
    }


def test_cdnow_subset_matches_lifetimes(spark, tmp_path: Path, run_prepare) -> None:
    from lifetimes.utils import calibration_and_holdout_data

    master = prepare.lifetimes_cdnow_path().read_text().splitlines()
    subset = tmp_path / "cdnow.txt"
    subset.write_text("\n".join(master[:4001]) + "\n")  # the header + 4000 transactions
    summary = run_prepare(
        "data.source.format=cdnow", f"data.source.path={subset}", "data.calibration_end=1997-09-30",
        "data.observation_end=1998-06-30", "data.freq=W", "data.freq_multiplier=1", "data.keep_zero_amounts=false",
    )
    log = pd.read_csv(subset, sep=r"\s+", header=0, names=["customer_id", "date", "n", "amount"], dtype=str)
    log["amount"] = log["amount"].astype(float)
    clean = log[log["amount"] > 0].assign(transaction_date=lambda d: pd.to_datetime(d["date"]))
    assert summary["source_rows"] == 4000
    assert summary["quarantined"]["by_reason"] == {"non_positive_amount": int((log["amount"] <= 0).sum())}
    assert summary["customers"] == clean["customer_id"].nunique()

    ref = calibration_and_holdout_data(
        clean, "customer_id", "transaction_date", "1997-09-30", "1998-06-30", freq="W", monetary_value_col="amount"
    )
    ours = spark.table(summary["tables"]["features"]).toPandas().set_index("customer_id").sort_index()
    ours = ours[ours["T_cal"].notna()]
    columns = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal", "frequency_holdout", "duration_holdout"]
    pd.testing.assert_frame_equal(ours[columns], ref[columns].sort_index(), check_names=False, rtol=1e-9)


def test_job_file_hands_its_arguments_to_the_prepare_entry_point() -> None:
    job = Path(__file__).resolve().parents[2] / "data_engineering_pipelines" / "NOAM" / "01_data_preparation.py"
    done = subprocess.run([sys.executable, str(job), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: gda-clv prepare [-h]")


def test_repeated_transaction_ids_go_to_quarantine_and_the_summary(spark, tmp_path: Path, run_prepare) -> None:
    rows = ["a,2021-01-05,10,o1", "a,2021-01-05,10,o1", "a,2021-01-05,10,o2", "a,2021-01-20,20,o3",
            "b,2021-01-10,5,o4", *[row.replace(",x", f",o{i}") for i, row in enumerate(GOOD_ROWS[6:], 5)]]
    csv = _write_csv(tmp_path / "tx.csv", rows)
    summary = run_prepare(
        *BASE_SETTINGS, f"data.source.path={csv}", "data.quarantine_max_share=0.5",
        "data.source.columns={customer_id: cust, transaction_date: day, amount: value, transaction_id: note}",
    )
    assert summary["transactions"] == 10
    assert summary["quarantined"] == {"total": 1, "share": 0.090909, "by_reason": {"duplicate_transaction_id": 1}}
    quarantine = spark.table(summary["tables"]["quarantine"]).collect()
    assert [(r["customer_id"], r["transaction_date"], r["amount"], r["reason"]) for r in quarantine] == [
        ("a", "2021-01-05", "10", "duplicate_transaction_id")
    ]
    features = {r["customer_id"]: r for r in _rows(spark, summary["tables"]["features"])}
    assert features["a"]["monetary_value_cal"] == 20.0 and features["a"]["frequency_cal"] == 1.0


def test_a_backtest_leaves_later_rows_out_without_counting_them_as_bad(spark, tmp_path: Path, run_prepare) -> None:
    later = [f"{c},2021-0{m},{m},x" for c in "abcghi" for m in ("3-05", "4-01")]  # a longer log than the window
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS + later)
    summary = run_prepare(*BASE_SETTINGS, f"data.source.path={csv}")  # default quarantine_max_share 5%
    assert (summary["source_rows"], summary["transactions"]) == (24, 12)
    assert summary["excluded"] == {"after_observation_end": 12}
    assert summary["quarantined"] == {"total": 0, "share": 0.0, "by_reason": {}}
    assert not spark.catalog.tableExists(f"{run_prepare.schema}.clv_quarantine") or not spark.table(
        f"{run_prepare.schema}.clv_quarantine").count()


@pytest.mark.parametrize(
    ("bad", "settings", "message"),
    [
        (["j,31/01/2021,5,x", "k,15/01/2021,5,x", "l,28/01/2021,5,x"], (),
         "Most are unparseable_date: dates in 'day' like '31/01/2021', '15/01/2021', '28/01/2021' do not match "
         "data.source.date_format (not set, so ISO yyyy-MM-dd is expected); set data.source.date_format to their "
         "Spark datetime pattern (these look like --set data.source.date_format=dd/MM/yyyy)."),
        (["j,2021-01-05,1e308,x", "k,2021-01-06,1e12,x"], (),
         "Most are implausible_amount: amounts in 'value' like '1e308', '1e12' are above data.validation.max_amount: "
         "check the unit of data.source.columns.amount, or raise data.validation.max_amount if they are real."),
        (["j,1850-01-05,5,x", "k,0099-01-06,5,x"], (),
         "Most are implausible_date: dates in 'day' like '1850-01-05', '0099-01-06' are before "
         "data.validation.earliest_date: check data.source.date_format (a two-digit year reads as year 99), or "
         "lower data.validation.earliest_date if they are real."),
        (["j,2021-01-05,-5,x", "k,2021-01-06,-2.5,x"], (),
         "Most are non_positive_amount (like '-5', '-2.5'). Fix the source, or raise data.quarantine_max_share if "
         "these rows are expected."),
    ],
    ids=["date-format", "max-amount", "earliest-date", "returns-fallback"],
)
def test_the_share_error_names_the_fix_for_the_dominant_reason(
    spark, tmp_path: Path, run_prepare, bad, settings, message
) -> None:
    csv = _write_csv(tmp_path / "tx.csv", GOOD_ROWS + bad)
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, f"data.source.path={csv}", *settings)
    assert str(err.value).endswith(message)
    assert not spark.catalog.tableExists(f"{run_prepare.schema}.clv_features")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a,2021-01-05,10,x", "a,2021-01-20,20,x"],
         "only 1 customer bought on or before the calibration end; the frequency model needs at least 5. Use more "
         "customers, or move the calibration end (2021-01-31) later: set data.calibration_end or a smaller "
         "data.holdout_days."),
        ([f"{c},2021-01-0{i},10,x" for i, c in enumerate("abcdef", 1)],
         "nobody of the 6 calibration customers bought again before the calibration end: the models learn from "
         "repeat purchases. Use more customers, or move the calibration end (2021-01-31) later: set "
         "data.calibration_end or a smaller data.holdout_days."),
        ([f"{c},2021-01-0{i},10,x" for i, c in enumerate("abcdef", 1)] + ["a,2021-01-20,5,x"],
         "only 1 of the 6 calibration customers bought again with positive spend; the Gamma-Gamma model needs at "
         "least 4. Use more customers, or move the calibration end (2021-01-31) later: set data.calibration_end or "
         "a smaller data.holdout_days."),
    ],
    ids=["single-customer", "nobody-repeats", "too-few-repeaters"],
)
def test_degenerate_data_fails_in_one_short_message_before_any_write(
    spark, tmp_path: Path, run_prepare, rows, message
) -> None:
    csv = _write_csv(tmp_path / "tx.csv", rows)
    with pytest.raises(DataError) as err:
        run_prepare(*BASE_SETTINGS, f"data.source.path={csv}")
    assert str(err.value) == message
    assert not spark.catalog.tableExists(f"{run_prepare.schema}.clv_features")


def test_float_customer_ids_are_read_as_integers_with_a_warning(spark, tmp_path: Path, run_prepare, caplog) -> None:
    csv = _write_csv(tmp_path / "tx.csv", [row.replace("a,", "10020.0,") for row in GOOD_ROWS])
    with _captured(caplog):
        summary = run_prepare(*BASE_SETTINGS, f"data.source.path={csv}")
    assert summary["customer_ids_read_as_integers"] == 4
    assert "prepare: 4 customer ids are whole numbers written as floats (like '10020.0'); read as integers. " \
           "Export them as integers or text to silence this." in caplog.messages
    customers = {r["customer_id"] for r in _rows(spark, summary["tables"]["features"])}
    assert customers == {"10020", "b", "c", "g", "h", "i"}
