"""Writes the consolidated workbook and its Parquet copy (pyarrow).

Sheets, in tab order: 汇总, 单位, 项目, 指标 (指标2 … past Excel's row limit), 问题 (问题2 …), 来源.
The long tables (单位, 项目, 指标, 问题, 来源) arrive as rendered sheet XML (``render``; the
worker processes render 项目, 指标 and 问题 while they read the inputs): each row is numbered
and appended to a temporary file per sheet as it arrives, so memory stays flat however many
rows there are. At ``finish`` XlsxWriter builds the rest of the package in memory: 汇总 with its
chart and checks, and each long table's sheets with their header row, column widths and
formats, frozen header and a filter over the rows they hold; ``_assemble`` copies that package
into the output, streaming each sheet's rows into its ``<sheetData>``. Every text is written as
plain text (never a formula or markup). The file is written under a temporary name beside the
target and renamed into place.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import xlsxwriter
from xlsxwriter.chart import Chart
from xlsxwriter.utility import xl_rowcol_to_cell
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
from perfxl.writers.files import put_in_place, temporary_beside
from perfxl.writers.sheetxml import RowRenderer, numbered
from perfxl.writers.workbook import FONT, MONEY_FORMAT, PERCENT_FORMAT, setup_print

SHARE_FORMAT = "0.0%"
# Lines of height given to each note under 汇总's checks.
NOTE_LINES = 2
# Rows left free under 汇总's region block for its chart (288 px × 1.2 over 20 px rows, and a margin).
CHART_ROWS = 19

Row = tuple[Any, ...]
SummaryKind = Literal["unit", "subtotal", "total"]
PARQUET_BATCH_ROWS = 50_000
# The long tables, in tab order after 汇总; each is rendered by ``render`` and spooled.
LONG_TABLES: tuple[str, ...] = (UNITS, PROJECTS, INDICATORS, ISSUES, SOURCES)
# Deflate level of the output. On the N = 200 benchmark's 47.5 MB of XML: level 1 takes 0.26 s
# for 6.00 MB, 3 takes 0.28 s for 5.63 MB, 6 (zlib's default, what XlsxWriter uses) 0.71 s for
# 4.91 MB. Zlib's fast strategy stops at 3; past it each level costs much more time than it saves
# space, and this is the run's last step, when nothing else is left to do in parallel.
COMPRESSLEVEL = 3
_COPY_CHUNK = 1 << 20
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')

# Widths in Excel character units (a CJK character is about two).
WIDTHS: dict[str, float] = {
    "区划": 9, "单位编码": 11, "单位名称": 30, "项目编码": 24, "项目名称": 36, "绩效目标": 50, "资金用途": 40,
    "一级指标": 12, "二级指标": 16, "三级指标": 24, "绩效指标描述": 40, "指标值": 16, "指标值确定依据": 24,
    "说明": 60, "当前值": 20, "来源文件": 40, "文件": 50, "SHA256": 18, "原因": 60, "工作表": 10, "单元格": 8,
    "规则": 12, "级别": 6, "状态": 8, "运算符": 6, "数值": 12, "单位": 8, "类型": 10,
}  # fmt: skip
_DEFAULT_WIDTHS = {
    Kind.MONEY: 14.0, Kind.PERCENT: 8.0, Kind.SHARE: 14.0, Kind.INTEGER: 8.0, Kind.NUMBER: 12.0, Kind.TEXT: 14.0,
}  # fmt: skip

# The style (xf index) of each kind of number column, as _Formats numbers its formats: 0 is
# Excel's default, 1 the header, then by_kind in order. Rows are rendered in other processes
# before the workbook exists, so the indices are fixed here (tests/test_sheetxml.py checks
# them against a workbook's styles); a text column has no style. Kind.SHARE is 汇总's alone.
COLUMN_STYLES: dict[Kind, int] = {Kind.MONEY: 2, Kind.PERCENT: 3, Kind.INTEGER: 4, Kind.NUMBER: 5}
_RENDERERS = {
    name: RowRenderer(
        [kind(c) is not Kind.TEXT for c in COLUMNS[name]], [COLUMN_STYLES.get(kind(c)) for c in COLUMNS[name]]
    )
    for name in LONG_TABLES
}


def render(name: str, rows: Iterable[Row]) -> list[bytes]:
    """Return the sheet XML of each row of the long table ``name``, the row number left as ``sheetxml.ROW``."""
    return _RENDERERS[name].rows(rows)


@dataclass
class SummaryData:
    """What 汇总 shows: the unit table with subtotals, the per-region chart data and the checks."""

    rows: list[tuple[SummaryKind, Row]]
    regions: list[tuple[str, int, int, Decimal]]
    """(区划, 单位数, 项目数, 预算数) per region, the chart's data."""
    checks: list[tuple[str, Any]]
    """(label, value) lines of the reconciliation block."""
    notes: list[str] = field(default_factory=list)
    """Lines under the checks saying how the columns are computed."""
    rules: list[Row] = field(default_factory=list)
    """(规则, 名称, 级别, 问题数, 涉及单位数) per rule and level that found something."""


