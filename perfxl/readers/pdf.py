"""Read a published 部门预算绩效文本 from its PDF (pdfplumber).

A PDF has no cells or paragraphs, only positioned characters and ruling lines. pdfplumber finds
the ruled tables and their cell boxes; this module turns each page into the Word-export text
layout that ``readers.published`` reads, as ``readers.word`` does for a .docx:

* a table row becomes one tab-separated line: a cell that starts in the row gives its text,
  a cell continued from the row above (a vertical merge: 一级 and 二级指标, 预算规模及资金用途)
  gives an empty cell, and a cell continued from the left (a horizontal merge) nothing, so each
  row holds the cells Word holds;
* a cell's text, wrapped over several lines to fit the column, is joined again, starting a new
  line only at a numbered item (``1.``, ``（二）``), as a goal's items are;
* lines of running text are joined into paragraphs by their geometry: a line that reaches the
  right margin continues on the next unless that one is indented (a new paragraph) or is set
  in another size; page numbers in the margin are dropped.

A PDF whose tables have no ruling lines yields no tables: its lines are then passed on as they
are, for the reader's own layout of text extracted from PDF.
"""

from __future__ import annotations

import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.page import Page
from pdfplumber.table import Table
from pdfplumber.utils.exceptions import PdfminerException

from perfxl import paths
from perfxl.errors import SourceError
from perfxl.model import ReadResult
from perfxl.readers.published import parse_published
from perfxl.readers.safety import Limits, read_bytes
from perfxl.textnorm import label_key

PDF_LIMITS = Limits(max_file_bytes=64 << 20, max_total_bytes=512 << 20)
MAX_PAGES = 2000
BOMB = "疑似压缩炸弹：PDF 中的数据流解压后超过 {size} MB，远超正常文档，未读取"
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_PIECE = 1 << 20
# How far before a stream its dictionary may start, and how an image's dictionary says so.
_DICT_REACH = 2048
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_COMMENT = re.compile(rb"%[^\r\n]*")
ENCRYPTED = "PDF 文件设有密码（已加密），无法读取；请提供未加密的文件"
CORRUPT = "PDF 文件已损坏或无法解析（{error}）"
NO_TEXT = "PDF 中没有可提取的文字（可能是扫描件或图片），无法读取；请提供 Word 文档或可复制文字的 PDF"
_ITEM_START = re.compile(r"^\s*(?:\d{1,2}\s*[.、．](?!\d)|[（(]\s*[一二三四五六七八九十\d]+\s*[)）])")
# A line that starts a heading or an item never continues the line above it.
_BLOCK_START = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+\s*、|第\s*[一二三四五六七八九十]+\s*部分|(?:项目)?绩\s*效\s*(?:目\s*标|指\s*标)\s*[:：]"
    r"|\d{1,3}\s*[.．、](?!\d)|[（(]\s*[一二三四五六七八九十\d]+\s*[)）])"
)
_PAGE_NUMBER = re.compile(r"^\s*[-—–－]?\s*(?:第\s*)?\d{1,4}\s*(?:页)?\s*[-—–－]?\s*$")
# How close (in points) two box edges must be to count as the same line.
_EPS = 1.0
# The top and bottom share of a page where a lone number is a page number, not content.
_MARGIN_SHARE = 0.12


@dataclass(frozen=True)
class _Text:
    """A line of running text on a page."""

    top: float
    x0: float
    x1: float
    size: float
    text: str


