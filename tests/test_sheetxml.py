"""The consolidated workbook's rendered rows against XlsxWriter, the writer they replace.

The oracle is XlsxWriter itself: the same rows written the way the consolidated writer used to
write them (constant-memory mode, ``write_string`` / ``write_number`` under the column formats),
read back from the file's sheet XML. Text shaped like XlsxWriter's pre-rendered rich strings
(``<r>…</r>``) is the one deliberate difference: XlsxWriter would copy it into the sheet as
markup, so the old writer wrote it as a rich string of plain fragments and the renderer writes
it as plain escaped text; there the two workbooks must read back the same.
"""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from perfxl.tables import COLUMNS, INDICATORS, ISSUES, PROJECTS, SOURCES, UNITS, Kind, kind
from perfxl.writers.cells import write_text
from perfxl.writers.consolidated import (
    COLUMN_STYLES,
    ConsolidatedWriter,
    SummaryData,
    _Formats,
    render,
)
from perfxl.writers.sheetxml import MAX_TEXT, number_text, numbered
from perfxl.writers.workbook import FONT
from tests.lo import SOFFICE, sheets_as_csv

Row = tuple[Any, ...]
XML_NAME = '<r><t>x</t></r></is></c><c r="Z1"><f>HYPERLINK("http://evil","x")</f></c><c><is><r><t>y</t></r>'
TEXTS: dict[str, str | None] = {
    "plain": "承德市工业和信息化局",
    "formula": '=HYPERLINK("http://evil","点我")',
    "dde": "=cmd|' /C calc'!A0",
    "plus-minus-at": "+1-2@SUM(A1)",
    "xml-specials": "a & b < c > d \" e ' f",
    "entity-shaped": "&amp; &#x41; &lt;",
    "control": "前\x01中\x1f后\x0b\x0c\x08\x00",
    "carriage-return": "第一行\r\n第二行",
    "escape-shaped": "_x0041_ _x00e9_ _X0041_ _x12345_",
    "escape-and-control": "_x0001_\x01",
    "noncharacters": "\ufffe\uffff",
    "leading-space": "  前导空格",
    "trailing-space": "尾随空格 ",
    "only-space": " ",
    "ideographic-space": "\u3000全角空格\u3000",
    "nbsp": "\xa0不间断",
    "newlines": "第一行\n第二行\n",
    "leading-newline": "\n行",
    "tab": "\t制表\t",
    "emoji": "😀👍🏽 表情 🇨🇳",
    "long": "长" * 40_000,
    "long-emoji": "😀" * 20_000,
    "long-exact": "x" * MAX_TEXT,
    "long-needs-escape": "&" * 20_000,
    "empty": "",
    "none": None,
}
RICH_SHAPED = {"rich": "<r>x</r>", "rich-injection": XML_NAME}
NUMBERS: list[Any] = [
    Decimal("0"), Decimal("-12.5"), Decimal("123456789.123"), Decimal("0.1"), Decimal("1E+20"), Decimal("-0.00"),
    0, -7, 2**53 + 1, 0.0, -0.0, 1e-7, -1e-7, 123456789.123, 0.1 + 0.2, 1e20, 1e-300, 5e-324, 12.5, None, "",
]  # fmt: skip
OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_format_properties": {"font_name": FONT, "font_size": 11},
}
TABLES = (UNITS, PROJECTS, INDICATORS, ISSUES, SOURCES)


def row_of(name: str, text: str | None, number: Any) -> Row:
    """Return a row of table ``name`` with ``text`` in every text column and ``number`` in every number column."""
    return tuple(text if kind(c) is Kind.TEXT else number for c in COLUMNS[name])


def tricky_rows(name: str, texts: dict[str, str | None]) -> list[tuple[str, Row]]:
    """Return (case, row) pairs: each text with a number, each number with a text, a sparse and an empty row."""
    cases = [(case, row_of(name, text, NUMBERS[n % len(NUMBERS)])) for n, (case, text) in enumerate(texts.items())]
    cases += [(f"number {n!r}", row_of(name, "文本", n)) for n in NUMBERS]
    filled = [v for v in texts.values() if v]
    sparse = tuple(
        (None, "", filled[c] if kind(column) is Kind.TEXT else NUMBERS[c])[c % 3]
        for c, column in enumerate(COLUMNS[name])
    )
    return [*cases, ("sparse", sparse), ("all empty", row_of(name, None, None))]


