"""部门汇总: formulas linked to the project sheets, checked by letting LibreOffice recalculate them."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from typer.testing import CliRunner

from perfxl.cli import app
from perfxl.layout import DEPT_LABELS, DEPT_SHEET, LISTS_SHEET, SUMMARY_HEADER, SUMMARY_SHEET, TOTAL_NAME
from perfxl.model import Finding, Project, ReadResult, Severity
from perfxl.readers import read_source
from perfxl.readers.workbook import read_workbook
from perfxl.rules import validate
from perfxl.writers.opc import NS_MAIN, Package, Workbook
from perfxl.writers.package import write_rollup
from tests.lo import sheets_as_csv
from tests.workbooks import CHENGDE, ZUNHUA, assert_well_formed, build_book, read_parts, rewrite, sheet_parts

NS = {
    "m": NS_MAIN,
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
}
CASES = [(CHENGDE, "435.16", 15), (ZUNHUA, "497.12", 8)]
runner = CliRunner()

Case = tuple[Path, ReadResult, list[Finding], Path]


@pytest.fixture(scope="module", params=CASES, ids=["chengde", "zunhua"])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, str, int]:
    source, total, count = request.param
    folder = tmp_path_factory.mktemp(source.stem)
    book = build_book(source, folder / f"{source.stem}.xlsx")
    result = read_source(book)
    findings = validate(result)
    rolled = write_rollup(book, result, findings, output=folder / "rolled.xlsx")
    return (book, result, findings, rolled), total, count


def _summary_xml(path: Path) -> bytes:
    return read_parts(path)[sheet_parts(path)[SUMMARY_SHEET]]


def _cells(sheet_xml: bytes) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Return cell → (formula, cached value, style index) of a sheet."""
    found = {}
    for c in ElementTree.fromstring(sheet_xml).iterfind(".//m:c", NS):
        f, v = c.find("m:f", NS), c.find("m:v", NS)
        found[c.get("r", "")] = (None if f is None else f.text, None if v is None else v.text or "", c.get("s"))
    return found


def _zero_cached_values(sheet_xml: bytes) -> bytes:
    """Return the sheet with every formula's cached value replaced by 0, so only recalculation can show totals."""
    return re.sub(rb'( t="str")?>(<f>[^<]*</f>)<v>[^<]*</v>', rb">\2<v>0</v>", sheet_xml)


def _ref(p: Project, field: str) -> str:
    loc = p.sources[field]
    return f"'{loc.sheet}'!{loc.cell}"


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_libreoffice_computes_the_department_total(case: tuple[Case, str, int], tmp_path: Path) -> None:
    (_, result, findings, rolled), total, count = case
    summary_part = sheet_parts(rolled)[SUMMARY_SHEET]
    zeroed = _zero_cached_values(read_parts(rolled)[summary_part])
    assert f">{total}<".encode() in read_parts(rolled)[summary_part] and f">{total}<".encode() not in zeroed
    stale = rewrite(rolled, tmp_path / "stale.xlsx", {summary_part: zeroed})
    sheets = sheets_as_csv(stale, tmp_path / "lo")
    rows = sheets[SUMMARY_SHEET]
    assert rows[0] == list(SUMMARY_HEADER)
    projects = result.department.projects
    assert len(projects) == count
    for n, (row, p) in enumerate(zip(rows[1 : count + 1], projects, strict=True), 1):
        assert row[0] == str(n)
        assert row[1] == p.code and row[2] == p.name
        assert p.budget is not None and _money(row[3]) == p.budget
        assert row[10] == str(len(p.indicators))
        mine = [f for f in findings if f.sheet == p.sheet]
        assert row[11] == str(sum(f.severity is Severity.ERROR for f in mine))
        assert row[12] == str(sum(f.severity is Severity.WARNING for f in mine))
        for shown, value in zip(row[6:10], p.spending_plan, strict=True):
            assert shown == ("" if value is None else f"{value:.0f}%")
    totals = rows[count + 1]
    assert totals[2] == "合计" and totals[3] == total
    assert rows[count + 2][2] == "支出计划（按预算数加权）"
    # The 部门 sheet reads the same total through the defined name.
    label = DEPT_LABELS["total"]
    assert next(r for r in sheets[DEPT_SHEET] if r[0] == label)[1] == total


