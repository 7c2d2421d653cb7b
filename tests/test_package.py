"""Writing findings into real workbooks in place: what changes, what must not, and that it undoes."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.errors import SourceError
from perfxl.layout import ISSUES_HEADER, ISSUES_SHEET
from perfxl.model import Finding, ReadResult, Severity
from perfxl.readers import read_source
from perfxl.rules import validate
from perfxl.writers.opc import NS_MAIN, Package
from perfxl.writers.package import (
    MARKER_FORMULA,
    SEVERITY_FILLS,
    clear_findings,
    is_our_comment,
    write_findings,
    write_rollup,
)
from tests.lo import convert, sheets_as_csv
from tests.workbooks import (
    CHENGDE,
    RIBBON_REL,
    XLWINGS_XLSM,
    ZUNHUA,
    assert_well_formed,
    build_book,
    build_xlsm,
    digest,
    read_parts,
    rewrite,
    sheet_parts,
)

NS = {"m": NS_MAIN}
# What perfxl inserts into a marked sheet, exactly as it writes it.
OURS = re.compile(
    r'<conditionalFormatting sqref="[A-Z0-9: ]+"><cfRule type="expression" dxfId="\d+" priority="\d+">'
    r'<formula>"perfxl"&lt;&gt;""</formula></cfRule></conditionalFormatting>|<legacyDrawing r:id="rId\d+"/>'
)
COMMENT_PARTS = r"xl/(comments\d+\.xml|drawings/vmlDrawing\d+\.vml|worksheets/_rels/sheet\d+\.xml\.rels)"
# Parts a write may change besides the sheets it marks.
WORKBOOK_PARTS = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
runner = CliRunner()


def _extra_findings() -> list[Finding]:
    """Findings the rules do not produce on the examples: no cell at all, and hostile text."""
    return [
        Finding(code="PT-TEST-001", severity=Severity.INFO, message="整个部门的提示，没有单元格"),
        Finding(
            code="PT-TEST-002",
            severity=Severity.WARNING,
            message='说明里有 <b>标签</b> & "引号"',
            sheet="项目1",
            cell="$D$11",
            value='=HYPERLINK("http://example.invalid","点我")',
        ),
    ]


Case = tuple[Path, ReadResult, list[Finding]]


@pytest.fixture(scope="module", params=[CHENGDE, ZUNHUA], ids=["chengde", "zunhua"])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    folder = tmp_path_factory.mktemp(request.param.stem)
    book = build_book(request.param, folder / f"{request.param.stem}.xlsx")
    result = read_source(book)
    return book, result, [*validate(result), *_extra_findings()]


@pytest.fixture(scope="module")
def marked(case: Case) -> Path:
    book, _, findings = case
    return write_findings(book, findings, output=book.with_name("marked.xlsx"))


def _marks(sheet_xml: bytes) -> dict[str, int]:
    """Return cell → dxfId of perfxl's conditional formats in one sheet."""
    found = {}
    for cf in ElementTree.fromstring(sheet_xml).findall("m:conditionalFormatting", NS):
        for rule in cf.findall("m:cfRule", NS):
            formula = rule.find("m:formula", NS)
            if formula is not None and formula.text == MARKER_FORMULA:
                found.update(dict.fromkeys(cf.get("sqref", "").split(), int(rule.get("dxfId", "-1"))))
    return found


def _dxf_fills(styles_xml: bytes) -> list[str | None]:
    dxfs = ElementTree.fromstring(styles_xml).find("m:dxfs", NS)
    assert dxfs is not None
    fills = []
    for dxf in dxfs.findall("m:dxf", NS):
        color = dxf.find("m:fill/m:patternFill/m:bgColor", NS)
        fills.append(None if color is None else color.get("rgb"))
    return fills


def _worst(findings: list[Finding]) -> dict[tuple[str, str], Severity]:
    worst: dict[tuple[str, str], Severity] = {}
    for f in findings:
        if f.sheet and f.cell:
            key = (f.sheet, f.cell.replace("$", ""))
            if key not in worst or f.severity.rank < worst[key].rank:
                worst[key] = f.severity
    return worst


