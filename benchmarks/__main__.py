"""`python -m benchmarks` runs every benchmark; `python -m benchmarks NAME [OPTIONS]` runs one."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

Benchmark = Callable[[list[str]], None]


def benchmarks() -> dict[str, Benchmark]:
    found: dict[str, Benchmark] = {}
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"benchmarks.{module.name}")
        if callable(getattr(loaded, "main", None)):
            found[module.name] = cast(Benchmark, loaded.main)
    return found


def run(argv: list[str]) -> int:
    available = benchmarks()
    if argv and argv[0] in ("-h", "--help", "--list"):
        print("benchmarks:", ", ".join(sorted(available)))
        print("usage: python -m benchmarks [NAME [OPTIONS]]   (NAME --help for its options)")
        return 0
    if argv and not argv[0].startswith("-"):
        name, options = argv[0], argv[1:]
        if name not in available:
            print(f"no benchmark {name!r}; there are: {', '.join(sorted(available))}", file=sys.stderr)
            return 2
        available[name](options)
        return 0
    for name, benchmark in sorted(available.items()):
        print(f"== {name}")
        benchmark(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
