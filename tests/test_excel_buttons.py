"""The ribbon buttons (``perfxl.excel.buttons``) on real xlwings objects, through xlwings' remote engine.

Each test opens a workbook perfxl wrote the way xlwings Server receives it (``tests/excel.py``),
presses a button, and checks what perfxl asked the workbook to do: the 校验结果 rows and their
links, the marks, 部门汇总's formulas, the new sheet, the message shown. No Excel runs here, so
the desktop engine's own calls are not exercised; the smoke test in docs/ covers those.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from perfxl.excel import buttons
from perfxl.excel.grid import read_book
from perfxl.excel.template import build_template, build_workbook
from perfxl.layout import ISSUES_HEADER, ISSUES_SHEET, SUMMARY_HEADER, SUMMARY_SHEET
from perfxl.model import Finding, public_department
from perfxl.readers import read_source
from perfxl.readers.workbook import read_workbook
from perfxl.rules import validate
from perfxl.writers.package import MARKER_FORMULA, SEVERITY_FILLS, write_findings, write_rollup
from perfxl.writers.workbook import write_department_workbook
from tests.excel import actions, noted_cells, remote_book
from tests.workbooks import locked, read_parts, rewrite

ROOT = Path(__file__).parent.parent
CHENGDE = ROOT / "examples" / "chengde-2025.txt"


@pytest.fixture(scope="module")
def book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 承德's document imported into a copy of the template."""
    return build_workbook(read_source(CHENGDE).department, tmp_path_factory.mktemp("book") / "承德.xlsm")


def alert(book: Any) -> tuple[str, str]:
    """Return the message perfxl showed and its mode ("info" or "critical")."""
    (shown,) = actions(book, "alert")
    prompt, title, _, mode, _ = shown["args"]
    assert title.startswith("perfxl · ")
    return prompt, mode


def key(f: Finding) -> tuple[str, str, str | None, str | None]:
    """Return what identifies a finding whatever file name it carries."""
    return f.code, f.message, f.sheet, f.cell


def test_the_grid_source_reads_what_the_file_reader_reads(book_file: Path) -> None:
    from_excel = read_book(remote_book(book_file))
    from_file = read_workbook(book_file)
    assert public_department(from_excel.department) == public_department(from_file.department)
    assert [key(f) for f in validate(from_excel)] == [key(f) for f in validate(from_file)]


def test_error_values_in_read_cells_are_findings(book_file: Path) -> None:
    def broken(data: dict[str, Any]) -> None:
        sheet = next(s for s in data["sheets"] if s["name"] == "项目1")
        sheet["values"][3][2] = "#REF!"  # 预算数, C4
        sheet["values"][0][7] = "#NAME?"  # the status cell H1 with macros off: nobody reads it

    result = read_book(remote_book(book_file, broken))
    errors = [f for f in result.findings if f.sheet == "项目1"]
    assert [(f.cell, f.value, f.severity.value) for f in errors] == [("C4", "#REF!", "error")]
    assert result.department.projects[0].budget is None


def test_validate_writes_the_issues_sheet_links_and_marks(book_file: Path) -> None:
    book = remote_book(book_file)
    buttons.validate(book)
    expected = validate(read_workbook(book_file))
    (added,) = actions(book, "addSheet")
    assert added["args"][1] == ISSUES_SHEET
    # After 部门汇总, the last visible sheet; the hidden lists and settings stay at the end.
    assert added["args"][0] == [s.name for s in book.sheets].index(SUMMARY_SHEET) + 1
    (rows,) = [a["values"] for a in actions(book, "setValues") if a["sheet_position"] == added["args"][0]]
    assert rows[0] == list(ISSUES_HEADER)
    assert len(rows) == len(expected) + 1
    for row, f in zip(rows[1:], expected, strict=True):
        assert row[:3] == [f.severity.label, f.code, f.message]
        assert row[3] == f.project_name
        assert row[4] == f'=HYPERLINK("#\'{f.sheet}\'!{f.cell}","{f.sheet}!{f.cell}")'
    marks = actions(book, "addConditionalFormat")
    cells = {(f.sheet, f.cell) for f in expected}
    assert len(marks) == len(cells)
    names = [s.name for s in book.sheets]
    worst = {c: min((f.severity for f in expected if (f.sheet, f.cell) == c), key=lambda s: s.rank) for c in cells}
    for mark in marks:
        (rule,) = mark["args"]
        assert rule["type"] == "Custom" and rule["formula"] == f"={MARKER_FORMULA}"
        cell = (names[mark["sheet_position"]], f"{chr(65 + mark['start_column'])}{mark['start_row'] + 1}")
        assert rule["fill_color"] == "#" + SEVERITY_FILLS[worst[cell]][-6:].lower()
    prompt, mode = alert(book)
    assert mode == "info" and prompt.startswith("校验完成：13 个错误") and f"标出 {len(cells)} 个单元格" in prompt


