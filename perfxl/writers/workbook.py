"""The one writer of department workbooks (XlsxWriter).

A department workbook holds the 部门 sheet, one sheet per project laid out like the official
绩效目标表, an empty 部门汇总 and the hidden dropdown lists. Every text goes in with
``write_text``: text from other units is untrusted and must never become a formula.

A macro-enabled workbook made from the template sources (``MacroBook``) also has a hidden
``xlwings.conf`` sheet, code names for the VBA document modules, and on each project form an
optional 检查 column and status cell whose worksheet functions run in Python; nothing else
reads them, so the workbook works the same where they cannot run.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_range_abs, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from perfxl.layout import (
    CHECK_FUNCTION,
    CHECK_HEADER,
    COL_BUDGET,
    COL_CHECK,
    COL_CODE,
    COL_FISCAL,
    COL_NAME,
    COL_OTHER,
    CONF_SHEET,
    DEPT_LABELS,
    DEPT_SHEET,
    FORM_COLUMNS,
    INDICATOR_HEADER,
    LABEL_BUDGET,
    LABEL_CODE,
    LABEL_FISCAL,
    LABEL_GOAL,
    LABEL_MONEY_BLOCK,
    LABEL_NAME,
    LABEL_OTHER,
    LABEL_PLAN,
    LEVEL1_LIST_NAME,
    LISTS_SHEET,
    PLAN_COLUMNS,
    PLAN_LABELS,
    PROJECT_SHEET_PREFIX,
    ROW_CODE,
    ROW_GOAL,
    ROW_IND_FIRST,
    ROW_IND_HEAD,
    ROW_MONEY,
    ROW_PLAN,
    ROW_PLAN_HEAD,
    ROW_TITLE,
    ROW_UNIT,
    ROW_USE,
    STATUS_FUNCTION,
    SUB_GOAL_HEADER,
    SUMMARY_HEADER,
    SUMMARY_SHEET,
    TOTAL_NAME,
)
from perfxl.model import Department, Project
from perfxl.rules.scheme import SCHEMES, Scheme
from perfxl.textnorm import display_width
from perfxl.writers.cells import write_text
from perfxl.writers.files import replacing

FONT = "宋体"
LINE_HEIGHT = 14.5
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0%"
GREY = "#A6A6A6"
A4 = 9
# Blank rows below the indicator table that still carry the dropdowns, so staff can add rows.
SPARE_INDICATOR_ROWS = 30

# Widths in Excel character units (a CJK character is about two).
FORM_WIDTHS: tuple[float, ...] = (11, 14, 22, 26, 16, 10, 10)
LAST_COL = FORM_COLUMNS - 1
DEPT_WIDTHS: tuple[float, ...] = (22, 24, 30, 40, 40)
SUMMARY_WIDTHS: tuple[float, ...] = (6, 24, 36, 12, 12, 12, 9, 9, 9, 9, 8, 8, 8)
CHECK_WIDTH = 36


@dataclass(frozen=True)
class MacroBook:
    """What a workbook built from the template sources adds to a department workbook."""

    # Given the code names (ThisWorkbook, then every sheet in tab order), return the vbaProject.bin.
    vba_project: Callable[[Sequence[str]], bytes]
    # The xlwings.conf sheet: settings (key, value) from A1 down, then, after a blank row, notes.
    settings: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    # Document properties carry this time instead of now, so two builds are identical.
    created: datetime


def project_sheet_name(n: int) -> str:
    """Return the sheet name of the ``n``-th project (1-based), e.g. ``项目3``."""
    return f"{PROJECT_SHEET_PREFIX}{n}"


def project_title(n: int, name: str) -> str:
    """Return the form title ``<n>.<项目名称>绩效目标表``, numbered as in the published document."""
    return f"{n}.{name}绩效目标表"


def write_department_workbook(
    dept: Department,
    path: Path,
    *,
    vba_project: bytes | None = None,
    macro: MacroBook | None = None,
    scheme: Scheme = "H",
) -> Path:
    """Write ``dept`` to ``path`` via a temp file and return ``path``; ``.xlsm`` iff it has a VBA project."""
    # ``scheme`` picks the 一级/二级 names the dropdowns offer; the bytes of ``vba_project`` are
    # a vbaProject.bin, embedded as is; ``macro`` makes the template's macro-enabled workbook.
    xlsm = path.suffix.lower() == ".xlsm"
    if vba_project is not None and macro is not None:
        raise ValueError("give either vba_project or macro, not both")
    if xlsm and vba_project is None and macro is None:
        raise ValueError(f"{path}: an .xlsm workbook needs a vba_project")
    if (vba_project is not None or macro is not None) and not xlsm:
        raise ValueError(f"{path}: a workbook with a vba_project must end in .xlsm")
    with replacing(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp),
            {
                # Belt and braces: every text is written with write_text anyway.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_format_properties": {"font_name": FONT, "font_size": 11},
            },
        )
        _Writer(book, dept, scheme, checks=macro is not None).write()
        if macro is not None:
            _conf_sheet(book, macro)
            book.set_properties({"created": macro.created})
            vba_project = macro.vba_project(_code_names(book))
        if vba_project is not None:
            book.add_vba_project(io.BytesIO(vba_project), is_stream=True)
            book.set_vba_name()
        book.close()
    return path


def _code_names(book: Workbook) -> list[str]:
    """Name the workbook and its sheets for VBA (ThisWorkbook, Sheet1 …) as Excel would; return the names."""
    book.set_vba_name("ThisWorkbook")
    names = ["ThisWorkbook"]
    for ws in book.worksheets():
        ws.set_vba_name()
        names.append(ws.vba_codename)
    return names


def _conf_sheet(book: Workbook, macro: MacroBook) -> None:
    """Write the hidden xlwings.conf sheet; xlwings reads keys from A1 down to the first blank cell."""
    ws = book.add_worksheet(CONF_SHEET)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 60)
    for row, (key, value) in enumerate(macro.settings):
        write_text(ws, row, 0, key)
        write_text(ws, row, 1, value)
    for row, note in enumerate(macro.notes, len(macro.settings) + 1):
        write_text(ws, row, 0, note)
    ws.hide()


def _text_lines(text: str, width: float) -> int:
    """Return how many printed lines ``text`` needs in a column ``width`` characters wide."""
    return sum(max(1, math.ceil(display_width(line) / max(width - 1, 1))) for line in (text.splitlines() or [""]))


def _height(lines: int) -> float:
    return max(20.0, lines * LINE_HEIGHT + 6)


def _row(row: int) -> int:
    """Return the 0-based XlsxWriter row of a 1-based layout row."""
    return row - 1


class _Formats:
    """The cell formats of the workbook, created once."""

    def __init__(self, book: Workbook) -> None:
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter", "text_wrap": True}
        boxed = {**base, "border": 1}
        self.title = book.add_format({**base, "bold": True, "font_size": 16, "align": "center"})
        self.plain = book.add_format(base)
        self.right = book.add_format({**base, "align": "right"})
        self.label = book.add_format({**boxed, "align": "center", "bold": True})
        self.header = book.add_format({**boxed, "align": "center", "bold": True, "bg_color": "#F2F2F2"})
        self.text = book.add_format({**boxed, "align": "left"})
        self.center = book.add_format({**boxed, "align": "center"})
        self.money = book.add_format({**boxed, "num_format": MONEY_FORMAT, "align": "right"})
        self.percent = book.add_format({**boxed, "num_format": PERCENT_FORMAT, "align": "center"})
        self.year = book.add_format({**boxed, "num_format": "0", "align": "left"})
        self.grey = book.add_format({"font_color": GREY})
        self.check = book.add_format({**base, "font_color": "#C00000", "font_size": 10})
        self.status = book.add_format({**base, "bold": True, "font_color": "#C00000"})


class _Writer:
    """Writes one department into one XlsxWriter workbook."""

    def __init__(self, book: Workbook, dept: Department, scheme: Scheme, *, checks: bool = False) -> None:
        self.book = book
        self.dept = dept
        self.scheme = scheme
        self.checks = checks
        self.f = _Formats(book)

    def write(self) -> None:
        self._department()
        budget_cells = [self._project(n, p) for n, p in enumerate(self.dept.projects, 1)]
        self._summary()
        self._lists()
        # Live until 部门汇总 is written, which re-points the name at its own total cell.
        self.book.define_name(TOTAL_NAME, f"=SUM({','.join(budget_cells)})" if budget_cells else "=0")

    # --- 部门 ----------------------------------------------------------------------------------

    def _department(self) -> None:
        dept, f = self.dept, self.f
        ws = self.book.add_worksheet(DEPT_SHEET)
        setup_print(ws, landscape=False)
        for col, width in enumerate(DEPT_WIDTHS):
            ws.set_column(col, col, width)
        wide = sum(DEPT_WIDTHS[1:])
        last = len(DEPT_WIDTHS) - 1
        row = 0

        def field(key: str, value: str) -> None:
            nonlocal row
            write_text(ws, row, 0, DEPT_LABELS[key], f.label)
            ws.merge_range(row, 1, row, last, "", f.text)
            write_text(ws, row, 1, value, f.text)
            ws.set_row(row, _height(_text_lines(value, wide)))
            row += 1

        field("unit_code", dept.unit_code)
        field("unit_name", dept.unit_name)
        field("title_unit_name", dept.title_unit_name)
        write_text(ws, row, 0, DEPT_LABELS["year"], f.label)
        ws.merge_range(row, 1, row, last, "", f.year)
        if dept.year is not None:
            ws.write_number(row, 1, dept.year, f.year)
        row += 1
        field("overall_goal", dept.overall_goal)
        ws.merge_range(row, 0, row, last, "", f.label)
        write_text(ws, row, 0, DEPT_LABELS["sub_goals"], f.label)
        row += 1
        for col, head in enumerate(SUB_GOAL_HEADER):
            write_text(ws, row, col, head, f.header)
        row += 1
        for n, sub in enumerate(dept.sub_goals, 1):
            ws.write_number(row, 0, n, f.center)
            cells = (sub.title, sub.use, sub.goal, sub.indicators)
            for col, value in enumerate(cells, 1):
                write_text(ws, row, col, value, f.text)
            lines = max(_text_lines(v, DEPT_WIDTHS[c]) for c, v in enumerate(cells, 1))
            ws.set_row(row, _height(lines))
            row += 1
        field("safeguards", dept.safeguards)
        total = sum((p.budget for p in dept.projects if p.budget is not None), Decimal(0))
        write_text(ws, row, 0, DEPT_LABELS["total"], f.label)
        ws.merge_range(row, 1, row, last, "", f.money)
        ws.write_formula(row, 1, f"={TOTAL_NAME}", f.money, float(total))

    # --- 项目 ----------------------------------------------------------------------------------

    def _project(self, n: int, p: Project) -> str:
        """Write the project's form and return the absolute reference of its 预算数 cell."""
        name = project_sheet_name(n)
        ws = self.book.add_worksheet(name)
        for col, width in enumerate(FORM_WIDTHS):
            ws.set_column(col, col, width)
        self._form_head(ws, n, p)
        self._money_block(ws, p)
        self._plan_block(ws, p)
        goal = _row(ROW_GOAL)
        write_text(ws, goal, 0, LABEL_GOAL, self.f.label)
        self._merged_text(ws, goal, 1, LAST_COL, p.goal)
        ws.set_row(goal, _height(_text_lines(p.goal, sum(FORM_WIDTHS[1:]))))
        last_row = self._indicators(ws, p)
        setup_print(ws, landscape=False)
        ws.repeat_rows(_row(ROW_TITLE), _row(ROW_UNIT))
        ws.freeze_panes(_row(ROW_UNIT) + 1, 0)
        # Down to the last spare row, so rows staff fill in are printed too; rows they insert
        # inside the area widen it. Whole columns ($A:$G) would be simpler, but openpyxl, and
        # so pandas.read_excel, warns on every such sheet and drops the area when it saves.
        ws.print_area(0, 0, last_row, LAST_COL)
        return f"{quote_sheetname(name)}!{xl_rowcol_to_cell(_row(ROW_MONEY), COL_BUDGET, row_abs=True, col_abs=True)}"

    def _form_head(self, ws: Worksheet, n: int, p: Project) -> None:
        f = self.f
        title, unit, row = _row(ROW_TITLE), _row(ROW_UNIT), _row(ROW_CODE)
        text = project_title(n, p.name)
        ws.merge_range(title, 0, title, LAST_COL, "", f.title)
        write_text(ws, title, 0, text, f.title)
        ws.set_row(title, max(32.0, _text_lines(text, sum(FORM_WIDTHS) / 1.5) * 22.0))
        ws.merge_range(unit, 0, unit, LAST_COL - 2, "", f.plain)
        write_text(ws, unit, 0, f"单位：{p.unit_code} {p.unit_name}".strip(), f.plain)
        ws.merge_range(unit, LAST_COL - 1, unit, LAST_COL, "", f.right)
        write_text(ws, unit, LAST_COL - 1, "单位：万元", f.right)
        write_text(ws, row, 0, LABEL_CODE, f.label)
        self._merged_text(ws, row, COL_CODE, COL_NAME - 2, p.code)
        write_text(ws, row, COL_NAME - 1, LABEL_NAME, f.label)
        self._merged_text(ws, row, COL_NAME, LAST_COL, p.name)
        ws.set_row(row, _height(_text_lines(p.name, sum(FORM_WIDTHS[COL_NAME:]))))

    def _money_block(self, ws: Worksheet, p: Project) -> None:
        f = self.f
        row, use = _row(ROW_MONEY), _row(ROW_USE)
        ws.merge_range(row, 0, use, 0, "", f.label)
        write_text(ws, row, 0, LABEL_MONEY_BLOCK, f.label)
        for col, label, value in (
            (COL_BUDGET, LABEL_BUDGET, p.budget),
            (COL_FISCAL, LABEL_FISCAL, p.fiscal_funds),
            (COL_OTHER, LABEL_OTHER, p.other_funds),
        ):
            write_text(ws, row, col - 1, label, f.label)
            if value is None:
                ws.write_blank(row, col, None, f.money)
            else:
                ws.write_number(row, col, float(value), f.money)
        ws.set_row(row, 30)
        self._merged_text(ws, use, 1, LAST_COL, p.use_of_funds)
        ws.set_row(use, _height(_text_lines(p.use_of_funds, sum(FORM_WIDTHS[1:]))))

    def _plan_block(self, ws: Worksheet, p: Project) -> None:
        f = self.f
        head, row = _row(ROW_PLAN_HEAD), _row(ROW_PLAN)
        ws.merge_range(head, 0, row, 0, "", f.label)
        write_text(ws, head, 0, LABEL_PLAN, f.label)
        ends = (*PLAN_COLUMNS[1:], LAST_COL + 1)
        for col, end, label, value in zip(PLAN_COLUMNS, ends, PLAN_LABELS, p.spending_plan, strict=True):
            if end - 1 > col:
                ws.merge_range(head, col, head, end - 1, "", f.label)
                ws.merge_range(row, col, row, end - 1, "", f.percent)
            write_text(ws, head, col, label, f.label)
            # A missing checkpoint stays an empty cell: blank is not 0%.
            if value is None:
                ws.write_blank(row, col, None, f.percent)
            else:
                ws.write_number(row, col, float(value / 100), f.percent)
        ws.set_row(head, 20)

    def _merged_text(self, ws: Worksheet, row: int, first: int, last: int, text: str) -> None:
        if last > first:
            ws.merge_range(row, first, row, last, "", self.f.text)
        write_text(ws, row, first, text, self.f.text)

    def _indicators(self, ws: Worksheet, p: Project) -> int:
        """Write the indicator table with its spare rows; return the 0-based index of its last row."""
        f = self.f
        head, first, last = _row(ROW_IND_HEAD), _row(ROW_IND_FIRST), LAST_COL
        basis_col = len(INDICATOR_HEADER) - 1
        for col, label in enumerate(INDICATOR_HEADER):
            if col == basis_col:
                ws.merge_range(head, col, head, last, "", f.header)
            write_text(ws, head, col, label, f.header)
        ws.set_row(head, 22)
        for i, ind in enumerate(p.indicators):
            row = first + i
            # 一级/二级 on every row so the dependent dropdowns work; the conditional format
            # below greys repeats so the sheet still reads like the merged official form.
            values = (ind.level1, ind.level2, ind.level3, ind.description, ind.value, ind.basis)
            for col, value in enumerate(values):
                if col == basis_col:
                    ws.merge_range(row, col, row, last, "", f.text)
                write_text(ws, row, col, value, f.center if col < 2 else f.text)
            widths = (*FORM_WIDTHS[:basis_col], sum(FORM_WIDTHS[basis_col:]))
            ws.set_row(row, _height(max(_text_lines(v, w) for v, w in zip(values, widths, strict=True))))
        end = first + len(p.indicators) + SPARE_INDICATOR_ROWS - 1
        self._dropdowns(ws, first, end)
        if self.checks:
            self._check_cells(ws, first, end)
        ws.conditional_format(
            first + 1, 0, end, 0,
            {"type": "formula", "criteria": f"=AND($A{first + 2}<>\"\",$A{first + 2}=$A{first + 1})", "format": f.grey},
        )  # fmt: skip
        ws.conditional_format(
            first + 1,
            1,
            end,
            1,
            {
                "type": "formula",
                "criteria": f'=AND($B{first + 2}<>"",$A{first + 2}=$A{first + 1},$B{first + 2}=$B{first + 1})',
                "format": f.grey,
            },
        )
        return end

    def _check_cells(self, ws: Worksheet, first: int, end: int) -> None:
        """Write the 检查 column (each indicator row's findings) and the sheet's status cell above it."""
        ws.set_column(COL_CHECK, COL_CHECK, CHECK_WIDTH)
        ws.write_formula(_row(ROW_TITLE), COL_CHECK, f"={STATUS_FUNCTION}()", self.f.status, "")
        write_text(ws, _row(ROW_IND_HEAD), COL_CHECK, CHECK_HEADER, self.f.header)
        for row in range(first, end + 1):
            cells = [xl_rowcol_to_cell(row, col) for col in range(len(INDICATOR_HEADER) - 1)]
            # Blank rows call nothing, so an empty form never starts Python.
            formula = f'=IF(COUNTA({cells[0]}:{cells[-1]})=0,"",{CHECK_FUNCTION}({",".join(cells)}))'
            ws.write_formula(row, COL_CHECK, formula, self.f.check, "")

    def _dropdowns(self, ws: Worksheet, first: int, end: int) -> None:
        scheme_name = "财预〔2015〕88号" if self.scheme == "H" else "财预〔2021〕101号"
        common = {
            "validate": "list",
            "ignore_blank": True,
            "error_type": "warning",
            "error_title": "不在指标体系中",
            "error_message": f"所填名称不在{scheme_name}指标体系中。可以保留，校验时会提示。",
        }
        ws.data_validation(first, 0, end, 0, {**common, "source": f"={LEVEL1_LIST_NAME}"})
        ws.data_validation(first, 1, end, 1, {**common, "source": f"=INDIRECT($A{first + 1})"})

    # --- 部门汇总 and _lists --------------------------------------------------------------------

    def _summary(self) -> None:
        """Write only the header of 部门汇总: the roll-up writer fills the rows later.

        That writer also re-points the defined name ``部门预算总额`` at its total cell, which the
        部门 sheet's total formula reads.
        """
        ws = self.book.add_worksheet(SUMMARY_SHEET)
        for col, (head, width) in enumerate(zip(SUMMARY_HEADER, SUMMARY_WIDTHS, strict=True)):
            ws.set_column(col, col, width)
            write_text(ws, 0, col, head, self.f.header)
        ws.freeze_panes(1, 0)
        setup_print(ws, landscape=True)

    def _lists(self) -> None:
        ws = self.book.add_worksheet(LISTS_SHEET)
        pairs = SCHEMES[self.scheme]
        write_text(ws, 0, 0, INDICATOR_HEADER[0])
        for row, level1 in enumerate(pairs, 1):
            write_text(ws, row, 0, level1)
        self.book.define_name(LEVEL1_LIST_NAME, _range(LISTS_SHEET, 0, 1, len(pairs)))
        for col, (level1, level2s) in enumerate(pairs.items(), 1):
            write_text(ws, 0, col, level1)
            for row, level2 in enumerate(level2s, 1):
                write_text(ws, row, col, level2)
            self.book.define_name(level1, _range(LISTS_SHEET, col, 1, len(level2s)))
        ws.hide()


def setup_print(ws: Worksheet, *, landscape: bool) -> None:
    """Set ``ws`` to print on A4, one page wide, centred; return None."""
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.center_horizontally()


def _range(sheet: str, col: int, first_row: int, count: int) -> str:
    return f"={quote_sheetname(sheet)}!{xl_range_abs(first_row, col, first_row + count - 1, col)}"
