"""Checks an untrusted workbook file before any parser sees it.

Workbooks arrive from many hands: some are not workbooks at all (HTML or text saved as .xls,
legacy or encrypted Office files, random bytes), some are broken (truncated downloads), and
some are hostile (zip bombs, sheets that claim or span billions of cells, XML parts that
declare entities to expand, which no Office writer produces). python-calamine
allocates a dense grid over a sheet's used range, so a 1 KB file with one cell in A1 and one in
XFD1048576 makes it request half a terabyte and abort the whole process. No library offers a
bounded pre-flight check of an OOXML package, so this module is hand-written on ``zipfile``:
it reads only the zip directory, the package's small XML parts and each sheet's cell
references (streamed, in bounded chunks), and raises ``SourceError`` with a Chinese reason.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from perfxl import paths
from perfxl.errors import SourceError, os_reason

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Stream names of an encrypted OOXML file inside its OLE container, as stored (UTF-16LE).
_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
# Deflate cannot expand data by more than about 1032:1; the bound for an entry's real size.
MAX_DEFLATE_RATIO = 1032
MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384

TOO_BIG = "文件过大（{size} MB，上限 {limit} MB），未读取"
ENCRYPTED = "工作簿设有打开密码（已加密），无法读取；请在 Excel 或 WPS 中取消密码后另存为 .xlsx"
LEGACY = "这是旧版 Excel 97-2003 工作簿（.xls）或其他旧版 Office 文件，无法读取；请用 Excel 或 WPS 另存为 .xlsx"
WPS = "这是 WPS 表格自有格式（.et/.ett）的文件，无法读取；请在 WPS 中“另存为” Excel 工作簿（.xlsx）"
WPS_SUFFIXES = (".et", ".ett")
HTML = "这是网页（HTML）文件，只是扩展名像 Excel 工作簿（常见于其他系统导出的 .xls）；请用 Excel 打开后另存为 .xlsx"
MHT = "这是网页存档（MHT）文件，不是 Excel 工作簿；请用 Excel 打开后另存为 .xlsx"
XML2003 = "这是 Excel 2003 XML 表格，不是 .xlsx 工作簿；请用 Excel 打开后另存为 .xlsx"
TEXT = "文件内容是纯文本（如 CSV 或说明文字），不是 Excel 工作簿"
UNKNOWN = "无法识别的文件内容，不是 Excel 工作簿"
EMPTY_FILE = "文件为空（0 字节）"
CORRUPT = "工作簿已损坏（{error}）；请用 Excel 或 WPS 打开后另存为 .xlsx"
BROKEN_ZIP = "文件不完整或已损坏（压缩包无法打开），可能在下载或复制时中断；请重新获取该文件"
NOT_WORKBOOK = "这不是 Excel 工作簿（可能是 Word、PowerPoint 文档或其他压缩包）"
XLSB = "这是 Excel 二进制工作簿（.xlsb），无法读取；请用 Excel 另存为 .xlsx"
ODS = "这是 OpenDocument 表格（.ods），无法读取；请另存为 .xlsx"
BOMB = "疑似压缩炸弹：{part} 声明解压后 {size} MB，压缩比 {ratio}:1，远超正常{kind}，未读取"
TOO_LARGE_UNPACKED = "{kind}解压后达 {size} MB（上限 {limit} MB），疑似异常文件，未读取"
TOO_MANY_PARTS = "压缩包内有 {count} 个文件（上限 {limit} 个），疑似异常文件，未读取"
ABSURD_SHEET = "工作表「{sheet}」{how}的范围 {ref}（约 {cells} 个单元格）远超绩效目标表的规模，疑似异常文件，未读取"
SIZE_MISMATCH = "压缩包内的 {part} 实际内容与声明的大小或校验值不符，文件已损坏或被篡改"
DTD = "工作簿的 {part} 含有 DTD 或实体声明（Excel 和 WPS 保存的文件没有），疑似 XML 实体炸弹，未读取"
# OOXML parts never declare a DTD; one that does is built to make an XML parser expand entities.
_DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY")
# Parts calamine parses besides the sheets and the parts read here.
_PARSED_PARTS = ("xl/sharedStrings.xml", "xl/styles.xml")
_PROLOG = 4096


class _DtdFound(Exception):
    """A part declares a DTD; carries the part's name."""


