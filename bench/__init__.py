"""Benchmarks of gda_clv against lifetimes (and DuckDB as a single-machine floor): `make bench` / `python -m bench`.

One module per benchmark (prep, fit, score, e2e); each returns rows of measurements with the reference (lifetimes)
timed in the same process on the same data, plus agreement checks. Not part of `make test`.
"""
