"""gda_clv: Customer Lifetime Value on Databricks (BG/NBD + Gamma-Gamma), runnable on a laptop."""

__version__ = "0.1.0"
