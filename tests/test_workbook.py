"""Department workbooks: the writer, the label-driven reader and ``perfxl import``, on the real examples.

Edits are made with openpyxl on files the writer produced, the way a person edits in Excel:
renamed and reordered sheets, inserted rows, blanked merged-looking cells, bad cell values.
"""

from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pdfplumber
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.errors import SourceError
from perfxl.layout import DEPT_SHEET, LISTS_SHEET, SUMMARY_HEADER, SUMMARY_SHEET
from perfxl.model import Department, Finding, PublicDepartment, ReadResult, public_department
from perfxl.readers import read_source
from perfxl.readers.grid import Cell, Grid, parse_grids
from perfxl.readers.workbook import read_workbook
from perfxl.rules import validate
from perfxl.writers.workbook import write_department_workbook
from tests.factories import clean_project, department
from tests.lo import convert

EXAMPLES = Path(__file__).parent.parent / "examples"
CHENGDE = EXAMPLES / "chengde-2025.txt"
ZUNHUA = EXAMPLES / "zunhua-2025.txt"

runner = CliRunner()


def public(result: ReadResult | Department) -> PublicDepartment:
    """Return the public projection (what ``inspect --format json`` prints)."""
    return public_department(result.department if isinstance(result, ReadResult) else result)


@pytest.fixture(scope="module", params=[CHENGDE, ZUNHUA], ids=["chengde", "zunhua"])
def document(request: pytest.FixtureRequest) -> ReadResult:
    """Return a published example, read through the public dispatcher."""
    path: Path = request.param
    return read_source(path)


@pytest.fixture
def book(document: ReadResult, tmp_path: Path) -> Path:
    """Return a freshly written department workbook of the example."""
    return write_department_workbook(document.department, tmp_path / "dept.xlsx")


