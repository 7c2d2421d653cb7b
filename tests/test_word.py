"""The published document as Word: ``perfxl export`` writes it, ``readers.word`` reads it back.

Round trips run on the two real seeds (text → model → .docx → model) and on the department
workbook staff hand in (workbook → .docx → model); LibreOffice opens every document written.
Hostile and broken .docx files are refused with a Chinese reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml import parse_xml
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.errors import SourceError
from perfxl.model import ReadResult, public_department
from perfxl.readers import read_source
from perfxl.readers.word import document_lines
from perfxl.rules import validate
from perfxl.writers.word import amount_text, percent_text, write_document
from perfxl.writers.workbook import write_department_workbook
from tests.documents import SEEDS, comparable_findings, part1
from tests.factories import clean_project, department
from tests.lo import convert

runner = CliRunner()


@pytest.fixture(scope="module")
def document(seed: ReadResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the Word document written from the example."""
    return write_document(seed.department, tmp_path_factory.mktemp("word") / "文本.docx")


# --- round trips -------------------------------------------------------------------------------


def test_document_round_trip_keeps_everything(seed: ReadResult, document: Path) -> None:
    back = read_source(document)
    assert back.findings == []
    assert public_department(back.department) == public_department(seed.department)
    assert part1(back) == part1(seed)
    for read, original in zip(back.department.projects, seed.department.projects, strict=True):
        assert (read.unit_code, read.unit_name) == (original.unit_code, original.unit_name)


def test_workbook_to_document_reads_as_the_workbook(seed: ReadResult, tmp_path: Path) -> None:
    book = write_department_workbook(seed.department, tmp_path / "单位.xlsx")
    before = hashlib.sha256(book.read_bytes()).hexdigest()
    done = runner.invoke(app, ["export", str(book)])
    assert done.exit_code == 0, done.output
    target = tmp_path / "单位（绩效文本）.docx"
    assert f"→ {target}" in done.output
    assert hashlib.sha256(book.read_bytes()).hexdigest() == before
    from_book = runner.invoke(app, ["inspect", str(book), "--format", "json"])
    from_document = runner.invoke(app, ["inspect", str(target), "--format", "json"])
    assert from_document.exit_code == 0, from_document.output
    assert json.loads(from_document.stdout) == json.loads(from_book.stdout)


def test_document_findings_are_the_texts_and_point_into_the_document(seed: ReadResult, document: Path) -> None:
    back = read_source(document)
    assert comparable_findings(back) == comparable_findings(seed)
    findings = validate(back)
    assert findings
    assert all(f.line is None and f.cell is None for f in findings)
    assert all(re.fullmatch(r"第 \d+ (段|个表格第 \d+ 行)", f.place or "") for f in findings)
    in_tables = [f for f in findings if f.project_code]
    assert in_tables and all("个表格第" in (f.place or "") for f in in_tables)


def test_libreoffice_opens_the_document(seed: ReadResult, document: Path, tmp_path: Path) -> None:
    (pdf,) = convert(document, "pdf", tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    dept = seed.department
    assert f"{dept.title_unit_name}{dept.year}年部门预算绩效文本" in flat
    for n, project in enumerate(dept.projects, 1):
        assert f"{n}.{project.name}绩效目标表" in flat
        assert project.code in flat
        assert amount_text(project.budget) in flat
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")))
    assert count >= len(dept.projects) // 2


def test_a_document_resaved_by_libreoffice_reads_the_same(seed: ReadResult, document: Path, tmp_path: Path) -> None:
    # Another program's Word writer: its own table grid, merges and styles, the same content.
    (resaved,) = convert(document, "docx:MS Word 2007 XML", tmp_path)
    assert resaved.read_bytes() != document.read_bytes()
    back = read_source(resaved)
    assert back.findings == []
    assert public_department(back.department) == public_department(seed.department)
    assert part1(back) == part1(seed)


# --- what the writer puts in the file ----------------------------------------------------------


def test_the_form_merges_like_the_official_table(document: Path, seed: ReadResult) -> None:
    doc = docx.Document(str(document))
    assert len(doc.tables) == len(seed.department.projects)
    table = doc.tables[0]
    first = seed.department.projects[0]
    lines, places = document_lines(doc)
    header = lines.index(next(line for line in lines if line.startswith("一级指标")))
    assert lines[header].split("\t") == ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"]
    assert places[header] == "第 1 个表格第 7 行"
    # 一级 names are written once and merged down over the rows that share them.
    level1 = [line.split("\t")[0] for line in lines[header + 1 : header + 1 + len(first.indicators)]]
    assert [name for name in level1 if name] == list(dict.fromkeys(i.level1 for i in first.indicators))
    assert table.cell(1, 0).text == "预算规模及资金用途"
    assert table.cell(2, 1).text == first.use_of_funds.split("\n")[0]


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("3.58"), "3.58"), (Decimal("40"), "40.00"), (Decimal("12.345"), "12.345"), (None, "")],
)
def test_amounts_keep_every_digit(value: Decimal | None, text: str) -> None:
    assert amount_text(value) == text


