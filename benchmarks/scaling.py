"""Benchmark: what each extra worker process adds to ``perfxl consolidate`` on this machine.

``benchmarks/consolidate.py`` compares perfxl, which uses every CPU, with baselines that use one;
its ratios therefore move with how much the machine's second CPU really adds. This script
generates N department workbooks once and runs the consolidation with 1, 2, … W workers, each
in a fresh process, rotated over the rounds. It reports the median wall time, the speed-up
over one worker, and the CPU the workers spent between them (ru_utime + ru_stime of the
children): on two hyperthreads of one core two workers need more CPU than one for the same work.

Usage: ``python benchmarks/scaling.py --n 200 --rounds 3``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.consolidate import generate  # noqa: E402


def child(data: Path, out: Path, workers: int) -> dict[str, float]:
    """Consolidate ``data`` with ``workers`` processes; return the wall time and the workers' CPU."""
    from perfxl.consolidate import consolidate

    began = time.perf_counter()
    report = consolidate([data], out, workers=workers)
    seconds = time.perf_counter() - began
    assert report.exit_code == 0 and report.reconciled, report
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "worker_cpu": used.ru_utime + used.ru_stime}


def main() -> None:
    """Generate the workbooks, time each worker count and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of workbooks")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="largest worker count")
    parser.add_argument("--child", nargs=3, metavar=("DATA", "OUT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        data, out, workers = args.child
        print(json.dumps(child(Path(data), Path(out), int(workers))))
        return
    counts = list(range(1, args.workers + 1))
    runs: dict[int, list[dict[str, float]]] = {w: [] for w in counts}
    with tempfile.TemporaryDirectory(prefix="perfxl-scaling-") as tmp:
        data = Path(tmp) / "data"
        generate(data, args.n)
        for r in range(args.rounds):
            for w in counts[r % len(counts) :] + counts[: r % len(counts)]:
                out = Path(tmp) / f"out_{w}_{r}.xlsx"
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(data), str(out), str(w)],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                )  # fmt: skip
                runs[w].append(json.loads(done.stdout.strip().splitlines()[-1]))
                out.unlink()
    wall = {w: statistics.median(x["seconds"] for x in runs[w]) for w in counts}
    cpu = {w: statistics.median(x["worker_cpu"] for x in runs[w]) for w in counts}
    print(f"Command: `python benchmarks/scaling.py --n {args.n} --rounds {args.rounds} --workers {args.workers}`\n")
    print(f"{os.cpu_count()} CPUs; medians over {args.rounds} rounds.\n")
    print("| workers | wall s | speed-up over 1 worker | workers' CPU s | CPU ÷ 1 worker's |")
    print("|---:|---:|---:|---:|---:|")
    for w in counts:
        print(f"| {w} | {wall[w]:.2f} | {wall[1] / wall[w]:.2f}× | {cpu[w]:.2f} | {cpu[w] / cpu[1]:.2f} |")


if __name__ == "__main__":
    main()
