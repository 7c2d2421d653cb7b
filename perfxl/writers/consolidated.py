"""Writes the consolidated workbook (XlsxWriter, constant memory) and its Parquet copy (pyarrow).

Sheets, in tab order: 汇总, 单位, 项目, 指标 (指标2 … past Excel's row limit), 问题, 来源. The
workbook is written in XlsxWriter's constant-memory mode, where each sheet streams to its own
temporary file row by row, so memory stays flat however many rows arrive: 项目 and 指标 rows
are written as the inputs are read; 问题 rows are spooled to a temporary file (their sheet must
come after every 指标 sheet in tab order, and those are only known at the end); 汇总, 单位 and
来源 are small and written last. Every text cell goes through ``write_text``, so text from other
units never becomes a formula. The file is written under a temporary name beside the target
and renamed into place.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from perfxl.tables import (
    COLUMNS,
    EXCEL_MAX_ROWS,
    INDICATORS,
    ISSUES,
    PROJECTS,
    SOURCES,
    SUMMARY,
    UNITS,
    Kind,
    kind,
)
from perfxl.writers.cells import write_text
from perfxl.writers.workbook import FONT, MONEY_FORMAT, PERCENT_FORMAT

Row = tuple[Any, ...]
SummaryKind = Literal["unit", "subtotal", "total"]
PARQUET_BATCH_ROWS = 50_000

# Widths in Excel character units (a CJK character is about two).
WIDTHS: dict[str, float] = {
    "区划": 9, "单位编码": 11, "单位名称": 30, "项目编码": 24, "项目名称": 36, "绩效目标": 50, "资金用途": 40,
    "一级指标": 12, "二级指标": 16, "三级指标": 24, "绩效指标描述": 40, "指标值": 16, "指标值确定依据": 24,
    "说明": 60, "当前值": 20, "来源文件": 40, "文件": 50, "SHA256": 18, "原因": 60, "工作表": 10, "单元格": 8,
    "规则": 12, "级别": 6, "状态": 8, "运算符": 6, "数值": 12, "单位": 8, "类型": 10,
}  # fmt: skip
_DEFAULT_WIDTHS = {Kind.MONEY: 14.0, Kind.PERCENT: 8.0, Kind.INTEGER: 8.0, Kind.NUMBER: 12.0, Kind.TEXT: 14.0}


@dataclass
class SummaryData:
    """What 汇总 shows: the unit table with subtotals, the per-region chart data and the checks."""

    rows: list[tuple[SummaryKind, Row]]
    regions: list[tuple[str, int, int, Decimal]]
    """(区划, 单位数, 项目数, 预算数) per region, the chart's data."""
    checks: list[tuple[str, Any]]
    """(label, value) lines of the reconciliation block."""


@dataclass
class Written:
    """What the writer actually put into the sheets, for the reconciliation."""

    rows: dict[str, int] = field(default_factory=dict)
    budget: Decimal = Decimal(0)
    sheets: list[str] = field(default_factory=list)


class _Formats:
    def __init__(self, book: Workbook) -> None:
        base = {"font_name": FONT, "font_size": 11, "valign": "top"}
        self.header = book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        self.by_kind: dict[Kind, Any] = {
            Kind.MONEY: book.add_format({**base, "num_format": MONEY_FORMAT}),
            Kind.PERCENT: book.add_format({**base, "num_format": PERCENT_FORMAT}),
            Kind.INTEGER: book.add_format({**base, "num_format": "0"}),
            Kind.NUMBER: book.add_format({**base, "num_format": "General"}),
        }
        bold = {**base, "bold": True, "bg_color": "#F2F2F2"}
        self.bold_text = book.add_format(bold)
        self.bold_by_kind: dict[Kind, Any] = {
            k: book.add_format({**bold, "num_format": f.num_format}) for k, f in self.by_kind.items()
        }
        self.title = book.add_format({**base, "bold": True, "font_size": 12})
        self.bad = book.add_format({**base, "bold": True, "font_color": "#C00000"})
        self.good = book.add_format({**base, "bold": True, "font_color": "#007A33"})


