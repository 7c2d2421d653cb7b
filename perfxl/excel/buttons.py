"""The ribbon's Python side: one function per button of the template's 绩效目标 tab.

Each function reads the workbook open in Excel into the same grids a file gives
(``perfxl.excel.grid``), calls the same core as the command line, and writes the result back
through xlwings: the 校验结果 sheet with links, cell marks, 部门汇总, a new project sheet.
Progress shows in the status bar, and every outcome, failures included, ends in a Chinese
message box: Excel never shows a Python traceback. ``book`` is the workbook whose button was
pressed (``xw.Book.caller()``) unless one is given, as the tests do.

The marks are the command line's (``perfxl.writers.package``): a conditional format whose
formula is ``MARKER_FORMULA``, filled by severity, so ``perfxl clear`` removes marks made here
and 清除标记 removes the command line's, together with the cell comments (notes) that
``perfxl validate --write`` added. The buttons add no comments themselves: a comment added
through Excel carries the user's name as author, so nothing could tell it apart later.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import xlwings as xw

from perfxl import __version__
from perfxl.consolidate import OutputError, SourceOutcome
from perfxl.consolidate import consolidate as consolidate_files
from perfxl.errors import SourceError, os_reason
from perfxl.excel.grid import book_grids, read_book
from perfxl.layout import (
    ISSUES_HEADER,
    ISSUES_SHEET,
    LABEL_CODE,
    PROJECT_SHEET_PREFIX,
    SUMMARY_HEADER,
    SUMMARY_SHEET,
    TOTAL_NAME,
)
from perfxl.model import (
    PLAN_CHECKPOINTS,
    PLAN_SOURCE_PREFIX,
    Finding,
    Location,
    Project,
    ReadResult,
    Severity,
    plan_source,
)
from perfxl.readers.grid import Grid, is_number, parse_grids
from perfxl.report import summary_line
from perfxl.rules import validate as run_rules
from perfxl.tables import Status
from perfxl.writers.package import MARKER_FORMULA, SEVERITY_FILLS, column_letter, is_our_comment, split_cell
from perfxl.writers.rollup import (
    cell_ref,
    column_total,
    number_link,
    plan_divisor,
    project_counts,
    text_link,
    weighted_plan,
)
from perfxl.writers.word import default_document_path, write_document

TITLE = "perfxl"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0%"
HEADER_COLOR = "#D9E1F2"
ISSUES_WIDTHS: tuple[float, ...] = (8, 13, 64, 32, 16, 32)
SUMMARY_WIDTHS: tuple[float, ...] = (6, 24, 52, 13, 13, 13, 9, 9, 9, 9, 8, 8, 8)
# Text starting with one of these would be taken for a formula when written as a value.
_FORMULA_STARTS = ("=", "+", "-", "@")
_TITLE_RE = re.compile(r"^\s*\d{1,4}\s*[.．、].*绩效目标表$")
_PROJECT_SHEET_RE = re.compile(rf"^{PROJECT_SHEET_PREFIX}(\d+)$")
_WHERE_RE = re.compile(r"^(?P<sheet>.+)!(?P<cell>[A-Z]{1,3}[0-9]{1,7})$")
_FIELDS_TO_CLEAR = ("code", "name", "budget", "fiscal_funds", "other_funds", "use_of_funds", "goal")


class Refused(Exception):
    """A button cannot do its job here; the message (Chinese) says what to do instead."""


class _Status:
    """The status bar, on engines that have one (xlwings Server has none)."""

    def __init__(self, book: xw.Book) -> None:
        self.app = book.app

    def show(self, text: str) -> None:
        self._set(f"perfxl：{text}")

    def reset(self) -> None:
        # False hands the status bar back to Excel.
        self._set(False)

    def _set(self, value: str | bool) -> None:
        try:
            self.app.status_bar = value
        except NotImplementedError:
            return


def _run(title: str, action: Callable[[xw.Book, _Status], str], book: xw.Book | None) -> None:
    """Run ``action`` on the calling workbook and show its message, or a Chinese error instead of a traceback."""
    book = book or xw.Book.caller()
    status = _Status(book)
    mode = "info"
    try:
        message = action(book, status)
    except Refused as exc:
        message, mode = str(exc), "critical"
    except SourceError as exc:
        message, mode = f"无法读取工作簿 {exc}", "critical"
    except PermissionError as exc:
        message, mode = f"无法写入 {exc.filename or ''}：文件可能正在别处打开（{os_reason(exc)}）", "critical"
    except Exception as exc:  # noqa: BLE001 - every failure must reach the user as a message, not a traceback
        traceback.print_exc(file=sys.stderr)
        message = (
            f"{title}未能完成：出现意外错误（{type(exc).__name__}：{exc}）。"
            "可以改用命令行 perfxl 处理这个文件，并把此提示截图发给维护人员。"
        )
        mode = "critical"
    finally:
        status.reset()
    book.app.alert(message, title=f"{TITLE} · {title}", mode=mode)


def _text(value: str) -> str:
    """Return ``value`` so that Excel stores it as text even when it looks like a formula."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _link(sheet: str, cell: str) -> str:
    """Return a HYPERLINK formula that jumps to ``sheet!cell`` and shows that address."""
    target = f"#{cell_ref(sheet, cell)}".replace('"', '""')
    shown = f"{sheet}!{cell}".replace('"', '""')
    return f'=HYPERLINK("{target}","{shown}")'


