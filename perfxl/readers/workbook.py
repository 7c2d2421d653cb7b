"""Reads a department workbook file (.xlsx/.xlsm): python-calamine grids for the label parser.

Values come from python-calamine (cached formula values); the two things calamine cannot tell
apart from an empty cell, error values and formulas saved without a value, come from one cheap
scan of the sheet's XML. ``perfxl.readers.grid`` turns the grids into the department.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from perfxl import paths
from perfxl.errors import SourceError
from perfxl.model import ReadResult, Severity
from perfxl.readers.consolidated import is_consolidated
from perfxl.readers.grid import SKIP_SHEETS, STR_CODE, CellIssue, Grid, Problem, a1, cell_text, parse_grids
from perfxl.readers.safety import CELL_ISSUE_MARKS, ENCRYPTED, LIMITS, WorkbookPackage, open_workbook, read_bytes

# A 绩效目标表 is a few dozen KB of XML; a far bigger sheet is skipped with a warning. Whole-file
# bounds (zip bombs, absurd ranges, encrypted or foreign files) are ``perfxl.readers.safety``'s.
MAX_SHEET_BYTES = 64 << 20
# The cells of all sheets held at once. The safety pass bounds each sheet; a file of many sheets
# each just inside that bound would still fill the memory of a PC with no per-process limit
# (Windows), so the sheets together get the bound of one (a department needs some 50,000).
MAX_WORKBOOK_CELLS = LIMITS.max_cells
EMPTY_WORKBOOK = "工作簿是空的：没有任何工作表含有内容"
TOO_MANY_CELLS = "各工作表合计超过 {limit} 万个单元格（至工作表「{sheet}」），远超部门工作簿规模，疑似异常文件，未读取"

_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF_RE = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')
_ERROR_TYPE_RE = re.compile(rb'\bt="e"')
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f\b")
_VALUE_RE = re.compile(rb"<(?:\w+:)?v>([^<]+)</(?:\w+:)?v>")


CONSOLIDATED = (
    "这是 perfxl consolidate 写出的汇总工作簿，不是部门工作簿，不能单独校验或汇总；"
    "可用 perfxl consolidate 把它与其他工作簿再次合并"
)


def read_workbook(path: Path, *, package: WorkbookPackage | None = None) -> ReadResult:
    """Return the department parsed from the workbook at ``path``, or raise SourceError."""
    # ``package`` is the already checked file (perfxl consolidate reads and hashes it once).
    file = paths.shown(path)
    if package is None:
        with (package := open_workbook(read_bytes(path), file)).zip:
            return read_workbook(path, package=package)
    parts = package.sheets
    grids: list[Grid] = []
    problems: list[Problem] = []
    cells = 0
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(package.data)) as book:
            if is_consolidated(book.sheet_names):
                raise SourceError(file, CONSOLIDATED)
            for meta in book.sheets_metadata:
                if meta.name in SKIP_SHEETS or meta.typ != SheetTypeEnum.WorkSheet:
                    continue
                size = parts.get(meta.name, ("", 0))[1]
                if size > MAX_SHEET_BYTES:
                    problems.append(
                        Problem(
                            STR_CODE, Severity.WARNING,
                            f"工作表「{meta.name}」解压后达 {size // 2**20} MB，不像绩效目标表，未读取",
                            meta.name, "A1",
                        )
                    )  # fmt: skip
                    continue
                sheet = book.get_sheet_by_name(meta.name)
                bottom, right = sheet.end or (-1, -1)
                cells += (bottom + 1) * (right + 1)
                if cells > MAX_WORKBOOK_CELLS:
                    raise SourceError(file, TOO_MANY_CELLS.format(limit=MAX_WORKBOOK_CELLS // 10**4, sheet=meta.name))
                merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []]
                hidden = meta.visible != SheetVisibleEnum.Visible
                grids.append(Grid(meta.name, sheet.to_python(skip_empty_area=False), merges, sheet_hidden=hidden))
    except PasswordError:
        raise SourceError(file, ENCRYPTED) from None
    except (CalamineError, ValueError, OSError) as exc:
        raise SourceError(file, f"工作簿已损坏或格式无法识别（{exc}）；请用 Excel 或 WPS 打开后另存为 .xlsx") from None
    if not any(any(v != "" for v in row) for grid in grids for row in grid.rows):
        raise SourceError(file, EMPTY_WORKBOOK)
    return parse_grids(file, grids, problems=problems, scan=lambda sheets: _scan(package, sheets))


def _scan(package: WorkbookPackage, sheets: set[str]) -> Iterator[CellIssue]:
    """Yield the error cells and formulas saved without a value of ``sheets``, from their XML."""
    try:
        for name, (part, _) in package.sheets.items():
            if name in sheets and part and name in package.marked:
                for cell, kind, value in scan_sheet_xml(package.zip.read(part)):
                    yield CellIssue(name, cell, "error" if kind == "error" else "nocache", value)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SourceError(package.file, f"工作簿已损坏（{exc}）") from None


def scan_sheet_xml(data: bytes) -> Iterator[tuple[str, str, str]]:
    """Yield ``(cell, kind, value)`` per error cell (``error``) and formula saved without a value (``nocache``)."""
    # Plain substring tests first: most sheets hold neither, and these are far cheaper than a regex.
    if not any(mark in data for mark in CELL_ISSUE_MARKS):
        return
    for m in _CELL_RE.finditer(data):
        attrs, body = m.group(1), m.group(2) or b""
        ref = _REF_RE.search(attrs)
        if ref is None:
            continue
        value = _VALUE_RE.search(body)
        if _ERROR_TYPE_RE.search(attrs):
            yield ref.group(1).decode(), "error", value.group(1).decode("utf-8", "replace") if value else ""
        elif _FORMULA_RE.search(body) and value is None:
            yield ref.group(1).decode(), "nocache", ""


__all__ = ["a1", "cell_text", "read_workbook", "scan_sheet_xml"]
