"""Consolidation: many department (or lower-level consolidated) workbooks → one consolidated workbook.

The run: find the inputs (files, and folders searched recursively); in worker processes read
each file once, hash it (SHA256), check it before any parser sees it
(``perfxl.readers.safety``), parse and validate it, build compact rows (tuples in the output's
column order, not models or grids) and render the big tables' rows (项目, 指标, 问题) as sheet
XML, and send back the rendered rows with only the tuples this process needs (项目's, and the
others only for Parquet); in this process drop byte-identical copies, stream the rendered rows
into the writer, find project codes that arrive from more than one file (PT-CODE-005) and
names that do under different codes (PT-XPR-001), weigh the spending plans by 预算数,
reconcile what went in with what was written, and rename the workbook into place. One bad
file never stops the run: every problem becomes a rejected row in 来源 with a Chinese reason.
A worker that dies on a file (time budget, memory bound or a crashing reader) only costs that
file, which is found by re-running the files the worker may have held one at a time.
"""

from __future__ import annotations

import faulthandler
import hashlib
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import islice
from pathlib import Path
from typing import IO, Any

from perfxl import paths
from perfxl.config import Config
from perfxl.errors import LOCKED_HINT, SourceError, os_reason
from perfxl.model import PLAN_CHECKPOINTS, Finding, ReadResult, Severity
from perfxl.readers.consolidated import ConsolidatedReader, is_consolidated
from perfxl.readers.safety import LIMITS, Limits, open_workbook, read_bytes
from perfxl.readers.workbook import read_workbook
from perfxl.rules import RULES, validate
from perfxl.rules.codes import find_duplicates, normalise_code
from perfxl.tables import (
    BELOW_PREFIX,
    BELOW_REJECTED,
    CROSS_FILE_PREFIX,
    EXCEL_MAX_ROWS,
    INDICATORS,
    ISSUE_COLUMNS,
    ISSUES,
    PROJECT_COLUMNS,
    PROJECTS,
    SOURCE_COLUMNS,
    UNIT_COLUMNS,
    Status,
)
from perfxl.textnorm import label_key
from perfxl.values import parse_value
from perfxl.writers.consolidated import (
    ConsolidatedWriter,
    Row,
    SummaryData,
    SummaryKind,
    Written,
    kept_beside,
    render,
)

# Read and validated as workbooks.
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
# Named like a spreadsheet: taken from folders too, so each is rejected with a reason rather
# than silently left out.
SPREADSHEET_SUFFIXES = WORKBOOK_SUFFIXES | {".xls", ".xlsb", ".xltx", ".xltm", ".xlt", ".et", ".ett", ".ods"}
# Workbooks often arrive by mail as archives and are dropped into the folder unopened: each is
# listed as rejected, so a department inside one is never missed without a word.
ARCHIVE_SUFFIXES = frozenset({".zip", ".rar", ".7z"})
ARCHIVE = "这是压缩包（{suffix}），perfxl 不读取压缩包里的文件；请先解压，再把解压出的工作簿一并合并"
CHUNKSIZE = 8
# Rows of a consolidated input's 指标 or 问题 rendered and spooled at a time.
SPOOL_BATCH_ROWS = 10_000
# A file gets this long, plus SECONDS_PER_MB for each MB it holds, before its worker is stopped.
# A city's consolidated workbook takes about 0.9 s per MB on the benchmark machine
# (benchmarks/levels.py); a province merges such files on office PCs several times slower.
SECONDS_PER_FILE = 60.0
SECONDS_PER_MB = 6.0
# Address space of one worker (POSIX only): a reader that needs more fails on that file alone.
WORKER_MEMORY = 6 << 30
UNKNOWN_REGION = "未识别"
CRASHED = "读取此文件时处理进程异常终止（内存超限或读取程序崩溃），文件可能已损坏或含有异常内容"
EARLIER_RESULT = "这是 {output} 被占用时另存的汇总结果，再次汇入会把其中的项目重复计算，未汇入；核对后可删除此文件"
DUPLICATE = "与「{first}」内容完全相同（SHA256 一致），只汇入一次"
INSIDE = "已包含在汇总工作簿「{summary}」中（其中的「{name}」与此文件内容相同），只汇入一次"
OVERLAP = (
    "这个汇总工作簿中的 {count} 个文件已另行汇入（如「{name}」{via}）；{what}。"
    "请只保留一份：要么给出各部门工作簿，要么给出汇总工作簿"
)

_P = {name: i for i, name in enumerate(PROJECT_COLUMNS)}
_I = {name: i for i, name in enumerate(ISSUE_COLUMNS)}
_PLAN = tuple(_P[checkpoint] for checkpoint in PLAN_CHECKPOINTS)
_S_REASON = SOURCE_COLUMNS.index("原因")
_SEVERITY_BY_LABEL = {s.label: s for s in Severity}


class OutputError(Exception):
    """The output cannot be written where it was asked for; the message is Chinese."""


class SpoolError(OSError):
    """A worker could not write its spool (temporary folder full or unwritable): not the file's fault; stops the run."""


# (级别, 规则, 来源文件, 单位编码, how many 问题 rows have them): what the ledger needs of 问题.
IssueCount = tuple[str, str, str, str, int]
# (table, its rendered rows, the same rows as tuples or none): one batch of 指标 or 问题.
Batch = tuple[str, list[bytes], list[Row]]