@dataclass
class Written:
    """What the writer actually put into the sheets, for the reconciliation."""

    rows: dict[str, int] = field(default_factory=dict)
    budget: Decimal = Decimal(0)
    sheets: list[str] = field(default_factory=list)
    path: Path | None = None
    """Where the workbook went: the asked-for path, or a free name beside it when that was locked."""


class _Formats:
    def __init__(self, book: Workbook) -> None:
        base = {"font_name": FONT, "font_size": 11, "valign": "top"}
        self.header = book.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        self.by_kind: dict[Kind, Any] = {
            Kind.MONEY: book.add_format({**base, "num_format": MONEY_FORMAT}),
            Kind.PERCENT: book.add_format({**base, "num_format": PERCENT_FORMAT}),
            Kind.INTEGER: book.add_format({**base, "num_format": "0"}),
            Kind.NUMBER: book.add_format({**base, "num_format": "General"}),
            # One decimal: 43.5% and 44.4% of a budget are different answers.
            Kind.SHARE: book.add_format({**base, "num_format": SHARE_FORMAT}),
        }
        bold = {**base, "bold": True, "bg_color": "#F2F2F2"}
        self.bold_text = book.add_format(bold)
        self.bold_by_kind: dict[Kind, Any] = {
            k: book.add_format({**bold, "num_format": f.num_format}) for k, f in self.by_kind.items()
        }
        self.title = book.add_format({**base, "bold": True, "font_size": 12})
        self.bad = book.add_format({**base, "bold": True, "font_color": "#C00000"})
        self.good = book.add_format({**base, "bold": True, "font_color": "#007A33"})
        self.note = book.add_format({**base, "text_wrap": True})
        # XlsxWriter numbers a format when a cell or column first uses it; numbering every
        # format now, in the order added, gives the indices COLUMN_STYLES names.
        for f in (self.header, *self.by_kind.values(), self.bold_text, *self.bold_by_kind.values(), self.title,
                  self.bad, self.good, self.note):  # fmt: skip
            f._get_xf_index()


class _Sheet:
    """The data rows of one sheet of a long table: numbered XML in a temporary file."""

    def __init__(self, name: str, columns: int) -> None:
        self.name = name
        self.columns = columns
        self.rows = 0
        self.size = 0
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="perfxl-rows-")  # noqa: SIM115 - closed by the writer

    def split(self, xml: bytes) -> tuple[bytes, bytes]:
        """Return this sheet's header-only XML cut where the rows go, its dimension covering them."""
        at = xml.index(b"</sheetData>")
        dimension = f'<dimension ref="A1:{xl_rowcol_to_cell(self.rows, self.columns - 1)}"/>'
        return _DIMENSION.sub(dimension.encode(), xml[:at], count=1), xml[at:]