@dataclass(frozen=True)
class Limits:
    """Bounds on what one workbook may make perfxl read; beyond them the file is refused."""

    max_file_bytes: int = 512 << 20
    max_total_bytes: int = 2 << 30
    max_part_bytes: int = 1 << 30
    max_ratio: int = 200
    ratio_floor: int = 1 << 20
    max_entries: int = 10_000
    max_cells: int = 20_000_000
    max_meta_bytes: int = 16 << 20


LIMITS = Limits()


@dataclass
class WorkbookPackage:
    """An OOXML workbook that passed the checks: its bytes, open zip and sheet parts."""

    file: str
    data: bytes
    zip: zipfile.ZipFile
    sheets: dict[str, tuple[str, int]]
    """Sheet name → (XML part, uncompressed size), in tab order."""
    marked: frozenset[str] = frozenset()
    """Names of the sheets whose XML holds an error value or a formula (the rest need no cell scan)."""


def read_bytes(path: Path, limits: Limits = LIMITS) -> bytes:
    """Return the whole file at ``path`` (bounded by ``limits``), or raise SourceError."""
    file = paths.shown(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(limits.max_file_bytes + 1)
    except FileNotFoundError:
        raise SourceError(file, "文件不存在") from None
    except IsADirectoryError:
        raise SourceError(file, "这是一个文件夹，请指定一个文件") from None
    except OSError as exc:
        raise SourceError(file, f"无法读取文件：{os_reason(exc)}") from None
    if len(data) > limits.max_file_bytes:
        raise SourceError(file, TOO_BIG.format(size=path.stat().st_size >> 20, limit=limits.max_file_bytes >> 20))
    return data


def content_problem(data: bytes, suffix: str = "") -> str | None:
    """Return why ``data`` (of a file ending in ``suffix``) is not an OOXML (zip) workbook, in Chinese, or None."""
    if not data:
        return EMPTY_FILE
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return None
    if data.startswith(OLE_MAGIC):
        if any(name in data for name in _ENCRYPTED_STREAMS):
            return ENCRYPTED
        return WPS if suffix.lower() in WPS_SUFFIXES else LEGACY
    head = data[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").lower()
    if head.startswith(b"mime-version:") or b"multipart/related" in head[:1024]:
        return MHT
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head and b"<workbook" in head:
        return XML2003
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or b"<html" in head or b"<table" in head:
        return HTML
    return TEXT if _looks_like_text(data[:4096]) else UNKNOWN


def _looks_like_text(sample: bytes) -> bool:
    for encoding in ("utf-8", "gb18030", "utf-16"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            # A multi-byte character cut at the sample's end is still text.
            try:
                text = sample[:-3].decode(encoding)
            except UnicodeDecodeError:
                continue
        if text and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) >= 0.95 * len(text):
            return True
    return False


def open_workbook(data: bytes, file: str, limits: Limits = LIMITS) -> WorkbookPackage:
    """Return the checked package of the workbook bytes ``data``, or raise SourceError with the reason."""
    problem = content_problem(data, Path(file).suffix)
    if problem is not None:
        raise SourceError(file, problem)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise SourceError(file, BROKEN_ZIP) from None
    try:
        infos = check_directory(zf, file, limits)
        book_part = _office_document(zf, infos, file, limits)
        sheets = _sheet_parts(zf, infos, book_part, limits)
        marked = frozenset(
            name
            for name, (part, _) in sheets.items()
            if part in infos and _check_sheet(zf, infos[part], name, file, limits)
        )
        for name in _PARSED_PARTS:
            if name in infos:
                with zf.open(infos[name]) as fh:
                    _check_prolog(fh.read(_PROLOG), name)
        for info in infos.values():
            if info.compress_size * MAX_DEFLATE_RATIO > limits.max_meta_bytes and not _is_sheet(info, sheets):
                _verify(zf, info, file)
    except SourceError:
        zf.close()
        raise
    except _DtdFound as exc:
        zf.close()
        raise SourceError(file, DTD.format(part=exc.args[0])) from None
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, OSError, EOFError, ValueError) as exc:
        zf.close()
        raise SourceError(file, CORRUPT.format(error=f"{type(exc).__name__}: {exc}")) from None
    return WorkbookPackage(file, data, zf, sheets, marked)


def check_directory(zf: zipfile.ZipFile, file: str, limits: Limits, kind: str = "工作簿") -> dict[str, zipfile.ZipInfo]:
    """Return the zip entries by name after the checks that need only the zip directory.

    ``kind`` names the package in messages (工作簿, or 文档 for a Word file).
    """
    entries = zf.infolist()
    if len(entries) > limits.max_entries:
        raise SourceError(file, TOO_MANY_PARTS.format(count=len(entries), limit=limits.max_entries))
    if any(i.flag_bits & 0x1 for i in entries):
        raise SourceError(file, ENCRYPTED if kind == "工作簿" else f"{kind}设有密码（已加密），无法读取")
    total = sum(i.file_size for i in entries)
    if total > limits.max_total_bytes:
        size, limit = total >> 20, limits.max_total_bytes >> 20
        raise SourceError(file, TOO_LARGE_UNPACKED.format(kind=kind, size=size, limit=limit))
    for i in entries:
        ratio = i.file_size // max(i.compress_size, 1)
        if i.file_size > limits.max_part_bytes or (i.file_size > limits.ratio_floor and ratio > limits.max_ratio):
            raise SourceError(file, BOMB.format(kind=kind, part=i.filename, size=i.file_size >> 20, ratio=ratio))
    return {i.filename: i for i in entries}


def _office_document(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], file: str, limits: Limits) -> str:
    if "mimetype" in infos and b"opendocument.spreadsheet" in _read(zf, infos["mimetype"], limits):
        raise SourceError(file, ODS)
    part = "xl/workbook.xml" if "xl/workbook.xml" in infos else None
    if "_rels/.rels" in infos:
        for e in _xml(zf, infos, "_rels/.rels", limits).iter():
            if e.get("Type", "").endswith("/officeDocument"):
                part = _resolve("", e.get("Target", ""))
                break
    if part is not None and part.lower().endswith(".bin") and "workbook" in part.lower():
        raise SourceError(file, XLSB)
    if part is None or part not in infos or not part.endswith(".xml") or "workbook" not in part.lower():
        raise SourceError(file, NOT_WORKBOOK)
    return part