@dataclass
class FileResult:
    """What one worker sends back about one file: compact rows and their sheet XML, or why it was rejected."""

    file: str
    sha256: str = ""
    reason: str = ""
    consolidated: bool = False
    unit_code: str = ""
    budget: Decimal = Decimal(0)
    units: list[Row] = field(default_factory=list)
    """(单位编码, 单位名称, 区划, 预算年度, 来源文件) per unit."""
    projects: list[Row] = field(default_factory=list)
    indicators: list[Row] = field(default_factory=list)
    """Empty once rendered without ``keep_rows``: ``indicator_count`` and ``xml`` stand for them."""
    issues: list[Row] = field(default_factory=list)
    """Empty once rendered without ``keep_rows``: ``issue_counts`` and ``xml`` stand for them."""
    indicator_count: int = 0
    issue_counts: list[IssueCount] = field(default_factory=list)
    xml: dict[str, list[bytes]] = field(default_factory=dict)
    """The rendered rows of 项目, 指标 and 问题 (``writers.consolidated.render``)."""
    rejected_below: list[Row] = field(default_factory=list)
    """A consolidated input's 来源 rows of the files its consolidation rejected, 原因 saying so."""
    spool: str = ""
    """A consolidated input's 指标 and 问题 instead of ``xml`` and the lists: a file of pickled batches."""
    merged: dict[str, str] = field(default_factory=dict)
    """A consolidated input's merged files, SHA256 → 文件, by which a file given twice is told."""

    @property
    def ok(self) -> bool:
        """Return True when the file was read."""
        return not self.reason

    def batches(self) -> Iterator[Batch]:
        """Yield the rows of 指标 and 问题 in order, rendered and as tuples (none without ``keep_rows``).

        A spool is deleted once read.
        """
        if not self.spool:
            yield INDICATORS, self.xml[INDICATORS], self.indicators
            yield ISSUES, self.xml[ISSUES], self.issues
            return
        try:
            with Path(self.spool).open("rb") as fh:
                while True:
                    try:
                        # Written by this run's own worker into a folder only this user can read.
                        batch: Batch = pickle.load(fh)
                    except EOFError:
                        break
                    yield batch
        finally:
            self.discard()

    def discard(self) -> None:
        """Delete the spool, if any, unread; return None."""
        if self.spool:
            Path(self.spool).unlink(missing_ok=True)


@dataclass
class SourceOutcome:
    """One input as 来源 lists it: status, reason, and what it contributed."""

    file: str
    sha256: str
    status: Status
    reason: str = ""
    unit_code: str = ""
    projects: int | None = None
    budget: Decimal | None = None

    def row(self) -> Row:
        """Return the 来源 row of this input."""
        return (self.file, self.sha256, self.status.value, self.reason, self.unit_code, self.projects, self.budget)


@dataclass
class CrossFile:
    """What the cross-file checks found: codes and names arriving from more than one file."""

    codes: int = 0
    """项目编码 used in more than one file (PT-CODE-005)."""
    code_budget: Decimal = Decimal(0)
    """The 预算数 of every project row carrying one of those codes."""
    names: int = 0
    """项目名称 used in more than one file under different codes (PT-XPR-001)."""
    units: dict[str, list[str]] = field(default_factory=dict)
    """单位编码 whose rows came from more than one file (often an old and a new version), with those files."""


@dataclass
class Report:
    """The result of a consolidation, for the console summary and the exit code."""

    output: Path | None
    parquet_dir: Path | None
    sources: list[SourceOutcome]
    written: Written | None = None
    input_projects: int = 0
    input_indicators: int = 0
    input_budget: Decimal = Decimal(0)
    reconciled: bool = False
    cross_file: CrossFile = field(default_factory=CrossFile)
    rejected_below: int = 0
    """Files that the consolidations of lower levels rejected: their data is missing here too."""
    seconds: float = 0.0
    locked: Path | None = None
    """The asked-for output when it was locked at the end, so ``output`` is a free name beside it."""

    def notes(self) -> list[str]:
        """Return one plain Chinese line per kind of problem in the merged data to look into (none when clean)."""
        cross, lines = self.cross_file, []
        if cross.codes:
            lines.append(f"跨文件重复的项目编码 {cross.codes} 个，涉及预算数 {cross.code_budget:,.2f} 万元"
                         "（见「问题」表 PT-CODE-005）")  # fmt: skip
        if cross.names:
            lines.append(f"跨文件同名、编码不同的项目名称 {cross.names} 个（见「问题」表 PT-XPR-001）")
        if cross.units:
            lines.append(f"{len(cross.units)} 个单位的数据来自多个文件，可能是同一单位的新旧版本，请核实后只保留一份"
                         "（见「来源」表）")  # fmt: skip
        if self.rejected_below:
            lines.append(f"下级汇总工作簿中有 {self.rejected_below} 个文件在下级合并时已被拒绝，其数据不在本汇总中"
                         f"（见「来源」表中原因以「{BELOW_PREFIX}」开头的行）")  # fmt: skip
        return lines

    def count(self, status: Status) -> int:
        """Return how many inputs have ``status``."""
        return sum(1 for s in self.sources if s.status is status)

    @property
    def exit_code(self) -> int:
        """Return 0 when every input was merged, 3 when some were not, 2 when the asked-for output was not written."""
        if self.output is None or self.locked is not None:
            return 2
        return 0 if all(s.status is Status.ACCEPTED for s in self.sources) else 3


# --- inputs ------------------------------------------------------------------------------------