class _Table:
    """One long table: header in row 1, rows spooled per sheet, continued on 名称2 … past ``max_rows``."""

    def __init__(self, name: str, max_rows: int) -> None:
        self.name = name
        self.columns = COLUMNS[name]
        self.max_rows = max_rows
        self.sheets = [_Sheet(name, len(self.columns))]

    @property
    def total(self) -> int:
        """Return the number of rows spooled."""
        return sum(s.rows for s in self.sheets)

    def add(self, rows: Sequence[bytes]) -> None:
        """Number and spool ``rows`` (rendered by ``render``), starting a new sheet at the row limit; return None."""
        start = 0
        while start < len(rows):
            sheet = self.sheets[-1]
            room = self.max_rows - 1 - sheet.rows
            if room == 0:
                self.sheets.append(_Sheet(f"{self.name}{len(self.sheets) + 1}", len(self.columns)))
                continue
            batch = rows[start : start + room]
            data = numbered(batch, sheet.rows + 2)
            sheet.file.write(data)
            sheet.rows += len(batch)
            sheet.size += len(data)
            start += len(batch)

    def close(self) -> None:
        """Drop the spooled rows; return None."""
        for sheet in self.sheets:
            sheet.file.close()


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
        self.tmp = temporary_beside(self.path)
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
        put_in_place(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


def kept_beside(path: Path, other: Path) -> bool:
    """Return True when ``other`` is a name ``free_name(path)`` gives: a result kept beside a locked ``path``."""
    pattern = re.escape(path.stem) + r"-\d{8}-\d{6}(?:-\d+)?" + re.escape(path.suffix)
    return re.fullmatch(pattern, other.name) is not None and other.parent.resolve() == path.parent.resolve()


def free_name(path: Path) -> Path:
    """Return a path beside ``path`` that does not exist yet: its name plus the time, then a counter."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.stem}-{stamp}{path.suffix}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{stamp}-{n}{path.suffix}")
        n += 1
    return candidate


class ConsolidatedWriter:
    """Writes the consolidated workbook to a temporary file beside ``path``; ``finish`` renames it in."""

    def __init__(self, path: Path, *, max_rows: int = EXCEL_MAX_ROWS, parquet_dir: Path | None = None) -> None:
        if max_rows < 2:
            raise ValueError("max_rows must leave room for the header and one row")
        self.path = path
        # Created now, so an unwritable target fails before any input is read.
        self.tmp = temporary_beside(path)
        self.tables: dict[str, _Table] = {}
        self.parquet: dict[str, _Parquet] = {}
        try:
            # The spools go to the system's temporary folder, which can fail on its own.
            for name in LONG_TABLES:
                self.tables[name] = _Table(name, max_rows)
            if parquet_dir is not None:
                parquet_dir.mkdir(parents=True, exist_ok=True)
                for name in LONG_TABLES:
                    self.parquet[name] = _Parquet(parquet_dir, name)
        except BaseException:
            self.abort()
            raise
        self.written = Written()
        self._budget_col = COLUMNS[PROJECTS].index("预算数")

    def projects(self, xml: Sequence[bytes], rows: Sequence[Row]) -> None:
        """Spool rendered 项目 rows; add up the 预算数 of ``rows`` (the same rows as tuples); return None."""
        self._add(PROJECTS, xml, rows)
        self.written.budget += sum((r[self._budget_col] for r in rows if r[self._budget_col] is not None), Decimal(0))

    def indicators(self, xml: Sequence[bytes], rows: Sequence[Row] = ()) -> None:
        """Spool rendered 指标 rows (continuing on 指标2 … at the row limit); return None."""
        self._add(INDICATORS, xml, rows)

    def issues(self, xml: Sequence[bytes], rows: Sequence[Row] = ()) -> None:
        """Spool rendered 问题 rows; return None."""
        self._add(ISSUES, xml, rows)

    def _add(self, name: str, xml: Sequence[bytes], rows: Sequence[Row]) -> None:
        # With Parquet the tuples come too; they are only needed there (and for 项目's money).
        self.tables[name].add(xml)
        if name in self.parquet:
            self.parquet[name].add(rows)

    def counts(self) -> Written:
        """Return the rows written so far per table and the 预算数 total of 项目."""
        self.written.rows = {name: t.total for name, t in self.tables.items()}
        return self.written

    def finish(self, summary: SummaryData, units: list[Row], sources: list[Row]) -> Written:
        """Write 单位, 来源 and 汇总, assemble the workbook and rename it into place; return what was written."""
        self._add(UNITS, render(UNITS, units), units)
        self._add(SOURCES, render(SOURCES, sources), sources)
        self._assemble(*self._skeleton(summary))
        for table in self.tables.values():
            table.close()
        try:
            put_in_place(self.tmp, self.path)
            self.written.path = self.path
        except PermissionError:
            # On Windows, Excel and WPS lock a workbook they have open; someone opening the last
            # result during a long run must not cost the run, so it is kept under a free name.
            self.written.path = free_name(self.path)
            self.tmp.replace(self.written.path)
        for parquet in self.parquet.values():
            parquet.close()
        return self.counts()

    def abort(self) -> None:
        """Drop everything written so far (the temporary workbook, spooled rows and Parquet files); return None."""
        for table in self.tables.values():
            table.close()
        self.tmp.unlink(missing_ok=True)
        for parquet in self.parquet.values():
            parquet.abort()

    def _skeleton(self, summary: SummaryData) -> tuple[io.BytesIO, dict[str, _Sheet]]:
        """Return the workbook without the long tables' rows, and the sheet part each spool fills."""
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(
            buffer,
            {
                "in_memory": True,
                # Belt and braces: every text in 汇总 goes through write_text anyway.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "default_format_properties": {"font_name": FONT, "font_size": 11},
            },
        )
        formats = _Formats(book)
        summary_ws = book.add_worksheet(SUMMARY)
        setup_print(summary_ws, landscape=True)
        for name in LONG_TABLES:
            columns = COLUMNS[name]
            for sheet in self.tables[name].sheets:
                ws = book.add_worksheet(sheet.name)
                for c, column in enumerate(columns):
                    k = kind(column)
                    ws.set_column(c, c, WIDTHS.get(column, _DEFAULT_WIDTHS[k]), formats.by_kind.get(k))
                    ws.write_string(0, c, column, formats.header)
                ws.freeze_panes(1, 0)
                ws.autofilter(0, 0, sheet.rows, len(columns) - 1)
                setup_print(ws, landscape=True)
                ws.repeat_rows(0)
        _summary(book, summary_ws, formats, summary)
        book.close()
        sheets = {s.name: s for t in self.tables.values() for s in t.sheets}
        self.written.sheets = [ws.get_name() for ws in book.worksheets()]
        # XlsxWriter stores the n-th worksheet as sheet<n>.xml.
        parts = {f"xl/worksheets/sheet{n}.xml": sheets[name] for n, name in enumerate(self.written.sheets, 1)
                 if name in sheets}  # fmt: skip
        return buffer, parts

    def _assemble(self, skeleton: io.BytesIO, parts: dict[str, _Sheet]) -> None:
        """Write the output: every part of ``skeleton``, the long tables' sheets with their spooled rows; return None.

        The zip is written here rather than by XlsxWriter because XlsxWriter has no way to
        accept pre-rendered rows, nor to be fed from several processes: it would render every
        cell again, one at a time, in this process. Each sheet streams from its spool, so no
        sheet is ever held in memory whole.
        """
        with (
            zipfile.ZipFile(skeleton) as source,
            zipfile.ZipFile(self.tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL) as out,
        ):
            missing = parts.keys() - set(source.namelist())
            if missing:
                raise RuntimeError(f"XlsxWriter did not write the sheet parts {sorted(missing)}")
            for info in source.infolist():
                data = source.read(info)
                sheet = parts.get(info.filename)
                if sheet is None:
                    out.writestr(info.filename, data)
                    continue
                head, tail = sheet.split(data)
                size = len(head) + sheet.size + len(tail)
                # As zipfile itself decides for a member of known size.
                with out.open(info.filename, "w", force_zip64=size * 1.05 > zipfile.ZIP64_LIMIT) as member:
                    member.write(head)
                    sheet.file.seek(0)
                    shutil.copyfileobj(sheet.file, member, _COPY_CHUNK)
                    member.write(tail)


def _summary(book: Workbook, ws: Worksheet, f: _Formats, data: SummaryData) -> None:
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
    region_col, units_col, projects_col, budget_col = (columns.index(c) for c in ("区划", "单位数", "项目数", "预算数"))
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
        ws.insert_chart(r + 2, 0, _chart(book, first, r, region_col, budget_col), {"x_scale": 1.6, "y_scale": 1.2})
        r += CHART_ROWS

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
    if data.rules:
        r = _rules(ws, f, r + 2, data.rules)
    if data.notes:
        r += 2
        ws.write_string(r, 0, "说明", f.title)
    for note in data.notes:
        r += 1
        # Wrapped within the table's width, so the sheet prints one page wide at a legible size.
        ws.merge_range(r, 0, r, len(columns) - 1, "", f.note)
        write_text(ws, r, 0, note, f.note)
        ws.set_row(r, 15 * NOTE_LINES)


def _rules(ws: Worksheet, f: _Formats, r: int, rules: list[Row]) -> int:
    """Write the per-rule block from row ``r``; return its last row."""
    ws.write_string(r, 0, "按规则汇总", f.title)
    r += 1
    # 规则 spans the two narrow columns under 区划 and 单位编码; the rest line up one per column.
    ws.merge_range(r, 0, r, 1, "规则", f.header)
    for c, title in enumerate(("名称", "级别", "问题数", "涉及单位数"), 2):
        ws.write_string(r, c, title, f.header)
    for code, title, label, count, units in rules:
        r += 1
        ws.merge_range(r, 0, r, 1, "", None)
        write_text(ws, r, 0, code)
        write_text(ws, r, 2, title)
        write_text(ws, r, 3, label, f.bad if label == "错误" else None)
        ws.write_number(r, 4, count, f.by_kind[Kind.INTEGER])
        ws.write_number(r, 5, units, f.by_kind[Kind.INTEGER])
    return r


def _chart(book: Workbook, first: int, last: int, category_col: int, value_col: int) -> Chart:
    chart = book.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "预算数（万元）",
            "categories": [SUMMARY, first, category_col, last, category_col],
            "values": [SUMMARY, first, value_col, last, value_col],
            "fill": {"color": "#4472C4"},
            "data_labels": {"value": True, "num_format": "#,##0.00"},
        }
    )
    chart.set_title({"name": "各区划预算数（万元）"})
    chart.set_legend({"none": True})
    # From zero: an axis that starts near the smallest region (Excel's and LibreOffice's
    # automatic minimum) makes a region with 15% more money look several times bigger.
    chart.set_y_axis({"num_format": "#,##0", "min": 0})
    return chart