def _sheet_parts(
    zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], book_part: str, limits: Limits
) -> dict[str, tuple[str, int]]:
    rels_part = posixpath.join(posixpath.dirname(book_part), "_rels", posixpath.basename(book_part) + ".rels")
    targets = {
        e.get("Id", ""): _resolve(book_part, e.get("Target", ""))
        for e in (_xml(zf, infos, rels_part, limits).iter() if rels_part in infos else ())
        if e.tag.endswith("Relationship")
    }
    parts: dict[str, tuple[str, int]] = {}
    for e in _xml(zf, infos, book_part, limits).iter():
        if e.tag.endswith("}sheet"):
            rid = next((v for k, v in e.attrib.items() if k.endswith("}id")), "")
            part = targets.get(rid, "")
            parts[e.get("name", "")] = (part, infos[part].file_size if part in infos else 0)
    return parts


def _is_sheet(info: zipfile.ZipInfo, sheets: dict[str, tuple[str, int]]) -> bool:
    return any(part == info.filename for part, _ in sheets.values())


# The row number of a cell (r="B12") or row (r="12") reference, and a cell reference's column.
# Writers separate attributes with one space, and a literal prefix lets the scan run 3× faster;
# the general patterns serve files that use other blanks.
_REF_ROW = re.compile(rb' r="[A-Z]{0,3}([0-9]{1,7})"')
_REF_COLUMN = re.compile(rb' r="([A-Z]{1,3})[0-9]')
_ANY_REF_ROW = re.compile(rb'\sr="[A-Z]{0,3}([0-9]{1,7})"')
_ANY_REF_COLUMN = re.compile(rb'\sr="([A-Z]{1,3})[0-9]')
_OTHER_BLANKS = (b'\tr="', b'\nr="', b'\rr="')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?"')
# A reference far enough out to matter: a three-letter column or a row number of four or
# more digits. A sheet without one spans at most 999 rows × 702 columns (A–ZZ).
_FAR_REF = re.compile(rb' r="(?:[A-Z]{3}|[A-Z]{0,2}[0-9]{4})')
_ANY_FAR_REF = re.compile(rb'\sr="(?:[A-Z]{3}|[A-Z]{0,2}[0-9]{4})')
_NEAR_CELLS = 999 * 702
_CHUNK = 4 << 20
# Longest reference a chunk boundary can cut; kept for the next chunk (re-reading it only
# repeats references already counted).
_OVERLAP = 64