@pytest.mark.parametrize(("value", "text"), [(Decimal("100"), "100%"), (Decimal("62.50"), "62.5%"), (None, "")])
def test_plan_shares(value: Decimal | None, text: str) -> None:
    assert percent_text(value) == text


def test_untrusted_text_stays_text(tmp_path: Path) -> None:
    name = '=HYPERLINK("http://x","y")\x07'
    dept = department(clean_project(name=name, goal="{ PAGE } <w:fldSimple/>"))
    path = write_document(dept, tmp_path / "x.docx")
    with zipfile.ZipFile(path) as zf:
        body = zf.read("word/document.xml").decode()
    assert "fldSimple" not in body.replace("&lt;w:fldSimple/&gt;", "")
    # The one field is the 目录 perfxl itself puts there.
    assert re.findall(r"<w:instrText[^>]*>([^<]*)<", body) == [' TOC \\o "1-2" \\h \\z \\u ']
    project = read_source(path).department.projects[0]
    assert project.name == '=HYPERLINK("http://x","y")\ufffd'
    assert project.goal == "{ PAGE } <w:fldSimple/>"


def test_write_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "x.docx"
    target.write_bytes(b"old")
    write_document(department(clean_project()), target)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["x.docx"]


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _wrap_runs(paragraph: Any, wrapper: str) -> None:
    """Move the paragraph's runs into a ``wrapper`` element (w:ins, w:hyperlink, w:sdt …)."""
    holder = parse_xml(wrapper)
    target = holder.find(f"{{{_W}}}sdtContent")
    for run in list(paragraph._p.iterchildren(f"{{{_W}}}r")):
        (target if target is not None else holder).append(run)
    paragraph._p.append(holder)


def test_tracked_changes_fields_and_content_controls_read_as_word_shows_them(tmp_path: Path) -> None:
    path = write_document(department(clean_project()), tmp_path / "修订.docx")
    doc = docx.Document(str(path))
    table = doc.tables[0]
    ns = f'xmlns:w="{_W}"'
    # The name typed as a tracked insertion, with a tracked deletion beside it.
    name = table.cell(0, 5).paragraphs[0]
    _wrap_runs(name, f'<w:ins {ns} w:id="1" w:author="审核"/>')
    name._p.append(parse_xml(f'<w:del {ns} w:id="2" w:author="审核"><w:r><w:delText>旧名称</w:delText></w:r></w:del>'))
    # The goal inside a content control, as government templates often have.
    _wrap_runs(table.cell(5, 1).paragraphs[0], f"<w:sdt {ns}><w:sdtContent/></w:sdt>")
    # The use of funds behind a hyperlink, with a field code that Word does not show.
    use = table.cell(2, 1).paragraphs[0]
    _wrap_runs(use, f'<w:hyperlink {ns} w:anchor="x"/>')
    use._p.append(parse_xml(f"<w:r {ns}><w:instrText> PAGE </w:instrText></w:r>"))
    doc.save(str(path))
    project = read_source(path).department.projects[0]
    original = clean_project()
    assert (project.name, project.goal, project.use_of_funds) == (original.name, original.goal, original.use_of_funds)