def test_issues_sheet_has_one_linked_row_per_finding(case: Case, marked: Path) -> None:
    _, _, findings = case
    ws = openpyxl.load_workbook(marked)[ISSUES_SHEET]
    assert [c.value for c in ws[1]] == list(ISSUES_HEADER)
    assert ws.max_row == len(findings) + 1
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:F{len(findings) + 1}"
    for row, f in enumerate(findings, 2):
        level, code, message, project, where, value = (ws.cell(row, c).value or "" for c in range(1, 7))
        assert (level, code, message, value) == (f.severity.label, f.code, f.message, f.value)
        assert project == (f.project_name or f.project_code)
        link = ws.cell(row, 5).hyperlink
        if f.cell:
            assert link is not None and link.location == f"'{f.sheet}'!{f.cell.replace('$', '')}"
            assert where == f"{f.sheet}!{f.cell.replace('$', '')}"
        else:
            assert link is None and where == ""


def test_text_is_written_as_text_never_as_a_formula(marked: Path) -> None:
    parts = read_parts(marked)
    issues = parts[sheet_parts(marked)[ISSUES_SHEET]].decode()
    assert "<f>" not in issues and "<f " not in issues
    assert "=HYPERLINK(&quot;" not in issues and '=HYPERLINK("http://example.invalid"' in issues
    assert "&lt;b&gt;标签&lt;/b&gt; &amp;" in issues


def test_every_finding_cell_is_marked_with_its_severity_fill(case: Case, marked: Path) -> None:
    _, _, findings = case
    parts = read_parts(marked)
    fills = _dxf_fills(parts["xl/styles.xml"])
    names = sheet_parts(marked)
    expected = _worst(findings)
    seen: dict[tuple[str, str], Severity] = {}
    by_fill = {rgb: s for s, rgb in SEVERITY_FILLS.items()}
    for sheet in {s for s, _ in expected}:
        for cell, dxf in _marks(parts[names[sheet]]).items():
            seen[(sheet, cell)] = by_fill[fills[dxf] or ""]
    assert seen == expected


def test_comments_carry_the_messages(case: Case, marked: Path) -> None:
    _, _, findings = case
    book = openpyxl.load_workbook(marked)
    for f in findings:
        if f.sheet and f.cell:
            comment = book[f.sheet][f.cell.replace("$", "")].comment
            assert comment is not None and comment.author == "perfxl"
            assert f.message in comment.text and f.code in comment.text


def test_only_the_parts_it_must_touch_change(case: Case, marked: Path) -> None:
    book, _, findings = case
    before, after = read_parts(book), read_parts(marked)
    names = sheet_parts(book)
    marked_parts = {names[f.sheet] for f in findings if f.sheet and f.cell}
    # Same names in the same order, new parts after them.
    assert list(after)[: len(before)] == list(before)
    for name, data in before.items():
        if name in marked_parts:
            assert after[name] != data
            # Outside the inserted <conditionalFormatting>/<legacyDrawing>, byte for byte the same.
            assert OURS.sub("", after[name].decode()).encode() == data, name
        elif name not in WORKBOOK_PARTS:
            assert after[name] == data, name
    added = set(after) - set(before)
    assert added - {sheet_parts(marked)[ISSUES_SHEET]} == {n for n in added if re.fullmatch(COMMENT_PARTS, n)}


def test_second_run_replaces_the_first(case: Case, marked: Path, tmp_path: Path) -> None:
    _, _, findings = case
    again = write_findings(marked, findings, output=tmp_path / "again.xlsx")
    assert read_parts(again) == read_parts(marked)
    fewer = write_findings(marked, findings[:1], output=tmp_path / "fewer.xlsx")
    parts = read_parts(fewer)
    names = sheet_parts(fewer)
    marked_cells = {(s, c) for s in names if s != ISSUES_SHEET for c in _marks(parts[names[s]])}
    assert marked_cells == {(findings[0].sheet, findings[0].cell)}
    assert openpyxl.load_workbook(fewer)[ISSUES_SHEET].max_row == 2


def test_clear_restores_every_sheet(case: Case, marked: Path, tmp_path: Path) -> None:
    book, _, _ = case
    cleared = clear_findings(marked, output=tmp_path / "cleared.xlsx")
    before, after = read_parts(book), read_parts(cleared)
    assert list(after) == list(before)
    # Only the appended styles stay (reused by the next run); every other part is as it was.
    assert [n for n in before if before[n] != after[n]] == ["xl/styles.xml"]
    assert ISSUES_SHEET not in sheet_parts(cleared)


