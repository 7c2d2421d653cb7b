"""Benchmark: merging a lower level's consolidated workbook again, as a city merges its counties' results.

Generates N department workbooks (as ``benchmarks/consolidate.py`` does), consolidates them
once into one county result, then, each in a fresh process and in rotated order, times:

* ``perfxl``   — ``perfxl.consolidate.consolidate`` of that one consolidated workbook;
* ``calamine`` — just reading every cell of it with python-calamine.

One big input is the hard case for memory: its rows cannot be spread over workers. The table
gives medians, the ratio, and the peak RSS of the parent and of its largest worker.

Usage: ``python benchmarks/levels.py --n 200 1000 --rounds 3``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from python_calamine import CalamineWorkbook  # noqa: E402

from benchmarks.consolidate import count_cells, generate, median, peak_memory, run_child  # noqa: E402
from perfxl.consolidate import consolidate  # noqa: E402

VARIANTS = ("perfxl", "calamine")


def child(variant: str, source: Path, out: Path) -> dict[str, float]:
    """Run one variant on the consolidated workbook ``source`` in this process; return time and peak memory."""
    began = time.perf_counter()
    if variant == "perfxl":
        report = consolidate([source], out)
        assert report.exit_code == 0 and report.reconciled, report
    else:
        with CalamineWorkbook.from_path(str(source)) as book:
            count_cells(book)
    return {"seconds": time.perf_counter() - began, **peak_memory()}


def main() -> None:
    """Print a Markdown table of re-consolidating one county result against reading it raw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[200, 1000], help="departments in the county result")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, source, out = args.child
        print(json.dumps(child(variant, Path(source), Path(out))))
        return
    print(f"Command: `python benchmarks/levels.py --n {' '.join(map(str, args.n))} --rounds {args.rounds}`\n")
    lines = [
        "| N | input MB | rows | variant | median s | perfxl ÷ this | peak RSS MB | largest worker MB |",
        "|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="perfxl-levels-") as tmp:
        for n in args.n:
            data, county = Path(tmp) / f"data_{n}", Path(tmp) / f"county_{n}.xlsx"
            generate(data, n)
            report = consolidate([data], county)
            assert report.written is not None
            rows = sum(report.written.rows.values())
            runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
            for r in range(args.rounds):
                for variant in VARIANTS[r % 2 :] + VARIANTS[: r % 2]:
                    out = Path(tmp) / f"city_{n}_{r}.xlsx"
                    runs[variant].append(run_child(variant, county, out, __file__))
                    out.unlink(missing_ok=True)
            med = {v: median([x["seconds"] for x in runs[v]]) for v in VARIANTS}
            for v in VARIANTS:
                lines.append(
                    f"| {n} | {county.stat().st_size / 2**20:.1f} | {rows} | {v} | {med[v]:.2f} | "
                    f"{med['perfxl'] / med[v]:.2f} | {max(x['rss_mb'] for x in runs[v]):.0f} | "
                    f"{max(x['worker_rss_mb'] for x in runs[v]):.0f} |"
                )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