def sheet_xml(path: Path, sheet: str) -> str:
    """Return the XML of the worksheet named ``sheet``, found through workbook.xml and its rels."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as zf:
        sheets = ElementTree.fromstring(zf.read("xl/workbook.xml")).iterfind("m:sheets/m:sheet", ns)
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        part = next(targets[s.get(rid)] for s in sheets if s.get("name") == sheet)
        return zf.read("xl/" + part.removeprefix("/xl/")).decode()


def codes_at(findings: list[Finding], sheet: str, cell: str) -> list[tuple[str, str]]:
    """Return ``(code, severity)`` of the findings at one cell."""
    return [(f.code, f.severity.value) for f in findings if f.sheet == sheet and f.cell == cell]


# --- round trip ---------------------------------------------------------------------------------


def test_round_trip_keeps_everything(document: ReadResult, book: Path) -> None:
    result = read_workbook(book)
    assert result.findings == []
    assert public(result) == public(document)
    dept, source = result.department, document.department
    assert len(dept.projects) == len(source.projects)
    for field in ("title_unit_name", "overall_goal", "safeguards"):
        assert getattr(dept, field) == getattr(source, field)
    assert [s.model_dump(exclude={"sources"}) for s in dept.sub_goals] == [
        s.model_dump(exclude={"sources"}) for s in source.sub_goals
    ]
    for read, original in zip(dept.projects, source.projects, strict=True):
        assert (read.unit_code, read.unit_name) == (original.unit_code, original.unit_name)


def test_every_field_knows_its_cell(book: Path) -> None:
    project = read_workbook(book).department.projects[0]
    assert project.sheet == "项目1"
    cells = {field: loc.cell for field, loc in project.sources.items()}
    assert cells["code"] == "B3"
    assert cells["name"] == "E3"
    assert (cells["budget"], cells["fiscal_funds"], cells["other_funds"]) == ("C4", "E4", "G4")
    assert (cells["use_of_funds"], cells["goal"]) == ("B5", "B8")
    assert [cells[f"spending_plan[{i}]"] for i in range(4)] == ["B7", "D7", "E7", "F7"]
    first = project.indicators[0]
    assert {f: loc.cell for f, loc in first.sources.items()} == {
        "level1": "A10", "level2": "B10", "level3": "C10", "description": "D10", "value": "E10", "basis": "F10",
    }  # fmt: skip
    assert all(loc.sheet == "项目1" and loc.file == str(book) for loc in project.sources.values())


def test_cli_import_then_inspect_equals_the_document(document: ReadResult, tmp_path: Path) -> None:
    source = Path(document.department.source_file)
    out = tmp_path / "dept.xlsx"
    result = runner.invoke(app, ["import", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout.replace("\n", "")
    from_text = runner.invoke(app, ["inspect", str(source), "--format", "json"])
    from_book = runner.invoke(app, ["inspect", str(out), "--format", "json"])
    assert from_book.exit_code == 0, from_book.output
    assert json.loads(from_book.stdout) == json.loads(from_text.stdout)


def test_cli_import_many_into_a_folder_reports_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01 not a document")
    out = tmp_path / "out"
    result = runner.invoke(app, ["import", str(CHENGDE), str(junk), str(ZUNHUA), "-o", str(out)])
    assert result.exit_code == 2
    assert "无法读取" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["chengde-2025.xlsx", "zunhua-2025.xlsx"]
    assert public(read_workbook(out / "zunhua-2025.xlsx")) == public(read_source(ZUNHUA))


# --- edits a person makes in Excel ------------------------------------------------------------


def insert_rows(ws: Worksheet, idx: int, amount: int) -> None:
    """Insert rows as Excel does: cells and merged ranges below ``idx`` move down."""
    ws.insert_rows(idx, amount)
    for merged in ws.merged_cells.ranges:
        if merged.min_row >= idx:
            merged.shift(0, amount)
        elif merged.max_row >= idx:
            merged.expand(down=amount)


def header_row(ws: Worksheet) -> int:
    """Return the 1-based row of the indicator table header."""
    return next(int(c.row) for c in ws["A"] if c.value == "一级指标")


def test_edits_leave_the_model_unchanged(document: ReadResult, book: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(book)
    projects = [ws for ws in wb.worksheets if ws.title.startswith("项目")]
    for n, ws in enumerate(projects):
        insert_rows(ws, 1, 2)
        ws["A1"] = "附表"
        head = header_row(ws)
        # Blank the repeated 一级/二级, as in the merged official form.
        for row in range(ws.max_row, head + 1, -1):
            above = (ws.cell(row - 1, 1).value, ws.cell(row - 1, 2).value)
            if ws.cell(row, 1).value == above[0] and ws.cell(row, 1).value:
                if ws.cell(row, 2).value == above[1]:
                    ws.cell(row, 2).value = None
                ws.cell(row, 1).value = None
        if ws.max_row > head + 2:
            insert_rows(ws, head + 2, 1)
        ws.title = f"表{len(projects) - n:02d}"
    extra = wb.create_sheet("说明", 0)
    extra["A1"] = "填表说明"
    extra["A2"] = "项目名称请与预算系统一致"
    wb[DEPT_SHEET].title = "单位情况"
    wb.move_sheet("单位情况", offset=len(wb.worksheets) - 1)
    wb._sheets = [wb._sheets[0], *reversed(wb._sheets[1:])]  # reorder every tab
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)

    result = read_workbook(edited)
    assert public(result) == public(document)
    assert result.department.overall_goal == document.department.overall_goal
    assert {p.sheet for p in result.department.projects} == {ws.title for ws in projects}
    # openpyxl drops cached formula values: the total is the only formula, and it is reported.
    assert {(f.sheet, f.code, f.severity.value) for f in result.findings} <= {("单位情况", "PT-STR-001", "warning")}


def test_inherited_levels_point_at_the_cell_that_holds_them(book: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(book)
    wb["项目1"]["A11"] = None
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    second = read_workbook(edited).department.projects[0].indicators[1]
    assert second.level1 == "产出指标"
    loc = second.sources["level1"]
    assert (loc.sheet, loc.cell) == ("项目1", "A10")


# --- cell problems ------------------------------------------------------------------------------


@pytest.fixture
def clean_book(tmp_path: Path) -> Path:
    """Return a workbook of the factories' clean department with two projects."""
    second = clean_project(code="13080025P00012410001K", name="第二个项目")
    return write_department_workbook(department(clean_project(), second), tmp_path / "clean.xlsx")


