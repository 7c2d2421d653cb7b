"""The worksheet functions (``udfs.py``) and their VBA wrappers.

The golden test runs xlwings' own "Import Functions" generator on ``udfs.py``: xlwings only
loads it on Windows, so the pywin32 modules it imports are stubbed, inside this test only,
and ``xw.func`` is given xlwings' real decorator. perfxl's generator must write the same text.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import sys
import textwrap
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import xlwings

import udfs
from perfxl.excel.template import build_workbook
from perfxl.excel.udfgen import udf_functions, vba_wrappers
from perfxl.model import Department, ReadResult
from perfxl.readers import read_source
from perfxl.readers.workbook import read_workbook
from perfxl.rules import validate
from tests.excel import remote_book
from tests.factories import CLEAN_CODE, clean_project
from tests.test_template import COMMITTED, strict_modules, vba_bin

ROOT = Path(__file__).parent.parent
UDFS = ROOT / "udfs.py"


@pytest.fixture
def xlwings_udfs(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Return xlwings.udfs importable on Linux, with ``xw.func`` & co. the real decorators; undone after the test."""
    stubs = {name: types.ModuleType(name) for name in ("pythoncom", "pywintypes", "win32com", "win32com.client")}
    stubs["pythoncom"].CoInitialize = lambda: None  # type: ignore[attr-defined]
    stubs["pywintypes"].com_error = Exception  # type: ignore[attr-defined]
    stubs["win32com.client"].Dispatch = None  # type: ignore[attr-defined]
    for name, stub in stubs.items():
        monkeypatch.setitem(sys.modules, name, stub)
    for name in ("xlwings.udfs", "udfs"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("xlwings.udfs")
    monkeypatch.setattr(xlwings, "func", module.xlfunc)
    monkeypatch.setattr(xlwings, "arg", module.xlarg)
    monkeypatch.setattr(xlwings, "ret", module.xlret)
    return module


def import_functions_output(xlwings_udfs: types.ModuleType) -> tuple[str, types.ModuleType]:
    """Return the module "Import Functions" writes for ``udfs``, and ``udfs`` as xlwings loads it."""
    module = importlib.import_module("udfs")
    buffer = io.StringIO()
    xlwings_udfs.generate_vba_wrapper("udfs", module, buffer, SimpleNamespace(Name="template.xlsm"))
    # The three header lines are written by import_udfs itself; take them from its source.
    tree = ast.parse(textwrap.dedent(inspect.getsource(xlwings_udfs.import_udfs)))
    header = [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "writeln"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    return "".join(line + "\n" for line in header) + buffer.getvalue(), module


def test_wrappers_equal_what_import_functions_writes(xlwings_udfs: types.ModuleType) -> None:
    expected, _ = import_functions_output(xlwings_udfs)
    assert expected.startswith('Attribute VB_Name = "xlwings_udfs"\n')
    assert vba_wrappers("udfs", UDFS.read_text(encoding="utf-8")) == expected


def test_every_function_has_a_wrapper_in_the_template(xlwings_udfs: types.ModuleType) -> None:
    _, module = import_functions_output(xlwings_udfs)
    functions = {name for name, f in vars(module).items() if hasattr(f, "__xlfunc__")}
    assert functions == {u.name for u in udf_functions(UDFS.read_text(encoding="utf-8"))}
    assert functions == {
        "PX_CHECK_VALUE", "PX_PARSE", "PX_AMOUNT", "PX_CHECK_CODE", "PX_CHECK_PLAN", "PX_PROJECT_STATUS",
    }  # fmt: skip
    stored = strict_modules(vba_bin(COMMITTED))["xlwings_udfs"][0]
    for name in functions:
        assert f"\r\nFunction {name}(" in stored, name
        assert f'XLPy.CallUDF("udfs", "{name}", ' in stored, name
    assert "Function PX_PROJECT_STATUS()\r\n    Application.Volatile\r\n" in stored
    assert "Array(Nothing)" in stored  # the caller argument


@pytest.mark.parametrize(
    "source",
    [
        "import xlwings as xw\n@xw.func\ndef f(*values): pass\n",
        "import xlwings as xw\n@xw.func(async_mode='threading')\ndef f(x): pass\n",
        "import xlwings as xw\n@xw.func\n@xw.arg('x', vba='Application')\ndef f(x): pass\n",
        "import xlwings as xw\n@xw.arg('x', ndim=2)\ndef f(x): pass\n",
    ],
    ids=["varargs", "async", "vba-arg", "arg-without-func"],
)
def test_generator_refuses_what_it_cannot_write_like_xlwings(source: str) -> None:
    with pytest.raises(ValueError, match="f"):
        vba_wrappers("m", source)


# --- the functions ------------------------------------------------------------------------------


def test_check_value() -> None:
    assert udfs.PX_CHECK_VALUE("产出指标", "数量指标", "培训人数", "年度内参加培训人数", "≥450人") == ""
    vague = udfs.PX_CHECK_VALUE("产出指标", "数量指标", "培训人数", "参训人数", "有所提高")
    assert vague.startswith("警告：") and "模糊" in vague and "；" in vague
    wrong = udfs.PX_CHECK_VALUE("效益指标", "数量指标", "培训人数", "参训人数", 450.0)
    assert "错误：二级指标「数量指标」不属于一级指标「效益指标」" in wrong
    assert "指标值为空" in udfs.PX_CHECK_VALUE("产出指标", "数量指标", "培训人数", "参训人数", None)


def test_parse_and_amount() -> None:
    assert udfs.PX_PARSE("≥95%") == ["≥", 95.0, "%", "数值"]
    assert udfs.PX_PARSE("2025年12月底前完成") == ["", "", "", "时限"]
    assert udfs.PX_PARSE(None)[3] == "不涉及"
    assert udfs.PX_AMOUNT("40万元") == 40.0
    assert udfs.PX_AMOUNT("4000元") == 0.4
    assert udfs.PX_AMOUNT(12.5) == 12.5
    assert udfs.PX_AMOUNT(None) == ""
    assert udfs.PX_AMOUNT("四十") == "无法识别的金额：四十"


def test_check_code_and_plan() -> None:
    assert udfs.PX_CHECK_CODE(CLEAN_CODE) == ""
    assert udfs.PX_CHECK_CODE(None) == ""
    assert "校验码应为「X」" in udfs.PX_CHECK_CODE(CLEAN_CODE[:-1] + "A")
    assert "格式不正确" in udfs.PX_CHECK_CODE("1308")
    later = CLEAN_CODE[:6] + "26" + CLEAN_CODE[8:]
    assert "晚于预算年度 2025" in udfs.PX_CHECK_CODE(later, 2025.0)
    assert udfs.PX_CHECK_PLAN(0.1, 0.4, 0.8, 1.0) == ""
    assert udfs.PX_CHECK_PLAN(10.0, 40.0, 80.0, 100.0) == ""
    assert udfs.PX_CHECK_PLAN("10%", "40%", "80%", "100%") == ""
    assert "不应回落" in udfs.PX_CHECK_PLAN(0.5, 0.4, 0.8, 1.0)
    assert "应为 100%" in udfs.PX_CHECK_PLAN(None, None, None, 0.9)


def test_project_status_counts_the_calling_sheet(tmp_path: Path) -> None:
    book = build_workbook(read_source(ROOT / "examples" / "chengde-2025.txt").department, tmp_path / "承德.xlsm")
    # The form alone, as the function sees it: checks across projects need 校验 (the whole workbook).
    whole = read_workbook(book)
    alone = whole.department.model_copy(update={"projects": whole.department.projects[:1]})
    expected = [f for f in validate(ReadResult(department=alone)) if f.sheet == "项目1"]
    assert len(expected) < len([f for f in validate(whole) if f.sheet == "项目1"])
    errors = sum(f.severity.value == "error" for f in expected)
    warnings = sum(f.severity.value == "warning" for f in expected)
    caller: Any = remote_book(book).sheets["项目1"].range("H1")
    assert udfs.PX_PROJECT_STATUS(caller) == f"{errors} 个错误，{warnings} 个警告"
    clean = build_workbook(Department(year=2025, projects=[clean_project()]), tmp_path / "clean.xlsm")
    assert udfs.PX_PROJECT_STATUS(remote_book(clean).sheets["项目1"].range("H1")) == "无错误"
    assert udfs.PX_PROJECT_STATUS(remote_book(clean).sheets["部门"].range("A1")) == "本表不是项目绩效目标表"
