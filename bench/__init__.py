"""Benchmarks of the importer against the sandbox APIs: `python -m bench --help`.

Benchmarks, not tests: they print tables and write JSON, and assert nothing about time.
"""
