"""Databricks spark_python_task for the NOAM data preparation: the same entry point as ``gda-clv prepare``.

Task parameters are the CLI's: ``--env dev [--conf-file F] [--set key=value ...] [--summary-json PATH]``.
"""
from gda_clv.cli import prepare_main

if __name__ == "__main__":
    prepare_main()