def test_money_text_and_cell_problems(clean_book: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(clean_book)
    ws = wb["项目1"]
    ws["C4"] = "40万元"
    ws["E4"] = "四十"
    ws["G4"] = "#REF!"  # openpyxl stores known error literals as error cells
    wb["项目2"]["C4"] = "=1+2"  # openpyxl saves formulas without a cached value
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)

    result = read_workbook(edited)
    first, second = result.department.projects
    assert first.budget == Decimal(40)
    assert first.raw["budget"] == "40万元"
    assert first.fiscal_funds is None
    assert first.other_funds is None
    assert second.budget is None

    assert codes_at(result.findings, "项目1", "E4") == [("PT-FIN-004", "error")]
    bad = next(f for f in result.findings if f.cell == "E4")
    assert "四十" in bad.message
    assert (bad.field, bad.value, bad.project_code) == ("fiscal_funds", "四十", first.code)
    assert codes_at(result.findings, "项目1", "G4") == [("PT-STR-001", "error")]
    assert "#REF!" in next(f for f in result.findings if f.cell == "G4").message
    assert codes_at(result.findings, "项目2", "C4") == [("PT-STR-001", "warning")]
    stale = next(f for f in result.findings if f.sheet == "项目2" and f.cell == "C4")
    assert "打开并保存" in stale.message
    assert (stale.field, stale.project_code) == ("budget", second.code)
    assert codes_at(result.findings, "项目1", "C4") == []