def _hex(argb: str) -> str:
    return "#" + argb[-6:]


def _sheet_names(book: xw.Book) -> list[str]:
    return [s.name for s in book.sheets]


# ---------------------------------------------------------------------------------------------
# 校验 and 清除标记
# ---------------------------------------------------------------------------------------------


def validate(book: xw.Book | None = None) -> None:
    """Validate the workbook, write 校验结果 with links and mark each cell; returns nothing, a message tells."""
    _run("校验", _validate, book)


def clear(book: xw.Book | None = None) -> None:
    """Remove 校验结果 and perfxl's cell marks; returns nothing, a message tells."""
    _run("清除标记", _clear, book)


def _validate(book: xw.Book, status: _Status) -> str:
    result = read_book(book, status.show)
    status.show("正在校验…")
    findings = run_rules(result)
    status.show("正在清除上次的校验标记…")
    cleared = _unmark(book)
    status.show("正在写入「校验结果」…")
    issues = _write_issues(book, findings)
    status.show("正在标出有问题的单元格…")
    marked = _mark(book, findings)
    issues.activate()
    done = f"校验完成：{summary_line(findings)}，已标出 {marked} 个单元格。点击「校验结果」表中的单元格地址可跳转。"
    return done + _unread_notes_hint(cleared)


def _clear(book: xw.Book, status: _Status) -> str:
    status.show("正在清除校验标记…")
    had_issues = ISSUES_SHEET in _sheet_names(book)
    removed = _unmark(book)
    if not had_issues and not removed.any:
        return "没有需要清除的校验标记。"
    done = "已删除「校验结果」表和单元格标记" + (f"，以及 {removed.notes} 条校验批注" if removed.notes else "")
    return done + "。" + _unread_notes_hint(removed)


def _unread_notes_hint(removed: _Unmarked) -> str:
    """Return the sentence that names the notes this engine could not tell apart ('' when none)."""
    if not removed.unread_notes:
        return ""
    return (
        f"有 {removed.unread_notes} 个单元格带有批注，当前环境无法读取批注内容以区分是否为校验批注，"
        "已保留；如需清除命令行写入的校验批注，请保存后运行 perfxl clear 工作簿。"
    )


