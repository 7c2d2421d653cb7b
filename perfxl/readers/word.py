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

from perfxl import paths
from perfxl.errors import SourceError
from perfxl.model import ReadResult
from perfxl.readers import WORD_DOCUMENT_PART
from perfxl.readers.published import parse_published
from perfxl.readers.safety import Limits, check_directory, read_bytes
from perfxl.textnorm import label_key

WORD_LIMITS = Limits(max_total_bytes=256 << 20, max_part_bytes=128 << 20)
CORRUPT = "Word 文档已损坏或不完整（{error}）；请用 Word 或 WPS 打开后另存为 .docx"
NOT_DOCUMENT = "压缩包中没有 Word 正文（word/document.xml），不是 .docx 文档"
_P, _TBL, _TR, _TC, _T, _TAB = (qn(f"w:{tag}") for tag in ("p", "tbl", "tr", "tc", "t", "tab"))
_TC_PR, _V_MERGE, _VAL = qn("w:tcPr"), qn("w:vMerge"), qn("w:val")
_BREAKS = frozenset({qn("w:br"), qn("w:cr")})
# Block containers Word lets wrap paragraphs, tables, rows and cells.
_WRAPPERS = frozenset({qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml"), qn("w:smartTag")})
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# What Word does not show: deleted and moved-away text, a text box's fallback copy, properties.
_HIDDEN = frozenset(
    {qn("w:del"), qn("w:moveFrom"), qn("w:pPr"), qn("w:rPr"), qn("w:instrText"), qn("w:delText"), f"{_MC}Fallback"}
)


def read_word(path: Path, limits: Limits = WORD_LIMITS) -> ReadResult:
    """Return the department read from the Word document at ``path``, or raise SourceError."""
    file = paths.shown(path)
    data = read_bytes(path, limits)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = list(check_directory(zf, file, limits, kind="文档"))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise SourceError(file, "文件不完整或已损坏（压缩包无法打开）；请重新获取该文件") from None
    if WORD_DOCUMENT_PART not in names:
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
    for element in _children(document.element.body, (_P, _TBL)):
        if element.tag == _P:
            paragraphs += 1
            for text in paragraph_text(element).split("\n"):
                lines.append(text.replace("\t", " "))
                places.append(f"第 {paragraphs} 段")
        else:
            tables += 1
            for r, row in enumerate(_rows(element), 1):
                lines.extend(row)
                places.extend([f"第 {tables} 个表格第 {r} 行"] * len(row))
    return lines, places


def paragraph_text(p: BaseOxmlElement) -> str:
    """Return the text Word shows for the paragraph ``p``, with all tracked changes accepted.

    python-docx's ``Paragraph.text`` reads only the runs directly in the paragraph, so it misses
    tracked insertions, content controls, fields and hyperlinks' nested runs; this walks them all.
    Deleted and moved-away text, and the fallback copy of a text box, are not shown by Word.
    """
    out: list[str] = []
    _collect(p, out)
    return "".join(out)


def _collect(element: BaseOxmlElement, out: list[str]) -> None:
    for child in element.iterchildren():
        tag = child.tag
        if tag == _T:
            out.append(child.text or "")
        elif tag == _TAB:
            out.append("\t")
        elif tag in _BREAKS:
            out.append("\n")
        elif tag == _P:
            # A paragraph inside a text box starts a line of its own.
            if out:
                out.append("\n")
            _collect(child, out)
        elif tag not in _HIDDEN:
            _collect(child, out)


def _children(parent: BaseOxmlElement, tags: tuple[str, ...]) -> Iterator[BaseOxmlElement]:
    """Yield the children of ``parent`` with one of ``tags``, also those inside content controls."""
    for child in parent.iterchildren():
        if child.tag in tags:
            yield child
        elif child.tag in _WRAPPERS:
            yield from _children(child, tags)


def _cell_lines(tc: BaseOxmlElement) -> list[str]:
    """Return a cell's text lines: its paragraphs, and a nested table's rows with cells joined by spaces."""
    lines: list[str] = []
    for element in _children(tc, (_P, _TBL)):
        if element.tag == _P:
            lines.extend(paragraph_text(element).split("\n"))
        else:
            lines.extend(" ".join(row) for row in _nested_rows(element))
    return [t.replace("\t", " ") for t in lines if t.strip()] or [""]


def _nested_rows(tbl: BaseOxmlElement) -> Iterator[list[str]]:
    for tr in _children(tbl, (_TR,)):
        yield [" ".join(_cell_lines(tc)) for tc in _children(tr, (_TC,))]


def _rows(tbl: BaseOxmlElement) -> Iterator[list[str]]:
    """Yield each table row as its text lines: the cells between tabs, as Word's text export does.

    A cell's paragraphs go on lines of their own when it is the row's last filled cell (the goal
    or the use of funds run over several lines); elsewhere, and in the indicator rows, which the
    reader takes one line per row, they are joined by a space.
    """
    indicators = False
    for tr in _children(tbl, (_TR,)):
        cells = [[""] if _continues_merge(tc) else _cell_lines(tc) for tc in _children(tr, (_TC,))]
        filled = [i for i, c in enumerate(cells) if c[0].strip()]
        last = filled[-1] if filled and not indicators else -1
        head = [" ".join(c) if i != last else c[0] for i, c in enumerate(cells)]
        yield ["\t".join(head), *(cells[last][1:] if last >= 0 else [])]
        if cells and label_key(cells[0][0]) == "一级指标":
            indicators = True


def _continues_merge(tc: BaseOxmlElement) -> bool:
    """Return True for a cell that continues a vertical merge from the row above."""
    merge = tc.find(f"{_TC_PR}/{_V_MERGE}")
    return merge is not None and merge.get(_VAL) in (None, "continue")