def discover(inputs: Sequence[Path], *, exclude: Sequence[Path] = ()) -> tuple[list[Path], list[Path]]:
    """Return (files to read, paths that do not exist): folders searched recursively, in sorted order."""
    skip = {p.resolve() for p in exclude}
    seen: set[Path] = set()
    files: list[Path] = []
    missing: list[Path] = []

    def take(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen and resolved not in skip:
            seen.add(resolved)
            files.append(path)

    for item in inputs:
        if paths.is_dir(item):
            found = []
            # os.walk does not follow links to folders, so a link loop cannot trap the search.
            for folder, dirs, names in os.walk(item):
                # A zip made on a Mac unpacks a __MACOSX folder of metadata twins (._name.xlsx).
                dirs[:] = sorted(d for d in dirs if d != "__MACOSX")
                found += [Path(folder) / n for n in names if _input_name(n)]
            for path in sorted(found):
                take(path)
        elif paths.exists(item):
            take(item)
        else:
            missing.append(item)
    return files, missing


def _input_name(name: str) -> bool:
    # Office writes ~$name.xlsx lock files next to open workbooks, and macOS writes ._name.xlsx
    # metadata (AppleDouble) files beside copies on other file systems; neither holds data.
    suffix = Path(name).suffix.lower()
    return not name.startswith(("~$", "._")) and (suffix in SPREADSHEET_SUFFIXES or suffix in ARCHIVE_SUFFIXES)


# --- one file (runs in a worker process) --------------------------------------------------------

_devnull: IO[str] | None = None


def _init_worker(memory: int | None) -> None:
    """Prepare a worker: a sink for the time-budget watchdog and, on POSIX, a memory bound."""
    global _devnull
    _devnull = Path(os.devnull).open("w")  # noqa: SIM115 - kept open for the worker's lifetime
    if memory is not None:
        try:
            import resource
        except ImportError:  # Windows has no resource limits
            return
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _budget(size: int) -> float:
    return SECONDS_PER_FILE + SECONDS_PER_MB * size / 2**20


def process_file(
    file: str,
    config: Config,
    limits: Limits = LIMITS,
    seconds: float | None = None,
    *,
    keep_rows: bool = True,
    spool_dir: str | None = None,
) -> FileResult:
    """Return the rendered and compact rows of the workbook ``file``, or a result saying why it was rejected.

    A consolidated input's 指标 and 问题 go to a spool file in ``spool_dir`` (the system's
    temporary folder when None), batch by batch, so neither this process nor the parent ever
    holds all of a province's rows.
    """
    # faulthandler's watchdog is a C thread: it stops this worker process even while a reader
    # is stuck inside Rust code that never returns to Python. The parent sees the pool break
    # and finds the file by re-running it alone.
    sink = _devnull
    if sink is not None:
        faulthandler.dump_traceback_later(seconds or SECONDS_PER_FILE, exit=True, file=sink)
    try:
        return _process(file, config, limits, seconds, keep_rows, spool_dir)
    finally:
        if sink is not None:
            faulthandler.cancel_dump_traceback_later()


def _process(
    file: str, config: Config, limits: Limits, seconds: float | None, keep_rows: bool, spool_dir: str | None
) -> FileResult:
    path = Path(file)
    # The name the rows and messages carry; ``path`` is what is opened.
    name = paths.shown(file)
    try:
        data = read_bytes(path, limits)
    except SourceError as exc:
        return FileResult(name, reason=exc.message)
    sink = _devnull
    if sink is not None and seconds is None:
        # Now that the size is known, the budget grows with it.
        faulthandler.dump_traceback_later(_budget(len(data)), exit=True, file=sink)
    digest = hashlib.sha256(data).hexdigest()
    try:
        package = open_workbook(data, name, limits)
        with package.zip:
            if is_consolidated(package.sheets):
                with ConsolidatedReader(package) as reader:
                    return _from_consolidated(name, digest, reader, keep_rows, spool_dir)
            result = read_workbook(path, package=package)
        return _rendered(_from_department(name, digest, result, validate(result, config)), keep_rows)
    except SourceError as exc:
        return FileResult(name, digest, reason=exc.message)
    except SpoolError:
        raise
    except MemoryError:
        return FileResult(name, digest, reason="读取此文件所需内存超过上限，疑似异常文件，未汇入")
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the run
        return FileResult(name, digest, reason=f"读取时发生程序错误（{type(exc).__name__}: {exc}），未汇入")
    except BaseException as exc:
        # A panic inside a Rust reader surfaces as pyo3's PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        return FileResult(name, digest, reason=f"读取程序无法处理此文件（{exc}），文件可能已损坏，未汇入")


def region_of(code: str) -> str:
    """Return the 6-digit 区划 at the start of a 项目编码, or '' when it has none."""
    code = normalise_code(code)
    return code[:6] if len(code) >= 6 and code[:6].isdigit() else ""


def _from_department(file: str, digest: str, result: ReadResult, findings: list[Finding]) -> FileResult:
    dept = result.department
    projects = dept.projects
    by_sheet = {p.sheet: n for n, p in enumerate(projects) if p.sheet}
    by_code: dict[str, int] = {}
    for n, p in enumerate(projects):
        by_code.setdefault(p.code, n)
    counts = [[0, 0] for _ in projects]
    issues: list[Row] = []
    for f in findings:
        owner = by_sheet.get(f.sheet) if f.sheet in by_sheet else by_code.get(f.project_code)
        if owner is not None and f.severity is not Severity.INFO:
            counts[owner][0 if f.severity is Severity.ERROR else 1] += 1
        issues.append(
            (f.severity.label, f.code, f.message, f.unit_code or dept.unit_code, f.project_code, f.value,
             file, f.sheet or "", f.cell or "")
        )  # fmt: skip
    rows: list[Row] = []
    indicators: list[Row] = []
    for n, p in enumerate(projects):
        plan = [None if v is None else float(v / 100) for v in p.spending_plan]
        rows.append(
            (region_of(p.code), p.unit_code or dept.unit_code, p.unit_name or dept.unit_name, p.code, p.name,
             p.budget, p.fiscal_funds, p.other_funds, *plan, p.goal, p.use_of_funds, len(p.indicators),
             counts[n][0], counts[n][1], file, p.sheet or "")
        )  # fmt: skip
        for ind in p.indicators:
            text = ind.value_raw or ind.value
            value = parse_value(text)
            where = ind.where("value")
            indicators.append(
                (p.code, ind.level1, ind.level2, ind.level3, ind.description, text, value.operator or "",
                 None if value.number is None else float(value.number), value.unit, value.kind.label, ind.basis,
                 file, (where.sheet if where else None) or p.sheet or "", (where.cell if where else None) or "")
            )  # fmt: skip
    regions = Counter(r for r in (row[_P["区划"]] for row in rows) if r)
    unit = (dept.unit_code, dept.unit_name, regions.most_common(1)[0][0] if regions else "", dept.year, file)
    budget = sum((p.budget for p in projects if p.budget is not None), Decimal(0))
    return FileResult(file, digest, "", False, dept.unit_code, budget, [unit], rows, indicators, issues)


def _issue_key(row: Row) -> tuple[str, str, str, str]:
    return row[_I["级别"]], row[_I["规则"]], row[_I["来源文件"]], row[_I["单位编码"]]


def issue_counts(rows: Iterable[Row]) -> list[IssueCount]:
    """Return how many of the 问题 ``rows`` there are per (级别, 规则, 来源文件, 单位编码)."""
    return [(*key, n) for key, n in Counter(map(_issue_key, rows)).items()]


def _render(file: str, name: str, rows: Iterable[Row]) -> list[bytes]:
    """Return ``rows`` of the table ``name`` rendered, or raise SourceError for what a sheet cannot hold."""
    try:
        return render(name, rows)
    except ValueError as exc:  # a number that is not finite, or text that is not valid Unicode
        raise SourceError(file, f"含有无法写入工作簿的内容（{exc}），未汇入") from None


def _rendered(result: FileResult, keep_rows: bool) -> FileResult:
    """Return ``result`` with its big tables rendered (their tuples dropped unless ``keep_rows``)."""
    tables = ((PROJECTS, result.projects), (INDICATORS, result.indicators), (ISSUES, result.issues))
    result.xml = {name: _render(result.file, name, rows) for name, rows in tables}
    result.indicator_count = len(result.indicators)
    result.issue_counts = issue_counts(result.issues)
    if not keep_rows:
        result.indicators, result.issues = [], []
    return result


def _from_consolidated(
    file: str, digest: str, reader: ConsolidatedReader, keep_rows: bool, spool_dir: str | None
) -> FileResult:
    projects = reader.projects()
    budget = sum((r[_P["预算数"]] for r in projects if r[_P["预算数"]] is not None), Decimal(0))
    picks = [UNIT_COLUMNS.index(c) for c in ("单位编码", "单位名称", "区划", "预算年度", "来源文件")]
    units = [tuple(u[i] for i in picks) for u in reader.units()]
    rejected, merged = reader.sources()
    below = [_carried_up(r, file) for r in rejected]
    result = FileResult(file, digest, "", True, "", budget, units, projects, rejected_below=below, merged=merged)
    result.xml = {PROJECTS: _render(file, PROJECTS, projects)}
    counts: Counter[tuple[str, str, str, str]] = Counter()
    try:
        fd, result.spool = tempfile.mkstemp(dir=spool_dir, prefix="perfxl-spool-")
        with os.fdopen(fd, "wb") as spool:
            for name, rows in ((INDICATORS, reader.indicators()), (ISSUES, reader.issues())):
                while batch := list(islice(rows, SPOOL_BATCH_ROWS)):
                    if name == INDICATORS:
                        result.indicator_count += len(batch)
                    else:
                        counts.update(map(_issue_key, batch))
                    spooled: Batch = (name, _render(file, name, batch), batch if keep_rows else [])
                    pickle.dump(spooled, spool, pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:
        result.discard()
        if isinstance(exc, OSError):
            folder = spool_dir or tempfile.gettempdir()
            raise SpoolError(f"无法写入临时文件夹 {folder}（{os_reason(exc)}）") from None
        raise
    result.issue_counts = [(*key, n) for key, n in counts.items()]
    return result


def _carried_up(row: Row, file: str) -> Row:
    """Return a lower level's 来源 row of a rejected file, its 原因 naming the consolidated ``file`` it came in."""
    reason = row[_S_REASON]
    if reason.startswith(BELOW_PREFIX):
        return row
    return (*row[:_S_REASON], BELOW_REJECTED.format(input=file, reason=reason), *row[_S_REASON + 1 :])


# --- the worker pool ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pools:
    """How worker pools are made: each worker's memory bound and the start method (None: the platform's)."""

    memory: int | None
    start_method: str | None

    def make(self, workers: int) -> ProcessPoolExecutor:
        """Return a new pool of ``workers`` processes."""
        context = multiprocessing.get_context(self.start_method) if self.start_method else None
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(self.memory,))


def _run(
    files: list[str], work: Callable[[str], FileResult], workers: int, pools: _Pools, seconds: float | None
) -> Iterator[FileResult]:
    """Yield each file's result in input order, surviving workers that die."""
    start = 0
    while start < len(files):
        done = 0
        try:
            with pools.make(workers) as pool:
                chunk = max(1, min(CHUNKSIZE, (len(files) - start) // (workers * 4)))
                for result in pool.map(work, files[start:], chunksize=chunk):
                    done += 1
                    yield result
            return
        except BrokenProcessPool:
            pass
        # The files a dead worker may have held are re-run alone; if the culprit lies further
        # on, the pool breaks again later and the next window is searched.
        start += done
        window = files[start : start + (workers + 1) * CHUNKSIZE * 2]
        for file in window:
            yield _alone(file, work, pools, seconds)
        start += len(window)


def _alone(file: str, work: Callable[[str], FileResult], pools: _Pools, seconds: float | None) -> FileResult:
    began = time.monotonic()
    try:
        with pools.make(1) as pool:
            return pool.submit(work, file).result()
    except BrokenProcessPool:
        pass
    elapsed = time.monotonic() - began
    try:
        data = Path(file).read_bytes()
    except OSError:
        data = b""
    digest = hashlib.sha256(data).hexdigest() if data else ""
    name = paths.shown(file)
    if elapsed >= (seconds or _budget(len(data))):
        return FileResult(name, digest, reason=f"处理超过 {elapsed:.0f} 秒仍未完成，疑似异常文件，已跳过")
    return FileResult(name, digest, reason=CRASHED)


# --- the run -----------------------------------------------------------------------------------


@dataclass
class _Unit:
    code: str
    name: str
    region: str
    year: int | None
    file: str
    projects: int = 0
    budget: Decimal = Decimal(0)
    fiscal: Decimal = Decimal(0)
    other: Decimal = Decimal(0)
    errors: int = 0
    warnings: int = 0
    plan: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * len(PLAN_CHECKPOINTS))
    """Per checkpoint, the sum over the projects of 预算数 × planned cumulative share (blank: 0)."""

    def row(self) -> Row:
        return (self.code, self.name, self.region, self.year, self.projects, self.budget, self.fiscal, self.other,
                self.file)  # fmt: skip

    def absorb(self, other: _Unit) -> None:
        """Add ``other``'s counts and money to this one's."""
        self.projects += other.projects
        self.budget += other.budget
        self.fiscal += other.fiscal
        self.other += other.other
        self.errors += other.errors
        self.warnings += other.warnings
        self.plan = [a + b for a, b in zip(self.plan, other.plan, strict=True)]

    def summary_row(self, region: str, code: str, name: str, units: int) -> Row:
        """Return this total as a 汇总 row; the plan columns stay blank when there is no 预算数."""
        progress = [float(p / self.budget) if self.budget else None for p in self.plan]
        return (region, code, name, units, self.projects, self.budget, self.fiscal, self.other, self.errors,
                self.warnings, *progress)  # fmt: skip


# Where rows came from: (input file, 来源文件). The two differ for a consolidated input, and two
# inputs (an old and a new version of one county's result) may carry the same 来源文件.
Origin = tuple[str, str]


def _named_origins(origins: Iterable[Origin]) -> dict[Origin, str]:
    """Return the distinct origins with how messages name them: the 来源文件, and the input too where two share it."""
    distinct = list(dict.fromkeys(origins))
    inputs = Counter(file for _, file in distinct)
    return {(source, file): f"{file}（在「{source}」中）" if inputs[file] > 1 else file for source, file in distinct}


@dataclass
class _Use:
    """Where one project arrived from, for the cross-file checks."""

    source: str
    file: str
    sheet: str
    unit_code: str
    code: str
    name: str
    budget: Decimal | None


# The same weighting as the 部门汇总 sheet's 支出计划（按预算数加权） row of a department
# workbook, so a unit's row here matches its own workbook.
PLAN_NOTE = (
    "「3月底计划进度」至「12月底计划进度」：各项目资金支出计划的累计比例按预算数加权的平均，"
    "与部门工作簿「部门汇总」的加权支出计划算法相同；未填的节点按 0% 计（见 PT-PLAN-001、PT-PLAN-003）"
)

# A name or code arriving from hundreds of files would repeat hundreds of file names in each of
# hundreds of rows; the message names this many and counts the rest.
NAMED_FILES = 5


def _named(files: list[str]) -> str:
    shown = "、".join(f"「{f}」" for f in files[:NAMED_FILES])
    return shown if len(files) <= NAMED_FILES else f"{shown}等"


@dataclass
class _RuleTally:
    rows: int = 0
    units: set[tuple[str, str, str]] = field(default_factory=set)


class _Ledger:
    """Everything the run keeps between files: small per unit and per project, never per indicator."""

    def __init__(self) -> None:
        self.sources: list[SourceOutcome] = []
        self.first_by_hash: dict[str, SourceOutcome] = {}
        self.inside: dict[str, tuple[str, str]] = {}
        """The files merged inside accepted consolidated inputs: SHA256 → (that input, 文件 as it names it)."""
        self.units: dict[tuple[str, str, str], _Unit] = {}
        """By (input file, 来源文件, 单位编码)."""
        self.unit_of_file: dict[Origin, tuple[str, str, str]] = {}
        self.uses: list[_Use] = []
        self.gaps = 0
        self.input_of: dict[str, SourceOutcome] = {}
        self.rejected_below: list[Row] = []
        self.by_rule: dict[tuple[str, str], _RuleTally] = {}
        """By (规则, 级别)."""
        self.input_projects = 0
        self.input_indicators = 0
        self.input_budget = Decimal(0)

    def add(self, result: FileResult, writer: ConsolidatedWriter) -> SourceOutcome:
        first = self.first_by_hash.get(result.sha256) if result.sha256 else None
        inside = self.inside.get(result.sha256) if result.sha256 else None
        if first is None and inside is not None:
            summary, name = inside
            reason = INSIDE.format(summary=summary, name=name)
            outcome = SourceOutcome(result.file, result.sha256, Status.DUPLICATE, reason)
        elif first is None and (overlap := self._overlap(result)) is not None:
            outcome = overlap
        elif first is not None:
            if first.status is Status.ACCEPTED:
                reason = DUPLICATE.format(first=first.file)
                outcome = SourceOutcome(result.file, result.sha256, Status.DUPLICATE, reason)
            else:
                reason = f"{first.reason}（与「{first.file}」内容相同）"
                outcome = SourceOutcome(result.file, result.sha256, Status.REJECTED, reason)
        elif not result.ok:
            outcome = SourceOutcome(result.file, result.sha256, Status.REJECTED, result.reason)
        else:
            outcome = self._accept(result, writer)
        if outcome.status is not Status.ACCEPTED:
            result.discard()
        if result.sha256:
            self.first_by_hash.setdefault(result.sha256, outcome)
        if outcome.status is Status.ACCEPTED:
            for sha, name in result.merged.items():
                self.inside.setdefault(sha, (result.file, name))
        self.sources.append(outcome)
        return outcome

    def _overlap(self, result: FileResult) -> SourceOutcome | None:
        """Return the outcome of a consolidated input holding files already merged (None when it holds none).

        Its rows cannot be taken in part: the whole workbook is left out, as 重复 when every
        file in it is already in, else as 已拒绝, so that nothing is counted twice.
        """
        if not result.ok or not result.merged:
            return None
        taken = []
        for sha, name in result.merged.items():
            direct = self.first_by_hash.get(sha)
            if direct is not None and direct.status is Status.ACCEPTED:
                taken.append((name, direct.file))
            elif sha in self.inside:
                taken.append((name, self.inside[sha][0]))
        if not taken:
            return None
        name, first = taken[0]
        whole = len(taken) == len(result.merged)
        what = (
            "其数据已在本次结果中，只汇入一次"
            if whole
            else "为免重复计算，整个汇总工作簿未汇入，其余文件的数据不在本次结果中"
        )
        via = "" if first == name else f"，在「{first}」中"
        reason = OVERLAP.format(count=len(taken), name=name, via=via, what=what)
        return SourceOutcome(result.file, result.sha256, Status.DUPLICATE if whole else Status.REJECTED, reason)

    def _accept(self, result: FileResult, writer: ConsolidatedWriter) -> SourceOutcome:
        source = result.file
        for code, name, region, year, file in result.units:
            key = (source, file, code)
            if key not in self.units:
                self.units[key] = _Unit(code, name, region, year, file)
            self.unit_of_file.setdefault((source, file), key)
        for row in result.projects:
            self._project(source, row)
        self._count_issues(source, result.issue_counts)
        writer.projects(result.xml[PROJECTS], result.projects)
        for name, xml, rows in result.batches():
            (writer.indicators if name == INDICATORS else writer.issues)(xml, rows)
        self.input_projects += len(result.projects)
        self.input_indicators += result.indicator_count
        self.input_budget += result.budget
        reason = ""
        if result.consolidated:
            files = len({u[4] for u in result.units} | {r[_P["来源文件"]] for r in result.projects})
            reason = f"汇总工作簿：含 {len(result.units)} 个单位、{files} 个来源文件"
        outcome = SourceOutcome(
            source, result.sha256, Status.ACCEPTED, reason, result.unit_code, len(result.projects), result.budget
        )
        self.input_of[source] = outcome
        self.rejected_below += result.rejected_below
        return outcome

    def _project(self, source: str, row: Row) -> None:
        file, code = row[_P["来源文件"]], row[_P["单位编码"]]
        key = (source, file, code)
        unit = self.units.get(key)
        if unit is None:
            # A project sheet naming another unit than its workbook's 部门 sheet: its own unit.
            unit = self.units[key] = _Unit(code, row[_P["单位名称"]], row[_P["区划"]], None, file)
            self.unit_of_file.setdefault((source, file), key)
        budget = row[_P["预算数"]]
        unit.projects += 1
        unit.budget += budget or 0
        unit.fiscal += row[_P["财政资金"]] or 0
        unit.other += row[_P["其他资金"]] or 0
        plan = [row[i] for i in _PLAN]
        if None in plan:
            self.gaps += 1
        if budget:
            shares = [Decimal(0) if v is None else Decimal(repr(v)) for v in plan]
            unit.plan = [total + budget * share for total, share in zip(unit.plan, shares, strict=True)]
        self.uses.append(_Use(source, file, row[_P["工作表"]], code, row[_P["项目编码"]], row[_P["项目名称"]], budget))

    def _count_issues(self, source: str, counts: list[IssueCount]) -> None:
        for label, rule, file, unit_code, n in counts:
            tally = self.by_rule.get((rule, label))
            if tally is None:
                tally = self.by_rule[(rule, label)] = _RuleTally()
            tally.rows += n
            tally.units.add((source, file, unit_code))
            severity = _SEVERITY_BY_LABEL.get(label)
            if severity is None or severity is Severity.INFO:
                continue
            unit = self.units.get((source, file, unit_code)) or self.units.get(
                self.unit_of_file.get((source, file), ("", "", ""))
            )
            if unit is not None:
                if severity is Severity.ERROR:
                    unit.errors += n
                else:
                    unit.warnings += n

    def cross_file_findings(self, config: Config) -> tuple[list[Row], CrossFile]:
        """Return the 问题 rows for codes (PT-CODE-005) and names (PT-XPR-001) arriving from more than one file."""
        found = CrossFile()
        rows: list[Row] = []
        disabled = set(config.disabled_rules)

        def add(code: str, default: Severity, message: str, uses: list[_Use], value: Callable[[_Use], str]) -> None:
            label = config.severity_overrides.get(code, default).label
            for use in uses:
                rows.append((label, code, message, use.unit_code, use.code, value(use), use.file, use.sheet, ""))
                self._count_issues(use.source, [(label, code, use.file, use.unit_code, 1)])

        if "PT-CODE-005" not in disabled:
            for code, uses in find_duplicates((u.code, u) for u in self.uses).items():
                files = list(_named_origins((u.source, u.file) for u in uses).values())
                if len(files) < 2:
                    continue  # duplicates within one file are the department rule's finding
                found.codes += 1
                found.code_budget += sum((u.budget or 0 for u in uses), Decimal(0))
                message = (
                    f"{CROSS_FILE_PREFIX}项目编码「{code}」出现在 {len(files)} 个文件中：{_named(files)}；"
                    "同一项目不应重复申报，请核实后只保留一份"
                )
                add("PT-CODE-005", Severity.ERROR, message, uses, lambda u: u.code)
        if "PT-XPR-001" not in disabled:
            by_name: defaultdict[str, list[_Use]] = defaultdict(list)
            for use in self.uses:
                key = label_key(use.name)
                if key:
                    by_name[key].append(use)
            for uses in by_name.values():
                if len(uses) < 2:
                    continue
                files = list(_named_origins((u.source, u.file) for u in uses).values())
                # One code under one name from several files is that code's finding, not a second one.
                if len(files) < 2 or len({normalise_code(u.code) for u in uses}) < 2:
                    continue
                found.names += 1
                message = (
                    f"{CROSS_FILE_PREFIX}项目名称「{uses[0].name}」出现在 {len(files)} 个文件中：{_named(files)}，"
                    "项目编码不同；不同项目不应同名，请在名称中区分，或核实是否为同一项目重复申报"
                )
                add("PT-XPR-001", Severity.WARNING, message, uses, lambda u: u.name)
        return rows, found

    def split_units(self) -> dict[str, list[str]]:
        """Return the 单位编码 whose rows came from more than one origin, noting each in its inputs' 原因."""
        origins_of: defaultdict[str, list[Origin]] = defaultdict(list)
        for source, file, code in self.units:
            if code and (source, file) not in origins_of[code]:
                origins_of[code].append((source, file))
        split = {code: _named_origins(origins) for code, origins in origins_of.items() if len(origins) > 1}
        notes: defaultdict[str, list[str]] = defaultdict(list)
        for code, named in split.items():
            for source in dict.fromkeys(o[0] for o in named):
                # Two origins inside one consolidated input were pointed out at the level below.
                others = [label for o, label in named.items() if o[0] != source]
                if others and len(notes[source]) <= NAMED_FILES:
                    notes[source].append(f"单位 {code} 另见{_named(others)}")
        for source, found in notes.items():
            outcome = self.input_of[source]
            shown = "；".join(found[:NAMED_FILES]) + ("等" if len(found) > NAMED_FILES else "")
            note = f"{shown}：可能是同一单位的新旧版本，请核实后只保留一份"
            outcome.reason = f"{outcome.reason}；{note}" if outcome.reason else note
        return {code: list(named.values()) for code, named in split.items()}

    def summary(self, report: Report) -> SummaryData:
        """Return 汇总's rows (by 区划, then 单位, with subtotals and a total), chart data and checks."""
        groups: dict[str, dict[str, _Unit]] = defaultdict(dict)
        for unit in self.units.values():
            region = unit.region or UNKNOWN_REGION
            key = unit.code or unit.name
            merged = groups[region].get(key)
            if merged is None:
                merged = groups[region][key] = _Unit(unit.code, unit.name, region, unit.year, unit.file)
            merged.absorb(unit)
        rows: list[tuple[SummaryKind, Row]] = []
        regions: list[tuple[str, int, int, Decimal]] = []
        total = _Unit("", "合计", "", None, "")
        ordered = sorted(groups, key=lambda r: (r == UNKNOWN_REGION, r))
        for region in ordered:
            units = sorted(groups[region].values(), key=lambda u: (u.code, u.name))
            sub = _Unit("", "小计", region, None, "")
            for u in units:
                rows.append(("unit", u.summary_row(region, u.code, u.name, 1)))
                sub.absorb(u)
            total.absorb(sub)
            rows.append(("subtotal", sub.summary_row(region, "", f"{region} 小计", len(units))))
            regions.append((region, len(units), sub.projects, sub.budget))
        units_total = sum(len(g) for g in groups.values())
        rows.append(("total", total.summary_row("合计", "", "", units_total)))
        written = report.written or Written()
        checks: list[tuple[str, Any]] = [
            ("输入文件数", len(report.sources)),
            ("已汇入", report.count(Status.ACCEPTED)),
            ("已拒绝", report.count(Status.REJECTED)),
            ("重复（内容相同，只汇入一次）", report.count(Status.DUPLICATE)),
            ("输入项目数（已汇入的文件）", report.input_projects),
            ("项目表行数", written.rows.get(PROJECTS, 0)),
            ("输入指标数（已汇入的文件）", report.input_indicators),
            ("指标表行数", written.rows.get(INDICATORS, 0)),
            ("输入预算数合计（万元）", report.input_budget),
            ("项目表预算数合计（万元）", written.budget),
            ("是否一致", "是" if report.reconciled else "否"),
            ("跨文件重复的项目编码数（PT-CODE-005）", report.cross_file.codes),
            ("重复编码涉及的预算数（万元）", report.cross_file.code_budget),
            ("跨文件同名、编码不同的项目名称数（PT-XPR-001）", report.cross_file.names),
            ("出现在多个文件中的单位数（见「来源」表原因）", len(report.cross_file.units)),
            ("下级合并时已拒绝的文件数（其数据不在本汇总中）", report.rejected_below),
            ("支出计划有未填节点的项目数（未填按 0% 计）", self.gaps),
        ]
        return SummaryData(rows, regions, checks, [PLAN_NOTE], self.rule_rows())

    def rule_rows(self) -> list[Row]:
        """Return 汇总's per-rule rows (规则, 名称, 级别, 问题数, 涉及单位数): errors first, the most frequent first."""
        order = {s.label: n for n, s in enumerate(Severity)}
        ranked = sorted(self.by_rule.items(), key=lambda kv: (order.get(kv[0][1], len(order)), -kv[1].rows, kv[0][0]))
        return [(rule, RULES[rule].title if rule in RULES else "", label, tally.rows, len(tally.units))
                for (rule, label), tally in ranked]  # fmt: skip


def _check_replaceable(output: Path) -> None:
    """Raise OutputError when the existing ``output`` cannot be replaced, before any input is read."""
    # Opening for update writes nothing; on Windows it fails while Excel or WPS holds the file.
    try:
        with output.open("r+b"):
            pass
    except PermissionError:
        raise OutputError(f"输出文件 {output} 无法覆盖（{LOCKED_HINT}），请关闭后重试") from None


def consolidate(
    inputs: Sequence[Path],
    output: Path,
    *,
    parquet_dir: Path | None = None,
    workers: int | None = None,
    config: Config | None = None,
    limits: Limits = LIMITS,
    max_rows: int = EXCEL_MAX_ROWS,
    seconds_per_file: float | None = None,
    worker_memory: int | None = WORKER_MEMORY,
    start_method: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[SourceOutcome], None] | None = None,
) -> Report:
    """Return the report of merging ``inputs`` into ``output``; raise OutputError if it cannot be written."""
    began = time.monotonic()
    config = config or Config()
    if output.suffix.lower() != ".xlsx":
        raise OutputError(f"输出文件 {output} 应以 .xlsx 结尾")
    if paths.is_dir(output):
        raise OutputError(f"输出 {output} 是一个文件夹，请给出 .xlsx 文件名")
    explicit = {p.resolve() for p in inputs if paths.is_file(p)}
    if output.resolve() in explicit:
        raise OutputError(f"输出文件 {output} 也是输入之一；输入不会被修改，请换一个输出文件名")
    if paths.is_file(output):
        _check_replaceable(output)
    if parquet_dir is not None and paths.exists(parquet_dir) and not paths.is_dir(parquet_dir):
        raise OutputError(f"Parquet 文件夹 {parquet_dir} 已是一个文件，请给出文件夹")
    files, missing = discover(inputs, exclude=[output])
    gone = [SourceOutcome(paths.shown(p), "", Status.REJECTED, "文件或文件夹不存在") for p in missing]
    report = Report(None, None, gone)
    # Merging a result kept beside a locked output would count every project in it twice.
    earlier = [p for p in files if kept_beside(output, p)]
    reason = EARLIER_RESULT.format(output=output)
    report.sources += [SourceOutcome(paths.shown(p), "", Status.REJECTED, reason) for p in earlier]
    # An archive is told by its name alone: nothing to read, so no worker.
    archives = [p for p in files if p.suffix.lower() in ARCHIVE_SUFFIXES]
    report.sources += [
        SourceOutcome(paths.shown(p), "", Status.REJECTED, ARCHIVE.format(suffix=p.suffix)) for p in archives
    ]
    decided = {*earlier, *archives}
    files = [p for p in files if p not in decided]
    if on_start is not None:
        on_start(len(files) + len(report.sources))
    for outcome in report.sources:
        if on_file is not None:
            on_file(outcome)
    if not files:
        report.seconds = time.monotonic() - began
        return report
    try:
        writer = ConsolidatedWriter(output, max_rows=max_rows, parquet_dir=parquet_dir)
    except OSError as exc:
        # The rows are spooled in the system's temporary folder: name the path that failed.
        failed = Path(exc.filename) if exc.filename else output
        where = (
            f"无法在 {output.parent} 写入输出文件" if failed.parent == output.parent else f"无法写入工作文件 {failed}"
        )
        raise OutputError(f"{where}：{os_reason(exc)}") from None
    ledger = _Ledger()
    ledger.sources = report.sources
    # Private to this run (mkdtemp makes it 0700); what a dead worker left in it goes with it.
    try:
        spool_dir = tempfile.mkdtemp(prefix="perfxl-spool-")
    except OSError as exc:
        writer.abort()
        raise OutputError(f"无法在临时文件夹 {tempfile.gettempdir()} 中建立工作目录：{os_reason(exc)}") from None
    try:
        work = partial(process_file, config=config, limits=limits, seconds=seconds_per_file,
                       keep_rows=parquet_dir is not None, spool_dir=spool_dir)  # fmt: skip
        count = workers or os.cpu_count() or 1
        pools = _Pools(worker_memory, start_method)
        for result in _run([str(p) for p in files], work, count, pools, seconds_per_file):
            outcome = ledger.add(result, writer)
            if on_file is not None:
                on_file(outcome)
        report.input_projects = ledger.input_projects
        report.input_indicators = ledger.input_indicators
        report.input_budget = ledger.input_budget
        if not any(s.status is Status.ACCEPTED for s in ledger.sources):
            writer.abort()
            report.seconds = time.monotonic() - began
            return report
        rows, report.cross_file = ledger.cross_file_findings(config)
        report.cross_file.units = ledger.split_units()
        report.rejected_below = len(ledger.rejected_below)
        writer.issues(render(ISSUES, rows), rows)
        report.written = writer.counts()
        report.reconciled = (
            report.written.rows.get(PROJECTS) == report.input_projects
            and report.written.rows.get(INDICATORS) == report.input_indicators
            and report.written.budget == report.input_budget
        )
        summary = ledger.summary(report)
        units = [u.row() for u in ledger.units.values()]
        sources = [s.row() for s in ledger.sources] + ledger.rejected_below
        report.written = writer.finish(summary, units, sources)
    except OSError as exc:
        writer.abort()
        raise OutputError(f"写入 {output} 失败：{os_reason(exc)}") from None
    except BaseException:
        writer.abort()
        raise
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    report.output = report.written.path
    report.locked = output if report.output != output else None
    report.parquet_dir = parquet_dir
    report.seconds = time.monotonic() - began
    return report