def _write_issues(book: xw.Book, findings: Sequence[Finding]) -> xw.Sheet:
    """Add the 校验结果 sheet after the last visible sheet: one row per finding, the cell as a link."""
    names = set(_sheet_names(book))
    visible = [s for s in book.sheets if s.visible]
    sheet = book.sheets.add(ISSUES_SHEET, after=visible[-1] if visible else book.sheets[-1])
    rows: list[list[str]] = [list(ISSUES_HEADER)]
    for f in findings:
        if f.sheet and f.cell:
            where = _link(f.sheet, f.cell) if f.sheet in names else _text(f"{f.sheet}!{f.cell}")
        else:
            where = f"第 {f.line} 行" if f.line is not None else ""
        rows.append(
            [f.severity.label, f.code, _text(f.message), _text(f.project_name or f.project_code), where, _text(f.value)]
        )
    sheet.range("A1").value = rows
    header = sheet.range((1, 1), (1, len(ISSUES_HEADER)))
    header.color = HEADER_COLOR
    header.font.bold = True
    for n, f in enumerate(findings, 2):
        sheet.range((n, 1)).color = _hex(SEVERITY_FILLS[f.severity])
    for col, width in enumerate(ISSUES_WIDTHS, 1):
        sheet.range((1, col)).column_width = width
    sheet.range((1, 3), (len(rows), 3)).wrap_text = True
    return sheet


def _mark(book: xw.Book, findings: Sequence[Finding]) -> int:
    """Mark every cell with a finding by the worst severity there; return how many cells were marked."""
    names = set(_sheet_names(book)) - {ISSUES_SHEET}
    worst: dict[tuple[str, str], Severity] = {}
    for f in findings:
        if f.sheet in names and f.cell:
            key = (f.sheet, f.cell)
            if key not in worst or f.severity.rank < worst[key].rank:
                worst[key] = f.severity
    for (sheet, cell), severity in worst.items():
        rules = book.sheets[sheet].range(cell).conditional_formats
        rules.add_custom(f"={MARKER_FORMULA}", fill_color=_hex(SEVERITY_FILLS[severity]))
    return len(worst)


def _is_marker(formula: str | None) -> bool:
    return formula is not None and re.sub(r"\s+", "", formula).lstrip("=") == MARKER_FORMULA


@dataclass(frozen=True)
class _Unmarked:
    """What ``_unmark`` removed: whether anything at all, how many notes, and notes it could not read."""

    any: bool
    notes: int
    unread_notes: int


def _unmark(book: xw.Book) -> _Unmarked:
    """Remove the 校验结果 sheet and every perfxl mark and note; return what was removed."""
    recorded = _recorded_cells(book)
    found = False
    notes = unread = 0
    for sheet in book.sheets:
        if sheet.name == ISSUES_SHEET:
            continue
        removed, unreadable = _remove_our_notes(sheet)
        notes += removed
        unread += unreadable
        try:
            rules = [rule for rule in sheet.cells.conditional_formats if _is_marker(rule.formula)]
        except NotImplementedError:
            # xlwings Server cannot list a sheet's rules: clear those of the cells 校验结果 names.
            for cell in recorded.get(sheet.name, ()):
                sheet.range(cell).conditional_formats.clear()
                found = True
            continue
        for rule in rules:
            rule.delete()
            found = True
    if ISSUES_SHEET in _sheet_names(book):
        book.sheets[ISSUES_SHEET].delete()
        found = True
    return _Unmarked(any=found or notes > 0, notes=notes, unread_notes=unread)


def _remove_our_notes(sheet: xw.Sheet) -> tuple[int, int]:
    """Delete the notes ``perfxl validate --write`` added to ``sheet``; return (deleted, unreadable).

    Desktop Excel reads every note's author and text. xlwings Server only says which cells have
    a note, so there nothing is deleted: a user's own note must never go with ours.
    """
    try:
        notes = list(sheet.notes)
    except NotImplementedError:
        return 0, 0
    deleted = unreadable = 0
    for note in notes:
        try:
            ours = is_our_comment(note.author or "", note.text or "")
        except NotImplementedError:
            unreadable += 1
            continue
        if ours:
            note.delete()
            deleted += 1
    return deleted, unreadable


def _recorded_cells(book: xw.Book) -> dict[str, list[str]]:
    """Return, per sheet, the cells the current 校验结果 sheet links to."""
    if ISSUES_SHEET not in _sheet_names(book):
        return {}
    sheet = book.sheets[ISSUES_SHEET]
    column = ISSUES_HEADER.index("单元格") + 1
    last = sheet.used_range.last_cell.row
    cells: dict[str, list[str]] = {}
    for value in sheet.range((2, column), (max(last, 2), column)).options(ndim=1).value:
        m = _WHERE_RE.match(value) if isinstance(value, str) else None
        if m is not None and m["cell"] not in cells.setdefault(m["sheet"], []):
            cells[m["sheet"]].append(m["cell"])
    return cells