class _Table:
    """One long table: header in row 1, frozen and filtered, split into 名称2 … past ``max_rows``."""

    def __init__(self, book: Workbook, formats: _Formats, name: str, max_rows: int) -> None:
        self.book = book
        self.formats = formats
        self.name = name
        self.columns = COLUMNS[name]
        self.kinds = [kind(c) for c in self.columns]
        self.max_rows = max_rows
        self.sheets: list[Worksheet] = []
        self.row = 0
        self.total = 0

    def start(self) -> None:
        """Create the table's first sheet (so it takes its place in tab order); return None."""
        self._new_sheet()

    def _new_sheet(self) -> None:
        if self.sheets:
            self._finish_sheet()
        name = self.name if not self.sheets else f"{self.name}{len(self.sheets) + 1}"
        ws = self.book.add_worksheet(name)
        for c, column in enumerate(self.columns):
            k = self.kinds[c]
            ws.set_column(c, c, WIDTHS.get(column, _DEFAULT_WIDTHS[k]), self.formats.by_kind.get(k))
            ws.write_string(0, c, column, self.formats.header)
        ws.freeze_panes(1, 0)
        self.sheets.append(ws)
        self.row = 1

    def _finish_sheet(self) -> None:
        self.sheets[-1].autofilter(0, 0, max(self.row - 1, 0), len(self.columns) - 1)

    def add(self, rows: Iterable[Row]) -> None:
        """Append ``rows`` (tuples in column order; None or '' leaves a cell empty); return None."""
        if not self.sheets:
            self._new_sheet()
        # The innermost loop of the whole run (≈ 660,000 cells at N = 200): columns are
        # pre-split by kind and the sheet's methods bound once per sheet.
        text_cols = [c for c, k in enumerate(self.kinds) if k is Kind.TEXT]
        number_cols = [c for c, k in enumerate(self.kinds) if k is not Kind.TEXT]
        ws = self.sheets[-1]
        write_string, write_number = ws.write_string, ws.write_number
        r = self.row
        for values in rows:
            if r >= self.max_rows:
                self.total += r - self.row
                self.row = r
                self._new_sheet()
                ws, r = self.sheets[-1], self.row
                write_string, write_number = ws.write_string, ws.write_number
            for c in text_cols:
                value = values[c]
                if not value:
                    continue
                if value[0] == "<" and value.endswith("</r>"):
                    write_text(ws, r, c, value)  # the rare shape that needs write_text's escaping
                else:
                    write_string(r, c, value)
            for c in number_cols:
                value = values[c]
                if value is not None and value != "":
                    # The column's number format applies to cells written without one.
                    write_number(r, c, float(value))
            r += 1
        self.total += r - self.row
        self.row = r

    def finish(self) -> list[str]:
        """Set the last sheet's filter range; return the names of the table's sheets."""
        if not self.sheets:
            self._new_sheet()
        self._finish_sheet()
        return [ws.get_name() for ws in self.sheets]


class _Parquet:
    """One table as a Parquet file, written in batches under a temporary name."""

    def __init__(self, folder: Path, name: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.columns = COLUMNS[name]
        self.kinds = [kind(c) for c in self.columns]
        types = {Kind.TEXT: pa.string(), Kind.INTEGER: pa.int64()}
        fields = [(c, types.get(k, pa.float64())) for c, k in zip(self.columns, self.kinds, strict=True)]
        self.schema = pa.schema(fields)
        self.path = folder / f"{name}.parquet"
        self.tmp = folder / f".{name}.{uuid.uuid4().hex[:12]}.parquet.tmp"
        self.writer = pq.ParquetWriter(str(self.tmp), self.schema)
        self.buffer: list[Row] = []

    def add(self, rows: Iterable[Row]) -> None:
        self.buffer.extend(rows)
        if len(self.buffer) >= PARQUET_BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        arrays = []
        for c, values in enumerate(zip(*self.buffer, strict=True)):
            k = self.kinds[c]
            if k is Kind.TEXT:
                arrays.append(self.pa.array(values, self.pa.string()))
            elif k is Kind.INTEGER:
                arrays.append(self.pa.array(values, self.pa.int64()))
            else:
                arrays.append(self.pa.array([None if v is None else float(v) for v in values], self.pa.float64()))
        self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))
        self.buffer.clear()

    def close(self) -> None:
        self.flush()
        self.writer.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