def test_weighted_plan_is_budget_weighted(case: tuple[Case, str, int], tmp_path: Path) -> None:
    (_, result, _, rolled), total, count = case
    rows = sheets_as_csv(rolled, tmp_path / "lo")[SUMMARY_SHEET]
    budget = Decimal(total)
    for k, shown in enumerate(rows[count + 2][6:10]):
        pairs = [(p.budget, p.spending_plan[k]) for p in result.department.projects]
        weighted = sum((b * v for b, v in pairs if b is not None and v is not None), Decimal(0))
        assert shown == f"{weighted / budget:.1f}%"


def test_typing_into_a_project_sheet_moves_the_total(case: tuple[Case, str, int], tmp_path: Path) -> None:
    (_, result, _, rolled), total, count = case
    first = result.department.projects[0]
    where = first.sources["budget"]
    assert where.sheet and where.cell and first.budget is not None
    part = sheet_parts(rolled)[where.sheet]
    xml = read_parts(rolled)[part]
    # Change only the project's 预算数 cell; every cached value in 部门汇总 stays as it was.
    edited, n = re.subn(rf'(<c r="{where.cell}"[^>]*><v>)[^<]*(</v>)'.encode(), rb"\g<1>1000\g<2>", xml)
    assert n == 1
    changed = rewrite(rolled, tmp_path / "changed.xlsx", {part: edited})
    sheets = sheets_as_csv(changed, tmp_path / "lo")
    expected = Decimal(total) - first.budget + 1000
    assert _money(sheets[SUMMARY_SHEET][1][3]) == 1000
    assert _money(sheets[SUMMARY_SHEET][count + 1][3]) == expected
    label = DEPT_LABELS["total"]
    assert _money(next(r for r in sheets[DEPT_SHEET] if r[0] == label)[1]) == expected


def test_formulas_link_to_the_readers_locations(case: tuple[Case, str, int]) -> None:
    (_, result, _, rolled), _, count = case
    cells = _cells(_summary_xml(rolled))
    for line, p in enumerate(result.department.projects, 2):
        assert cells[f"B{line}"][0] == f'{_ref(p, "code")}&""'
        assert cells[f"C{line}"][:2] == (f'{_ref(p, "name")}&""', p.name)
        fields = ("budget", "fiscal_funds", "other_funds", *(f"spending_plan[{k}]" for k in range(4)))
        for col, field in zip("DEFGHIJ", fields, strict=True):
            assert cells[f"{col}{line}"][0] == f'IF(ISBLANK({_ref(p, field)}),"",{_ref(p, field)})'
        assert Decimal(cells[f"D{line}"][1] or "nan") == p.budget
    total, last = count + 2, count + 1
    assert cells[f"D{total}"][0] == f"SUM(D2:D{last})"
    assert cells[f"G{total + 1}"][0] == f'IF($D${total}=0,"",SUMPRODUCT($D$2:$D${last},G2:G{last})/$D${total})'
    workbook = read_parts(rolled)["xl/workbook.xml"].decode()
    assert f"<definedName name=\"{TOTAL_NAME}\">'{SUMMARY_SHEET}'!$D${total}</definedName>" in workbook
    assert re.search(r"<calcPr\b[^>]*fullCalcOnLoad=\"1\"", workbook)


def test_number_formats(case: tuple[Case, str, int]) -> None:
    (_, _, _, rolled), _, count = case
    cells = _cells(_summary_xml(rolled))
    styles = ElementTree.fromstring(read_parts(rolled)["xl/styles.xml"])
    xfs = styles.findall("m:cellXfs/m:xf", NS)
    formats = {n.get("numFmtId"): n.get("formatCode") for n in styles.findall("m:numFmts/m:numFmt", NS)}

    def fmt(cell: str) -> str:
        num = xfs[int(cells[cell][2] or 0)].get("numFmtId", "0")
        return {"4": "#,##0.00", "9": "0%"}.get(num) or formats[num] or ""

    assert fmt("D2") == fmt("E2") == fmt(f"D{count + 2}") == "#,##0.00"
    assert fmt("G2") == fmt("J2") == "0%"
    assert fmt(f"G{count + 3}") == "0.0%"