def write_like_xlsxwriter(book: Any, formats: _Formats, name: str, rows: list[Row], sheet: str = "") -> None:
    """Write table ``name``'s ``rows`` into a new sheet, as the consolidated writer did with XlsxWriter."""
    ws = book.add_worksheet(sheet or name)
    for c, column in enumerate(COLUMNS[name]):
        ws.set_column(c, c, 12, formats.by_kind.get(kind(column)))
        ws.write_string(0, c, column, formats.header)
    for r, values in enumerate(rows, 1):
        for c, column in enumerate(COLUMNS[name]):
            value = values[c]
            if kind(column) is Kind.TEXT:
                if value:
                    write_text(ws, r, c, value)
            elif value is not None and value != "":
                ws.write_number(r, c, float(value))


def sheet_rows(xml: str) -> dict[int, str]:
    """Return the ``<row>`` elements of a sheet's XML by row number."""
    return {int(m.group(1)): m.group(0) for m in re.finditer(r'<row r="(\d+)"[^>]*>.*?</row>', xml, re.S)}


def part(xml: str, element: str) -> str:
    """Return the content of the first ``element`` in ``xml``."""
    found = re.search(rf"<{element}[^>]*>(.*?)</{element}>", xml, re.S)
    assert found is not None, element
    return found.group(1)


def attribute(xml: str, name: str) -> str:
    """Return the value of the first attribute ``name`` in ``xml``."""
    found = re.search(rf'{name}="([^"]*)"', xml)
    assert found is not None, name
    return found.group(1)


def grids(book: Path) -> dict[str, list[list[Any]]]:
    """Return every sheet of ``book`` as python-calamine reads it."""
    with CalamineWorkbook.from_path(str(book)) as wb:
        return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


@pytest.mark.parametrize("name", TABLES)
def test_rendered_rows_are_what_xlsxwriter_writes(name: str, tmp_path: Path) -> None:
    cases = tricky_rows(name, TEXTS)
    rows = [row for _, row in cases]
    oracle = tmp_path / "xlsxwriter.xlsx"
    book = xlsxwriter.Workbook(str(oracle), OPTIONS)
    write_like_xlsxwriter(book, _Formats(book), name, rows)
    book.close()
    with zipfile.ZipFile(oracle) as zf:
        expected = sheet_rows(zf.read("xl/worksheets/sheet1.xml").decode())
    rendered = render(name, rows)
    for n, ((case, _), xml) in enumerate(zip(cases, rendered, strict=True), 2):
        assert numbered([xml], n).decode() == expected.get(n, ""), case
    assert b"\x00" not in numbered(rendered, 2)


def test_rich_string_shaped_text_is_escaped_plain_text() -> None:
    (xml,) = render(ISSUES, [row_of(ISSUES, "<r>x</r>", None)])
    cell = '<c r="A2" t="inlineStr"><is><t>&lt;r&gt;x&lt;/r&gt;</t></is></c>'
    assert (
        numbered([xml], 2).decode()
        == f'<row r="2">{cell}{cell.replace("A2", "B2")}'
        + "".join(cell.replace("A2", f"{col}2") for col in "CDEFGHI")
        + "</row>"
    )