def test_libreoffice_opens_marked_and_cleared_books(case: Case, marked: Path, tmp_path: Path) -> None:
    _, _, findings = case
    assert_well_formed(marked)
    sheets = sheets_as_csv(marked, tmp_path / "marked")
    assert len(sheets[ISSUES_SHEET]) == len(findings) + 1
    assert sheets[ISSUES_SHEET][0] == list(ISSUES_HEADER)
    cleared = clear_findings(marked, output=tmp_path / "cleared.xlsx")
    assert_well_formed(cleared)
    assert ISSUES_SHEET not in sheets_as_csv(cleared, tmp_path / "cleared")


def test_a_persons_comment_is_kept(tmp_path: Path) -> None:
    book = tmp_path / "own.xlsx"
    wb = xlsxwriter.Workbook(book)
    ws = wb.add_worksheet("项目1")
    ws.write("C4", 20)
    ws.write("D5", "≥90%")
    ws.write_comment("C4", "请核对预算数", {"author": "张三"})
    bold = wb.add_format({"bold": True})
    ws.conditional_format("A1:A9", {"type": "cell", "criteria": ">", "value": 5, "format": bold})
    wb.close()
    findings = [
        Finding(code="PT-A", severity=Severity.ERROR, message="预算数有误", sheet="项目1", cell="C4"),
        Finding(code="PT-B", severity=Severity.INFO, message="指标值请写运算符", sheet="项目1", cell="D5"),
    ]
    marked = write_findings(book, findings, output=tmp_path / "marked.xlsx")
    sheet = openpyxl.load_workbook(marked)["项目1"]
    assert sheet["C4"].comment is not None and sheet["C4"].comment.author == "张三"
    assert sheet["C4"].comment.text == "请核对预算数"
    assert sheet["D5"].comment is not None and sheet["D5"].comment.author == "perfxl"
    parts = read_parts(marked)
    assert set(_marks(parts["xl/worksheets/sheet1.xml"])) == {"C4", "D5"}
    cleared = clear_findings(marked, output=tmp_path / "cleared.xlsx")
    before, after = read_parts(book), read_parts(cleared)
    assert [n for n in before if before[n] != after.get(n)] == ["xl/styles.xml"]
    assert list(after) == list(before)


def test_excel_saved_macro_workbook_round_trips(tmp_path: Path) -> None:
    book = shutil.copy(XLWINGS_XLSM, tmp_path / "quickstart.xlsm")
    findings = [Finding(code="PT-A", severity=Severity.WARNING, message="检查", sheet="Sheet1", cell="B2")]
    marked = write_findings(book, findings, output=tmp_path / "marked.xlsm")
    before, after = read_parts(book), read_parts(marked)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert OURS.sub("", after["xl/worksheets/sheet1.xml"].decode()).encode() == before["xl/worksheets/sheet1.xml"]
    assert _marks(after["xl/worksheets/sheet1.xml"]) == {"B2": _dxf_fills(after["xl/styles.xml"]).index("FFFFEB9C")}
    cleared = read_parts(clear_findings(marked, output=tmp_path / "cleared.xlsm"))
    assert [n for n in before if before[n] != cleared.get(n)] == ["xl/workbook.xml", "xl/styles.xml"]
    assert_well_formed(marked)
    # Excel's empty <definedNames /> held the filter name of 校验结果; once that goes, so does the element.
    assert before["xl/workbook.xml"].replace(b"<definedNames />", b"") == cleared["xl/workbook.xml"]
    sheets_as_csv(marked, tmp_path / "lo")


def test_macro_workbook_keeps_vba_and_ribbon(tmp_path: Path) -> None:
    book = build_xlsm(CHENGDE, tmp_path / "承德.xlsm")
    original = read_parts(book)
    result = read_source(book)
    findings = validate(result)
    marked = write_findings(book, findings, output=tmp_path / "marked.xlsm")
    rolled = write_rollup(marked, read_source(marked), findings, output=tmp_path / "rolled.xlsm")
    cleared = clear_findings(rolled, output=tmp_path / "cleared.xlsm")
    for path in (marked, rolled, cleared):
        parts = read_parts(path)
        for name in ("xl/vbaProject.bin", "customUI/customUI14.xml", "_rels/.rels"):
            assert parts[name] == original[name], (path.name, name)
        assert RIBBON_REL in parts["_rels/.rels"].decode()
        assert_well_formed(path)
        sheets_as_csv(path, tmp_path / path.stem)