def read_pdf(path: Path, limits: Limits = PDF_LIMITS) -> ReadResult:
    """Return the department read from the PDF at ``path``, or raise SourceError."""
    file = paths.shown(path)
    data = read_bytes(path, limits)
    check_streams(data, file, limits.max_total_bytes)
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise SourceError(file, f"PDF 有 {len(pdf.pages)} 页（上限 {MAX_PAGES} 页），不像是部门预算绩效文本")
            pages = [_page(page) for page in pdf.pages]
    except SourceError:
        raise
    except (PdfminerException, PDFSyntaxError, PSException, ValueError, KeyError, TypeError, EOFError) as exc:
        # pdfplumber wraps what pdfminer raises; the wrapped error says what went wrong.
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise SourceError(file, ENCRYPTED) from None
        raise SourceError(file, CORRUPT.format(error=f"{type(cause).__name__}: {cause}")) from None
    layout = _Layout(_body_metrics([t for texts, _ in pages for t in texts]), joined=any(t for _, t in pages))
    for number, (texts, tables) in enumerate(pages, 1):
        layout.page(number, texts, tables)
    if not any(line.strip() for line in layout.lines):
        raise SourceError(file, NO_TEXT)
    return parse_published("\n".join(layout.lines), file, layout.places)


def check_streams(data: bytes, file: str, budget: int) -> None:
    """Raise SourceError when the PDF's compressed streams inflate to more than ``budget`` bytes.

    pdfminer inflates every stream it reads whole, in memory, so a few MB of deflated zeros
    would take gigabytes. No PDF library offers a bounded pre-flight, so this one is written
    here: it inflates each ``stream … endstream`` in bounded pieces, keeping only the count.
    Streams that are not deflated (JPEG images) fail to inflate and count nothing; images are
    skipped, since reading text never decodes them.
    """
    total = 0
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - _DICT_REACH) : match.start()]
        # Comments are stripped first: "%/Subtype /Image" must not pass a content stream off as an image.
        if _IMAGE.search(_COMMENT.sub(b"", head[head.rfind(b" obj") + 1 :])):
            continue
        end = data.find(b"endstream", match.end())
        segment = data[match.end() : end if end >= 0 else len(data)]
        inflater = zlib.decompressobj()
        try:
            while segment and total <= budget:
                total += len(inflater.decompress(segment, _PIECE))
                segment = inflater.unconsumed_tail
                if inflater.eof:
                    break
        except zlib.error:
            continue
        if total > budget:
            raise SourceError(file, BOMB.format(size=budget >> 20))