def test_a_table_nested_in_a_cell_keeps_its_text(tmp_path: Path) -> None:
    path = write_document(department(clean_project()), tmp_path / "嵌套.docx")
    doc = docx.Document(str(path))
    inner = doc.tables[0].cell(5, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "2.另附", "说明"
    doc.save(str(path))
    project = read_source(path).department.projects[0]
    assert project.goal.endswith("\n2.另附说明")


# --- the CLI -----------------------------------------------------------------------------------


def test_export_warns_when_errors_remain_and_leaves_the_source(tmp_path: Path) -> None:
    source = tmp_path / "遵化.txt"
    source.write_bytes(SEEDS[1].read_bytes())
    before = source.read_bytes()
    done = runner.invoke(app, ["export", str(source), "-o", str(tmp_path / "out" / "遵化.docx")])
    assert done.exit_code == 0, done.output
    assert "发布前请先修正错误" in done.output and "个错误" in done.output
    assert source.read_bytes() == before
    assert read_source(tmp_path / "out" / "遵化.docx").department.unit_code == "471001"


def test_export_many_into_a_folder_and_report_the_unreadable(tmp_path: Path) -> None:
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"not a workbook")
    out = tmp_path / "文本"
    done = runner.invoke(app, ["export", str(SEEDS[0]), str(SEEDS[1]), str(bad), "-o", str(out)])
    assert done.exit_code == 2
    assert "无法读取" in done.output and "坏.xlsx" in done.output
    assert sorted(p.name for p in out.iterdir()) == ["chengde-2025.docx", "zunhua-2025.docx"]
    assert read_source(out / "zunhua-2025.docx").department.unit_code == "471001"
    twice = runner.invoke(app, ["export", str(SEEDS[0]), str(SEEDS[0]), "-o", str(tmp_path / "again")])
    assert twice.exit_code == 2 and "与前面的来源同名" in twice.output
    one_file = runner.invoke(app, ["export", str(SEEDS[0]), str(SEEDS[1]), "-o", str(tmp_path / "x.docx")])
    assert one_file.exit_code == 2 and "-o 应为文件夹" in one_file.output


@pytest.mark.parametrize(
    ("target", "message"),
    [("x.xlsx", "应以 .docx 结尾"), ("same", "会覆盖来源文件本身")],
)
def test_export_refuses_bad_outputs(tmp_path: Path, target: str, message: str) -> None:
    source = write_document(department(clean_project()), tmp_path / "a.docx")
    out = source if target == "same" else tmp_path / target
    done = runner.invoke(app, ["export", str(source), "-o", str(out)])
    assert done.exit_code == 2
    assert message in done.output


def test_validate_write_refuses_a_document(document: Path, tmp_path: Path) -> None:
    copy = tmp_path / "a.docx"
    copy.write_bytes(document.read_bytes())
    done = runner.invoke(app, ["validate", str(copy), "--write"])
    assert done.exit_code == 2
    assert "只能用于 Excel 工作簿" in done.output
    assert copy.read_bytes() == document.read_bytes()


# --- broken and hostile documents --------------------------------------------------------------


def _zip(parts: dict[str, bytes], *, level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", level) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _with_part(document: Path, part: str, data: bytes) -> bytes:
    with zipfile.ZipFile(document) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    return _zip({**parts, part: data})


_XXE = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    b"<w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda doc: doc.read_bytes()[: len(doc.read_bytes()) // 2], "压缩包无法打开"),
        (lambda doc: _with_part(doc, "word/document.xml", b"<w:document"), "Word 文档已损坏或不完整"),
        (lambda doc: _with_part(doc, "word/document.xml", b"<a/>" + b" " * (150 << 20)), "疑似压缩炸弹"),
        (lambda doc: _with_part(doc, "word/document.xml", _XXE), "Word 文档中没有文字"),
        (lambda doc: _zip({"word/document.xml": b"x"}), "Word 文档已损坏或不完整"),
    ],
    ids=["truncated", "bad-xml", "bomb", "external-entity", "no-package"],
)
def test_broken_and_hostile_documents_are_refused(document: Path, tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "坏.docx"
    path.write_bytes(make(document))
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_document_without_the_tables_says_what_is_missing(tmp_path: Path) -> None:
    doc = docx.Document()
    doc.add_paragraph("会议纪要")
    doc.add_table(rows=2, cols=2).cell(0, 0).text = "项目"
    path = tmp_path / "纪要.docx"
    doc.save(str(path))
    done = runner.invoke(app, ["validate", str(path)])
    assert done.exit_code == 2
    assert "不像是部门预算绩效文本" in done.output


def test_an_unreadable_table_row_is_named_by_its_place(document: Path, tmp_path: Path) -> None:
    doc = docx.Document(str(document))
    # Blank the first indicator row's 一级指标 (the top of its merge): nothing above to inherit.
    doc.tables[0].cell(7, 0).paragraphs[0].text = ""
    path = tmp_path / "改.docx"
    doc.save(str(path))
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert "第 1 个表格第 8 行的一级指标为空" in str(caught.value)
    assert "第 1 个表格第 7 行起" in str(caught.value)
