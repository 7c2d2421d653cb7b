"""The published document as PDF: ``readers.pdf`` reads what Word or LibreOffice printed.

The PDFs are real: each seed is written as a Word document and LibreOffice turns it into PDF,
the way departments publish. Reading the PDF must give what the seed's text gives.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.errors import SourceError
from perfxl.model import ReadResult, public_department
from perfxl.readers import read_source
from perfxl.rules import validate
from perfxl.writers.word import write_document
from tests.documents import SEEDS, comparable_findings, part1
from tests.lo import convert

ENCRYPTED_PDF = (
    'pdf:writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
    '"DocumentOpenPassword":{"type":"string","value":"mima"}}'
)

runner = CliRunner()


@pytest.fixture(scope="module")
def pdf(seed: ReadResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the example printed to PDF by LibreOffice from its Word document."""
    folder = tmp_path_factory.mktemp("pdf")
    (printed,) = convert(write_document(seed.department, folder / "文本.docx"), "pdf", folder / "out")
    return printed


def test_pdf_reads_as_the_text(seed: ReadResult, pdf: Path) -> None:
    back = read_source(pdf)
    assert back.findings == []
    assert public_department(back.department) == public_department(seed.department)
    assert part1(back) == part1(seed)


def test_pdf_findings_are_the_texts_and_name_the_page(seed: ReadResult, pdf: Path) -> None:
    back = read_source(pdf)
    assert comparable_findings(back) == comparable_findings(seed)
    findings = validate(back)
    assert all(re.fullmatch(r"第 \d+ 页(第 \d+ 个表格第 \d+ 行)?", f.place or "") for f in findings)
    in_tables = [f for f in findings if f.project_code and f.field in ("budget", "spending_plan", "value")]
    assert in_tables and all("个表格第" in (f.place or "") for f in in_tables)


def test_cli_inspects_a_pdf(pdf: Path, seed: ReadResult) -> None:
    done = runner.invoke(app, ["inspect", str(pdf), "--format", "json"])
    assert done.exit_code == 0, done.output
    assert f'"unit_code": "{seed.department.unit_code}"' in done.stdout


def test_a_pdf_without_ruled_tables_is_read_as_extracted_text(tmp_path: Path) -> None:
    # 遵化's text came out of a PDF: printed again as plain lines, without any table rules, it
    # must read through the reader's own layout for PDF text, as the text itself does.
    text = tmp_path / "遵化.txt"
    text.write_bytes(SEEDS[1].read_bytes())
    (printed,) = convert(text, "pdf", tmp_path / "out")
    assert public_department(read_source(printed).department) == public_department(read_source(SEEDS[1]).department)


def test_import_turns_a_pdf_into_a_department_workbook(pdf: Path, seed: ReadResult, tmp_path: Path) -> None:
    book = tmp_path / "单位.xlsx"
    done = runner.invoke(app, ["import", str(pdf), "-o", str(book)])
    assert done.exit_code == 0, done.output
    assert public_department(read_source(book).department) == public_department(seed.department)


def _minimal_pdf(content: bytes = b"", *, deflated: bool = False, image: bytes = b"") -> bytes:
    """Return a valid one-page PDF whose page draws ``content`` (nothing: a scan without OCR).

    ``image`` adds an image XObject with those deflated pixels, which the page does not draw.
    """
    flate = b" /Filter /FlateDecode" if deflated else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(content), flate, content),
    ]
    if image:
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 8192 /Height 8192 /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(image), image)
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _deflated_zeros(megabytes: int) -> bytes:
    packer = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


def test_a_large_image_is_not_taken_for_a_bomb(tmp_path: Path) -> None:
    # 640 MB of pixels: reading text never decodes them, so only the missing text is reported.
    path = tmp_path / "图片.pdf"
    path.write_bytes(_minimal_pdf(image=_deflated_zeros(640)))
    with pytest.raises(SourceError, match="PDF 中没有可提取的文字"):
        read_source(path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("bomb", "疑似压缩炸弹：PDF 中的数据流解压后超过 512 MB"),
        ("truncated", "PDF 文件已损坏或无法解析"),
        ("encrypted", "PDF 文件设有密码（已加密）"),
        ("scan", "PDF 中没有可提取的文字（可能是扫描件或图片）"),
    ],
)
def test_broken_encrypted_and_scanned_pdfs_say_why(pdf: Path, tmp_path: Path, make: str, message: str) -> None:
    if make == "bomb":
        path = tmp_path / "炸弹.pdf"
        # Disguised: a comment in the content stream's dictionary claims it is an image.
        pdf_bytes = _minimal_pdf(_deflated_zeros(640), deflated=True)
        disguise = b" /Filter /FlateDecode %/Subtype /Image\n>>"
        path.write_bytes(pdf_bytes.replace(b" /Filter /FlateDecode >>", disguise, 1))
    elif make == "truncated":
        path = tmp_path / "坏.pdf"
        path.write_bytes(pdf.read_bytes()[: pdf.stat().st_size // 2])
    elif make == "encrypted":
        docx = next(pdf.parent.parent.glob("*.docx"))
        (path,) = convert(docx, ENCRYPTED_PDF, tmp_path / "enc")
    else:
        path = tmp_path / "扫描件.pdf"
        path.write_bytes(_minimal_pdf())
    before = path.read_bytes()
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
    done = runner.invoke(app, ["validate", str(path)])
    assert done.exit_code == 2 and message in done.output
    assert path.read_bytes() == before