# ---------------------------------------------------------------------------------------------
# 部门汇总
# ---------------------------------------------------------------------------------------------


def rollup(book: xw.Book | None = None) -> None:
    """(Re)write 部门汇总 with formulas linked to the project sheets; returns nothing, a message tells."""
    _run("部门汇总", _rollup, book)


@dataclass(frozen=True)
class _Sources:
    """The grids of the workbook, to look up the current value of a linked cell."""

    grids: dict[str, Grid]

    def ref(self, loc: Location | None) -> str | None:
        """Return the formula reference of ``loc`` when it is a cell of this workbook."""
        if loc is None or loc.sheet not in self.grids or not loc.cell:
            return None
        return cell_ref(loc.sheet, loc.cell)

    def number(self, loc: Location | None) -> float | None:
        """Return the number in the cell at ``loc``, or None when it holds none."""
        pos = split_cell(loc.cell) if loc is not None and loc.sheet in self.grids and loc.cell else None
        if loc is None or loc.sheet is None or pos is None:
            return None
        value = self.grids[loc.sheet].get(pos)
        return float(value) if is_number(value) else None


def _rollup(book: xw.Book, status: _Status) -> str:
    grids, issues = book_grids(book, status.show)
    result = parse_grids(book.fullname, grids, scan=lambda sheets: (i for i in issues if i.sheet in sheets))
    status.show("正在校验…")
    findings = run_rules(result)
    status.show("正在写入「部门汇总」…")
    sources = _Sources({g.name: g for g in grids})
    rows = _summary_rows(result, findings, sources)
    sheet = _summary_sheet(book, result)
    total_row = len(rows) + 2
    first, last = 2, len(rows) + 1
    block: list[list[str | float]] = [list(SUMMARY_HEADER), *rows]
    totals: list[str | float] = ["", "", "合计"]
    totals += ["=" + column_total(c, first, last) for c in "DEF"]
    totals += ["", "", "", ""]
    totals += ["=" + column_total(c, first, last) for c in "KLM"]
    weighted: list[str | float] = ["", "", "支出计划（按预算数加权）", "", "", ""]
    weighted += ["=" + weighted_plan(c, first, last, total_row) for c in "GHIJ"]
    weighted += ["", "", ""]
    block += [totals, weighted]
    sheet.range("A1").formula = block
    header = sheet.range((1, 1), (1, len(SUMMARY_HEADER)))
    header.color = HEADER_COLOR
    header.font.bold = True
    sheet.range((2, 4), (total_row, 6)).number_format = MONEY_FORMAT
    sheet.range((2, 7), (total_row + 1, 10)).number_format = PERCENT_FORMAT
    sheet.range((total_row, 1), (total_row + 1, len(SUMMARY_HEADER))).font.bold = True
    for col, width in enumerate(SUMMARY_WIDTHS, 1):
        sheet.range((1, col)).column_width = width
    total = "=" + cell_ref(SUMMARY_SHEET, f"$D${total_row}")
    if TOTAL_NAME in [n.name for n in book.names]:
        book.names[TOTAL_NAME].refers_to = total
    else:
        book.names.add(TOTAL_NAME, total)
    sheet.activate()
    money = sum((p.budget for p in result.department.projects if p.budget is not None), Decimal(0))
    return (
        f"已写入「部门汇总」：{len(rows)} 个项目，部门预算总额 {money:,.2f} 万元（{summary_line(findings)}）。"
        "金额用公式链接各项目表，修改项目表后自动更新。"
    )


def _summary_sheet(book: xw.Book, result: ReadResult) -> xw.Sheet:
    """Return 部门汇总 emptied, or a new one after the last project sheet."""
    if SUMMARY_SHEET in _sheet_names(book):
        sheet = book.sheets[SUMMARY_SHEET]
        sheet.clear()
        return sheet
    projects = {p.sheet for p in result.department.projects}
    last = [s for s in book.sheets if s.name in projects][-1]
    return book.sheets.add(SUMMARY_SHEET, after=last)


