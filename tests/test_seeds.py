"""The rule catalogue contract, and what a careful reviewer flags in the two real 2025 documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfxl.model import Finding, Severity
from perfxl.readers import read_source
from perfxl.rules import RULES, validate

ROOT = Path(__file__).parent.parent
CHENGDE = ROOT / "examples" / "chengde-2025.txt"
ZUNHUA = ROOT / "examples" / "zunhua-2025.txt"

# rules.md §8: every code with its default severity (E/W/I); mixed-severity rules list the main one.
CATALOGUE = {
    **{f"PT-STR-0{n:02d}": s for n, s in zip(range(1, 13), "EIEEEEEEEIWW", strict=True)},
    "PT-STR-008b": "I",
    # Not in rules.md: a project sheet hidden in the workbook, counted all the same (workbooks only).
    "PT-STR-013": "W",
    **{f"PT-VAL-0{n:02d}": s for n, s in zip(range(1, 12), "WEEEWWIWIIW", strict=True)},
    **{f"PT-FIN-00{n}": "E" for n in range(1, 5)},
    **{f"PT-CST-00{n}": s for n, s in zip(range(1, 7), "EWWIEW", strict=True)},
    **{f"PT-PLAN-00{n}": s for n, s in zip(range(1, 7), "EEIWII", strict=True)},
    **{f"PT-TXT-00{n}": s for n, s in zip(range(1, 7), "WWWWIE", strict=True)},
    "PT-XPR-001": "W",
    "PT-XPR-002": "W",
    "PT-DEPT-001": "W",
    "PT-DEPT-002": "I",
    **{f"PT-SAT-00{n}": s for n, s in zip(range(1, 5), "EIIE", strict=True)},
    "PT-TIME-001": "W",
    "PT-CLS-001": "W",
    **{f"PT-CODE-00{n}": s for n, s in zip(range(1, 6), "EEWIE", strict=True)},
}
_SEV = {"E": Severity.ERROR, "W": Severity.WARNING, "I": Severity.INFO}


def test_every_catalogue_code_is_registered_with_its_severity() -> None:
    assert set(RULES) == set(CATALOGUE)
    assert {c: RULES[c].severity for c in RULES} == {c: _SEV[s] for c, s in CATALOGUE.items()}


def test_every_rule_has_chinese_text_and_a_docstring() -> None:
    for r in RULES.values():
        assert re.search(r"[\u4e00-\u9fff]", r.title + r.message), r.code
        assert (r.check.__doc__ or "").strip(), r.code


def test_every_rule_is_exercised_by_a_rule_table() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_rules_*.py"))
    assert [c for c in RULES if f'"{c}"' not in text] == []


@pytest.fixture(scope="module")
def chengde() -> list[Finding]:
    return validate(read_source(CHENGDE))


@pytest.fixture(scope="module")
def zunhua() -> list[Finding]:
    return validate(read_source(ZUNHUA))


def _has(findings: list[Finding], code: str, project: str, *needles: str) -> bool:
    return any(
        f.code == code and f.project_code.endswith(project) and all(n in f.message for n in needles) for f in findings
    )


# (code, project code suffix, words the message must contain): what rules.md says a reviewer catches.
CHENGDE_DEFECTS = [
    ("PT-FIN-002", "25310002G", ("12.48", "12.84")),
    ("PT-SAT-001", "10110006P", ("≥90",)),
    ("PT-VAL-004", "11310003X", ("培训内容对受训学员实际工作上的提升效果",)),
    ("PT-VAL-004", "10110006P", ("培训内容对参训学员实际工作上的提升效果",)),
    ("PT-PLAN-001", "09410006G", ("12月底",)),
    ("PT-PLAN-001", "25310002G", ("12月底",)),
    ("PT-SAT-004", "09910005T", ("为工信厅提供监测企业数据总量",)),
    ("PT-XPR-001", "09410007M", ()),
    ("PT-TIME-001", "11310003X", ("每半年一次",)),
    ("PT-VAL-006", "114100072", ("每次参加培训人数", "≥158人", "累计的人次")),
    ("PT-XPR-002", "10110006P", ("第 9 个项目", "培训人员数量 ≥235人", "4.10", "6.60")),
    ("PT-TXT-002", "09910005T", ("资金用途中的", "业务能力提升培训")),
    ("PT-TXT-002", "25310002G", ("资金用途中的", "集中培训", "督导整改")),
]
ZUNHUA_DEFECTS = [
    ("PT-CST-001", "082100046", ("46.02", "46.00")),
    ("PT-STR-003", "03310001W", ("效益指标",)),
    ("PT-STR-006", "07610004M", ("受训学员满意度", "可持续影响")),
    ("PT-VAL-003", "03310001W", ("≥100%",)),
    ("PT-TXT-006", "00032100017", ("2024", "2025", "274")),
    ("PT-CST-005", "00038100019", ("124.39",)),
    ("PT-DEPT-001", "", ("遵化市工业和信息化局", "遵化市数据科技和工业信息化局本级")),
]


@pytest.mark.parametrize(("code", "project", "needles"), CHENGDE_DEFECTS)
def test_chengde_defects_are_caught(chengde: list[Finding], code: str, project: str, needles: tuple[str, ...]) -> None:
    assert _has(chengde, code, project, *needles)


@pytest.mark.parametrize(("code", "project", "needles"), ZUNHUA_DEFECTS)
def test_zunhua_defects_are_caught(zunhua: list[Finding], code: str, project: str, needles: tuple[str, ...]) -> None:
    assert _has(zunhua, code, project, *needles)


def test_findings_point_at_the_line_they_name(chengde: list[Finding], zunhua: list[Finding]) -> None:
    for source, findings in ((CHENGDE, chengde), (ZUNHUA, zunhua)):
        lines = source.read_text(encoding="utf-8").splitlines()
        for f in findings:
            if f.field == "value" and f.line is not None:
                compact = re.sub(r"\s", "", "".join(lines[f.line - 1 : f.line + 8]))
                assert f.value[:4] in compact, (f.code, f.line, f.value)


def test_consistent_seed_projects_have_no_spurious_errors(chengde: list[Finding]) -> None:
    """承德 P6 (规上工业企业运行监测) is internally consistent: no error may fire on it."""
    assert [f for f in chengde if f.project_code == "13080025P000086100051" and f.severity is Severity.ERROR] == []