def test_chart_parts(case: tuple[Case, str, int]) -> None:
    (book, result, _, rolled), _, count = case
    assert_well_formed(rolled)
    parts = read_parts(rolled)
    added = sorted(set(parts) - set(read_parts(book)))
    assert added == [
        "xl/charts/chart1.xml", "xl/drawings/_rels/drawing1.xml.rels", "xl/drawings/drawing1.xml",
        f"xl/worksheets/_rels/{sheet_parts(rolled)[SUMMARY_SHEET].rpartition('/')[2]}.rels",
    ]  # fmt: skip
    chart = ElementTree.fromstring(parts["xl/charts/chart1.xml"])
    series = chart.find(".//c:barChart/c:ser", NS)
    assert series is not None
    assert series.findtext("c:cat/c:strRef/c:f", namespaces=NS) == f"'{SUMMARY_SHEET}'!$C$2:$C${count + 1}"
    assert series.findtext("c:val/c:numRef/c:f", namespaces=NS) == f"'{SUMMARY_SHEET}'!$D$2:$D${count + 1}"
    cached = [Decimal(v.text or "") for v in series.findall("c:val/c:numRef/c:numCache/c:pt/c:v", NS)]
    assert cached == [p.budget for p in result.department.projects]
    names = [v.text for v in series.findall("c:cat/c:strRef/c:strCache/c:pt/c:v", NS)]
    assert names == [p.name for p in result.department.projects]
    types = parts["[Content_Types].xml"].decode()
    for part in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml"):
        assert f'<Override PartName="/{part}"' in types
    assert b"<drawing r:id=" in _summary_xml(rolled)


def test_second_rollup_replaces_the_first(case: tuple[Case, str, int], tmp_path: Path) -> None:
    (_, result, findings, rolled), _, _ = case
    again = write_rollup(rolled, result, findings, output=tmp_path / "again.xlsx")
    assert read_parts(again) == read_parts(rolled)


def test_missing_summary_is_added_after_the_projects(case: tuple[Case, str, int], tmp_path: Path) -> None:
    (book, result, findings, _), total, count = case
    package = Package.open(book)
    workbook = Workbook(package)
    summary = workbook.sheet(SUMMARY_SHEET)
    assert summary is not None
    workbook.remove_sheet(summary)
    bare = package.save(tmp_path / "bare.xlsx")
    assert SUMMARY_SHEET not in sheet_parts(bare)
    rolled = write_rollup(bare, read_source(bare), findings, output=tmp_path / "rolled.xlsx")
    order = list(sheet_parts(rolled))
    assert order[-2:] == [SUMMARY_SHEET, LISTS_SHEET]
    assert order[count] == result.department.projects[-1].sheet
    rows = sheets_as_csv(rolled, tmp_path / "lo")[SUMMARY_SHEET]
    assert rows[count + 1][3] == total


def test_plan_typed_as_percent_numbers_is_scaled(tmp_path: Path) -> None:
    book = build_book(CHENGDE, tmp_path / "承德.xlsx")
    result = read_source(book)
    p = next(p for p in result.department.projects if all(v is not None and 0 < v < 100 for v in p.spending_plan[:3]))
    assert p.sheet is not None
    part = sheet_parts(book)[p.sheet]
    xml = read_parts(book)[part]
    for k, value in enumerate(p.spending_plan):
        cell = p.sources[f"spending_plan[{k}]"].cell
        xml, n = re.subn(rf'(<c r="{cell}"[^>]*><v>)[^<]*(</v>)'.encode(), rf"\g<1>{value}\g<2>".encode(), xml)
        assert n == 1
    typed = rewrite(book, tmp_path / "typed.xlsx", {part: xml})
    reread = read_source(typed)
    rolled = write_rollup(typed, reread, validate(reread), output=tmp_path / "rolled.xlsx")
    line = [q.sheet for q in reread.department.projects].index(p.sheet) + 2
    assert (_cells(_summary_xml(rolled))[f"G{line}"][0] or "").endswith("/100)")
    row = sheets_as_csv(rolled, tmp_path / "lo")[SUMMARY_SHEET][line - 1]
    assert row[6:10] == [f"{v:.0f}%" for v in p.spending_plan]


def test_cli_rollup_prints_the_total(tmp_path: Path) -> None:
    book = build_book(ZUNHUA, tmp_path / "遵化.xlsx")
    result = runner.invoke(app, ["rollup", str(book)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "497.12" in result.stdout
    assert SUMMARY_SHEET in sheet_parts(book)


def test_cli_rollup_says_which_budgets_the_total_leaves_out(tmp_path: Path) -> None:
    book = build_book(ZUNHUA, tmp_path / "遵化.xlsx")
    department = read_workbook(book).department
    unread, place = department.projects[1], department.projects[1].sources["budget"]
    wb = openpyxl.load_workbook(book)
    wb[place.sheet][place.cell] = "壹佰万"
    wb.save(book)
    result = runner.invoke(app, ["rollup", str(book)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert f"{Decimal('497.12') - unread.budget:,.2f}" in result.stdout
    assert f"1 个项目的预算数空白或无法读取，未计入总额：{place.sheet}!{place.cell}" in result.stdout
