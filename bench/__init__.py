"""Benchmarks: each ``bench_*.py`` module prints a table; results are kept in BENCHMARKS.md."""
