"""perfxl consolidate on real files: department workbooks, a copy, and hostile inputs.

The departments are written by perfxl's own writer from the two example documents and from
synthetic departments derived from them; the hostile files are what arrives at a finance
bureau in practice (exports from other systems, truncated downloads, password-protected
workbooks) plus crafted attacks (zip bombs, absurd sheet ranges, formula and XML injection).
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import shutil
import struct
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pyarrow.parquet as pq
import pytest
import xlsxwriter
from msoffcrypto.format.ooxml import OOXMLFile
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

import perfxl.consolidate
from perfxl.cli import app, console, print_consolidation
from perfxl.config import Config
from perfxl.consolidate import NAMED_FILES, SourceOutcome, SpoolError, consolidate, process_file
from perfxl.model import Department, Severity
from perfxl.readers import read_source
from perfxl.readers.consolidated import ConsolidatedReader
from perfxl.readers.safety import open_workbook
from perfxl.readers.workbook import read_workbook
from perfxl.rules import validate
from perfxl.tables import COLUMNS, CROSS_FILE_PREFIX, SHEETS, Status
from perfxl.writers.package import write_rollup
from perfxl.writers.workbook import write_department_workbook
from tests.generate import department, seed_departments
from tests.lo import SOFFICE, convert, sheets_as_csv
from tests.test_safety import LAUGHS
from tests.workbooks import locked

runner = CliRunner()
FORMULA_NAME = '=HYPERLINK("http://evil","点我")'
DDE_NAME = "=cmd|' /C calc'!A0"
# Shaped like XlsxWriter's pre-rendered rich strings: unescaped, it would inject a formula cell.
XML_NAME = '<r><t>x</t></r></is></c><c r="Z1"><f>HYPERLINK("http://evil","x")</f></c><c><is><r><t>y</t></r>'
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Case:
    """The input folder, the files in it by role, and the first consolidation of it."""

    folder: Path
    accepted: list[Path]
    copy: Path
    hostile: dict[str, Path]
    output: Path
    parquet: Path
    exit_code: int
    stdout: str
    hashes: dict[Path, str]


def digest(path: Path) -> str:
    """Return the SHA-256 of the file at ``path``."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


CHART_NS = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}


def table(book: Path, name: str) -> list[dict[str, Any]]:
    """Return the rows of sheet ``name`` (and its continuations) as dicts keyed by the header."""
    with CalamineWorkbook.from_path(str(book)) as wb:
        names = [n for n in wb.sheet_names if re.fullmatch(rf"{name}\d*", n)]
        rows: list[dict[str, Any]] = []
        for sheet in names:
            grid = wb.get_sheet_by_name(sheet).to_python()
            rows += [dict(zip(grid[0], row, strict=True)) for row in grid[1:]]
        return rows


def sheet_xml(book: Path, name: str) -> str:
    """Return the XML of the sheet called ``name``."""
    with zipfile.ZipFile(book) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet name="{name}" sheetId="\d+" r:id="(rId\d+)"', workbook)
        assert rid is not None
        target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
        )
        assert target is not None
        return zf.read("xl/" + target.group(1).lstrip("/").removeprefix("xl/")).decode()


