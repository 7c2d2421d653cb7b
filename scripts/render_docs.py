"""Render the documentation screenshots from the 承德 example: the project sheet with the most
errors and its validation marks, 部门汇总 with its chart, the top of 校验结果, and the first
project table of the Word document ``perfxl export`` writes from the workbook.

Run from anywhere: ``python scripts/render_docs.py``. Needs LibreOffice (``soffice``), poppler
(``pdftoppm``) and CJK fonts (fonts-noto-cjk). LibreOffice recalculates every formula on load,
so 部门汇总 shows what its formulas compute.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfxl.layout import ISSUES_SHEET, SUMMARY_SHEET  # noqa: E402 - after the path set-up above
from perfxl.model import Severity  # noqa: E402
from perfxl.readers import read_source  # noqa: E402
from perfxl.rules import validate  # noqa: E402
from perfxl.writers.opc import Package, Workbook  # noqa: E402
from perfxl.writers.package import write_findings, write_rollup  # noqa: E402
from perfxl.writers.word import write_document  # noqa: E402
from perfxl.writers.workbook import write_department_workbook  # noqa: E402
from tests.lo import convert  # noqa: E402

EXAMPLE = ROOT / "examples" / "chengde-2025.txt"
OUT = ROOT / "docs" / "images"
DPI = 80
# One PDF page per sheet, so page n is the n-th sheet (hidden ones included).
PDF_FILTER = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'
PROJECT_SHOT = "project-sheet.png"
DOCUMENT_SHOT = "document-page.png"
# Sheet → (image name, height limit in pixels or None for the whole sheet).
SHOTS: dict[str, tuple[str, int | None]] = {
    SUMMARY_SHEET: ("summary-sheet.png", None),
    ISSUES_SHEET: ("issues-sheet.png", 560),
}


def render(out: Path = OUT) -> list[Path]:
    """Build the example workbook, write findings and the summary, and return the PNGs written."""
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm (poppler-utils) is not installed")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="perfxl-docs-") as tmp_name:
        tmp = Path(tmp_name)
        book = write_department_workbook(read_source(EXAMPLE).department, tmp / "chengde.xlsx")
        result = read_source(book)
        findings = validate(result)
        write_findings(book, findings)
        write_rollup(book, result, findings)
        pdf = convert(book, PDF_FILTER, tmp / "pdf")[0]
        pages = {s.name: n for n, s in enumerate(Workbook(Package.open(book)).sheets(), 1)}
        errors = Counter(f.sheet for f in findings if f.severity is Severity.ERROR and f.sheet)
        worst = max((p.sheet for p in result.department.projects if p.sheet), key=lambda s: errors[s])
        for sheet, (name, height) in {worst: (PROJECT_SHOT, None), **SHOTS}.items():
            target = out / name
            crop = ["-x", "0", "-y", "0", "-W", "2000", "-H", str(height)] if height else []
            page = str(pages[sheet])
            subprocess.run(
                ["pdftoppm", "-png", "-r", str(DPI), "-f", page, "-l", page, "-singlefile", *crop,
                 str(pdf), str(target.with_suffix(""))],
                check=True,
            )  # fmt: skip
            written.append(target)
        written.append(_document_page(write_document(result.department, tmp / "chengde.docx"), tmp, out))
    return written


def _document_page(document: Path, tmp: Path, out: Path) -> Path:
    """Render the first page of ``document`` that holds a project's 绩效目标表; return the PNG."""
    pdf = convert(document, "pdf", tmp / "document")[0]
    page = 1
    while True:
        text = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        if "项目编码" in text:
            break
        page += 1
    target = out / DOCUMENT_SHOT
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
         str(target.with_suffix(""))],
        check=True,
    )  # fmt: skip
    return target


if __name__ == "__main__":
    for path in render():
        print(path.relative_to(ROOT))
