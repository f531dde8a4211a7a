"""Databricks spark_python_task for the NOAM data preparation: the same entry point as ``gda-clv prepare``.

Task parameters are the CLI's: ``--env dev [--conf-file F] [--set key=value ...] [--summary-json PATH]``.
"""
import sys

from gda_clv.cli import prepare_main

if __name__ == "__main__":
    sys.argv[0] = "clv_prepare"
    prepare_main()
