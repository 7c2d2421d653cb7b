"""Presenters: findings and departments as JSON documents and as console tables."""

from __future__ import annotations

import inspect
from collections import Counter
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from perfxl.model import PLAN_CHECKPOINTS, Department, Finding, Severity
from perfxl.rules.registry import Rule

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def counts(findings: list[Finding]) -> dict[str, Any]:
    """Return the number of findings per severity and per rule code."""
    by_severity = Counter(f.severity.value for f in findings)
    return {
        "error": by_severity.get("error", 0),
        "warning": by_severity.get("warning", 0),
        "info": by_severity.get("info", 0),
        "total": len(findings),
        "by_code": dict(sorted(Counter(f.code for f in findings).items())),
    }


def findings_document(findings: list[Finding]) -> dict[str, Any]:
    """Return the JSON document of ``perfxl validate --format json``."""
    return {"findings": [f.public() for f in findings], "counts": counts(findings)}


def where(f: Finding) -> str:
    """Return the sheet!cell, line or document place a finding points at, for display."""
    if f.cell:
        return f"{f.sheet}!{f.cell}" if f.sheet else f.cell
    if f.line is not None:
        return f"第 {f.line} 行"
    return f.place or ""


def summary_line(findings: list[Finding]) -> str:
    """Return a one-line Chinese summary such as ``3 个错误，5 个警告，2 个提示``."""
    c = counts(findings)
    return f"{c['error']} 个错误，{c['warning']} 个警告，{c['info']} 个提示"


def print_findings(console: Console, findings: list[Finding], title: str, *, summary: bool = True) -> None:
    """Print the findings as a table (and a count line unless ``summary`` is False)."""
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("级别", no_wrap=True)
    table.add_column("规则", no_wrap=True)
    # Chinese text has no spaces to break at: "fold" breaks it anywhere instead of cutting it off.
    table.add_column("项目", max_width=20, overflow="fold")
    table.add_column("位置", no_wrap=True)
    table.add_column("说明", ratio=1, overflow="fold")
    for f in findings:
        table.add_row(
            f"[{_STYLE[f.severity]}]{f.severity.label}[/]",
            f.code,
            f.project_name or f.project_code,
            where(f),
            f.message,
        )
    console.print(table, soft_wrap=False)
    if summary:
        console.print(summary_line(findings))


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _plan(values: list[Decimal | None]) -> str:
    return " / ".join("—" if v is None else f"{v.normalize():f}%" for v in values)


def print_department(console: Console, dept: Department) -> None:
    """Print the department header and one row per project with its money and plan."""
    console.print(
        f"[bold]{dept.unit_name or '（未知单位）'}[/]  单位编码 {dept.unit_code or '—'}  "
        f"预算年度 {dept.year or '—'}  来源 {dept.source_file}"
    )
    table = Table(expand=True)
    for name, justify in (
        ("序号", "right"),
        ("项目编码", "left"),
        ("项目名称", "left"),
        ("预算数", "right"),
        ("财政资金", "right"),
        ("其他资金", "right"),
        ("支出计划 " + "/".join(PLAN_CHECKPOINTS), "left"),
        ("指标数", "right"),
    ):
        # Folded, never cut off with "…": a project code that lost its tail identifies nothing.
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    total = Decimal(0)
    for n, p in enumerate(dept.projects, 1):
        total += p.budget or 0
        table.add_row(
            str(n),
            p.code,
            p.name,
            _money(p.budget),
            _money(p.fiscal_funds),
            _money(p.other_funds),
            _plan(p.spending_plan),
            str(len(p.indicators)),
        )
    table.add_row(
        "",
        "",
        "[bold]合计[/]",
        f"[bold]{_money(total)}[/]",
        "",
        "",
        "",
        str(sum(len(p.indicators) for p in dept.projects)),
    )
    console.print(table, soft_wrap=False)


def rules_markdown(rules: dict[str, Rule]) -> str:
    """Return the rule catalogue as a Markdown page (docs/rules.md), one row per registered rule."""
    lines = [
        "# 校验规则目录 / Rule catalogue",
        "",
        "由 `perfxl rules --markdown` 生成，勿手工编辑。Generated from the registry; do not edit by hand.",
        "级别为默认值，可在配置文件 `[severity_overrides]` 中修改。",
        "合并（`perfxl consolidate`）时 PT-CODE-005 与 PT-XPR-001 还跨文件检查：同一项目编码出现在不同文件中，"
        "或同一项目名称在不同文件中用了不同编码；说明以「跨文件重复：」开头。",
        "",
        "| 规则 | 级别 | 名称 | 说明模板 | 检查方式 (from the rule's docstring) |",
        "|---|---|---|---|---|",
    ]
    for code in sorted(rules, key=_rule_sort_key):
        r = rules[code]
        doc = " ".join((inspect.getdoc(r.check) or "").split("\n\n")[0].split())
        cells = [code, r.severity.label, r.title, r.message, doc]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _rule_sort_key(code: str) -> tuple[str, int, str]:
    family, _, rest = code.removeprefix("PT-").partition("-")
    digits = "".join(ch for ch in rest if ch.isdigit())
    return family, int(digits or 0), rest
