"""Column names and time units every layer shares; a leaf module (it imports nothing of gda_clv).

Two month lengths exist on purpose: lifetimes' (its ``_customer_lifetime_value`` counts 30 days, or 4.345 weeks,
per month: :data:`LIFETIMES_PERIODS_PER_MONTH`) and the pipeline's calendar month, a twelfth of a 365.25-day year
(:data:`CALENDAR_MONTH_DAYS`, so that 12 months make the 365-day horizon). ``projection.month`` chooses.
"""
from __future__ import annotations

# ---- columns -----------------------------------------------------------------------------------------------------
CUSTOMER_ID = "customer_id"
TRANSACTION_DATE = "transaction_date"
AMOUNT = "amount"
#: the observation end a row of features, predictions or quarantine belongs to (every table's partition key)
AS_OF = "as_of"
#: the calibration end the cal/holdout features were computed with (it travels with the rows)
CALIBRATION_END = "calibration_end"

# ---- time units --------------------------------------------------------------------------------------------------
#: the ``data.freq`` values, as in lifetimes (a day, a week Monday..Sunday, a calendar month)
FREQS = ("D", "W", "M")
#: the pipeline's CLV month in days, a twelfth of a 365.25-day year
CALENDAR_MONTH_DAYS = 365.25 / 12
#: days in one period of ``data.freq`` (a month is the calendar month above)
DAYS_PER_PERIOD = {"D": 1.0, "W": 7.0, "M": CALENDAR_MONTH_DAYS}
#: periods of each lifetimes ``freq`` per month in lifetimes' ``_customer_lifetime_value`` (30 days for D,
#: 4.345 weeks = 30.415 days for W, one month for M)
LIFETIMES_PERIODS_PER_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24}
