"""Databricks spark_python_task for the frequency (BG/NBD) model training:
the same entry point as ``gda-clv train-frequency``.

Task parameters are the CLI's: ``--env dev [--conf-file F] [--set key=value ...] [--summary-json PATH]``.
"""
import sys

from gda_clv.cli import train_frequency_main

if __name__ == "__main__":
    sys.argv[0] = "clv_train_frequency"
    train_frequency_main()