def _page(page: Page) -> tuple[list[_Text], list[tuple[float, list[list[str]]]]]:
    """Return a page's running-text lines and its tables (top, rows of cells), each in reading order."""
    found = page.find_tables()
    boxes = [t.bbox for t in found]
    tables = [(t.bbox[1], _table_rows(t)) for t in found]
    texts: list[_Text] = []
    height = float(page.height)

    def outside_tables(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        x, y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

    for line in page.filter(outside_tables).extract_text_lines(return_chars=True):
        middle = (line["top"] + line["bottom"]) / 2
        in_margin = middle < height * _MARGIN_SHARE or middle > height * (1 - _MARGIN_SHARE)
        if in_margin and _PAGE_NUMBER.match(line["text"]):
            continue
        sizes = Counter(round(float(ch["size"]), 1) for ch in line["chars"])
        texts.append(_Text(line["top"], line["x0"], line["x1"], sizes.most_common(1)[0][0], line["text"]))
    return texts, tables


def _table_rows(table: Table) -> list[list[str]]:
    """Return the table's rows as the cells Word holds (see the module docstring)."""
    text = table.extract()
    cells: list[tuple[float, float, float, float]] = [tuple(c) for c in table.cells]  # type: ignore[misc]
    rows: list[list[str]] = []
    for r, row in enumerate(table.rows):
        top, bottom = row.bbox[1], row.bbox[3]
        out: list[str] = []
        for c, box in enumerate(row.cells):
            if box is not None:
                out.append(_cell_text(text[r][c] or ""))
                continue
            left = _column_left(table, c)
            if left is None:
                continue
            cover = _covering(cells, left + _EPS, (top + bottom) / 2)
            if cover is None or (cover[1] < top - _EPS and abs(cover[0] - left) <= _EPS):
                out.append("")
        rows.append(out)
    return rows


def _column_left(table: Table, column: int) -> float | None:
    """Return the left edge of grid column ``column``: the x0 of any cell that starts there."""
    for row in table.rows:
        box = row.cells[column]
        if box is not None:
            return float(box[0])
    return None


def _covering(cells: list[tuple[float, float, float, float]], x: float, y: float) -> tuple[float, ...] | None:
    """Return the cell box that contains the point (x, y), if any."""
    for box in cells:
        if box[0] <= x < box[2] and box[1] <= y < box[3]:
            return box
    return None


def _cell_text(text: str) -> str:
    """Return a cell's text with its wrapped lines joined; a numbered item starts a new line."""
    out: list[str] = []
    for piece in text.split("\n"):
        if out and not _ITEM_START.match(piece):
            out[-1] += piece
        else:
            out.append(piece)
    return "\n".join(out)


@dataclass(frozen=True)
class _Body:
    left: float
    right: float
    size: float


def _body_metrics(texts: list[_Text]) -> _Body:
    """Return the left and right margins and the text size of the running text."""
    if not texts:
        return _Body(0.0, 0.0, 0.0)
    size = Counter(t.size for t in texts).most_common(1)[0][0]
    body = [t for t in texts if t.size == size] or texts
    left = Counter(round(t.x0) for t in body).most_common(1)[0][0]
    right = max(t.x1 for t in body)
    return _Body(float(left), right, size)


class _Layout:
    """Lays the pages out as text lines, one after another (an indicator table may run on)."""

    def __init__(self, body: _Body, *, joined: bool) -> None:
        self.body = body
        self.joined = joined
        self.in_indicators = False
        self.lines: list[str] = []
        self.places: list[str] = []
        # The last line of running text, across page breaks: a paragraph may run on to the next page.
        self.previous: _Text | None = None

    def page(self, number: int, texts: list[_Text], tables: list[tuple[float, list[list[str]]]]) -> None:
        """Add the page's lines in reading order, each with its place (``第 5 页``, ``第 5 页第 1 个表格第 3 行``)."""
        items: list[tuple[float, Any]] = [(t.top, t) for t in texts] + list(tables)
        items.sort(key=lambda item: item[0])
        table_no = 0
        for _, item in items:
            if isinstance(item, _Text):
                if self.joined and self.previous is not None and _continues(self.previous, item, self.body):
                    self.lines[-1] += item.text
                else:
                    self.lines.append(item.text)
                    self.places.append(f"第 {number} 页")
                self.previous = item
                continue
            table_no += 1
            self.previous = None
            for r, row in enumerate(item, 1):
                rendered = self._row(row)
                self.lines.extend(rendered)
                self.places.extend([f"第 {number} 页第 {table_no} 个表格第 {r} 行"] * len(rendered))

    def _row(self, row: list[str]) -> list[str]:
        """Return a table row as its line, and the further items of its last cell on lines of their own.

        Indicator rows stay one line each, as the reader takes them.
        """
        key = label_key(row[0]) if row else ""
        if key.startswith(("项目编码", "项目编号")):
            self.in_indicators = False
        elif key == "一级指标":
            self.in_indicators = True
        filled = [i for i, cell in enumerate(row) if cell]
        if self.in_indicators or not filled:
            return ["\t".join(cell.replace("\n", "") for cell in row)]
        last = filled[-1]
        head = [cell.replace("\n", "") if i != last else cell.split("\n")[0] for i, cell in enumerate(row)]
        return ["\t".join(head), *row[last].split("\n")[1:]]


def _continues(previous: _Text, line: _Text, body: _Body) -> bool:
    """Return True when ``line`` continues the paragraph of ``previous`` (a wrap, not a new paragraph)."""
    # Line-breaking rules (no 「，」 at a line's start) can end a wrapped line up to two
    # characters short of the margin.
    if previous.size != line.size or previous.x1 < body.right - 3 * line.size or _BLOCK_START.match(line.text):
        return False
    indented = line.x0 >= body.left + line.size * 0.9
    # A wrapped heading larger than the text is centred, so its second line looks indented.
    return not indented or line.size > body.size