def _summary_rows(result: ReadResult, findings: Sequence[Finding], sources: _Sources) -> list[list[str | float]]:
    rows: list[list[str | float]] = []
    for n, p in enumerate((p for p in result.department.projects if p.sheet in sources.grids), 1):
        plan = [p.sources.get(plan_source(i)) for i in range(len(PLAN_CHECKPOINTS))]
        divisor = plan_divisor(v for loc in plan if (v := sources.number(loc)) is not None)
        row: list[str | float] = [n, _text_link(p, "code", sources), _text_link(p, "name", sources)]
        row += [_number_link(p.sources.get(key), sources) for key in ("budget", "fiscal_funds", "other_funds")]
        row += [_number_link(loc, sources, divisor) for loc in plan]
        row += [len(p.indicators), *project_counts(findings, p)]
        rows.append(row)
    return rows


def _text_link(p: Project, field: str, sources: _Sources) -> str:
    ref = sources.ref(p.sources.get(field))
    return "=" + text_link(ref) if ref else _text(getattr(p, field))


def _number_link(loc: Location | None, sources: _Sources, divisor: int = 1) -> str:
    ref = sources.ref(loc)
    if ref is None:
        return ""
    return "=" + number_link(ref, divisor)


# ---------------------------------------------------------------------------------------------
# 新建项目
# ---------------------------------------------------------------------------------------------


def new_project(book: xw.Book | None = None) -> None:
    """Copy the last project form into a new, empty sheet with the next number; returns nothing."""
    _run("新建项目", _new_project, book)


def _new_project(book: xw.Book, status: _Status) -> str:
    grids, _ = book_grids(book, status.show)
    result = parse_grids(book.fullname, grids)
    projects = result.department.projects
    source = projects[-1]
    assert source.sheet is not None
    names = _sheet_names(book)
    numbers = [int(m.group(1)) for name in names if (m := _PROJECT_SHEET_RE.match(name))]
    name = f"{PROJECT_SHEET_PREFIX}{max(numbers, default=0) + 1}"
    status.show(f"正在新建「{name}」…")
    sheets = {p.sheet for p in projects}
    last = [s for s in book.sheets if s.name in sheets][-1]
    copy = book.sheets[source.sheet].copy(after=last, name=name)
    for cell in _input_cells(source):
        # A value, not ClearContents: Excel refuses ClearContents on one cell of a merged range.
        copy.range(cell).value = None
    grid = next(g for g in grids if g.name == source.sheet)
    title = _title_cell(grid, source)
    if title is not None:
        copy.range(title).value = f"{len(projects) + 1}.绩效目标表"
    copy.activate()
    return f"已新建「{name}」：请填写{LABEL_CODE}、项目名称、金额、资金支出计划和绩效指标。"


def _input_cells(p: Project) -> list[str]:
    """Return the cells of ``p``'s form that staff fill in, in reading order."""
    locations = [p.sources.get(key) for key in _FIELDS_TO_CLEAR]
    locations += [loc for key, loc in p.sources.items() if key.startswith(PLAN_SOURCE_PREFIX)]
    locations += [loc for ind in p.indicators for loc in ind.sources.values()]
    cells: list[str] = []
    for loc in locations:
        if loc is not None and loc.sheet == p.sheet and loc.cell and loc.cell not in cells:
            cells.append(loc.cell)
    return cells


def _title_cell(grid: Grid, p: Project) -> str | None:
    """Return the cell of the form's numbered title (``3.xxx绩效目标表``) above the code row."""
    code = p.sources.get("code")
    pos = split_cell(code.cell) if code is not None and code.cell else None
    for r, row in enumerate(grid.rows[: pos[0] if pos else len(grid.rows)]):
        for c in range(len(row)):
            if _TITLE_RE.match(grid.text((r, c))):
                return f"{column_letter(c)}{r + 1}"
    return None


# ---------------------------------------------------------------------------------------------
# 合并
# ---------------------------------------------------------------------------------------------

# Office's msoFileDialogFolderPicker.
FOLDER_PICKER = 4


def consolidate(book: xw.Book | None = None, folder: Path | None = None) -> None:
    """Merge the workbooks of a folder (asked for unless given) into one and open it; returns nothing."""
    _run("合并", lambda b, status: _consolidate(b, status, folder), book)


