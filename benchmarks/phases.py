"""Benchmark: where one consolidate worker's time goes, phase by phase, against a raw calamine read.

``benchmarks/consolidate.py`` times whole runs; this script explains them. It generates N
department workbooks (as that script does) and runs, in one process, each phase of
``perfxl.consolidate.process_file`` on each workbook in turn, timing CPU with
``time.process_time``:

* ``read + SHA256`` — the file's bytes (size-bounded) and their digest;
* ``safety``        — ``readers.safety.open_workbook``: zip directory, bombs, absurd ranges;
* ``parse``         — ``readers.workbook.read_workbook``: the calamine read plus the label parser;
* ``validate``      — every enabled rule;
* ``rows``          — the compact rows of 项目, 指标 and 问题;
* ``render``        — those rows as sheet XML.

Beside them, ``calamine read`` is the raw read of the benchmark's baseline on the same file
(every cell of every sheet), which ``parse`` contains. The ratios to it are the floor of the
whole-run ratio: with W workers on W idle cores a run cannot beat (total ÷ calamine) ÷ W.

Usage: ``python benchmarks/phases.py --n 40 --rounds 3``
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from python_calamine import CalamineWorkbook  # noqa: E402

from benchmarks.consolidate import count_cells, generate  # noqa: E402
from perfxl.config import Config  # noqa: E402
from perfxl.consolidate import _from_department, _rendered  # noqa: E402
from perfxl.readers.safety import LIMITS, open_workbook, read_bytes  # noqa: E402
from perfxl.readers.workbook import read_workbook  # noqa: E402
from perfxl.rules import validate  # noqa: E402

PHASES = ("read + SHA256", "safety", "parse", "validate", "rows", "render")


def measure(files: list[Path], rounds: int) -> tuple[dict[str, float], float]:
    """Return the CPU seconds per workbook of each phase, and of the raw calamine read."""
    config = Config()
    totals = dict.fromkeys(PHASES, 0.0)
    calamine = 0.0
    clock = time.process_time
    for _ in range(rounds):
        for path in files:
            t0 = clock()
            data = read_bytes(path, LIMITS)
            digest = hashlib.sha256(data).hexdigest()
            t1 = clock()
            package = open_workbook(data, str(path), LIMITS)
            t2 = clock()
            with package.zip:
                result = read_workbook(path, package=package)
            t3 = clock()
            findings = validate(result, config)
            t4 = clock()
            rows = _from_department(str(path), digest, result, findings)
            t5 = clock()
            _rendered(rows, keep_rows=False)
            t6 = clock()
            with CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
                count_cells(book)
            t7 = clock()
            for phase, began, ended in zip(PHASES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6), strict=True):
                totals[phase] += ended - began
            calamine += t7 - t6
    count = rounds * len(files)
    return {phase: seconds / count for phase, seconds in totals.items()}, calamine / count


def main() -> None:
    """Generate the workbooks, measure the phases and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="number of workbooks")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perfxl-phases-") as tmp:
        generate(Path(tmp), args.n)
        phases, calamine = measure(sorted(Path(tmp).rglob("*.xlsx")), args.rounds)
    total = sum(phases.values())
    print(f"Command: `python benchmarks/phases.py --n {args.n} --rounds {args.rounds}`\n")
    print("| phase | CPU ms per workbook | share | ÷ raw calamine read |")
    print("|---|---:|---:|---:|")
    for phase, seconds in phases.items():
        print(f"| {phase} | {seconds * 1e3:.2f} | {seconds / total:.0%} | {seconds / calamine:.2f} |")
    print(f"| **total** | {total * 1e3:.2f} | 100% | {total / calamine:.2f} |")
    print(f"| raw calamine read (inside parse) | {calamine * 1e3:.2f} | | 1.00 |")


if __name__ == "__main__":
    main()