def test_input_is_untouched_when_writing_a_copy(tmp_path: Path) -> None:
    book = build_book(ZUNHUA, tmp_path / "遵化.xlsx")
    before = digest(book)
    copy = tmp_path / "out" / "遵化-校验.xlsx"
    result = runner.invoke(app, ["validate", str(book), "--write", "--output", str(copy)])
    assert result.exit_code == 1, result.output
    assert digest(book) == before
    assert ISSUES_SHEET in sheet_parts(copy)
    cleared = runner.invoke(app, ["clear", str(copy), "-o", str(tmp_path / "c.xlsx")], env={"COLUMNS": "250"})
    assert cleared.exit_code == 0 and f"已写出不含校验标记的副本：{tmp_path / 'c.xlsx'}" in cleared.stdout
    assert ISSUES_SHEET not in sheet_parts(tmp_path / "c.xlsx") and ISSUES_SHEET in sheet_parts(copy)
    assert runner.invoke(app, ["rollup", str(book), "-o", str(tmp_path / "r.xlsx")]).exit_code == 0
    assert digest(book) == before


def test_cli_writes_in_place_and_clears(tmp_path: Path) -> None:
    book = build_book(CHENGDE, tmp_path / "承德.xlsx")
    original = read_parts(book)
    result = runner.invoke(app, ["validate", str(book), "--write", "--format", "json"])
    assert result.exit_code == 1
    assert result.stdout.lstrip().startswith("{")
    assert ISSUES_SHEET in sheet_parts(book)
    assert runner.invoke(app, ["clear", str(book)]).exit_code == 0
    assert [n for n, data in read_parts(book).items() if original.get(n) != data] == ["xl/styles.xml"]
    cleared = book.read_bytes(), book.stat().st_mtime_ns
    again = runner.invoke(app, ["clear", str(book)], env={"COLUMNS": "250"})
    assert again.exit_code == 0
    assert "没有 perfxl 写入的校验结果、底色或批注，文件未改动" in again.output
    assert (book.read_bytes(), book.stat().st_mtime_ns) == cleared


def test_clearing_a_book_never_validated_leaves_it_untouched(tmp_path: Path) -> None:
    book = build_book(ZUNHUA, tmp_path / "遵化.xlsx")
    before = book.read_bytes(), book.stat().st_mtime_ns
    assert clear_findings(book) is None
    assert (book.read_bytes(), book.stat().st_mtime_ns) == before
    copy = clear_findings(book, output=tmp_path / "副本.xlsx")
    assert copy == tmp_path / "副本.xlsx" and read_parts(copy) == read_parts(book)


def test_write_refuses_text_sources(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(CHENGDE), "--write"], env={"COLUMNS": "250"})
    assert result.exit_code == 2
    assert "只能用于 Excel 工作簿" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "不是有效的 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "已加密或是旧版"),
    ],
)
def test_unreadable_books_get_a_chinese_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        clear_findings(path)
    assert path.read_bytes() == content


def test_zip_without_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with pytest.raises(SourceError, match="不是有效的 Excel 工作簿"):
        write_findings(path, [])


def test_oversized_package_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("xl/big.xml", "w") as fh:
        chunk = bytes(1 << 20)
        for _ in range(201):
            fh.write(chunk)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(SourceError, match="超过上限 200 MB"):
        clear_findings(path)


def test_package_keeps_entry_order_and_unknown_parts(tmp_path: Path) -> None:
    book = build_book(CHENGDE, tmp_path / "承德.xlsx")
    with zipfile.ZipFile(book, "a") as zf:
        zf.writestr("customXml/item1.xml", "<unknown-part/>")
    package = Package.open(book)
    saved = package.save(tmp_path / "copy.xlsx")
    assert read_parts(saved) == read_parts(book)


