"""The formulas of 部门汇总, shared by the file writer and the Excel button.

Both write the same sheet (one through the package XML, one through xlwings), so what each
cell computes is decided once, here. Formulas are returned without the leading ``=``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from perfxl.model import Finding, Project, Severity
from perfxl.readers.grid import is_number, plan_scale
from perfxl.writers.opc import quote_sheet


def cell_ref(sheet: str, cell: str) -> str:
    """Return the formula reference of a cell on another sheet (``'项目1'!C4``)."""
    return f"{quote_sheet(sheet)}!{cell}"


def text_link(ref: str) -> str:
    """Return a formula showing the text of ``ref``; ``&""`` keeps an empty source empty, not 0."""
    return f'{ref}&""'


def number_link(ref: str, divisor: int = 1) -> str:
    """Return a formula showing the number in ``ref``; a blank source stays blank (not 0, SUM skips it)."""
    target = ref if divisor == 1 else f"{ref}/{divisor}"
    return f'IF(ISBLANK({ref}),"",{target})'


def plan_divisor(values: Iterable[object]) -> int:
    """Return 100 when a project's plan cells hold percent numbers (30), 1 when fractions (0.3) or no numbers.

    The decision is the reader's (``plan_scale``), so the summary shows what ``inspect`` reads.
    """
    numbers = [v for v in values if is_number(v)]
    return 100 if numbers and plan_scale(numbers) == 1 else 1


def column_total(letter: str, first: int, last: int) -> str:
    """Return the SUM formula of a summary column, or 0 when there are no project rows."""
    return f"SUM({letter}{first}:{letter}{last})" if last >= first else "0"


def weighted_plan(letter: str, first: int, last: int, total_row: int, budget: str = "D") -> str:
    """Return the department's plan checkpoint in column ``letter``, weighted by each project's budget."""
    if last < first:
        return '""'
    return (
        f'IF(${budget}${total_row}=0,"",'
        f"SUMPRODUCT(${budget}${first}:${budget}${last},{letter}{first}:{letter}{last})/${budget}${total_row})"
    )


def project_counts(findings: Sequence[Finding], project: Project) -> tuple[int, int]:
    """Return the (errors, warnings) found on ``project``'s sheet, or by its code for findings without a sheet."""
    mine = [f for f in findings if (f.sheet == project.sheet if f.sheet else f.project_code == project.code != "")]
    return (
        sum(f.severity is Severity.ERROR for f in mine),
        sum(f.severity is Severity.WARNING for f in mine),
    )
