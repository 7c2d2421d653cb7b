"""The pre-flight check of untrusted workbooks: where a sheet's cell references make it absurd.

Each case is a real workbook written by perfxl, with cells appended to its first sheet's XML;
the check must refuse exactly the sheets whose used range exceeds the limits, whichever path
(the quick one for form-sized sheets, or the reference count) it takes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from perfxl.errors import SourceError
from perfxl.readers.safety import LIMITS, Limits, open_workbook
from perfxl.readers.workbook import read_workbook
from tests.workbooks import ZUNHUA, build_book, read_parts, rewrite

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_book(ZUNHUA, tmp_path_factory.mktemp("safety") / "good.xlsx")


def with_cells(good: Path, target: Path, refs: list[str], *, blank: bytes = b" ") -> bytes:
    """Return ``good``'s bytes with a value cell at each of ``refs`` appended to its first sheet."""
    with zipfile.ZipFile(good) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
    extra = b"".join(b"<row" + blank + f'r="{_row(r)}"><c'.encode() + blank + f'r="{r}"><v>1</v></c></row>'.encode()
                     for r in refs)  # fmt: skip
    parts[SHEET] = parts[SHEET].replace(b"</sheetData>", extra + b"</sheetData>")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return target.read_bytes()


def _row(ref: str) -> str:
    return ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# (cells appended, refused?) with the default limits: 20,000,000 cells, 1,048,576 rows, XFD.
CASES = [
    (["ZZ999"], False),  # the farthest a sheet gets without a "far" reference
    (["AAA1"], False),  # a three-letter column: counted, still small
    (["A5000"], False),  # a four-digit row: counted, still small
    (["XFD1220"], False),  # 1,220 × 16,384 = 19,988,480 cells
    (["XFD1221"], True),  # 1,221 × 16,384 = 20,004,864 cells
    (["XFE1"], True),  # past Excel's last column
    (["A1048577"], True),  # past Excel's last row
    (["XFD1048576"], True),
]


@pytest.mark.parametrize(("refs", "refused"), CASES, ids=[c[0][0] for c in CASES])
@pytest.mark.parametrize("blank", [b" ", b"\n"], ids=["space", "newline"])
def test_a_sheet_is_refused_exactly_when_its_range_is_absurd(
    good: Path, tmp_path: Path, refs: list[str], refused: bool, blank: bytes
) -> None:
    data = with_cells(good, tmp_path / "book.xlsx", refs, blank=blank)
    if refused:
        with pytest.raises(SourceError, match="远超绩效目标表的规模"):
            open_workbook(data, "book.xlsx")
    else:
        open_workbook(data, "book.xlsx").zip.close()


def test_tight_limits_count_every_reference(good: Path, tmp_path: Path) -> None:
    data = with_cells(good, tmp_path / "book.xlsx", ["H60"])
    with pytest.raises(SourceError, match="远超绩效目标表的规模"):
        open_workbook(data, "book.xlsx", Limits(max_cells=100))
    open_workbook(data, "book.xlsx", LIMITS).zip.close()


@pytest.mark.parametrize(
    ("xml", "marked"),
    [
        (b'<c r="H3"><v>1</v></c>', False),
        (b'<c r="H3" t="e"><v>#REF!</v></c>', True),
        (b'<c r="H3"><f>SUM(A1:A2)</f></c>', True),
        (b'<c r="H3"><f t="shared" si="0"/></c>', True),
    ],
    ids=["value", "error", "formula", "shared-formula"],
)
def test_sheets_with_errors_or_formulas_are_marked_for_the_cell_scan(
    good: Path, tmp_path: Path, xml: bytes, marked: bool
) -> None:
    with zipfile.ZipFile(good) as zf:
        parts = {info.filename: zf.read(info) for info in zf.infolist()}
        names = zf.namelist()
    project = "xl/worksheets/sheet2.xml"  # 项目1, which holds no formula of its own
    parts[project] = parts[project].replace(b"</sheetData>", b'<row r="3">' + xml + b"</row></sheetData>", 1)
    target = tmp_path / "book.xlsx"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            zf.writestr(name, parts[name])
    package = open_workbook(target.read_bytes(), str(target))
    with package.zip:
        assert ("项目1" in package.marked) is marked


def _laughs() -> bytes:
    """Return the "billion laughs" DTD: nine levels of entities, each ten of the one below."""
    levels = ['<!ENTITY lol1 "lol">']
    levels += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(2, 10)]
    return ("<!DOCTYPE lolz [" + "".join(levels) + "]>").encode()


LAUGHS = _laughs()


def with_part(good: Path, target: Path, part: str, change: bytes | None = None) -> bytes:
    """Return ``good``'s bytes with ``change`` after the XML declaration of ``part`` (a DTD by default)."""
    head, declaration, body = read_parts(good)[part].partition(b"?>")
    changed = head + declaration + (LAUGHS if change is None else change) + body
    return rewrite(good, target, {part: changed}).read_bytes()


@pytest.mark.parametrize(
    "part",
    ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels", SHEET, "xl/sharedStrings.xml", "xl/styles.xml"],
)
def test_a_part_declaring_a_dtd_is_refused_as_an_entity_bomb(good: Path, tmp_path: Path, part: str) -> None:
    data = with_part(good, tmp_path / "book.xlsx", part)
    with pytest.raises(SourceError, match=f"工作簿的 {part} 含有 DTD 或实体声明.*疑似 XML 实体炸弹"):
        open_workbook(data, "book.xlsx")


def test_text_that_only_mentions_a_doctype_is_read(good: Path, tmp_path: Path) -> None:
    comment = b"<!-- written by a tool that quotes &lt;!DOCTYPE html&gt; -->"
    open_workbook(with_part(good, tmp_path / "book.xlsx", SHEET, comment), "book.xlsx").zip.close()


def test_many_sheets_each_inside_the_bound_are_refused_together(tmp_path: Path) -> None:
    # Each sheet spans A1:H1000000, 8 million cells, inside the bound of one sheet; the third
    # takes the workbook past the bound of all of them, before its cells are converted.
    target = tmp_path / "many.xlsx"
    book = xlsxwriter.Workbook(str(target))
    for n in range(3):
        sheet = book.add_worksheet(f"项目{n + 1}")
        sheet.write("A1", "项目编码")
        sheet.write("H1000000", "x")
    book.close()
    package = open_workbook(target.read_bytes(), str(target))
    with package.zip, pytest.raises(SourceError, match="各工作表合计超过 2000 万个单元格（至工作表「项目3」）"):
        read_workbook(target, package=package)
