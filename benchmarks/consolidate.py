"""Benchmark: perfxl consolidate against the plain pandas way and a raw python-calamine read.

Generates N realistic department workbooks with perfxl's own writer (5–40 projects each,
derived from the two seed documents: real Chinese goals and indicator tables, new codes,
units and amounts), then times, side by side in one run and in rotated order:

* ``perfxl``   — ``perfxl.consolidate.consolidate`` (read, check, validate, write the
  consolidated workbook), with as many worker processes as CPUs;
* ``pandas``   — the plain way: ``pandas.read_excel(sheet_name=None, header=None)`` (openpyxl)
  for every file, every sheet tagged with its file and sheet, one ``concat``, ``to_excel``;
* ``calamine`` — just reading every cell of every sheet with python-calamine, nothing else.

Each variant runs in a fresh subprocess, so its peak memory (ru_maxrss) is its own; the time is
that of the work, after imports. The medians over the rounds and their ratios go to a Markdown
table, printed and written to ``benchmarks/results.md`` with the command that produced it; the
hand-written notes below the ``NOTES`` marker in that file are kept.

Usage: ``python benchmarks/consolidate.py --n 200 1000 --rounds 3``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = ("perfxl", "pandas", "calamine")
# Everything below this line of results.md is analysis written by hand; a re-run keeps it.
NOTES = "<!-- notes below are written by hand and kept when the benchmark rewrites this file -->"


def generate(folder: Path, n: int) -> None:
    """Write ``n`` synthetic department workbooks into ``folder``, in parallel."""
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(folder, start, min(50, n - start)) for start in range(0, n, 50)]
    with ProcessPoolExecutor() as pool:
        list(pool.map(_generate_batch, batches))


def _generate_batch(args: tuple[Path, int, int]) -> None:
    from tests.generate import write_departments

    folder, start, count = args
    sub = folder / f"batch_{start:05d}"
    sub.mkdir(exist_ok=True)
    write_departments(sub, count, seed=start)


def count_cells(book: CalamineWorkbook) -> int:
    """Return the number of cells in every sheet of ``book``, each sheet read whole: the raw read."""
    sheets = [book.get_sheet_by_name(name) for name in book.sheet_names]
    return sum(len(row) for sheet in sheets for row in sheet.to_python(skip_empty_area=False))


def child(variant: str, data: Path, out: Path) -> dict[str, float]:
    """Run one variant in this process; return its work time and peak memory."""
    files = sorted(data.rglob("*.xlsx"))
    if variant == "perfxl":
        from perfxl.consolidate import consolidate

        began = time.perf_counter()
        report = consolidate([data], out / "perfxl.xlsx")
        seconds = time.perf_counter() - began
        assert report.exit_code == 0 and report.reconciled, report
    elif variant == "pandas":
        import pandas as pd

        began = time.perf_counter()
        frames = []
        for file in files:
            for sheet, frame in pd.read_excel(file, sheet_name=None, header=None, engine="openpyxl").items():
                frame.insert(0, "工作表", sheet)
                frame.insert(0, "来源文件", str(file))
                frames.append(frame)
        pd.concat(frames, ignore_index=True).to_excel(out / "pandas.xlsx", index=False)
        seconds = time.perf_counter() - began
    else:
        began = time.perf_counter()
        for file in files:
            with CalamineWorkbook.from_path(str(file)) as book:
                count_cells(book)
        seconds = time.perf_counter() - began
    return {"seconds": seconds, **peak_memory()}


def peak_memory() -> dict[str, float]:
    """Return the peak RSS in MB of this process and of its largest child (the perfxl workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rss_mb": own, "worker_rss_mb": workers}


def run_child(variant: str, data: Path, out: Path, script: str = __file__) -> dict[str, float]:
    """Return the measurements of ``variant`` run by ``script --child`` in a fresh Python process."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, script, "--child", variant, str(data), str(out)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - began
    return result


def median(values: list[float]) -> float:
    """Return the median of ``values``."""
    return statistics.median(values)


def main() -> None:
    """Run the benchmark and write benchmarks/results.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[200, 1000], help="numbers of workbooks")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, data, out = args.child
        print(json.dumps(child(variant, Path(data), Path(out))))
        return

    shown = [f"--n {' '.join(map(str, args.n))}", f"--rounds {args.rounds}"]
    if args.variants != list(VARIANTS):
        shown.append(f"--variants {' '.join(args.variants)}")
    command = "python benchmarks/consolidate.py " + " ".join(shown)
    lines = [
        "# perfxl consolidate: benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()}; perfxl with {os.cpu_count()} worker processes, the others in one process.",
        "Times are medians over the rounds of the work after imports (each variant in a fresh process, "
        "rotated order); `process s` adds interpreter start-up and imports. Peak RSS is ru_maxrss of the "
        "variant's process; for perfxl also of its largest worker.",
        "",
    ]
    table = [
        "| N | variant | median s | min s | max s | process s | perfxl time ÷ this | peak RSS MB | largest worker MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    peaks: dict[int, float] = {}
    medians: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="perfxl-bench-") as tmp:
        for n in args.n:
            data = Path(tmp) / f"data_{n}"
            began = time.perf_counter()
            generate(data, n)
            files = sorted(data.rglob("*.xlsx"))
            size = sum(f.stat().st_size for f in files) / 2**20
            print(f"N={n}: generated {len(files)} workbooks, {size:.1f} MB, in {time.perf_counter() - began:.0f} s")
            runs: dict[str, list[dict[str, float]]] = {v: [] for v in args.variants}
            for r in range(args.rounds):
                order = args.variants[r % len(args.variants) :] + args.variants[: r % len(args.variants)]
                for variant in order:
                    out = Path(tmp) / f"out_{n}_{variant}_{r}"
                    out.mkdir()
                    result = run_child(variant, data, out)
                    runs[variant].append(result)
                    shutil.rmtree(out)
                    print(f"  round {r + 1} {variant:9} {result['seconds']:8.2f} s  {result['rss_mb']:7.1f} MB")
            med = {v: median([x["seconds"] for x in runs[v]]) for v in args.variants}
            medians[n] = med
            for v in args.variants:
                seconds = [x["seconds"] for x in runs[v]]
                rss = max(x["rss_mb"] for x in runs[v])
                worker = max(x["worker_rss_mb"] for x in runs[v])
                if v == "perfxl":
                    peaks[n] = rss
                # Below 1: perfxl is that many times faster; above 1: that many times slower.
                ratio = med["perfxl"] / med[v] if "perfxl" in med else float("nan")
                table.append(
                    f"| {n} | {v} | {med[v]:.2f} | {min(seconds):.2f} | {max(seconds):.2f} | "
                    f"{median([x['process_seconds'] for x in runs[v]]):.2f} | {ratio:.2f} | {rss:.0f} | {worker:.0f} |"
                )
            shutil.rmtree(data)
    lines += table
    lines += ["", "## Against the targets of the issue", "", "| target | measured | met |", "|---|---|---|"]
    for n, med in medians.items():
        if {"perfxl", "pandas"} <= med.keys():
            speedup = med["pandas"] / med["perfxl"]
            lines.append(f"| N = {n}: at least 10× faster than the plain pandas way | {speedup:.1f}× "
                         f"({med['perfxl']:.2f} s vs {med['pandas']:.2f} s) | {'yes' if speedup >= 10 else 'no'} |")
        if {"perfxl", "calamine"} <= med.keys():
            slower = med["perfxl"] / med["calamine"]
            lines.append(f"| N = {n}: within 3× of the raw calamine read | {slower:.1f}× the raw read "
                         f"({med['perfxl']:.2f} s vs {med['calamine']:.2f} s) | {'yes' if slower <= 3 else 'no'} |")
    if len(peaks) >= 2:
        small, large = min(peaks), max(peaks)
        growth = peaks[large] / peaks[small]
        lines.append(f"| peak memory at N = {large} within 1.5× of N = {small} | {growth:.2f}× "
                     f"({peaks[large]:.0f} MB vs {peaks[small]:.0f} MB) | {'yes' if growth <= 1.5 else 'no'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.results.write_text(text + kept_notes(args.results), encoding="utf-8")


def kept_notes(results: Path) -> str:
    """Return the hand-written notes below NOTES in ``results`` (with the marker), or '' if it has none."""
    old = results.read_text(encoding="utf-8") if results.exists() else ""
    _, marker, notes = old.partition(NOTES)
    return f"\n{marker}{notes}" if marker else ""


if __name__ == "__main__":
    main()
