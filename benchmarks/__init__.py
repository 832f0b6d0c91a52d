"""Benchmarks, run by `make bench` (`python -m benchmarks`).

Each module here that defines `main(argv: list[str]) -> None` is one benchmark, run by its module
name; it prints its measurement beside a baseline taken in the same run, on the same machine.
"""