def test_a_number_that_is_not_finite_is_refused() -> None:
    for value in (float("nan"), float("inf"), -float("inf"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError, match="不是有限数"):
            number_text(value)


def test_column_styles_are_the_column_formats_in_the_workbook(tmp_path: Path) -> None:
    out = tmp_path / "styles.xlsx"
    writer = ConsolidatedWriter(out)
    rows = [row_of(PROJECTS, "文本", Decimal("1.5"))]
    writer.projects(render(PROJECTS, rows), rows)
    writer.finish(SummaryData([], [], []), [], [])
    with zipfile.ZipFile(out) as zf:
        styles = zf.read("xl/styles.xml").decode()
        sheet = zf.read("xl/worksheets/sheet3.xml").decode()
    codes = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%"}
    codes |= {int(i): c for i, c in re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles)}
    fonts = re.findall(r"<font>.*?</font>", part(styles, "fonts"), re.S)
    xfs = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", part(styles, "cellXfs"), re.S)
    expected = {Kind.MONEY: "#,##0.00", Kind.PERCENT: "0%", Kind.INTEGER: "0", Kind.NUMBER: "General"}
    assert set(COLUMN_STYLES) == set(expected)
    for k, index in COLUMN_STYLES.items():
        xf = xfs[index]
        assert codes[int(attribute(xf, "numFmtId"))] == expected[k], k
        assert 'fillId="0"' in xf and 'borderId="0"' in xf and '<alignment vertical="top"/>' in xf, k
        font = fonts[int(attribute(xf, "fontId"))]
        assert f'<name val="{FONT}"/>' in font and "<b/>" not in font, k
    # The style of each column (<col>) is the style its cells carry, as XlsxWriter gives them.
    col_styles = {}
    for first, last, attrs in re.findall(r'<col min="(\d+)" max="(\d+)"([^>]*)/>', sheet):
        style = re.search(r'style="(\d+)"', attrs)
        for c in range(int(first), int(last) + 1):
            col_styles[c - 1] = int(style.group(1)) if style else None
    assert col_styles == {c: COLUMN_STYLES.get(kind(column)) for c, column in enumerate(COLUMNS[PROJECTS])}
    cells = re.findall(r'<c r="([A-Z]+)2"( s="\d+")?', sheet)
    assert cells and all(s == (f' s="{col_styles[ord(col) - 65]}"' if col_styles[ord(col) - 65] else "")
                         for col, s in cells)  # fmt: skip


def test_tricky_workbook_reads_back_and_opens_in_libreoffice_like_xlsxwriters(tmp_path: Path) -> None:
    texts = {**TEXTS, **RICH_SHAPED}
    rows = {name: [row for _, row in tricky_rows(name, texts)] for name in TABLES}
    ours = tmp_path / "ours.xlsx"
    writer = ConsolidatedWriter(ours, max_rows=20)
    # No tuples: they only feed the 预算数 total, and these hold floats where the run has Decimals.
    writer.projects(render(PROJECTS, rows[PROJECTS]), [])
    writer.indicators(render(INDICATORS, rows[INDICATORS]))
    writer.issues(render(ISSUES, rows[ISSUES]))
    written = writer.finish(SummaryData([], [], []), rows[UNITS], rows[SOURCES])
    oracle = tmp_path / "xlsxwriter.xlsx"
    book = xlsxwriter.Workbook(str(oracle), OPTIONS)
    formats = _Formats(book)
    book.add_worksheet("汇总")
    for name in TABLES:
        # The same split as max_rows=20: 19 rows under each header.
        for part in range(0, len(rows[name]), 19):
            sheet = f"{name}{part // 19 + 1}" if part else name
            write_like_xlsxwriter(book, formats, name, rows[name][part : part + 19], sheet)
    book.close()
    assert written.sheets == [ws.get_name() for ws in book.worksheets()]
    assert written.rows == {name: len(rows[name]) for name in TABLES}

    expected, got = grids(oracle), grids(ours)
    for sheet in written.sheets[1:]:
        assert got[sheet] == expected[sheet], sheet
    values = {v for grid in got.values() for row in grid for v in row}
    assert {"<r>x</r>", XML_NAME, TEXTS["formula"]} <= values
    with zipfile.ZipFile(ours) as zf:
        assert zf.testzip() is None
        assert not any(re.search(r"<f[ >]", zf.read(n).decode()) for n in zf.namelist() if n.endswith(".xml"))

    assert SOFFICE is not None, "LibreOffice (soffice) is needed: .ci/run installs it"
    lo_ours, lo_expected = sheets_as_csv(ours, tmp_path / "lo-ours"), sheets_as_csv(oracle, tmp_path / "lo-oracle")
    assert set(lo_ours) == set(written.sheets)
    for sheet in written.sheets[1:]:
        assert lo_ours[sheet] == lo_expected[sheet], sheet
    assert any(TEXTS["formula"] in row for row in lo_ours[PROJECTS])