def test_error_values_written_by_a_formula(clean_book: Path, tmp_path: Path) -> None:
    # A saved #DIV/0! from a real formula: rewrite the cached value the way Excel stores it.
    with zipfile.ZipFile(clean_book) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    xml = parts["xl/worksheets/sheet2.xml"].decode()
    error_cell = r'<c r="C4" s="\1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    xml, n = re.subn(r'<c r="C4" s="(\d+)"><v>[^<]*</v></c>', error_cell, xml)
    assert n == 1
    parts["xl/worksheets/sheet2.xml"] = xml.encode()
    edited = tmp_path / "div0.xlsx"
    with zipfile.ZipFile(edited, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    result = read_workbook(edited)
    assert result.department.projects[0].budget is None
    assert codes_at(result.findings, "项目1", "C4") == [("PT-STR-001", "error")]


PLANS = [
    ((30, 60, 90, 100), [30, 60, 90, 100], []),
    ((0.3, 0.6, 0.9, 1), [30, 60, 90, 100], []),
    ((0.5, 1, 1, 1), [50, 100, 100, 100], []),
    # A fraction typed as 120% among the others is that one error, not a plan of 0.2%…1.2%.
    ((0.2, 0.5, 1.2, 1), [20, 50, 120, 100], [("E7", "PT-PLAN-002"), ("F7", "PT-PLAN-002")]),
    ((20, 50, 120, 100), [20, 50, 120, 100], [("E7", "PT-PLAN-002"), ("F7", "PT-PLAN-002")]),
    ((0.1, 0.4, 0.8, 0.9), [10, 40, 80, 90], [("F7", "PT-PLAN-001")]),
]


@pytest.mark.parametrize(("numbers", "plan", "codes"), PLANS, ids=[str(n) for n, _, _ in PLANS])
def test_plan_numbers_read_as_percent_or_fractions(
    clean_book: Path, tmp_path: Path, numbers: tuple[float, ...], plan: list[int], codes: list[tuple[str, str]]
) -> None:
    wb = openpyxl.load_workbook(clean_book)
    for cell, number in zip(("B7", "D7", "E7", "F7"), numbers, strict=True):
        wb["项目1"][cell] = number
    edited = tmp_path / "plan.xlsx"
    wb.save(edited)
    result = read_workbook(edited)
    assert result.department.projects[0].spending_plan == plan
    findings = validate(result)
    found = sorted((f.cell or "", f.code) for f in findings if f.code.startswith("PT-PLAN-00") and f.sheet == "项目1")
    assert [c for c in found if c[1] in ("PT-PLAN-001", "PT-PLAN-002")] == codes


def test_plan_cells_as_fractions_percent_numbers_or_text(clean_book: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(clean_book)
    for cell, number in zip(("B7", "D7", "E7", "F7"), (30, 60, 90, 100), strict=True):
        wb["项目1"][cell] = number
    for cell, text in zip(("B7", "D7", "E7", "F7"), ("30%", None, "九十", "100%"), strict=True):
        wb["项目2"][cell] = text
    edited = tmp_path / "plan.xlsx"
    wb.save(edited)
    result = read_workbook(edited)
    first, second = result.department.projects
    assert first.spending_plan == [30, 60, 90, 100]
    assert second.spending_plan == [30, None, None, 100]
    assert codes_at(result.findings, "项目2", "E7") == [("PT-PLAN-002", "error")]
    # The writer's own fractions (0.1 … 1 under a 0% format) read back as percent.
    assert read_workbook(clean_book).department.projects[0].spending_plan == [10, 40, 80, 100]


@pytest.mark.parametrize("change", ["delete", "rename"])
def test_a_workbook_without_its_department_sheet_says_so(clean_book: Path, tmp_path: Path, change: str) -> None:
    wb = openpyxl.load_workbook(clean_book)
    if change == "delete":
        del wb[DEPT_SHEET]
    else:
        wb[DEPT_SHEET]["A1"] = "单位"
        wb[DEPT_SHEET]["A2"] = "名称"
    edited = tmp_path / "no-dept.xlsx"
    wb.save(edited)
    result = read_workbook(edited)
    assert result.department.year is None and result.department.overall_goal == ""
    assert result.department.unit_code == result.department.projects[0].unit_code != ""
    assert codes_at(result.findings, DEPT_SHEET, "") == [("PT-STR-001", "error")]
    assert "预算年度和部门整体绩效目标未读到" in result.findings[0].message
    assert not codes_at(read_workbook(clean_book).findings, DEPT_SHEET, "")


def test_value_hidden_by_a_vertical_merge_is_reported(clean_book: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(clean_book)
    wb["项目1"].merge_cells("E10:E11")
    edited = tmp_path / "merged.xlsx"
    wb.save(edited)
    result = read_workbook(edited)
    rows = result.department.projects[0].indicators
    assert rows[1].value == rows[0].value == "≥450人"
    assert codes_at(result.findings, "项目1", "E11") == [("PT-STR-001", "warning")]


def test_label_merged_over_its_value_is_not_read_as_a_value(clean_book: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(clean_book)
    wb["项目1"].unmerge_cells("B3:C3")
    wb["项目1"].merge_cells("A3:C3")
    edited = tmp_path / "merged.xlsx"
    wb.save(edited)
    result = read_workbook(edited)
    assert result.department.projects[0].code == ""
    assert codes_at(result.findings, "项目1", "A3") == [("PT-STR-001", "warning")]


# --- what the writer puts in the file -----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x","y")', '<r>x</r></t></is></c><c r="Z9"><f>HYPERLINK("http://x","y")</f></c><r>y</r>'],
)
def test_formula_looking_text_is_written_as_text(tmp_path: Path, name: str) -> None:
    dept = department(clean_project(name=name, use_of_funds="=1+1", goal="@SUM(A1)"))
    path = write_department_workbook(dept, tmp_path / "inject.xlsx")
    xml = sheet_xml(path, "项目1")
    assert "<f>" not in xml
    with zipfile.ZipFile(path) as zf:
        sheets = [zf.read(part).decode() for part in zf.namelist() if part.startswith("xl/worksheets/")]
    formulas = [f for sheet in sheets for f in re.findall(r"<f>([^<]*)</f>", sheet)]
    assert formulas == ["部门预算总额"]
    project = read_workbook(path).department.projects[0]
    assert (project.name, project.use_of_funds, project.goal) == (name, "=1+1", "@SUM(A1)")


def test_dropdowns_print_setup_and_panes(book: Path) -> None:
    xml = sheet_xml(book, "项目1")
    validations = re.findall(r"<dataValidation [^>]*>.*?</dataValidation>", xml)
    assert len(validations) == 2
    level1, level2 = validations
    assert 'sqref="A10:' in level1 and "<formula1>一级指标列表</formula1>" in level1
    assert 'sqref="B10:' in level2 and "<formula1>INDIRECT($A10)</formula1>" in level2
    assert all('type="list"' in v and 'errorStyle="warning"' in v and 'allowBlank="1"' in v for v in validations)
    # Fit to one page wide: fitToPage on, fitToWidth left at its default 1, height unbounded.
    assert '<pageSetUpPr fitToPage="1"/>' in xml
    assert re.search(r'<pageSetup paperSize="9" fitToHeight="0" orientation="portrait"', xml)
    assert '<pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" state="frozen"/>' in xml
    assert "cfRule" in xml
    with zipfile.ZipFile(book) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
    assert f'<sheet name="{LISTS_SHEET}"' in workbook and 'state="hidden"' in workbook
    assert "veryHidden" not in workbook
    for name in ("部门预算总额", "一级指标列表", "产出指标", "效益指标", "满意度指标"):
        assert f'<definedName name="{name}">' in workbook
    assert "_xlnm.Print_Titles" in workbook


def test_sheets_in_order_and_the_summary_is_only_a_header(book: Path, document: ReadResult) -> None:
    wb = openpyxl.load_workbook(book)
    count = len(document.department.projects)
    assert wb.sheetnames == [DEPT_SHEET, *(f"项目{n}" for n in range(1, count + 1)), SUMMARY_SHEET, LISTS_SHEET]
    summary = wb[SUMMARY_SHEET]
    assert [c.value for c in summary[1]] == list(SUMMARY_HEADER)
    assert summary.max_row == 1
    lists = wb[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    assert [c.value for c in lists["B"] if c.value] == ["产出指标", "数量指标", "质量指标", "时效指标", "成本指标"]
    dept = wb[DEPT_SHEET]
    total = next(row for row in dept.iter_rows() if row[0].value == "部门预算总额（万元）")
    assert total[1].value == "=部门预算总额"
    plan = wb["项目1"]
    assert plan["B6"].value == "3月底" and plan["F6"].value == "12月底"
    assert plan["F7"].number_format == "0%" and plan["C4"].number_format == "#,##0.00"


def test_missing_checkpoints_stay_empty(tmp_path: Path) -> None:
    project = clean_project(spending_plan=[None, None, None, Decimal(100)], other_funds=None)
    path = write_department_workbook(department(project), tmp_path / "plan.xlsx")
    ws = openpyxl.load_workbook(path)["项目1"]
    assert [ws[c].value for c in ("B7", "D7", "E7", "F7")] == [None, None, None, 1]
    assert ws["G4"].value is None
    assert read_workbook(path).department.projects[0].spending_plan == [None, None, None, 100]


def test_xlsm_needs_a_vba_project(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vba_project"):
        write_department_workbook(department(), tmp_path / "dept.xlsm")
    with pytest.raises(ValueError, match="xlsm"):
        write_department_workbook(department(), tmp_path / "dept.xlsx", vba_project=b"vba")
    assert not list(tmp_path.iterdir())
    path = write_department_workbook(department(), tmp_path / "dept.xlsm", vba_project=b"not really vba")
    with zipfile.ZipFile(path) as zf:
        assert zf.read("xl/vbaProject.bin") == b"not really vba"
        assert b"macroEnabled" in zf.read("[Content_Types].xml")
    assert public(read_workbook(path)) == public(department())


def test_write_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "dept.xlsx"
    target.write_bytes(b"old")
    write_department_workbook(department(), target)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["dept.xlsx"]


# --- files that are not department workbooks ----------------------------------------------------


def test_workbook_without_project_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "项目名称"
    path = tmp_path / "other.xlsx"
    wb.save(path)
    with pytest.raises(SourceError, match="未找到项目绩效目标表"):
        read_source(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 truncated", "文件不完整或已损坏"),
        (b"just text", "纯文本"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "旧版 Excel 97-2003"),
    ],
    ids=["corrupt-zip", "not-a-zip", "ole"],
)
def test_unreadable_workbooks_say_why_in_chinese(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_workbook(path)


def test_encrypted_workbook_through_the_dispatcher(tmp_path: Path) -> None:
    # An encrypted .xlsx is an OLE compound file, not a zip.
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    with pytest.raises(SourceError, match="加密"):
        read_source(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "report.docx"
    with zipfile.ZipFile(path, "w") as zf:
        rel = '<Relationship Id="rId1" Type="http://x/officeDocument" Target="word/document.xml"/>'
        zf.writestr("_rels/.rels", f'<Relationships xmlns="x">{rel}</Relationships>')
        zf.writestr("word/document.xml", "<w/>")
    # read_source takes this for a Word document (tests/test_word.py); the workbook reader refuses it.
    with pytest.raises(SourceError, match="不是 Excel 工作簿"):
        read_workbook(path)


def test_label_text_inside_the_indicator_table_is_read_as_indicator_text() -> None:
    """Labels are looked up above the indicator header only: a 项目名称 or 预算数 in a table row is a value."""
    rows: list[list[Cell]] = [
        ["项目编码", "13090025P000000000001", "项目名称", "测试项目"],
        ["预算数", 10.0, "其中：财政资金", 10.0],
        ["一级指标", "二级指标", "三级指标", "绩效指标描述", "指标值", "指标值确定依据"],
        ["产出指标", "数量指标", "项目名称", "预算数", "≥1次", "项目编码"],
    ]
    project = parse_grids("t.xlsx", [Grid("项目1", rows, [])]).department.projects[0]
    assert (project.name, project.budget) == ("测试项目", Decimal(10))
    ind = project.indicators[0]
    assert (ind.level3, ind.description, ind.value, ind.basis) == ("项目名称", "预算数", "≥1次", "项目编码")
    assert ind.where("level3").cell == "C4"


def test_rows_staff_add_below_the_indicators_are_printed(book: Path, tmp_path: Path) -> None:
    """The print area reaches the spare rows: what staff fill in below the table is on paper."""
    wb = openpyxl.load_workbook(book)
    ws = wb["项目1"]
    last = max(row for row in range(1, ws.max_row + 1) if ws.cell(row, 3).value)
    for i in range(1, 4):
        for col, value in enumerate(("产出指标", "数量指标", f"追加指标{i}", "补填的描述", "≥1个"), start=1):
            ws.cell(last + i, col, value)
    ws.cell(last + 1, 10, "打印区域以外")
    for name in wb.sheetnames[:]:
        if name != "项目1":
            del wb[name]
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    (pdf,) = convert(filled, "pdf", tmp_path / "pdf")
    with pdfplumber.open(pdf) as printed:
        text = "".join(page.extract_text() or "" for page in printed.pages)
    assert [f"追加指标{i}" in text for i in range(1, 4)] == [True, True, True]
    # Column J lies outside the area: its absence shows the area, not the used range, was printed.
    assert "打印区域以外" not in text