def _consolidate(book: xw.Book, status: _Status, folder: Path | None) -> str:
    folder = folder or _pick_folder(book)
    if folder is None:
        return "已取消合并。"
    # Next to the folder, not in it: a later run over the folder must not take the result as an input.
    output = folder.parent / f"{folder.name}（合并结果）.xlsx"
    done = 0

    def progress(outcome: SourceOutcome) -> None:
        nonlocal done
        done += 1
        status.show(f"正在合并（第 {done} 个文件）：{Path(outcome.file).name}")

    status.show(f"正在查找「{folder}」中的工作簿…")
    try:
        report = consolidate_files([folder], output, on_file=progress)
    except OutputError as exc:
        raise Refused(f"未能写出合并结果：{exc}") from None
    if report.output is None:
        return f"「{folder}」中没有可以合并的工作簿（共 {len(report.sources)} 个文件，均未汇入）。"
    lines = [
        f"已合并 {report.count(Status.ACCEPTED)} 个工作簿，结果：{report.output}",
        f"拒绝 {report.count(Status.REJECTED)} 个，重复 {report.count(Status.DUPLICATE)} 个（原因见「来源」表）。",
    ]
    lines += report.notes()
    if report.locked is not None:
        lines.append(f"「{report.locked.name}」在合并过程中被打开，无法覆盖；为免丢失本次结果，已另存为上面的文件。")
    # Only desktop Excel can open a file from disk; xlwings Server is told where it is.
    if book.app.engine.name == "excel":
        book.app.books.open(str(report.output))
    return "\n".join(lines)


def _pick_folder(book: xw.Book) -> Path | None:
    """Return the folder the user picks in Excel's folder dialog, or None when cancelled."""
    if book.app.engine.name != "excel" or not sys.platform.startswith("win"):
        raise Refused("此环境无法弹出文件夹选择框，请在命令行运行：perfxl consolidate 文件夹 -o 结果.xlsx")
    dialog = book.app.api.FileDialog(FOLDER_PICKER)
    dialog.Title = "选择要合并的工作簿所在的文件夹"
    if dialog.Show() != -1:
        return None
    return Path(dialog.SelectedItems(1))


# ---------------------------------------------------------------------------------------------
# 导出文本
# ---------------------------------------------------------------------------------------------


def export(book: xw.Book | None = None) -> None:
    """Write the workbook as the published Word document beside it and open it; returns nothing."""
    _run("导出文本", _export, book)


def _export(book: xw.Book, status: _Status) -> str:
    source = Path(book.fullname)
    if not source.is_absolute():
        raise Refused(
            "不知道工作簿保存在哪个文件夹，无法在它旁边写出文档：请先保存工作簿；"
            "在网页版中请改用命令行 perfxl export 工作簿.xlsm"
        )
    status.show("正在读取工作簿…")
    # The open book, unsaved edits included, exactly as 校验 reads it.
    result = read_book(book)
    findings = run_rules(result)
    target = default_document_path(source)
    status.show(f"正在写出 {target.name}…")
    write_document(result.department, target)
    lines = [f"已导出绩效文本（{len(result.department.projects)} 个项目）：{target}"]
    if any(f.severity is Severity.ERROR for f in findings):
        lines.append(f"校验发现 {summary_line(findings)}，发布前请先修正错误（点「校验」查看）。")
    if book.app.engine.name == "excel" and sys.platform == "win32":
        os.startfile(target)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# 关于
# ---------------------------------------------------------------------------------------------


def about(book: xw.Book | None = None) -> None:
    """Show the versions of perfxl, xlwings and Python and where Python was found; returns nothing."""
    _run("关于", _about, book)


def _about(book: xw.Book, status: _Status) -> str:
    return "\n".join(
        (
            f"perfxl {__version__}：预算绩效目标校验、汇总与合并",
            f"xlwings {xw.__version__}",
            f"Python {sys.version.split()[0]}",
            f"Python 位置：{sys.executable}",
            f"工作簿：{book.fullname}",
            "命令行：perfxl --help",
        )
    )