def rewrite(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """Return ``target``: a copy of the workbook ``source`` with the parts in ``changes`` replaced."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, changes.get(info.filename, zin.read(info)))
    return target


def escape(text: str) -> str:
    """Return ``text`` escaped for XML character data."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- hostile files -----------------------------------------------------------------------------


def zip_bomb(good: Path, target: Path) -> Path:
    """Return a workbook whose first sheet expands from a few hundred KB to 256 MB of XML."""
    payload = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    payload += b" " * (256 << 20) + b"</sheetData></worksheet>"
    return rewrite(good, target, {"xl/worksheets/sheet1.xml": payload})


def declared_giant(good: Path, target: Path) -> Path:
    """Return a tiny workbook whose zip directory declares a 3 GB sheet (the sizes are patched)."""
    rewrite(good, target, {})
    data = bytearray(target.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    central = data.find(b"PK\x01\x02" + bytes(0))
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == name:
            struct.pack_into("<I", data, central + 24, 3 << 30)  # uncompressed size
            break
        central = data.find(b"PK\x01\x02", central + 4)
    target.write_bytes(bytes(data))
    return target


def absurd_dimension(good: Path, target: Path) -> Path:
    """Return a workbook whose first sheet declares the range A1:XFD1048576."""
    with zipfile.ZipFile(good) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
    return rewrite(good, target, {"xl/worksheets/sheet1.xml": xml})


def far_cell(good: Path, target: Path) -> Path:
    """Return a workbook with one extra cell at XFD1048576: a dense reader would need 17 billion cells."""
    with zipfile.ZipFile(good) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    return rewrite(good, target, {"xl/worksheets/sheet1.xml": xml.replace(b"</sheetData>", far)})


def entity_bomb(good: Path, target: Path) -> Path:
    """Write ``good`` with a "billion laughs" DTD in its shared strings, referenced from a string."""
    sst = zipfile.ZipFile(good).read("xl/sharedStrings.xml")
    head, declaration, body = sst.partition(b"?>")
    laughing = head + declaration + LAUGHS + body.replace(b"<t>", b"<t>&lol9;", 1)
    return rewrite(good, target, {"xl/sharedStrings.xml": laughing})


def encrypted(good: Path, target: Path) -> Path:
    """Return ``good`` protected with an opening password, as Excel saves it (an OLE container)."""
    with good.open("rb") as fh:
        out = io.BytesIO()
        OOXMLFile(fh).encrypt("密码123", out)
    target.write_bytes(out.getvalue())
    return target


def empty_workbook(target: Path) -> Path:
    """Return a workbook with one empty sheet."""
    book = xlsxwriter.Workbook(str(target))
    book.add_worksheet()
    book.close()
    return target


def other_workbook(target: Path) -> Path:
    """Return a real workbook that is not a 绩效目标 workbook (a staff list)."""
    book = xlsxwriter.Workbook(str(target))
    ws = book.add_worksheet("职工名册")
    for r, row in enumerate([("姓名", "科室", "电话"), ("张三", "办公室", "0314-1234567"), ("李四", "财务科", "")]):
        for c, value in enumerate(row):
            ws.write_string(r, c, value)
    book.close()
    return target


def with_names(source: Department, names: list[str]) -> Department:
    """Return a copy of ``source`` whose first projects are renamed to ``names``."""
    dept = source.model_copy(deep=True)
    for project, name in zip(dept.projects, names, strict=False):
        project.name = name
    return dept


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    root = tmp_path_factory.mktemp("consolidate")
    folder = root / "inputs"
    (folder / "县区" / "乡镇").mkdir(parents=True)
    chengde, zunhua = seed_departments()
    rng = random.Random(7)
    accepted = [
        write_department_workbook(chengde, folder / "承德市工信局.xlsx"),
        write_department_workbook(zunhua, folder / "县区" / "遵化市数据局.xlsx"),
        write_department_workbook(department(rng, projects=6), folder / "县区" / "乡镇" / "generated-1.xlsx"),
        write_department_workbook(department(rng, projects=12), folder / "generated-2.xlsx"),
    ]
    # A different department that reuses one of Chengde's project codes: PT-CODE-005 across files.
    dup = department(rng, projects=5)
    dup.projects[0].code = chengde.projects[0].code
    # … and takes one of Zunhua's project names under its own code: PT-XPR-001 across files.
    dup.projects[1].name = zunhua.projects[1].name
    accepted.append(write_department_workbook(dup, folder / "重复编码.xlsx"))
    names = [FORMULA_NAME, DDE_NAME, "占位名称用于替换"]
    evil = write_department_workbook(with_names(department(rng, projects=5), names), root / "evil-source.xlsx")
    sst = zipfile.ZipFile(evil).read("xl/sharedStrings.xml").decode()
    sst = sst.replace("占位名称用于替换", escape(XML_NAME))
    accepted.append(rewrite(evil, folder / "注入.xlsx", {"xl/sharedStrings.xml": sst.encode()}))
    # Sorted after the original, so the original is merged and the copy is the duplicate.
    copy = shutil.copyfile(accepted[0], folder / "承德市工信局（副本）.xlsx")

    good = accepted[1]
    html = "<html><head><meta charset='utf-8'></head><body><table><tr><td>项目编码</td></tr></table></body></html>"
    hostile = {
        "random": folder / "random.xlsx",
        "text": folder / "说明.xlsx",
        "truncated": folder / "truncated.xlsx",
        "encrypted": encrypted(good, folder / "加密.xlsx"),
        "html": folder / "导出.xls",
        "legacy": folder / "旧版.xls",
        "empty": empty_workbook(folder / "空白.xlsx"),
        "foreign": other_workbook(folder / "职工名册.xlsx"),
        "bomb": zip_bomb(good, folder / "bomb.xlsx"),
        "declared": declared_giant(good, folder / "declared.xlsx"),
        "dimension": absurd_dimension(good, folder / "dimension.xlsx"),
        "far": far_cell(good, folder / "far.xlsx"),
        "entities": entity_bomb(good, folder / "entities.xlsx"),
        "wps": folder / "WPS表格.et",
        "archive": folder / "乡镇" / "各乡镇.zip",
    }
    hostile["random"].write_bytes(random.Random(1).randbytes(5000))
    hostile["text"].write_text("这是一个说明文件，不是工作簿。\n请把部门工作簿放在这个文件夹里。\n", encoding="utf-8")
    hostile["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    hostile["html"].write_text(html, encoding="utf-8")
    hostile["legacy"].write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048))
    hostile["wps"].write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    # Workbooks mailed as an archive and dropped in unopened: the department must not vanish.
    hostile["archive"].parent.mkdir()
    with zipfile.ZipFile(hostile["archive"], "w") as archive:
        archive.write(good, "乡镇A.xlsx")
    # An Office lock file and a non-spreadsheet file: neither is an input.
    (folder / "~$承德市工信局.xlsx").write_bytes(b"\x00" * 165)
    # What a zip made on a Mac leaves: AppleDouble metadata twins, beside the file and in __MACOSX.
    apple_double = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(4000)
    (folder / "._承德市工信局.xlsx").write_bytes(apple_double)
    (folder / "__MACOSX" / "县区").mkdir(parents=True)
    (folder / "__MACOSX" / "县区" / "._遵化市数据局.xlsx").write_bytes(apple_double)
    (folder / "readme.txt").write_text("不是输入", encoding="utf-8")

    hashes = {p: digest(p) for p in folder.rglob("*") if p.is_file()}
    output = root / "out" / "合并.xlsx"
    parquet = root / "out" / "parquet"
    result = runner.invoke(
        app, ["consolidate", str(folder), "-o", str(output), "--parquet", str(parquet), "--workers", "2"],
        env={"COLUMNS": "80"},
    )  # fmt: skip
    yield Case(folder, accepted, copy, hostile, output, parquet, result.exit_code, result.stdout, hashes)


def test_exit_code_and_closing_summary(case: Case) -> None:
    assert case.exit_code == 3, case.stdout
    assert "已汇入 6 个" in case.stdout and "已拒绝 15 个" in case.stdout and "重复 1 个" in case.stdout
    assert "核对：一致" in case.stdout
    assert any(str(case.output.resolve()) in line for line in case.stdout.splitlines())


def test_six_sheets_with_the_contract_columns(case: Case) -> None:
    with CalamineWorkbook.from_path(str(case.output)) as wb:
        assert wb.sheet_names == list(SHEETS)
        for name in SHEETS:
            header = wb.get_sheet_by_name(name).to_python()[0]
            assert tuple(header[: len(COLUMNS[name])]) == COLUMNS[name], name


def test_the_contract_page_lists_every_column_of_every_sheet() -> None:
    page = (Path(__file__).parent.parent / "docs" / "consolidated.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\S+)\n(.*?)(?=^## |\Z)", page, flags=re.M | re.S))
    assert list(sections) == list(SHEETS)
    for name, text in sections.items():
        [columns] = re.findall(r"^列：(.+)$", text, flags=re.M)
        assert tuple(columns.split("、")) == COLUMNS[name], name