def test_validate_again_and_clear_remove_the_previous_marks(book_file: Path, tmp_path: Path) -> None:
    # Marked by the command line; xlwings Server cannot list rules, so the cells 校验结果 names are cleared.
    findings = validate(read_workbook(book_file))
    marked = write_findings(book_file, findings, output=tmp_path / "marked.xlsm")
    cells = {(f.sheet, f.cell) for f in findings if f.sheet and f.cell}
    for press in (buttons.clear, buttons.validate):
        book = remote_book(marked)
        names = [s.name for s in book.sheets]
        press(book)
        cleared = {
            (names[a["sheet_position"]], f"{chr(65 + a['start_column'])}{a['start_row'] + 1}")
            for a in actions(book, "clearConditionalFormats")
        }
        assert cleared == cells
        (deleted,) = actions(book, "sheetDelete")
        assert names[deleted["sheet_position"]] == ISSUES_SHEET
    # xlwings Server does not send a note's author or text: every note stays, and the message says why.
    notes = sum(len(cells) for cells in noted_cells(marked).values())
    assert notes == len(cells)
    book = remote_book(marked)
    buttons.clear(book)
    prompt, mode = alert(book)
    assert mode == "info" and prompt.startswith("已删除「校验结果」表和单元格标记。")
    assert f"有 {notes} 个单元格带有批注" in prompt and "perfxl clear" in prompt
    assert actions(book, "deleteNote") == []
    fresh = remote_book(book_file)
    buttons.clear(fresh)
    assert alert(fresh) == ("没有需要清除的校验标记。", "info")


def test_rollup_links_the_same_cells_as_the_command_line(book_file: Path, tmp_path: Path) -> None:
    book = remote_book(book_file)
    buttons.rollup(book)
    (block,) = [a["values"] for a in actions(book, "setFormula")]
    result = read_workbook(book_file)
    projects = result.department.projects
    assert block[0] == list(SUMMARY_HEADER)
    assert len(block) == len(projects) + 3
    rolled = write_rollup(book_file, result, validate(result), output=tmp_path / "rolled.xlsm")
    sheet = openpyxl.load_workbook(rolled)[SUMMARY_SHEET]
    for r, row in enumerate(block[1 : len(projects) + 1], 2):
        assert row[1:10] == [sheet.cell(r, c).value for c in range(2, 11)], r
        assert row[10:] == [sheet.cell(r, c).value for c in range(11, 14)], r
    total = len(projects) + 2
    assert block[-2][3] == f"=SUM(D2:D{total - 1})"
    (name,) = actions(book, "setNameRefersTo")
    assert name["args"][0] == "部门预算总额" and name["args"][3] == f"='{SUMMARY_SHEET}'!$D${total}"
    prompt, _ = alert(book)
    assert "部门预算总额 435.16 万元" in prompt


def test_new_project_copies_the_last_form_empty(book_file: Path) -> None:
    book = remote_book(book_file)
    source = read_workbook(book_file).department.projects[-1]
    buttons.new_project(book)
    (copied,) = actions(book, "copySheet")
    assert copied["sheet_position"] == [s.name for s in book.sheets].index(source.sheet)
    (renamed,) = actions(book, "setSheetName")
    assert renamed["args"] == ["项目16"]
    *emptied, title = actions(book, "setValues")
    assert all(a["values"] == [[""]] for a in emptied)
    cleared = {f"{chr(65 + a['start_column'])}{a['start_row'] + 1}" for a in emptied}
    filled = {source.sources[k].cell for k in ("code", "name", "budget", "fiscal_funds", "goal")}
    filled |= {ind.sources["value"].cell for ind in source.indicators}
    assert filled <= cleared
    assert "A2" not in cleared  # the unit line stays
    assert title["values"] == [["16.绩效目标表"]] and (title["start_row"], title["start_column"]) == (0, 0)
    assert alert(book)[0].startswith("已新建「项目16」")


def test_new_project_in_the_empty_template(tmp_path: Path) -> None:
    book = remote_book(build_template(tmp_path / "template.xlsm"))
    buttons.new_project(book)
    assert actions(book, "setSheetName")[0]["args"] == ["项目2"]
    assert actions(book, "setValues")[-1]["values"] == [["2.绩效目标表"]]


