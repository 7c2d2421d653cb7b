"""Readers turn a source file into the model; ``read_source`` picks one by the file's content."""

from __future__ import annotations

import zipfile
from pathlib import Path

from perfxl import paths
from perfxl.errors import SourceError, os_reason
from perfxl.model import ReadResult
from perfxl.readers.published import read_published
from perfxl.readers.safety import UNKNOWN, WPS, WPS_SUFFIXES, content_problem
from perfxl.readers.workbook import read_workbook

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PDF = b"%PDF-"
# The main part of a Word document (.docx, .docm), by which a zip is told from a workbook.
WORD_DOCUMENT_PART = "word/document.xml"
_DOCUMENT_KINDS = {".docx": "Word 文档", ".docm": "Word 文档", ".pdf": "PDF 文件"}


def read_source(path: Path) -> ReadResult:
    """Return the parsed department of any source perfxl reads, or raise SourceError."""
    name = paths.shown(path)
    if paths.is_dir(path):
        raise SourceError(name, "这是一个文件夹，请指定一个文件")
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError:
        raise SourceError(name, "文件不存在") from None
    except OSError as exc:
        raise SourceError(name, f"无法读取文件：{os_reason(exc)}") from None
    # The Word and PDF readers load python-docx and pdfplumber (a fifth of a second): only
    # when a document comes, never in the consolidation workers, which import this package.
    if head.startswith(_ZIP):
        if _is_word(path):
            from perfxl.readers.word import read_word

            return read_word(path)
        # An .xlsx/.xlsm; read_workbook rejects other zip files with its own message.
        return read_workbook(path)
    if head.startswith(_PDF):
        from perfxl.readers.pdf import read_pdf

        return read_pdf(path)
    suffix = path.suffix.lower()
    if head.startswith(_OLE):
        if suffix in WPS_SUFFIXES:
            raise SourceError(name, WPS)
        raise SourceError(
            name, "这是旧版 Office 文件（.xls/.doc）或加密文件，无法读取；请另存为 .xlsx 或 .docx（并取消密码）"
        )
    # Named as a workbook, Word document or PDF but not one: say so, not "this text has no table".
    if suffix in (".xlsx", ".xlsm", ".xls"):
        raise SourceError(name, content_problem(head) or UNKNOWN)
    if suffix in _DOCUMENT_KINDS:
        raise SourceError(
            name,
            f"扩展名是 {suffix}，但内容不是{_DOCUMENT_KINDS[suffix]}：文件可能已损坏，或是其他格式的文件改了扩展名",
        )
    return read_published(path)


def _is_word(path: Path) -> bool:
    """Return True when the zip at ``path`` is a Word document (its directory only is read)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return WORD_DOCUMENT_PART in zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
