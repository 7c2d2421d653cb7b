"""The xlwings grid source: a workbook open in Excel, read into the same grids as a file.

The label parser (``perfxl.readers.grid``) then gives the same department and findings as
``perfxl validate`` on the saved file. Values are read sheet by sheet in one call each; error
values come back as their text (``#REF!``) and become cell issues, as the file reader's XML
scan reports them. Merged ranges are read where the engine can tell (desktop Excel); the
xlwings Server engine cannot, and its grids simply have none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import xlwings as xw

from perfxl.model import ReadResult
from perfxl.readers.grid import SKIP_SHEETS, Cell, CellIssue, Grid, a1, parse_grids

# Excel's error values as xlwings spells them with err_to_str.
ERROR_VALUES = frozenset(
    {
        "#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!",
        "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#UNKNOWN!", "#BUSY!", "#DATA!",
    }
)  # fmt: skip

Merge = tuple[int, int, int, int]


def sheet_grid(sheet: xw.Sheet, *, merges: bool = True) -> tuple[Grid, list[CellIssue]]:
    """Return ``sheet`` as a grid (values from A1 to the end of the used range) and its error cells."""
    last = sheet.used_range.last_cell
    values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2, empty="", err_to_str=True).value
    rows: list[list[Cell]] = []
    issues: list[CellIssue] = []
    for r, row in enumerate(values):
        cells: list[Cell] = []
        for c, value in enumerate(row):
            if isinstance(value, str) and value in ERROR_VALUES:
                issues.append(CellIssue(sheet.name, a1(r, c), "error", value))
                value = ""
            cells.append("" if value is None else value)
        rows.append(cells)
    spans = _merges(sheet, last.row, last.column) if merges else []
    return Grid(sheet.name, rows, spans, sheet_hidden=not sheet.visible), issues


def _merges(sheet: xw.Sheet, rows: int, columns: int) -> list[Merge]:
    """Return the sheet's merged ranges as 0-based (first row, first column, last row, last column)."""
    merges: list[Merge] = []
    try:
        for r in range(1, rows + 1):
            # MergeCells is False for a row with no merged cell: one call skips most rows.
            if sheet.range((r, 1), (r, columns)).merge_cells is False:
                continue
            for c in range(1, columns + 1):
                area = sheet.range((r, c)).merge_area
                height, width = area.shape
                if (area.row, area.column) == (r, c) and height * width > 1:
                    merges.append((r - 1, c - 1, r + height - 2, c + width - 2))
    except NotImplementedError:
        # xlwings Server sends no merge information; the parser reads its forms without it.
        return []
    return merges


def book_grids(book: xw.Book, progress: Callable[[str], None] | None = None) -> tuple[list[Grid], list[CellIssue]]:
    """Return the grids of every worksheet perfxl reads, in tab order, and their error cells."""
    sheets = [s for s in book.sheets if s.name not in SKIP_SHEETS]
    grids: list[Grid] = []
    issues: list[CellIssue] = []
    for n, sheet in enumerate(sheets, 1):
        if progress is not None:
            progress(f"正在读取工作表「{sheet.name}」（{n}/{len(sheets)}）…")
        grid, found = sheet_grid(sheet)
        grids.append(grid)
        issues += found
    return grids, issues


def read_book(book: xw.Book, progress: Callable[[str], None] | None = None) -> ReadResult:
    """Return the department parsed from the open workbook ``book``, or raise SourceError."""
    grids, issues = book_grids(book, progress)
    return parse_grids(book.fullname, grids, scan=lambda sheets: _issues_in(issues, sheets))


def _issues_in(issues: list[CellIssue], sheets: set[str]) -> Iterator[CellIssue]:
    return (issue for issue in issues if issue.sheet in sheets)