# What an error value (t="e") or a cell formula (<f>, <f ...>, prefixed forms) looks like in
# a sheet's XML; a dropdown's <formula1> does not match.
CELL_ISSUE_MARKS = (b't="e"', b"<f>", b"<f ", b":f>", b":f ")


def _check_sheet(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str, file: str, limits: Limits) -> bool:
    """Refuse a sheet whose declared or real used range is absurd; return whether it holds errors or formulas.

    Streaming through ``zipfile`` in bounded chunks also proves the declared size: it stops at
    the declared length and checks the CRC, so a part that lies about its size fails here.
    The marks found on the way spare the reader a second decompression of every clean sheet.
    """
    rows: list[int] = []
    letters: set[bytes] = set()
    tail = b""
    marked = False
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                data = tail + chunk
                if not tail:
                    _check_prolog(data[:_PROLOG], info.filename)
                    _check_dimension(data, sheet, file, limits)
                odd = any(blank in data for blank in _OTHER_BLANKS)
                marked = marked or any(mark in data for mark in CELL_ISSUE_MARKS)
                whole = not tail and len(chunk) == info.file_size
                if whole and limits.max_cells >= _NEAR_CELLS and not (_ANY_FAR_REF if odd else _FAR_REF).search(data):
                    # The whole sheet, and no reference that could make its range absurd: a
                    # form-sized sheet needs no reference-by-reference count.
                    return marked
                numbers = list(map(int, (_ANY_REF_ROW if odd else _REF_ROW).findall(data)))
                if numbers:
                    rows += (min(numbers), max(numbers))
                letters.update((_ANY_REF_COLUMN if odd else _REF_COLUMN).findall(data))
                tail = data[-_OVERLAP:] or b" "
    except zipfile.BadZipFile:
        raise SourceError(file, SIZE_MISMATCH.format(part=info.filename)) from None
    if not rows:
        return marked
    columns = [_column(x) for x in letters] or [1]
    top, bottom, left, right = min(rows), max(rows), min(columns), max(columns)
    cells = (bottom - top + 1) * (right - left + 1)
    if cells > limits.max_cells or bottom > MAX_ROWS or right > MAX_COLUMNS:
        ref = f"{_letters(left)}{top}:{_letters(right)}{bottom}"
        raise SourceError(file, ABSURD_SHEET.format(sheet=sheet, how="实际使用", ref=ref, cells=_cells(cells)))
    return marked


def _check_dimension(head: bytes, sheet: str, file: str, limits: Limits) -> None:
    m = _DIMENSION.search(head, 0, 65536)
    if m is None or m.group(3) is None:
        return
    c0, r0, c1, r1 = _column(m.group(1)), int(m.group(2)), _column(m.group(3)), int(m.group(4))
    cells = (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
    if cells > limits.max_cells or max(r0, r1) > MAX_ROWS or max(c0, c1) > MAX_COLUMNS:
        ref = m.group(0).split(b'ref="')[1].rstrip(b'"').decode()
        raise SourceError(file, ABSURD_SHEET.format(sheet=sheet, how="声明", ref=ref, cells=_cells(cells)))


def _cells(n: int) -> str:
    return f"{n / 1e8:.1f} 亿" if n >= 10**8 else f"{n / 1e4:.0f} 万" if n >= 10**4 else str(n)


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _verify(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file: str) -> None:
    """Stream a part whose real size could exceed what its entry declares, proving it does not."""
    try:
        with zf.open(info) as fh:
            while fh.read(_CHUNK):
                pass
    except zipfile.BadZipFile:
        raise SourceError(file, SIZE_MISMATCH.format(part=info.filename)) from None


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    if info.file_size > limits.max_meta_bytes:
        raise zipfile.BadZipFile(f"{info.filename} 过大")
    with zf.open(info) as fh:
        return fh.read(limits.max_meta_bytes + 1)[: limits.max_meta_bytes]


def _xml(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], part: str, limits: Limits) -> ElementTree.Element:
    data = _read(zf, infos[part], limits)
    _check_prolog(data, part)
    return ElementTree.fromstring(data)


def _check_prolog(data: bytes, part: str) -> None:
    """Raise _DtdFound when ``data`` (a part, or its first bytes) declares a DTD or an entity."""
    if any(mark in data for mark in _DTD_MARKS):
        raise _DtdFound(part)


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