class ConsolidatedWriter:
    """Streams the consolidated workbook to a temporary file beside ``path``; ``finish`` renames it in."""

    def __init__(self, path: Path, *, max_rows: int = EXCEL_MAX_ROWS, parquet_dir: Path | None = None) -> None:
        if max_rows < 2:
            raise ValueError("max_rows must leave room for the header and one row")
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created now, so an unwritable target fails before any input is read.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".xlsx.tmp")
        os.close(fd)
        self.tmp = Path(tmp)
        self.book = xlsxwriter.Workbook(
            str(self.tmp),
            {
                "constant_memory": True,
                # Belt and braces: every text goes through write_text anyway.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_format_properties": {"font_name": FONT, "font_size": 11},
            },
        )
        self.formats = _Formats(self.book)
        self.summary_ws = self.book.add_worksheet(SUMMARY)
        self.tables = {name: _Table(self.book, self.formats, name, max_rows) for name in (UNITS, PROJECTS, INDICATORS)}
        for table in self.tables.values():
            table.start()
        self.tables[ISSUES] = _Table(self.book, self.formats, ISSUES, max_rows)
        self.tables[SOURCES] = _Table(self.book, self.formats, SOURCES, max_rows)
        self.spool: IO[bytes] = tempfile.TemporaryFile(prefix="perfxl-issues-")  # noqa: SIM115 - closed by finish/abort
        self.parquet: dict[str, _Parquet] = {}
        if parquet_dir is not None:
            parquet_dir.mkdir(parents=True, exist_ok=True)
            tables = (UNITS, PROJECTS, INDICATORS, ISSUES, SOURCES)
            self.parquet = {name: _Parquet(parquet_dir, name) for name in tables}
        self.written = Written()
        self._budget_col = COLUMNS[PROJECTS].index("预算数")

    def projects(self, rows: list[Row]) -> None:
        """Write 项目 rows now and add up their 预算数; return None."""
        self.tables[PROJECTS].add(rows)
        self.written.budget += sum((r[self._budget_col] for r in rows if r[self._budget_col] is not None), Decimal(0))
        self._parquet(PROJECTS, rows)

    def indicators(self, rows: list[Row]) -> None:
        """Write 指标 rows now (continuing on 指标2 … at the row limit); return None."""
        self.tables[INDICATORS].add(rows)
        self._parquet(INDICATORS, rows)

    def issues(self, rows: list[Row]) -> None:
        """Spool 问题 rows until ``finish`` writes their sheet; return None."""
        if rows:
            pickle.dump(rows, self.spool, protocol=pickle.HIGHEST_PROTOCOL)

    def _parquet(self, name: str, rows: list[Row]) -> None:
        if name in self.parquet:
            self.parquet[name].add(rows)

    def counts(self) -> Written:
        """Return the rows written so far per table and the 预算数 total of 项目."""
        self.written.rows = {name: t.total for name, t in self.tables.items()}
        return self.written

    def finish(self, summary: SummaryData, units: list[Row], sources: list[Row]) -> Written:
        """Write 问题, 单位, 来源 and 汇总, rename the file into place; return what was written."""
        self.tables[UNITS].add(units)
        self._parquet(UNITS, units)
        self.tables[ISSUES].start()
        for batch in self._spooled():
            self.tables[ISSUES].add(batch)
            self._parquet(ISSUES, batch)
        self.tables[SOURCES].add(sources)
        self._parquet(SOURCES, sources)
        self._summary(summary)
        for table in self.tables.values():
            table.finish()
        self.book.close()
        self.spool.close()
        self.tmp.replace(self.path)
        for parquet in self.parquet.values():
            parquet.close()
        written = self.counts()
        written.sheets = [ws.get_name() for ws in self.book.worksheets()]
        return written

    def abort(self) -> None:
        """Drop everything written so far (the temporary workbook and Parquet files); return None."""
        # XlsxWriter's temporary row files are only removed by close(), so close into the temp file.
        try:
            self.book.close()
        finally:
            self.spool.close()
            self.tmp.unlink(missing_ok=True)
            for parquet in self.parquet.values():
                parquet.abort()

    def _spooled(self) -> Iterator[list[Row]]:
        self.spool.seek(0)
        while True:
            try:
                yield pickle.load(self.spool)
            except EOFError:
                return

    def _summary(self, data: SummaryData) -> None:
        ws, f = self.summary_ws, self.formats
        columns = COLUMNS[SUMMARY]
        kinds = [kind(c) for c in columns]
        for c, column in enumerate(columns):
            ws.set_column(c, c, WIDTHS.get(column, _DEFAULT_WIDTHS[kinds[c]]))
            ws.write_string(0, c, column, f.header)
        ws.freeze_panes(1, 0)
        r = 1
        for row_kind, values in data.rows:
            bold = row_kind != "unit"
            for c, value in enumerate(values):
                if value is None or value == "":
                    continue
                if kinds[c] is Kind.TEXT:
                    write_text(ws, r, c, value, f.bold_text if bold else None)
                else:
                    number_format = (f.bold_by_kind if bold else f.by_kind)[kinds[c]]
                    ws.write_number(r, c, float(value), number_format)
            r += 1
        ws.autofilter(0, 0, r - 1, len(columns) - 1)

        # The per-region block feeds the chart (a chart needs one contiguous range); its
        # columns line up with the same columns of the table above.
        r += 1
        ws.write_string(r, 0, "按区划汇总", f.title)
        r += 1
        region_col, units_col, projects_col, budget_col = (
            columns.index(c) for c in ("区划", "单位数", "项目数", "预算数")
        )
        for c in (region_col, units_col, projects_col, budget_col):
            ws.write_string(r, c, columns[c], f.header)
        first = r + 1
        for region, units, projects, budget in data.regions:
            r += 1
            write_text(ws, r, region_col, region)
            ws.write_number(r, units_col, units, f.by_kind[Kind.INTEGER])
            ws.write_number(r, projects_col, projects, f.by_kind[Kind.INTEGER])
            ws.write_number(r, budget_col, float(budget), f.by_kind[Kind.MONEY])
        if data.regions:
            self._chart(ws, first, r, region_col, budget_col)

        r += 2
        ws.write_string(r, 0, "核对", f.title)
        for label, value in data.checks:
            r += 1
            ws.merge_range(r, 0, r, budget_col - 1, "", None)
            ws.write_string(r, 0, label)
            if isinstance(value, str):
                ws.write_string(r, budget_col, value, f.good if value == "是" else f.bad if value == "否" else None)
            elif isinstance(value, Decimal):
                ws.write_number(r, budget_col, float(value), f.by_kind[Kind.MONEY])
            else:
                ws.write_number(r, budget_col, value, f.by_kind[Kind.INTEGER])

    def _chart(self, ws: Worksheet, first: int, last: int, category_col: int, value_col: int) -> None:
        chart = self.book.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": "预算数（万元）",
                "categories": [SUMMARY, first, category_col, last, category_col],
                "values": [SUMMARY, first, value_col, last, value_col],
                "fill": {"color": "#4472C4"},
            }
        )
        chart.set_title({"name": "各区划预算数（万元）"})
        chart.set_legend({"none": True})
        chart.set_y_axis({"num_format": "#,##0"})
        ws.insert_chart(1, len(COLUMNS[SUMMARY]) + 1, chart, {"x_scale": 1.4, "y_scale": 1.2})
