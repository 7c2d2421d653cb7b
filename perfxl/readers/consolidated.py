"""Reads a consolidated workbook back into its rows, so a lower level's result merges again.

Columns are found by their header in row 1 (never by position), continuation sheets (指标2 …)
are read after their first sheet, and every row keeps the 来源文件 it already carried. The
cross-file findings are dropped: the consolidation that reads them recomputes them over
everything it merges. Of 来源 the rejected files are read, since their data is missing below and
every level above must be told, and the merged files' SHA256, so that one given again is told.

A province merges its cities' results, each holding hundreds of thousands of 指标 and 问题 rows,
so those two tables are read row by row and never held as Python rows all at once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from types import TracebackType
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from perfxl.errors import SourceError
from perfxl.readers.grid import a1, cell_text
from perfxl.readers.safety import WorkbookPackage
from perfxl.tables import (
    CONSOLIDATED_MARKERS,
    CROSS_FILE_PREFIX,
    CROSS_FILE_RULES,
    INDICATOR_COLUMNS,
    INDICATORS,
    ISSUE_COLUMNS,
    ISSUES,
    PROJECT_COLUMNS,
    PROJECTS,
    SOURCE_COLUMNS,
    SOURCES,
    UNIT_COLUMNS,
    UNITS,
    Kind,
    Status,
    kind,
)
from perfxl.values import parse_amount

Row = tuple[Any, ...]
_RULE = ISSUE_COLUMNS.index("规则")
_MESSAGE = ISSUE_COLUMNS.index("说明")
_STATUS = SOURCE_COLUMNS.index("状态")


def is_consolidated(sheet_names: list[str] | dict[str, Any]) -> bool:
    """Return True when the sheet names are those of a consolidated workbook (来源, 项目, 指标)."""
    return set(sheet_names) >= CONSOLIDATED_MARKERS


class ConsolidatedReader:
    """A consolidated workbook open for reading: its small tables whole, 指标 and 问题 row by row.

    Every method raises SourceError when the workbook is broken or a column is missing or wrong.
    """

    def __init__(self, package: WorkbookPackage) -> None:
        self.file = package.file
        try:
            self.book = CalamineWorkbook.from_filelike(io.BytesIO(package.data))
        except CalamineError as exc:
            raise SourceError(self.file, f"汇总工作簿已损坏（{exc}）") from None
        self.names = list(self.book.sheet_names)

    def __enter__(self) -> ConsolidatedReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.book.close()

    def units(self) -> list[Row]:
        """Return the rows of 单位."""
        return list(self._table(UNITS, UNIT_COLUMNS))

    def projects(self) -> list[Row]:
        """Return the rows of 项目."""
        return list(self._table(PROJECTS, PROJECT_COLUMNS))

    def sources(self) -> tuple[list[Row], dict[str, str]]:
        """Return the 来源 rows of the files that consolidation rejected, and those it merged as SHA256 → 文件."""
        sha = SOURCE_COLUMNS.index("SHA256")
        rejected: list[Row] = []
        merged: dict[str, str] = {}
        for row in self._table(SOURCES, SOURCE_COLUMNS):
            if row[_STATUS] == Status.REJECTED.value:
                rejected.append(row)
            elif row[_STATUS] == Status.ACCEPTED.value and row[sha]:
                merged[str(row[sha])] = str(row[0])
        return rejected, merged

    def indicators(self) -> Iterator[Row]:
        """Yield the rows of 指标 and its continuation sheets, in order."""
        return self._table(INDICATORS, INDICATOR_COLUMNS)

    def issues(self) -> Iterator[Row]:
        """Yield the rows of 问题 but the cross-file findings, which the merge recomputes."""
        for row in self._table(ISSUES, ISSUE_COLUMNS):
            if not (row[_RULE] in CROSS_FILE_RULES and str(row[_MESSAGE]).startswith(CROSS_FILE_PREFIX)):
                yield row

    def _table(self, table: str, columns: tuple[str, ...]) -> Iterator[Row]:
        try:
            yield from _table(self.book, self.names, table, columns, self.file)
        except CalamineError as exc:
            raise SourceError(self.file, f"汇总工作簿已损坏（{exc}）") from None


def _sheets_of(names: list[str], table: str) -> list[str]:
    """Return the sheets holding ``table``: its own and its continuations (指标2, 指标3 …) in order."""
    pattern = re.compile(rf"{re.escape(table)}(\d*)")
    found = [(int(m.group(1) or 1), name) for name in names if (m := pattern.fullmatch(name))]
    return [name for _, name in sorted(found)]


def _picker(indices: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Return a function taking the items at ``indices`` of a sequence, as a tuple, in C."""
    if len(indices) > 1:
        return itemgetter(*indices)
    return lambda values: tuple(values[i] for i in indices)


_ONLY_TEXT = frozenset({str})


def _table(book: CalamineWorkbook, names: list[str], table: str, columns: tuple[str, ...], file: str) -> Iterator[Row]:
    kinds = [kind(c) for c in columns]
    texts = [n for n, k in enumerate(kinds) if k is Kind.TEXT]
    others = [n for n, k in enumerate(kinds) if k is not Kind.TEXT]
    # A row is taken as (its text cells, its other cells) and put back in column order: a
    # county's result has hundreds of thousands of rows, and this keeps the per-cell work in C.
    in_order = _picker([(texts + others).index(n) for n in range(len(columns))])
    for sheet_name in _sheets_of(names, table):
        rows = book.get_sheet_by_name(sheet_name).iter_rows()
        header = [cell_text(v).strip() for v in next(rows, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise SourceError(file, f"汇总工作簿的「{sheet_name}」表缺少列：{'、'.join(missing)}")
        where = [header.index(c) for c in columns]
        width = max(where) + 1
        text_cells = _picker([where[n] for n in texts])
        other_cells = [(where[n], kinds[n], columns[n]) for n in others]
        for r, values in enumerate(rows, 1):
            if not any(values) and not any(v != "" for v in values):
                continue
            if len(values) < width:
                values = [*values, *[""] * (width - len(values))]
            text = text_cells(values)
            if not (_ONLY_TEXT.issuperset(map(type, text)) and "\r" not in "".join(text)):
                text = tuple(map(cell_text, text))
            other = tuple(_value(values[i], k, file, sheet_name, r, i, col) for i, k, col in other_cells)
            yield in_order(text + other)


def _value(value: Any, k: Kind, file: str, sheet: str, row: int, col: int, column: str) -> Any:
    """Return a cell as its column holds it: text, exact money, or a number (None when blank)."""
    if k is Kind.TEXT:
        return cell_text(value)
    if value == "" or value is None:
        return None
    if k is Kind.MONEY:
        amount: Decimal | None = parse_amount(value) if isinstance(value, int | float | str) else None
        if amount is not None:
            return amount
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if k is Kind.INTEGER else float(value)
    raise SourceError(file, f"汇总工作簿「{sheet}」表 {a1(row, col)} 的{column}「{cell_text(value)}」不是数字")
