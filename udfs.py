"""Worksheet functions of the perfxl template (xlwings UDFs): thin wrappers over perfxl.

The template's VBA wrappers are generated from the signatures in this file when the template
is built (``perfxl template``), so a changed signature needs a rebuilt template; bodies may
change freely, as xlwings reloads this module when the file changes. Findings come back as one
line of Chinese text (``错误：…；警告：…``), empty when there is nothing to say, so a cell shows
exactly what ``perfxl validate`` would say about the same values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import xlwings as xw

from perfxl.checks import code_findings, indicator_findings, plan_findings
from perfxl.errors import SourceError
from perfxl.excel.grid import sheet_grid
from perfxl.model import Finding, Severity
from perfxl.readers.grid import cell_text, parse_grids, plan_percent, plan_scale
from perfxl.rules import validate
from perfxl.values import parse_amount, parse_value

# What a cell passes in: text, a number, a date, a bool, or None when empty. xlwings turns each
# annotation into a converter and knows no unions, so Excel-facing values are typed Any.
Arg = Any


def _text(value: Arg) -> str:
    """Return a cell value as the text a person sees, as the workbook reader reads it."""
    return "" if value is None else cell_text(value).strip()


def _say(findings: list[Finding]) -> str:
    return "；".join(f"{f.severity.label}：{f.message}" for f in findings)


@xw.func
def PX_CHECK_VALUE(level1: Arg, level2: Arg, level3: Arg, description: Arg, value: Arg) -> str:
    """Return the findings about one indicator row (一级, 二级, 三级, 描述, 指标值), or "" when there are none."""
    return _say(indicator_findings(_text(level1), _text(level2), _text(level3), _text(description), _text(value)))


@xw.func
def PX_PARSE(value: Arg) -> list[str | float]:
    """Return 指标值 read as a row: operator, number, unit and the kind of value (数值, 时限, …)."""
    parsed = parse_value(_text(value))
    number: str | float = "" if parsed.number is None else float(parsed.number)
    return [parsed.operator or "", number, parsed.unit, parsed.kind.label]


@xw.func
def PX_AMOUNT(text: Arg) -> Any:
    """Return an amount such as 40万元 or 4000元 in 万元, "" for a blank cell, or why it cannot be read."""
    if isinstance(text, bool) or text is None or _text(text) == "":
        return ""
    amount = parse_amount(text if isinstance(text, int | float | str) else _text(text))
    return f"无法识别的金额：{_text(text)}" if amount is None else float(amount)


@xw.func
def PX_CHECK_CODE(code: Arg, budget_year: Arg = None) -> str:
    """Return the findings about a 项目编码 (against the budget year when given), or "" when there are none."""
    year = int(budget_year) if isinstance(budget_year, int | float) and not isinstance(budget_year, bool) else None
    return _say(code_findings(_text(code), year))


@xw.func
def PX_CHECK_PLAN(march: Arg, june: Arg, october: Arg, december: Arg) -> str:
    """Return the findings about a spending plan (3月底, 6月底, 10月底, 12月底), or "" when there are none."""
    cells = ["" if v is None else v for v in (march, june, october, december)]
    scale = plan_scale(cells)
    plan: list[Decimal | None] = [plan_percent(v, scale) for v in cells]
    return _say(plan_findings(plan))


@xw.func(volatile=True)
def PX_PROJECT_STATUS(caller: Any) -> str:
    """Return "无错误" or counts such as "2 个错误，3 个警告" for the project form of the calling sheet alone."""
    # ``caller`` is the calling cell (an xlwings Range). Volatile, so it follows every edit; it
    # skips merged ranges to stay a single read of the sheet. Checks across projects (a name
    # used twice, say) need the whole workbook: they are 校验's.
    grid, issues = sheet_grid(caller.sheet, merges=False)
    try:
        result = parse_grids(caller.sheet.book.fullname, [grid], scan=lambda _: issues)
    except SourceError:
        return "本表不是项目绩效目标表"
    mine = [f for f in validate(result) if f.sheet == grid.name]
    errors = sum(f.severity is Severity.ERROR for f in mine)
    warnings = sum(f.severity is Severity.WARNING for f in mine)
    return "无错误" if errors == warnings == 0 else f"{errors} 个错误，{warnings} 个警告"