def test_clear_finds_its_marks_after_another_program_saved_the_book(marked: Path, tmp_path: Path) -> None:
    # LibreOffice re-writes every part (and blanks comment authors); Excel's own re-save is
    # gentler, keeping authors. Either way clear must find perfxl's marks by what they are.
    resaved = convert(marked, "xlsx:Calc MS Excel 2007 XML", tmp_path / "resaved")[0]
    parts = read_parts(resaved)
    names = sheet_parts(resaved)
    assert ISSUES_SHEET in names
    assert any(_marks(parts[part]) for part in names.values())
    assert any(re.fullmatch(r"xl/comments\d+\.xml", n) for n in parts)
    cleared = clear_findings(resaved, output=tmp_path / "cleared.xlsx")
    parts = read_parts(cleared)
    names = sheet_parts(cleared)
    assert ISSUES_SHEET not in names
    assert not any(_marks(parts[part]) for part in names.values())
    assert not any(re.fullmatch(COMMENT_PARTS, n) and "_rels" not in n for n in parts)
    assert_well_formed(cleared)
    sheets_as_csv(cleared, tmp_path / "lo")


def _prefixed_book(path: Path) -> Path:
    """Write a minimal workbook the way some generators do: prefixed SpreadsheetML, no styles part."""
    main, rel = NS_MAIN, "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><x:workbook xmlns:x="{main}" xmlns:rel="{rel}"><x:sheets>'
            '<x:sheet name="项目1" sheetId="1" rel:id="rId1"/></x:sheets></x:workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<x:worksheet xmlns:x="{main}" xmlns:mc="{mc}">\n'
            '  <x:sheetData>\n    <x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>预算数</x:t></x:is></x:c></x:row>\n'
            '  </x:sheetData>\n  <x:pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3"'
            ' footer="0.3"/>\n'
            '  <mc:AlternateContent><mc:Choice Requires="x14"><x:controls/></mc:Choice></mc:AlternateContent>\n'
            "</x:worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


def test_prefixed_workbook_without_styles(tmp_path: Path) -> None:
    book = _prefixed_book(tmp_path / "prefixed.xlsx")
    findings = [Finding(code="PT-A", severity=Severity.ERROR, message="预算数为空", sheet="项目1", cell="A1")]
    marked = write_findings(book, findings, output=tmp_path / "marked.xlsx")
    assert_well_formed(marked)
    sheet = read_parts(marked)["xl/worksheets/sheet1.xml"].decode()
    # New elements land in SpreadsheetML's namespace and in schema order.
    assert sheet.index("<conditionalFormatting") < sheet.index("<x:pageMargins") < sheet.index("<legacyDrawing")
    assert sheet.index("<legacyDrawing") < sheet.index("<mc:AlternateContent")
    assert _marks(sheet.encode()) == {"A1": 0}
    assert openpyxl.load_workbook(marked)["项目1"]["A1"].comment is not None
    sheets = sheets_as_csv(marked, tmp_path / "lo")
    assert sheets[ISSUES_SHEET][1][:3] == ["错误", "PT-A", "预算数为空"]
    cleared = read_parts(clear_findings(marked, output=tmp_path / "cleared.xlsx"))
    before = read_parts(book)
    assert cleared["xl/worksheets/sheet1.xml"] == before["xl/worksheets/sheet1.xml"]
    assert cleared["xl/workbook.xml"] == before["xl/workbook.xml"]


def test_broken_sheet_xml_is_reported_and_nothing_written(tmp_path: Path) -> None:
    book = build_book(ZUNHUA, tmp_path / "遵化.xlsx")
    part = sheet_parts(book)["项目1"]
    broken = rewrite(book, tmp_path / "broken.xlsx", {part: read_parts(book)[part][:-200]})
    before = digest(broken)
    findings = [Finding(code="PT-A", severity=Severity.ERROR, message="x", sheet="项目1", cell="C4")]
    with pytest.raises(SourceError, match="工作簿内部结构已损坏"):
        write_findings(broken, findings)
    assert digest(broken) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.xlsx", "遵化.xlsx"]


@pytest.mark.parametrize(
    ("author", "text", "ours"),
    [
        ("perfxl", "用户自己改过的批注", True),
        ("", "【错误】PT-FIN-004 预算数为空", True),
        ("", "【警告】PT-VAL-001 指标值无法解析\n【提示】PT-VAL-007 缺少运算符", True),
        ("张三", " 【错误】PT-FIN-004 预算数为空 \n", True),
        ("张三", "请核对：【错误】PT-FIN-004 预算数为空", False),
        ("张三", "此处金额已与财政局核对", False),
        ("", "", False),
    ],
)
def test_which_comments_are_perfxls(author: str, text: str, ours: bool) -> None:
    assert is_our_comment(author, text) is ours