def test_consolidate_a_folder(book_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "各单位"
    folder.mkdir()
    shutil.copy(book_file, folder / "承德.xlsm")
    (folder / "坏文件.xlsx").write_bytes(b"not a workbook")
    # The same unit again with one amount changed, as when an old version stays in the folder.
    changed = read_source(book_file).department.model_copy(deep=True)
    changed.projects[0].budget = Decimal("4.58")
    write_department_workbook(changed, folder / "承德（修改后）.xlsx")
    book = remote_book(book_file)
    buttons.consolidate(book, folder=folder)
    prompt, mode = alert(book)
    output = tmp_path / "各单位（合并结果）.xlsx"
    assert mode == "info" and f"已合并 2 个工作簿，结果：{output}" in prompt and "拒绝 1 个" in prompt
    assert "1 个单位的数据来自多个文件，可能是同一单位的新旧版本" in prompt
    assert f"跨文件重复的项目编码 {len(changed.projects)} 个" in prompt
    assert "项目" in openpyxl.load_workbook(output, read_only=True).sheetnames
    # The result left open in Excel (the button opens it) locks it: a second click says so and reads nothing.
    before = output.read_bytes()
    again = remote_book(book_file)
    with locked(output):
        buttons.consolidate(again, folder=folder)
    prompt, mode = alert(again)
    assert mode == "critical" and prompt.startswith(f"未能写出合并结果：输出文件 {output} 无法覆盖（是否正在 Excel")
    assert output.read_bytes() == before
    # Without a folder, xlwings Server cannot ask for one: the message says what to do instead.
    asked = remote_book(book_file)
    buttons.consolidate(asked)
    prompt, mode = alert(asked)
    assert mode == "critical" and prompt.startswith("此环境无法弹出文件夹选择框，请在命令行运行：perfxl consolidate")


def test_export_writes_the_document_beside_the_book(book_file: Path, tmp_path: Path) -> None:
    source = tmp_path / "承德.xlsm"
    shutil.copy(book_file, source)

    def saved_here(data: dict[str, Any]) -> None:
        data["book"]["name"] = str(source)
        # An edit not saved yet: the document has what the open book shows.
        sheet = next(s for s in data["sheets"] if s["name"] == "项目1")
        sheet["values"][3][2] = 9.99  # 预算数, C4

    book = remote_book(source, saved_here)
    buttons.export(book)
    prompt, mode = alert(book)
    target = tmp_path / "承德（绩效文本）.docx"
    assert mode == "info" and prompt.startswith(f"已导出绩效文本（15 个项目）：{target}")
    assert "发布前请先修正错误" in prompt
    expected = read_book(remote_book(source, saved_here)).department
    assert public_department(read_source(target).department) == public_department(expected)
    assert read_source(target).department.projects[0].budget == Decimal("9.99")
    assert source.read_bytes() == book_file.read_bytes()
    # xlwings Server knows the book only by name: there is no folder to write beside.
    unsaved = remote_book(source)
    buttons.export(unsaved)
    prompt, mode = alert(unsaved)
    assert mode == "critical" and "请先保存工作簿" in prompt and "perfxl export" in prompt


def test_about_and_chinese_errors(book_file: Path) -> None:
    book = remote_book(book_file)
    buttons.about(book)
    prompt, _ = alert(book)
    assert f"Python 位置：{sys.executable}" in prompt and "xlwings 0.37.8" in prompt

    def without_forms(data: dict[str, Any]) -> None:
        data["sheets"] = [s for s in data["sheets"] if not s["name"].startswith("项目")]

    broken = remote_book(book_file, without_forms)
    buttons.validate(broken)
    prompt, mode = alert(broken)
    assert mode == "critical" and "未找到项目绩效目标表" in prompt and "Traceback" not in prompt


def test_core_and_cli_never_import_xlwings(tmp_path: Path) -> None:
    # Building the template and importing to .xlsm read xlwings' files without importing it.
    book, template = str(tmp_path / "b.xlsm"), str(tmp_path / "t.xlsm")
    commands = [["template", "-o", template], ["import", str(CHENGDE), "-o", book], ["validate", book, "--write"]]
    code = f"""
import json, sys
from typer.testing import CliRunner
from perfxl.cli import app
for args in {commands!r} + [["rollup", {book!r}]]:
    CliRunner().invoke(app, args)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "xlwings")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(done.stdout.splitlines()[-1]) == []
    assert (tmp_path / "b.xlsm").exists()
    assert not re.search(r"^from xlwings|^import xlwings", (ROOT / "perfxl" / "cli.py").read_text(), re.M)


def hide_sheet(book: Path, target: Path, sheet: str) -> Path:
    """Write a copy of ``book`` with ``sheet`` hidden, as Excel's 隐藏 saves it."""
    xml = read_parts(book)["xl/workbook.xml"].decode()
    hidden = xml.replace(f'<sheet name="{sheet}"', f'<sheet name="{sheet}" state="hidden"', 1)
    assert hidden != xml
    return rewrite(book, target, {"xl/workbook.xml": hidden.encode()})


def test_a_hidden_project_sheet_is_counted_and_pointed_out_by_both_readers(book_file: Path, tmp_path: Path) -> None:
    hidden = hide_sheet(book_file, tmp_path / "隐藏.xlsm", "项目2")
    from_file = read_workbook(hidden)
    from_excel = read_book(remote_book(hidden))
    for result in (from_file, from_excel):
        projects = result.department.projects
        assert [p.hidden for p in projects] == [p.sheet == "项目2" for p in projects]
        marked = [f for f in validate(result) if f.code == "PT-STR-013"]
        assert [(f.sheet, f.severity.value) for f in marked] == [("项目2", "warning")]
        assert marked[0].message.startswith("工作表「项目2」是隐藏的，其中的项目仍计入部门预算和汇总")
    assert [key(f) for f in validate(from_excel)] == [key(f) for f in validate(from_file)]
    # Hidden or not, the project is in the department and its money in the total.
    assert public_department(from_file.department) == public_department(read_workbook(book_file).department)
