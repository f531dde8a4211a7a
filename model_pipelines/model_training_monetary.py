"""Databricks spark_python_task for the monetary (Gamma-Gamma) model training:
the same entry point as ``gda-clv train-monetary``.

Task parameters are the CLI's: ``--env dev [--conf-file F] [--set key=value ...] [--summary-json PATH]``.
"""
import sys

from gda_clv.cli import train_monetary_main

if __name__ == "__main__":
    sys.argv[0] = "clv_train_monetary"
    train_monetary_main()
