"""The command line on the real examples and on junk: exit codes, JSON contracts, Chinese messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import typer.main
from python_calamine import CalamineWorkbook
from rich.cells import cell_len
from typer.testing import CliRunner

from perfxl.cli import app, inspect_schema
from perfxl.model import PublicDepartment
from perfxl.readers import read_source
from tests.factories import CLEAN_ROWS

EXAMPLES = Path(__file__).parent.parent / "examples"
DOCS = Path(__file__).parent.parent / "docs"
CHENGDE = EXAMPLES / "chengde-2025.txt"
ZUNHUA = EXAMPLES / "zunhua-2025.txt"

runner = CliRunner()


@pytest.mark.parametrize(
    ("source", "projects", "indicators", "total"),
    [(CHENGDE, 15, 109, 435.16), (ZUNHUA, 8, 50, 497.12)],
)
def test_inspect_json_contract(source: Path, projects: int, indicators: int, total: float) -> None:
    result = runner.invoke(app, ["inspect", str(source), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    PublicDepartment.model_validate(doc)
    assert set(doc) == {"unit_code", "unit_name", "year", "projects"}
    assert len(doc["projects"]) == projects
    assert sum(len(p["indicators"]) for p in doc["projects"]) == indicators
    assert round(sum(p["budget"] for p in doc["projects"]), 2) == total
    for p in doc["projects"]:
        assert len(p["spending_plan"]) == 4
        assert set(p["indicators"][0]) == {"level1", "level2", "level3", "description", "value", "basis"}


def test_inspect_table_names_every_project() -> None:
    result = runner.invoke(app, ["inspect", str(ZUNHUA)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for code in ("13028125P00007610004M", "13028125P000082100046"):
        assert code in result.stdout
    assert "497.12" in result.stdout


@pytest.mark.parametrize("source", [CHENGDE, ZUNHUA])
def test_validate_json_and_exit_code(source: Path) -> None:
    result = runner.invoke(app, ["validate", str(source), "--format", "json"])
    doc = json.loads(result.stdout)
    assert set(doc) == {"findings", "counts"}
    assert doc["counts"]["error"] > 0
    assert result.exit_code == 1
    keys = {"code", "severity", "message", "project_code", "project_name", "field", "value", "sheet", "cell"}
    for f in doc["findings"]:
        assert keys <= set(f)
        assert f["severity"] in {"error", "warning", "info"}
        assert f["message"]


@pytest.mark.parametrize("columns", ["80", "120"])
def test_validate_table_shows_every_message_whole_on_a_narrow_console(columns: str) -> None:
    expected = json.loads(runner.invoke(app, ["validate", str(CHENGDE), "--format", "json"]).stdout)["findings"]
    result = runner.invoke(app, ["validate", str(CHENGDE)], env={"COLUMNS": columns})
    # The 说明 column, finding by finding: a new finding starts where its 级别 cell is filled.
    messages: list[str] = []
    for line in result.stdout.splitlines():
        cells = line.split("│")[1:-1]
        if len(cells) != 5:
            continue
        if cells[0].strip():
            messages.append("")
        messages[-1] += "".join(cells[4].split())
    assert max(len(line) for line in result.stdout.splitlines()) <= int(columns)
    assert messages == ["".join(f["message"].split()) for f in expected]


def test_python_dash_m_runs_the_same_command_line() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "perfxl", "validate", str(CHENGDE), "--format", "json"],
        capture_output=True, text=True, encoding="utf-8", check=False,
    )  # fmt: skip
    direct = runner.invoke(app, ["validate", str(CHENGDE), "--format", "json"])
    assert ran.returncode == direct.exit_code == 1
    assert json.loads(ran.stdout) == json.loads(direct.stdout)


@pytest.mark.parametrize("args", [["inspect", "-f", "json"], ["inspect"], ["validate"]])
def test_a_gbk_console_gets_no_traceback_for_characters_it_lacks(tmp_path: Path, args: list[str]) -> None:
    source = tmp_path / "表情.txt"
    text = ZUNHUA.read_text(encoding="utf-8")
    source.write_text(text.replace("安全生产监督管理、专家费", "安全生产监督管理🚀专家费"), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "gbk", "COLUMNS": "250"}
    ran = subprocess.run(
        [sys.executable, "-m", "perfxl", args[0], str(source), *args[1:]], capture_output=True, env=env, check=False
    )
    assert b"Traceback" not in ran.stderr, ran.stderr.decode("gbk", "replace")
    assert ran.returncode == (1 if args[0] == "validate" else 0)
    if "json" in args:
        # Piped JSON is data: UTF-8 with every character, whatever the console's codepage.
        names = [p["name"] for p in json.loads(ran.stdout.decode("utf-8"))["projects"]]
        assert "安全生产监督管理🚀专家费" in names
    elif args[0] == "inspect":
        assert "安全生产监督管理?专家费".encode("gbk") in ran.stdout
    else:
        assert "个错误" in ran.stdout.decode("gbk")


COMMANDS = sorted(typer.main.get_group(app).commands)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_is_never_cut_off_on_an_80_column_console(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    # rich crops a cell it cannot wrap (Chinese has no spaces to break at) with an ellipsis.
    assert "…" not in result.stdout
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_screens_have_no_english_chrome(command: str, flag: str) -> None:
    result = runner.invoke(app, [*command.split(), flag], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for english in ("Usage", "Options", "Arguments", "Commands", "Show this message", "[default", "[required"):
        assert english not in result.stdout
    assert f"用法：perfxl {command}".rstrip() in result.stdout
    assert "显示此帮助并退出" in result.stdout


# (arguments, the Chinese message, the usage line shown under it or None when typer gives none)
USAGE_ERRORS = [
    (["validat"], "没有 validat 这个命令；您是否想用 validate？", "用法：perfxl [选项] 命令 [参数]..."),
    (["--bogus"], "没有 --bogus 这个选项", "用法：perfxl [选项] 命令 [参数]..."),
    (["validate"], "缺少参数 SOURCE（绩效文本（.txt、Word .docx 或 PDF）", "用法：perfxl validate [选项] SOURCE"),
    (["validate", "a.txt", "--wirte"], "没有 --wirte 这个选项；您是否想用 --write？", "perfxl validate [选项] SOURCE"),
    (["validate", "a.txt", "-f", "xml"], "--format / -f 的值无效：「xml」不是可选值；可选：table、json", "SOURCE"),
    (["validate", "a.txt", "-o"], "选项 -o 后面缺少值", None),
    (["validate", "my", "file.xlsx"], "多余的参数：file.xlsx（路径中有空格时请加英文引号）", "SOURCE"),
    (["consolidate", "in"], "缺少必填选项 --output / -o（汇总工作簿（.xlsx））", "perfxl consolidate [选项] INPUTS..."),
    (["consolidate", "in", "-o", "o.xlsx", "--workers", "abc"], "--workers 的值无效：应为整数", "INPUTS..."),
    (["consolidate", "in", "-o", "o.xlsx", "--workers", "0"], "--workers 的值无效：应不小于 1", "INPUTS..."),
    (["rules", "extra"], "多余的参数：extra", "用法：perfxl rules [选项]"),
]


@pytest.mark.parametrize(("args", "message", "usage"), USAGE_ERRORS, ids=[" ".join(u[0]) for u in USAGE_ERRORS])
def test_usage_errors_are_chinese_and_exit_2(args: list[str], message: str, usage: str | None) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert f"命令行有误 {message}" in result.stderr
    if usage is not None:
        assert usage in result.stderr
        assert "查看全部参数和选项" in result.stderr
    for english in ("Error", "Usage", "No such", "Missing", "Invalid value", "Try ", "Got unexpected"):
        assert english not in result.stderr


def test_a_usage_error_from_the_installed_command_is_chinese() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "perfxl", "consolidate", "in", "--wokers", "2"],
        capture_output=True, text=True, encoding="utf-8", check=False, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert ran.returncode == 2
    assert "命令行有误 没有 --wokers 这个选项；您是否想用 --workers？" in ran.stderr
    assert "Traceback" not in ran.stderr and ran.stdout == ""


CLEAN_DOCUMENT = "\n".join(
    [
        "第二部分",
        "预算项目绩效目标",
        "1. 中小企业数字化转型培训绩效目标表",
        "593001 承德市工业和信息化局本级",
        "单位：万元",
        "项目编码\t13080025P00012310001X\t\t项目名称\t中小企业数字化转型培训\t\t",
        "预算规模及资金用途\t预算数\t20.00\t其中：财政资金\t20.00\t其他资金\t",
        "\t资金用于举办中小企业数字化转型培训，支付场地、师资和资料费用。\t\t\t\t\t",
        "资金支出计划（%）\t3月底\t6月底\t10月底\t12月底\t\t",
        "\t10%\t40%\t80%\t100%\t\t",
        "绩效目标\t1. 2025年12月底前支出20万元用于举办3场中小企业数字化转型培训，培训450人以上，"
        "以提升企业数字化水平。\t\t\t\t\t",
        "一级指标\t二级指标\t三级指标\t绩效指标描述\t指标值\t指标值确定依据\t",
        *("\t".join(row) + "\t" for row in CLEAN_ROWS),
    ]
)


def test_validate_consistent_document_exits_zero(tmp_path: Path) -> None:
    source = tmp_path / "clean.txt"
    source.write_text(CLEAN_DOCUMENT, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(source), "--format", "json"])
    doc = json.loads(result.stdout)
    assert doc["counts"]["error"] == 0, doc["findings"]
    assert doc["counts"]["warning"] == 0, doc["findings"]
    assert result.exit_code == 0


RANDOM = bytes(range(256)) * 4
JUNK = [
    ("binary.txt", RANDOM, "不是文本文件"),
    ("empty.txt", b"", "空"),
    ("poem.txt", "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n".encode(), "绩效"),
    ("fake.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "旧版"),
    ("部门.et", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "WPS 表格自有格式（.et/.ett）"),
    # Named as a workbook, Word document or PDF: the message says what it is instead.
    ("random.xlsx", RANDOM, "无法识别的文件内容，不是 Excel 工作簿"),
    ("table.xlsx", "单位,项目\n工信局,培训\n".encode(), "纯文本"),
    ("export.xls", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "网页（HTML）"),
    ("empty.xlsx", b"", "文件为空"),
    ("random.docx", RANDOM, "扩展名是 .docx，但内容不是Word 文档"),
    ("random.pdf", RANDOM, "扩展名是 .pdf，但内容不是PDF 文件"),
]


@pytest.mark.parametrize(("name", "content", "reason"), JUNK, ids=[j[0] for j in JUNK])
@pytest.mark.parametrize("command", ["inspect", "validate"])
def test_junk_input_exits_2_with_chinese_message(
    tmp_path: Path, name: str, content: bytes, reason: str, command: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = runner.invoke(app, [command, str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"无法读取 {path}" in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["inspect", "validate", "rollup"])
def test_a_consolidated_workbook_is_pointed_to_consolidate(tmp_path: Path, command: str) -> None:
    from perfxl.consolidate import consolidate

    book = tmp_path / "遵化.xlsx"
    assert runner.invoke(app, ["import", str(ZUNHUA), "-o", str(book)]).exit_code == 0
    merged = tmp_path / "合并.xlsx"
    consolidate([book], merged, workers=1)
    before = merged.read_bytes()
    result = runner.invoke(app, [command, str(merged)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert f"无法读取 {merged}：这是 perfxl consolidate 写出的汇总工作簿，不是部门工作簿" in result.stderr
    assert merged.read_bytes() == before


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "文件不存在" in result.stderr


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    before = ZUNHUA.read_bytes()
    runner.invoke(app, ["validate", str(ZUNHUA), "--format", "json", "--output", str(tmp_path / "r.json")])
    assert ZUNHUA.read_bytes() == before
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["counts"]["total"] > 0


def test_published_schema_is_current() -> None:
    assert json.loads((DOCS / "inspect.schema.json").read_text(encoding="utf-8")) == inspect_schema()


def test_rules_listing_shows_every_code() -> None:
    from perfxl.rules import RULES

    result = runner.invoke(app, ["rules"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for code in RULES:
        assert code in result.stdout


def test_demo_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for stem, total in (("chengde-2025", 435.16), ("zunhua-2025", 497.12)):
        doc = json.loads((out / f"{stem}.validate.json").read_text(encoding="utf-8"))
        assert doc["counts"]["total"] == len(doc["findings"]) > 0
        assert (out / f"{stem}.inspect.json").exists()
        book = CalamineWorkbook.from_path(str(out / f"{stem}.xlsx"))
        assert {"部门汇总", "校验结果"} <= set(book.sheet_names)
        issues = book.get_sheet_by_name("校验结果").to_python()
        assert len(issues) - 1 == doc["counts"]["total"] - doc["counts"]["by_code"].get("PT-STR-002", 0)
        summary = book.get_sheet_by_name("部门汇总").to_python()
        assert [round(float(row[3]), 2) for row in summary if row[2] == "合计"] == [total]
        document = read_source(out / f"{stem}.docx").department
        assert sum(p.budget or 0 for p in document.projects) == Decimal(str(total))
    merged = CalamineWorkbook.from_path(str(out / "合并汇总.xlsx"))
    projects = merged.get_sheet_by_name("项目").to_python()
    assert len(projects) - 1 == 23
    assert str(out.resolve()) in result.stdout.replace("\n", "")


def test_rules_doc_is_current() -> None:
    from perfxl.report import rules_markdown
    from perfxl.rules import RULES

    assert (DOCS / "rules.md").read_text(encoding="utf-8") == rules_markdown(RULES)