def test_rows_and_money_reconcile_with_the_accepted_inputs(case: Case) -> None:
    departments = [read_workbook(p).department for p in case.accepted]
    projects = [p for d in departments for p in d.projects]
    budget = sum((p.budget for p in projects if p.budget is not None), Decimal(0))
    rows = table(case.output, "项目")
    assert len(rows) == len(projects)
    assert len(table(case.output, "指标")) == sum(len(p.indicators) for p in projects)
    assert sum(Decimal(repr(r["预算数"])) for r in rows if r["预算数"] != "") == budget
    assert {r["来源文件"] for r in rows} == {str(p) for p in case.accepted}
    total = next(r for r in table(case.output, "汇总") if r["区划"] == "合计")
    assert Decimal(repr(total["预算数"])) == budget and total["项目数"] == len(projects)
    checks = checks_of(case.output)
    assert checks["是否一致"] == "是"
    assert checks["输入项目数（已汇入的文件）"] == checks["项目表行数"] == len(projects)


def test_summary_counts_the_problems_rule_by_rule(case: Case) -> None:
    with CalamineWorkbook.from_path(str(case.output)) as wb:
        grid = wb.get_sheet_by_name("汇总").to_python()
    start = next(n for n, row in enumerate(grid) if row[0] == "按规则汇总")
    assert grid[start + 1][:6] == ["规则", "", "名称", "级别", "问题数", "涉及单位数"]
    block = []
    for row in grid[start + 2 :]:
        if row[0] == "":
            break
        block.append((row[0], row[2], row[3], int(row[4]), int(row[5])))
    issues = table(case.output, "问题")
    expected: dict[tuple[str, str], set[tuple[str, str]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for r in issues:
        key = (r["规则"], r["级别"])
        expected.setdefault(key, set()).add((r["来源文件"], r["单位编码"]))
        counts[key] = counts.get(key, 0) + 1
    assert {(code, label): (n, units) for code, _, label, n, units in block} == {
        key: (counts[key], len(units)) for key, units in expected.items()
    }
    assert sum(n for *_, n, _ in block) == len(issues)
    levels = [label for _, _, label, _, _ in block]
    assert levels == sorted(levels, key=["错误", "警告", "提示"].index)
    assert ("PT-CODE-005", "项目编码重复", "错误") in {b[:3] for b in block}


def test_the_chart_shows_each_region_from_zero(case: Case) -> None:
    chart = ElementTree.fromstring(zipfile.ZipFile(case.output).read("xl/charts/chart1.xml"))
    refs = [f.text or "" for f in chart.iterfind(".//c:ser//c:f", CHART_NS)]
    with CalamineWorkbook.from_path(str(case.output)) as wb:
        grid = wb.get_sheet_by_name("汇总").to_python()
    categories, values = ([grid[r][c] for r, c in cells(ref)] for ref in refs)
    # A unit counts under its projects' most common 区划, so one region's money is its units'.
    budgets: dict[str, Decimal] = {}
    for row in table(case.output, "单位"):
        budgets[row["区划"]] = budgets.get(row["区划"], Decimal(0)) + Decimal(repr(row["预算数"]))
    assert dict(zip(map(str, categories), (Decimal(repr(v)) for v in values), strict=True)) == budgets
    assert chart.find(".//c:valAx/c:scaling/c:min", CHART_NS).get("val") == "0"  # type: ignore[union-attr]
    assert chart.find(".//c:ser/c:dLbls/c:showVal", CHART_NS).get("val") == "1"  # type: ignore[union-attr]


def cells(ref: str) -> list[tuple[int, int]]:
    """Return the 0-based (row, column) of every cell of a one-column reference like 汇总!$A$10:$A$11."""
    first, last = (xl_cell_to_rowcol(cell.replace("$", "")) for cell in ref.split("!")[1].split(":"))
    assert first[1] == last[1], ref
    return [(r, first[1]) for r in range(first[0], last[0] + 1)]


def test_every_hostile_file_is_rejected_with_a_chinese_reason(case: Case) -> None:
    sources = {r["文件"]: r for r in table(case.output, "来源")}
    for role, path in case.hostile.items():
        row = sources[str(path)]
        assert row["状态"] == Status.REJECTED.value, (role, row)
        assert CJK.search(row["原因"]), (role, row)
    reasons = {role: sources[str(path)]["原因"] for role, path in case.hostile.items()}
    assert "加密" in reasons["encrypted"]
    assert "网页" in reasons["html"]
    assert "旧版" in reasons["legacy"]
    assert "空" in reasons["empty"]
    assert "未找到项目绩效目标表" in reasons["foreign"]
    assert "压缩炸弹" in reasons["bomb"]
    assert "解压后" in reasons["declared"]
    assert "A1:XFD1048576" in reasons["dimension"] and "A1:XFD1048576" in reasons["far"]
    assert "不完整" in reasons["truncated"]
    assert "纯文本" in reasons["text"]
    assert "xl/sharedStrings.xml 含有 DTD 或实体声明" in reasons["entities"]
    assert "WPS 表格自有格式" in reasons["wps"]
    assert reasons["archive"] == "这是压缩包（.zip），perfxl 不读取压缩包里的文件；请先解压，再把解压出的工作簿一并合并"
    # One whole line per file even on an 80-column console or log: paths and reasons are never cut.
    lines = case.stdout.splitlines()
    for path in case.hostile.values():
        assert f"  {Status.REJECTED.value} {path}：{sources[str(path)]['原因']}" in lines


def test_the_copy_is_a_duplicate_and_lock_and_metadata_files_are_not_inputs(case: Case) -> None:
    sources = {r["文件"]: r for r in table(case.output, "来源")}
    assert sources[str(case.copy)]["状态"] == Status.DUPLICATE.value
    assert str(case.accepted[0]) in sources[str(case.copy)]["原因"]
    assert sources[str(case.copy)]["SHA256"] == sources[str(case.accepted[0])]["SHA256"] == digest(case.copy)
    assert not any("~$" in f or "._" in f or "__MACOSX" in f or f.endswith(".txt") for f in sources)
    assert len(sources) == len(case.accepted) + 1 + len(case.hostile)


def test_inputs_are_never_modified(case: Case) -> None:
    assert {p: digest(p) for p in case.hashes} == case.hashes


def test_formula_and_xml_looking_text_arrives_as_text(case: Case) -> None:
    names = {r["项目名称"] for r in table(case.output, "项目")}
    assert {FORMULA_NAME, DDE_NAME, XML_NAME} <= names
    for sheet in SHEETS:
        xml = sheet_xml(case.output, sheet)
        assert "<f>" not in xml and "<f " not in xml, sheet


def test_every_table_sheet_declares_the_range_it_holds(case: Case) -> None:
    for name in SHEETS[1:]:
        last = f"{xl_col_to_name(len(COLUMNS[name]) - 1)}{len(table(case.output, name)) + 1}"
        xml = sheet_xml(case.output, name)
        assert f'<dimension ref="A1:{last}"/>' in xml and f'<autoFilter ref="A1:{last}"/>' in xml, name
        assert xml.count("<row ") == len(table(case.output, name)) + 1, name


def test_a_number_that_is_not_finite_rejects_its_file_alone(case: Case, tmp_path: Path) -> None:
    # Excel cannot hold NaN; python-calamine reads <v>NaN</v> as a float NaN.
    xml = sheet_xml(case.output, "指标")
    number = re.search(r'<c r="H\d+" s="\d+"><v>[^<]*</v>', xml)
    assert number is not None
    with zipfile.ZipFile(case.output) as zf:
        part = next(n for n in zf.namelist() if zf.read(n).decode(errors="replace") == xml)
    nan = xml.replace(number.group(0), re.sub(r"<v>[^<]*</v>", "<v>NaN</v>", number.group(0)), 1)
    bad = rewrite(case.output, tmp_path / "nan.xlsx", {part: nan.encode()})
    report = consolidate([bad, case.accepted[1]], tmp_path / "out.xlsx", workers=1)
    assert report.exit_code == 3 and report.reconciled
    assert [s.status for s in report.sources] == [Status.REJECTED, Status.ACCEPTED]
    assert "不是有限数" in report.sources[0].reason and CJK.search(report.sources[0].reason)


def test_same_code_from_two_files_is_reported_and_both_rows_stay(case: Case) -> None:
    chengde, dup = case.accepted[0], case.accepted[4]
    code = read_workbook(chengde).department.projects[0].code
    rows = [r for r in table(case.output, "项目") if r["项目编码"] == code]
    assert {r["来源文件"] for r in rows} == {str(chengde), str(dup)}
    findings = [r for r in table(case.output, "问题") if r["规则"] == "PT-CODE-005" and r["项目编码"] == code]
    assert len(findings) == 2 and all(r["级别"] == "错误" for r in findings)
    assert all(str(chengde) in r["说明"] and str(dup) in r["说明"] for r in findings)
    assert all(r["说明"].startswith(CROSS_FILE_PREFIX) for r in findings)
    checks = checks_of(case.output)
    money = sum(Decimal(repr(r["预算数"])) for r in rows)
    assert checks["跨文件重复的项目编码数（PT-CODE-005）"] == 1
    assert Decimal(repr(checks["重复编码涉及的预算数（万元）"])) == money
    assert "跨文件重复的项目编码 1 个" in case.stdout


def test_same_name_under_another_code_from_two_files_is_a_warning(case: Case) -> None:
    zunhua, dup = case.accepted[1], case.accepted[4]
    name = read_workbook(zunhua).department.projects[1].name
    findings = [r for r in table(case.output, "问题") if r["规则"] == "PT-XPR-001" and r["当前值"] == name]
    assert len(findings) == 2 and all(r["级别"] == "警告" for r in findings)
    assert {r["来源文件"] for r in findings} == {str(zunhua), str(dup)}
    assert all(r["说明"].startswith(CROSS_FILE_PREFIX) and str(zunhua) in r["说明"] for r in findings)
    assert checks_of(case.output)["跨文件同名、编码不同的项目名称数（PT-XPR-001）"] == 1
    assert "跨文件同名、编码不同的项目名称 1 个" in case.stdout
    # The warnings count in the units' 警告数 of 汇总, as the department's own findings do.
    warnings = sum(1 for r in table(case.output, "问题") if r["级别"] == "警告" and r["来源文件"] == str(dup))
    unit = read_workbook(dup).department.unit_code
    assert next(r for r in table(case.output, "汇总") if r["单位编码"] == unit)["警告数"] == warnings


def test_two_versions_of_one_department_are_pointed_out(tmp_path: Path) -> None:
    chengde = seed_departments()[0]
    newer = chengde.model_copy(deep=True)
    newer.projects[0].budget = Decimal("4.58")
    old = write_department_workbook(chengde, tmp_path / "承德市工信局.xlsx")
    new = write_department_workbook(newer, tmp_path / "承德市工信局（修改后）.xlsx")
    other = write_department_workbook(seed_departments()[1], tmp_path / "遵化.xlsx")
    out = tmp_path / "out" / "合并.xlsx"
    result = runner.invoke(app, ["consolidate", str(tmp_path), "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout
    assert "1 个单位的数据来自多个文件，可能是同一单位的新旧版本" in result.stdout
    assert f"单位 593001：{old}、{new}" in result.stdout
    reasons = {r["文件"]: r["原因"] for r in table(out, "来源")}
    assert reasons[str(old)] == f"单位 593001 另见「{new}」：可能是同一单位的新旧版本，请核实后只保留一份"
    assert reasons[str(new)] == f"单位 593001 另见「{old}」：可能是同一单位的新旧版本，请核实后只保留一份"
    assert reasons[str(other)] == ""
    assert checks_of(out)["出现在多个文件中的单位数（见「来源」表原因）"] == 1
    # Every project of the unit arrives twice, so each code is also a cross-file PT-CODE-005.
    codes = {r["项目编码"] for r in table(out, "问题") if r["规则"] == "PT-CODE-005" and r["说明"].startswith("跨文件")}
    assert codes == {p.code for p in chengde.projects}


def test_two_versions_of_one_county_result_are_not_counted_silently(tmp_path: Path) -> None:
    # The county merges its folder twice, a department's workbook corrected in between: both
    # results carry the same 来源文件, and the city finds both in its folder.
    county, city = tmp_path / "县", tmp_path / "市"
    (county / "各单位").mkdir(parents=True)
    city.mkdir()
    chengde = seed_departments()[0]
    source = write_department_workbook(chengde, county / "各单位" / "承德市工信局.xlsx")
    consolidate([source], city / "县-第一次.xlsx", workers=1)
    corrected = chengde.model_copy(deep=True)
    corrected.projects[0].budget = Decimal("4.58")
    write_department_workbook(corrected, source)
    consolidate([source], city / "县-第二次.xlsx", workers=1)
    out = tmp_path / "市合并.xlsx"
    report = consolidate([city], out, workers=1)
    first, second = (str(city / name) for name in ("县-第一次.xlsx", "县-第二次.xlsx"))
    cross = [r for r in table(out, "问题") if r["规则"] == "PT-CODE-005" and r["说明"].startswith(CROSS_FILE_PREFIX)]
    assert {r["项目编码"] for r in cross} == {p.code for p in chengde.projects}
    assert f"「{source}（在「{first}」中）」、「{source}（在「{second}」中）」" in cross[0]["说明"]
    assert report.cross_file.units == {"593001": [f"{source}（在「{first}」中）", f"{source}（在「{second}」中）"]}
    reasons = {r["文件"]: r["原因"] for r in table(out, "来源")}
    assert f"单位 593001 另见「{source}（在「{second}」中）」" in reasons[first]
    # Each version stays its own unit row, as each arrived.
    units = [r for r in table(out, "单位") if r["单位编码"] == "593001"]
    assert [r["项目数"] for r in units] == [len(chengde.projects)] * 2


# (inputs, by the names below; status of each file in 来源; whose projects are in 项目)
GIVEN_TWICE = [
    # The county's earlier result saved inside the folder it merges again (上次/ sorts first).
    (["各单位"], {"上次/合并.xlsx": "已汇入", "承德.xlsx": "重复", "遵化.xlsx": "重复"}, ["承德.xlsx", "遵化.xlsx"]),
    (
        ["各单位/承德.xlsx", "各单位/遵化.xlsx", "各单位/上次/合并.xlsx"],
        {"承德.xlsx": "已汇入", "遵化.xlsx": "已汇入", "上次/合并.xlsx": "重复"},
        ["承德.xlsx", "遵化.xlsx"],
    ),
    (
        ["各单位/上次/合并.xlsx", "各单位/承德.xlsx"],
        {"上次/合并.xlsx": "已汇入", "承德.xlsx": "重复"},
        ["承德.xlsx", "遵化.xlsx"],
    ),
    # Only part of the earlier result given again: the result is left out whole, and says why.
    (["各单位/承德.xlsx", "各单位/上次/合并.xlsx"], {"承德.xlsx": "已汇入", "上次/合并.xlsx": "已拒绝"}, ["承德.xlsx"]),
]


@pytest.mark.parametrize(("given", "statuses", "merged"), GIVEN_TWICE)
def test_a_file_given_directly_and_inside_a_consolidated_input_is_counted_once(
    tmp_path: Path, given: list[str], statuses: dict[str, str], merged: list[str]
) -> None:
    folder = tmp_path / "各单位"
    (folder / "上次").mkdir(parents=True)
    chengde, zunhua = seed_departments()
    books = [write_department_workbook(d, folder / n) for d, n in ((chengde, "承德.xlsx"), (zunhua, "遵化.xlsx"))]
    assert consolidate(books, folder / "上次" / "合并.xlsx", workers=1).exit_code == 0
    out = tmp_path / "市合并.xlsx"
    result = runner.invoke(
        app, ["consolidate", *(str(tmp_path / g) for g in given), "-o", str(out)], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 3, result.stdout
    sources = {str(Path(r["文件"]).relative_to(folder)): r for r in table(out, "来源")}
    assert {name: r["状态"] for name, r in sources.items()} == statuses
    for row in sources.values():
        if row["状态"] != "已汇入":
            assert ("只汇入一次" if row["状态"] == "重复" else "其余文件的数据不在本次结果中") in row["原因"]
            assert row["原因"] in result.stdout.replace("\n", "")
    projects = table(out, "项目")
    expected = [p for d, n in ((chengde, "承德.xlsx"), (zunhua, "遵化.xlsx")) if n in merged for p in d.projects]
    assert sorted(r["项目编码"] for r in projects) == sorted(p.code for p in expected)
    assert not [r for r in table(out, "问题") if r["规则"] == "PT-CODE-005" and r["说明"].startswith(CROSS_FILE_PREFIX)]
    assert checks_of(out)["是否一致"] == "是"


def checks_of(book: Path) -> dict[str, Any]:
    """Return the reconciliation block of 汇总 as {label: value}."""
    with CalamineWorkbook.from_path(str(book)) as wb:
        grid = wb.get_sheet_by_name("汇总").to_python()
    return {row[0]: row[5] for row in grid if isinstance(row[0], str) and row[5] != ""}


def test_summary_weights_the_spending_plan_as_each_department_summary_does(tmp_path: Path) -> None:
    chengde, zunhua = (d.model_copy(deep=True) for d in seed_departments())
    zunhua.projects[0].spending_plan = [None] * 4
    files = []
    for n, dept in enumerate((chengde, zunhua)):
        book = write_department_workbook(dept, tmp_path / f"{n}.xlsx")
        result = read_source(book)
        files.append(write_rollup(book, result, validate(result), output=tmp_path / f"{n}-汇总后.xlsx"))
    out = tmp_path / "out.xlsx"
    consolidate(files, out, workers=1)
    rows = {r["单位名称"] or r["区划"]: r for r in table(out, "汇总") if r["区划"]}
    progress = ["3月底计划进度", "6月底计划进度", "10月底计划进度", "12月底计划进度"]

    def plan(name: str) -> list[float]:
        return [round(rows[name][c], 9) for c in progress]

    # Each unit's row is its own workbook's weighted plan (the cached values of 部门汇总).
    for dept, file in zip((chengde, zunhua), files, strict=True):
        with CalamineWorkbook.from_path(str(file)) as wb:
            grid = wb.get_sheet_by_name("部门汇总").to_python()
        weighted = next(row for row in grid if row[2] == "支出计划（按预算数加权）")
        assert plan(dept.unit_name) == [round(v, 9) for v in weighted[6:10]]
    # Chengde by hand (15 projects, 435.16 万元): by 3月底 15 + 81 × 20% + 145.12 + 12.84 are
    # planned; the 145.12 and 12.84 projects leave 12月底 blank (PT-PLAN-001), which counts 0%.
    by_march = Decimal("15") + Decimal("81") * Decimal("0.2") + Decimal("145.12") + Decimal("12.84")
    assert plan(chengde.unit_name)[0] == round(float(by_march / Decimal("435.16")), 9)
    assert plan(chengde.unit_name)[3] == round(float(Decimal("277.2") / Decimal("435.16")), 9)
    # Zunhua's other projects plan 30/60/90/100; the one without a plan counts 0% throughout.
    planned = Decimal("497.12") - zunhua.projects[0].budget  # type: ignore[operator]
    assert plan(zunhua.unit_name) == [round(float(planned * p / Decimal("497.12")), 9) for p in
                                      (Decimal("0.3"), Decimal("0.6"), Decimal("0.9"), Decimal(1))]  # fmt: skip
    total = (by_march + planned * Decimal("0.3")) / (Decimal("435.16") + Decimal("497.12"))
    assert plan("合计")[0] == round(float(total), 9)
    chengde_gaps = sum(1 for p in chengde.projects if None in p.spending_plan)
    assert checks_of(out)["支出计划有未填节点的项目数（未填按 0% 计）"] == chengde_gaps + 1
    with CalamineWorkbook.from_path(str(out)) as wb:
        grid = wb.get_sheet_by_name("汇总").to_python()
    assert any(str(row[0]).startswith("「3月底计划进度」至「12月底计划进度」：") for row in grid)
    assert 'formatCode="0.0%"' in zipfile.ZipFile(out).read("xl/styles.xml").decode()


# (case, what the second file's first project shares with the first file's, config, the
# cross-file findings expected as (规则, 级别) on each of the two projects)
CROSS_FILE_CASES = [
    ("name-other-code", "name", Config(), {("PT-XPR-001", "警告")}),
    ("name-and-code", "name code", Config(), {("PT-CODE-005", "错误")}),
    ("code-other-name", "code", Config(), {("PT-CODE-005", "错误")}),
    ("name-with-layout-spaces", "spaced name", Config(), {("PT-XPR-001", "警告")}),
    ("names-disabled", "name", Config(disabled_rules=["PT-XPR-001"]), set()),
    ("codes-disabled", "code", Config(disabled_rules=["PT-CODE-005"]), set()),
    ("names-as-info", "name", Config(severity_overrides={"PT-XPR-001": Severity.INFO}), {("PT-XPR-001", "提示")}),
    ("nothing", "", Config(), set()),
]


@pytest.mark.parametrize(("shares", "config", "expected"), [c[1:] for c in CROSS_FILE_CASES],
                         ids=[c[0] for c in CROSS_FILE_CASES])  # fmt: skip
def test_cross_file_findings(tmp_path: Path, shares: str, config: Config, expected: set[tuple[str, str]]) -> None:
    rng = random.Random(3)
    first, second = department(rng, projects=4, serial=0), department(rng, projects=4, serial=1)
    mine, theirs = first.projects[0], second.projects[0]
    if "name" in shares:
        theirs.name = f"{mine.name[:3]} {mine.name[3:]}" if "spaced" in shares else mine.name
    if "code" in shares:
        theirs.code = mine.code
    files = [write_department_workbook(d, tmp_path / f"{n}.xlsx") for n, d in enumerate((first, second))]
    report = consolidate(files, tmp_path / "out.xlsx", workers=1, config=config)
    assert report.exit_code == 0
    cross = [r for r in table(tmp_path / "out.xlsx", "问题") if r["说明"].startswith(CROSS_FILE_PREFIX)]
    assert {(r["规则"], r["级别"]) for r in cross} == expected
    assert len(cross) == 2 * len(expected)
    assert {r["项目编码"] for r in cross} <= {mine.code, theirs.code}
    assert all(str(files[0]) in r["说明"] and str(files[1]) in r["说明"] for r in cross)
    rules = {rule for rule, _ in expected}
    assert (report.cross_file.names, report.cross_file.codes) == ("PT-XPR-001" in rules, "PT-CODE-005" in rules)


def test_a_name_from_many_files_names_a_few_and_counts_them(tmp_path: Path) -> None:
    rng = random.Random(5)
    departments = [department(rng, projects=2, serial=n) for n in range(NAMED_FILES + 3)]
    for d in departments[1:]:
        d.projects[0].name = departments[0].projects[0].name
    files = [write_department_workbook(d, tmp_path / f"{n}.xlsx") for n, d in enumerate(departments)]
    consolidate(files, tmp_path / "out.xlsx", workers=1)
    cross = [r for r in table(tmp_path / "out.xlsx", "问题") if r["规则"] == "PT-XPR-001"]
    assert len(cross) == len(files)
    message = cross[0]["说明"]
    assert f"出现在 {len(files)} 个文件中" in message
    assert [str(f) in message for f in files] == [True] * NAMED_FILES + [False] * 3
    assert f"「{files[NAMED_FILES - 1]}」等，" in message


def test_reconsolidating_the_output_gives_the_same_projects_and_totals(case: Case, tmp_path: Path) -> None:
    again = tmp_path / "again.xlsx"
    report = consolidate([case.output], again, workers=1)
    assert report.exit_code == 0 and report.reconciled
    for name in ("项目", "指标", "单位"):
        assert table(again, name) == table(case.output, name), name
    assert table(again, "问题") == table(case.output, "问题")
    totals = [r for r in table(case.output, "汇总") if r["区划"] == "合计"]
    assert [r for r in table(again, "汇总") if r["区划"] == "合计"] == totals
    own, *below = table(again, "来源")
    assert own["状态"] == Status.ACCEPTED.value and "汇总工作簿" in own["原因"]
    # The files rejected below are listed again: their data is missing at this level too.
    rejected = [r for r in table(case.output, "来源") if r["状态"] == Status.REJECTED.value]
    assert len(rejected) == len(case.hostile)
    assert below == [{**r, "原因": f"下级合并「{case.output}」时已拒绝：{r['原因']}"} for r in rejected]
    assert report.rejected_below == len(rejected) and report.exit_code == 0
    assert checks_of(again)["下级合并时已拒绝的文件数（其数据不在本汇总中）"] == len(rejected)
    # A level further up they still name the level that rejected them.
    third = tmp_path / "third.xlsx"
    result = runner.invoke(app, ["consolidate", str(again), "-o", str(third)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"下级汇总工作簿中有 {len(rejected)} 个文件在下级合并时已被拒绝，其数据不在本汇总中" in result.stdout
    assert table(third, "来源")[1:] == below


def _spools() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("perfxl-spool-*"))


def test_a_consolidated_input_streams_in_batches(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A province merges results of hundreds of thousands of rows; they travel in batches.
    monkeypatch.setattr(perfxl.consolidate, "SPOOL_BATCH_ROWS", 25)
    before = _spools()
    again = tmp_path / "again.xlsx"
    report = consolidate([case.output], again, workers=1, start_method="fork", parquet_dir=tmp_path / "pq")
    assert report.exit_code == 0 and report.reconciled
    assert report.input_indicators == len(table(case.output, "指标")) > 4 * 25
    for name in ("项目", "指标", "问题", "单位"):
        assert table(again, name) == table(case.output, name), name
        assert pq.read_table(tmp_path / "pq" / f"{name}.parquet").num_rows == len(table(again, name)), name
    assert _spools() == before


def test_a_bad_value_deep_in_a_consolidated_input_rejects_that_file_alone(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(perfxl.consolidate, "SPOOL_BATCH_ROWS", 25)
    book = openpyxl.load_workbook(case.output)
    sheet = book["指标"]
    column = [c.value for c in sheet[1]].index("数值") + 1
    last = sheet.max_row
    sheet.cell(last, column, "很多")
    bad = tmp_path / "坏的汇总.xlsx"
    book.save(bad)
    before = _spools()
    report = consolidate([bad, case.accepted[0]], tmp_path / "out.xlsx", workers=1, start_method="fork")
    assert report.exit_code == 3
    rejected, accepted = report.sources
    cell = f"{openpyxl.utils.get_column_letter(column)}{last}"
    assert rejected.status is Status.REJECTED
    assert rejected.reason == f"汇总工作簿「指标」表 {cell} 的数值「很多」不是数字"
    assert accepted.status is Status.ACCEPTED and report.reconciled
    assert report.input_indicators == len(table(tmp_path / "out.xlsx", "指标"))
    assert _spools() == before


def test_cells_edited_in_a_consolidated_input_read_as_their_columns_hold_them(case: Case, tmp_path: Path) -> None:
    # Someone at the county opened the result in Excel: a code typed as a number, a line break
    # saved as CR LF, a 数值 cleared, an extra row holding only a zero, a blank row between.
    book = openpyxl.load_workbook(case.output)
    sheet = book["指标"]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) + 1 for name in header}
    sheet.cell(2, col["项目编码"], 1302.0)
    sheet.cell(2, col["绩效指标描述"], "甲\r\n乙")
    sheet.cell(2, col["数值"]).value = None
    last = sheet.max_row
    sheet.cell(last + 2, col["数值"], 0)
    edited = tmp_path / "改过的汇总.xlsx"
    book.save(edited)
    with ConsolidatedReader(open_workbook(edited.read_bytes(), str(edited))) as reader:
        rows = list(reader.indicators())
    original = table(case.output, "指标")
    assert len(rows) == len(original) + 1
    first = dict(zip(COLUMNS["指标"], rows[0], strict=True))
    assert (first["项目编码"], first["绩效指标描述"], first["数值"]) == ("1302", "甲\n乙", None)
    assert dict(zip(COLUMNS["指标"], rows[-1], strict=True)) == {c: 0.0 if c == "数值" else "" for c in COLUMNS["指标"]}
    assert [dict(zip(COLUMNS["指标"], r, strict=True)) for r in rows[1:-1]] == [
        {c: (None if v == "" and c == "数值" else v) for c, v in r.items()} for r in original[1:]
    ]


def test_a_spool_that_cannot_be_written_stops_the_run_rather_than_reject_the_input(case: Case, tmp_path: Path) -> None:
    # A full temporary folder is no fault of the county's file: rejecting it would drop its rows.
    missing = tmp_path / "已删除的临时文件夹"
    with pytest.raises(SpoolError, match=f"无法写入临时文件夹 {re.escape(str(missing))}"):
        process_file(str(case.output), Config(), spool_dir=str(missing))
    assert not missing.exists()


def test_indicators_split_across_sheets_before_the_row_limit(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "split.xlsx"
    report = consolidate(case.accepted, out, max_rows=100, workers=1)
    assert report.reconciled
    indicators = report.written.rows["指标"] if report.written else 0
    sheets = [f"指标{n}" if n > 1 else "指标" for n in range(1, -(-indicators // 99) + 1)]
    issues = report.written.rows["问题"] if report.written else 0
    issue_sheets = [f"问题{n}" if n > 1 else "问题" for n in range(1, -(-issues // 99) + 1)]
    with CalamineWorkbook.from_path(str(out)) as wb:
        assert wb.sheet_names == ["汇总", "单位", "项目", *sheets, *issue_sheets, "来源"]
        for name in sheets[:-1]:
            assert len(wb.get_sheet_by_name(name).to_python()) == 100
    assert len(table(out, "指标")) == indicators
    # The same rows as the folder run, which met the files in folder order.
    assert sorted(map(repr, table(out, "指标"))) == sorted(map(repr, table(case.output, "指标")))


def test_parquet_tables_match_the_sheets(case: Case) -> None:
    for name in ("单位", "项目", "指标", "问题", "来源"):
        parquet = pq.read_table(case.parquet / f"{name}.parquet")
        assert parquet.column_names == list(COLUMNS[name])
        assert parquet.num_rows == len(table(case.output, name)), name
    projects = pq.read_table(case.parquet / "项目.parquet").to_pylist()
    assert {p["项目名称"] for p in projects} >= {FORMULA_NAME, XML_NAME}
    assert not list(case.parquet.glob(".*"))


def test_libreoffice_opens_the_output(case: Case, tmp_path: Path) -> None:
    assert SOFFICE is not None, "LibreOffice (soffice) is needed: .ci/run installs it"
    sheets = sheets_as_csv(case.output, tmp_path)
    assert set(sheets) == set(SHEETS)
    assert len(sheets["项目"]) - 1 == len(table(case.output, "项目"))
    assert any(FORMULA_NAME in row for row in sheets["项目"])


def test_the_summary_prints_one_page_wide_and_long_tables_repeat_their_header(case: Case, tmp_path: Path) -> None:
    [pdf] = convert(case.output, "pdf", tmp_path)
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")  # fmt: skip
    # 汇总 first: its every column and the chart on page 1, at a size that keeps them legible.
    assert all(column in pages[0] for column in COLUMNS["汇总"]), pages[0][:400]
    assert "各区划预算数（万元）" in pages[0]
    # 指标 runs over several pages; each starts with the header row again.
    indicator_pages = [p for p in pages if p.lstrip().startswith("项目编码")]
    assert len(indicator_pages) >= 2
    assert all("指标值确定依据" in p.splitlines()[0] for p in indicator_pages)


def test_nothing_to_merge_writes_nothing(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "none.xlsx"
    hostile = [case.hostile["random"], case.hostile["html"]]
    result = runner.invoke(app, ["consolidate", *map(str, hostile), "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert not out.exists() and not list(tmp_path.iterdir())
    assert "未写出" in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runner.invoke(app, ["consolidate", str(empty), "-o", str(out)]).exit_code == 2


def test_unwritable_output_is_exit_code_2(case: Case, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["consolidate", str(case.accepted[1]), "-o", str(blocker / "out.xlsx")])
    assert result.exit_code == 2
    assert "无法" in result.output
    same = runner.invoke(app, ["consolidate", str(case.accepted[1]), "-o", str(case.accepted[1])])
    assert same.exit_code == 2 and digest(case.accepted[1]) == case.hashes[case.accepted[1]]


def test_a_broken_temporary_folder_is_named_and_leaves_nothing(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "不存在的临时文件夹"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    out = tmp_path / "输出"
    result = runner.invoke(app, ["consolidate", str(case.accepted[1]), "-o", str(out / "汇总.xlsx")])
    assert result.exit_code == 2
    assert f"无法写入工作文件 {missing}" in result.output.replace("\n", "")
    assert not list(out.iterdir())


def test_an_output_locked_before_the_run_stops_it_at_once(case: Case, tmp_path: Path) -> None:
    output = tmp_path / "合并.xlsx"
    output.write_bytes(b"previous result")
    with locked(output):
        result = runner.invoke(app, ["consolidate", *map(str, case.accepted[:2]), "-o", str(output)])
    assert result.exit_code == 2
    assert f"输出文件 {output} 无法覆盖（是否正在 Excel 或 WPS 中打开？），请关闭后重试" in result.output
    assert output.read_bytes() == b"previous result"
    assert sorted(tmp_path.iterdir()) == [output]


def test_an_output_locked_during_the_run_keeps_the_result_under_a_free_name(case: Case, tmp_path: Path) -> None:
    # The usual set-up: the output sits in the folder of the inputs.
    inputs = [Path(shutil.copy(p, tmp_path)) for p in case.accepted[:2]]
    output = tmp_path / "合并.xlsx"
    output.write_bytes(b"previous result")
    with ExitStack() as stack:
        seen: list[SourceOutcome] = []

        def lock_once(outcome: SourceOutcome) -> None:
            # The first finished file locks the output, as a user opening the last result would.
            if not seen:
                stack.enter_context(locked(output))
            seen.append(outcome)

        report = consolidate([tmp_path], output, on_file=lock_once)
        assert output.read_bytes() == b"previous result"
    assert report.locked == output and report.exit_code == 2
    assert report.output is not None and report.output.parent == tmp_path and report.output != output
    assert re.fullmatch(r"合并-\d{8}-\d{6}\.xlsx", report.output.name)
    projects = sum(len(read_workbook(p).department.projects) for p in inputs)
    assert len(table(report.output, "项目")) == projects
    assert sorted(tmp_path.iterdir()) == sorted([*inputs, output, report.output])
    with console.capture() as captured:
        print_consolidation(report)
    assert f"无法覆盖 {output}（是否正在 Excel 或 WPS 中打开？）；为免丢失本次结果，已另存为" in captured.get()

    # The next run over the same folder does not merge the kept result: its projects would count twice.
    again = runner.invoke(app, ["consolidate", str(tmp_path), "-o", str(output)], env={"COLUMNS": "80"})
    assert again.exit_code == 3, again.output
    assert len(table(output, "项目")) == projects
    kept = next(r for r in table(output, "来源") if r["文件"] == str(report.output))
    assert kept["状态"] == "已拒绝" and f"这是 {output} 被占用时另存的汇总结果" in kept["原因"]
    assert f"已拒绝 {report.output}：这是 {output} 被占用时另存的汇总结果" in again.output


def test_workers_started_as_on_windows_give_the_same_workbook(case: Case, tmp_path: Path) -> None:
    # Windows starts workers with "spawn": a fresh interpreter that imports perfxl and unpickles
    # the work, where Linux forks a copy of the parent.
    # A lower level's result among them: its rows come back through a spool file.
    lower = consolidate(case.accepted[3:], tmp_path / "下级.xlsx", workers=1).output
    assert lower is not None
    inputs = [*case.accepted[:3], case.hostile["bomb"], case.hostile["far"], case.copy, lower]
    forked = consolidate(inputs, tmp_path / "fork.xlsx", workers=2, start_method="fork")
    spawned = consolidate(inputs, tmp_path / "spawn.xlsx", workers=2, start_method="spawn")
    assert forked.output is not None and spawned.output is not None
    assert spawned.exit_code == forked.exit_code == 3
    assert spawned.sources[-1].status is Status.ACCEPTED and spawned.reconciled
    for name in SHEETS:
        assert table(spawned.output, name) == table(forked.output, name), name


def test_all_merged_is_exit_code_0(case: Case, tmp_path: Path) -> None:
    result = runner.invoke(app, ["consolidate", *map(str, case.accepted[:2]), "-o", str(tmp_path / "ok.xlsx")])
    assert result.exit_code == 0, result.output


def test_a_file_over_its_time_budget_is_rejected_and_the_run_goes_on(case: Case, tmp_path: Path) -> None:
    before = _spools()
    inputs = [*case.accepted[:2], case.output]
    report = consolidate(inputs, tmp_path / "slow.xlsx", workers=2, seconds_per_file=0.001)
    assert report.exit_code == 2
    assert [s.status for s in report.sources] == [Status.REJECTED] * 3
    assert all("秒仍未完成" in s.reason for s in report.sources)
    # Whatever a stopped worker had spooled of the consolidated input goes with the run.
    assert _spools() == before
