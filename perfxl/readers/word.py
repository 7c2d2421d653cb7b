"""Read a published 部门预算绩效文本 from its Word document (.docx, python-docx).

python-docx gives the body's paragraphs and tables in order; this module renders them into the
Word-export text layout that ``readers.published`` already reads (one line per paragraph, one
tab-separated line per table row, an empty cell where a vertical merge continues), with the
place of every line in the document (``第 12 段``, ``第 3 个表格第 5 行``), so locations and
messages point into the document rather than at lines of a text nobody sees.

The file is untrusted: its zip directory is checked first (declared sizes, ratios, entry count)
with tighter bounds than a workbook's, since python-docx loads every part into memory, and
python-docx's XML parser resolves no entities.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from perfxl.errors import SourceError
from perfxl.model import ReadResult
from perfxl.readers.published import parse_published
from perfxl.readers.safety import Limits, check_directory, read_bytes
from perfxl.textnorm import label_key

WORD_LIMITS = Limits(max_total_bytes=256 << 20, max_part_bytes=128 << 20)
DOCUMENT_PART = "word/document.xml"
CORRUPT = "Word 文档已损坏或不完整（{error}）；请用 Word 或 WPS 打开后另存为 .docx"
NOT_DOCUMENT = "压缩包中没有 Word 正文（word/document.xml），不是 .docx 文档"
_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")


def is_word_package(names: list[str]) -> bool:
    """Return True when the zip entry ``names`` are those of a Word document."""
    return DOCUMENT_PART in names


def read_word(path: Path, limits: Limits = WORD_LIMITS) -> ReadResult:
    """Return the department read from the Word document at ``path``, or raise SourceError."""
    file = str(path)
    data = read_bytes(path, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = list(check_directory(zf, file, limits, kind="文档"))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise SourceError(file, "文件不完整或已损坏（压缩包无法打开）；请重新获取该文件") from None
    if not is_word_package(names):
        raise SourceError(file, NOT_DOCUMENT)
    try:
        document = docx.Document(io.BytesIO(data))
    # lxml's XMLSyntaxError is a SyntaxError.
    except (PackageNotFoundError, KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as exc:
        raise SourceError(file, CORRUPT.format(error=f"{type(exc).__name__}: {exc}")) from None
    lines, places = document_lines(document)
    if not any(line.strip() for line in lines):
        raise SourceError(file, "Word 文档中没有文字")
    return parse_published("\n".join(lines), file, places)


def document_lines(document: docx.document.Document) -> tuple[list[str], list[str]]:
    """Return the document body as Word-export text lines, and the place of each in the document."""
    lines: list[str] = []
    places: list[str] = []
    paragraphs = tables = 0
    for element in _blocks(document.element.body):
        if element.tag == _P:
            paragraphs += 1
            for text in Paragraph(element, document).text.split("\n"):
                lines.append(text.replace("\t", " "))
                places.append(f"第 {paragraphs} 段")
        else:
            tables += 1
            for r, row in enumerate(_rows(Table(element, document)), 1):
                lines.extend(row)
                places.extend([f"第 {tables} 个表格第 {r} 行"] * len(row))
    return lines, places


def _blocks(parent: BaseOxmlElement) -> Iterator[BaseOxmlElement]:
    """Yield the body's paragraphs and tables in order, also those inside content controls."""
    for child in parent.iterchildren():
        if child.tag in (_P, _TBL):
            yield child
        elif child.tag == _SDT:
            for content in child.iterchildren(_SDT_CONTENT):
                yield from _blocks(content)


def _rows(table: Table) -> Iterator[list[str]]:
    """Yield each table row as its text lines: the cells between tabs, as Word's text export does.

    A cell's paragraphs go on lines of their own when it is the row's last filled cell (the goal
    or the use of funds run over several lines); elsewhere, and in the indicator rows, which the
    reader takes one line per row, they are joined by a space.
    """
    indicators = False
    for tr in table._tbl.tr_lst:
        cells: list[list[str]] = []
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                cells.append([""])
            else:
                texts = [t.replace("\t", " ") for t in _Cell(tc, table).text.split("\n")]
                cells.append([t for t in texts if t.strip()] or [""])
        filled = [i for i, c in enumerate(cells) if c[0].strip()]
        last = filled[-1] if filled and not indicators else -1
        head = [" ".join(c) if i != last else c[0] for i, c in enumerate(cells)]
        yield ["\t".join(head), *(cells[last][1:] if last >= 0 else [])]
        if cells and label_key(cells[0][0]) == "一级指标":
            indicators = True
