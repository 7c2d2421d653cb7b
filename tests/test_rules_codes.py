"""Project code rules (PT-CODE-001…005) and the check character of rules.md §10."""

from __future__ import annotations

import pytest

from perfxl.config import Config
from perfxl.model import Department, Finding, Project, Severity
from perfxl.rules.codes import (
    ALPHABET,
    check_character,
    code_format_problem,
    find_duplicates,
    project_code_ok,
)
from perfxl.rules.registry import run_rules
from tests.factories import CLEAN_CODE, OTHER_CODE, clean_project, department

# rules.md §10: real codes from the two seeds, all valid.
VECTORS = [
    "13080025P00009010007D",
    "13080025P000089100052",
    "13028125P000082100046",
    "13028125P00003410001J",
    "13080024P000098100080",
]
ZUNHUA_CODE = "13028125P00003410001J"
FUTURE_BODY = "13080026P00012310001"
FUTURE_CODE = FUTURE_BODY + check_character(FUTURE_BODY)


def coded(code: str) -> Project:
    """Return the clean project under another code."""
    return clean_project(code=code)


def findings(subject: Project | Department, config: Config | None = None) -> list[Finding]:
    """Return the PT-CODE findings on ``subject`` (a project is put in a department of its own)."""
    dept = subject if isinstance(subject, Department) else department(subject)
    return [f for f in run_rules(dept, config or Config()) if f.code.startswith("PT-CODE-")]


NO_CHECKSUM = Config(check_code_checksum=False)

CASES: list[tuple[str, Project | Department, Config | None, set[str]]] = [
    ("clean", clean_project(), None, set()),
    # PT-CODE-001
    ("code001-too-short", coded(CLEAN_CODE[:-1]), None, {"PT-CODE-001"}),
    ("code001-wrong-letter", coded(CLEAN_CODE.replace("P", "X")), None, {"PT-CODE-001"}),
    ("code001-check-letter-i", coded(CLEAN_CODE[:-1] + "I"), None, {"PT-CODE-001"}),
    ("code001-inner-spaces", coded("130800 25 P000123 1 0001 X"), None, {"PT-CODE-001"}),
    ("code001-outer-spaces", coded(f" {CLEAN_CODE} "), None, set()),
    ("code001-missing-is-structure", coded(""), None, set()),
    # PT-CODE-002
    ("code002-wrong-check-character", coded(CLEAN_CODE[:-1] + "Y"), None, {"PT-CODE-002"}),
    ("code002-switched-off", coded(CLEAN_CODE[:-1] + "Y"), NO_CHECKSUM, set()),
    # PT-CODE-003
    (
        "code003-mixed-regions",
        department(clean_project(), coded(OTHER_CODE), coded(ZUNHUA_CODE)),
        None,
        {"PT-CODE-003"},
    ),
    ("code003-one-region", department(clean_project(), coded(OTHER_CODE)), None, set()),
    ("code003-not-configured-region", clean_project(), Config(region_codes=["130281"]), {"PT-CODE-003"}),
    ("code003-configured-region", clean_project(), Config(region_codes=["130800", "130281"]), set()),
    # PT-CODE-004
    ("code004-continuing-project", coded("13080024P000098100080"), None, {"PT-CODE-004"}),
    ("code004-future-year", coded(FUTURE_CODE), None, {"PT-CODE-004"}),
    ("code004-no-budget-year", department(coded("13080024P000098100080"), year=None), None, set()),
    # PT-CODE-005
    ("code005-duplicate", department(clean_project(), clean_project(name="另一个项目")), None, {"PT-CODE-005"}),
    ("code005-distinct", department(clean_project(), coded(OTHER_CODE)), None, set()),
]


@pytest.mark.parametrize(("subject", "config", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_code_rules(subject: Project | Department, config: Config | None, expected: set[str]) -> None:
    assert {f.code for f in findings(subject, config)} == expected


@pytest.mark.parametrize("code", VECTORS)
def test_check_vectors(code: str) -> None:
    assert project_code_ok(code)
    assert check_character(code[:20]) == code[20]


@pytest.mark.parametrize("code", VECTORS)
def test_mutated_vectors_fail(code: str) -> None:
    for wrong in ALPHABET.replace(code[20], ""):
        assert not project_code_ok(code[:20] + wrong)
    # Changing one body digit changes the check character, whatever the digit.
    swapped = code[:12] + str((int(code[12]) + 1) % 10) + code[13:]
    assert not project_code_ok(swapped)


def test_check_character_rejects_bad_bodies() -> None:
    with pytest.raises(ValueError):
        check_character("13080025P0001231000")
    with pytest.raises(ValueError):
        check_character("13080025P0001231000I")


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (CLEAN_CODE, None),
        (CLEAN_CODE[:-1], "长度为 20 位，应为 21 位"),
        ("A3080025P00012310001X", "第 1–6 位区划代码应为 6 位数字"),
        (CLEAN_CODE.replace("P", "Q"), "第 9 位应为字母 P"),
        (CLEAN_CODE[:-1] + "O", "第 21 位校验码只能是数字或 I、O、S、V、Z 以外的大写字母"),
    ],
)
def test_format_problem(code: str, problem: str | None) -> None:
    assert code_format_problem(code) == problem


def test_find_duplicates_over_code_where_pairs() -> None:
    pairs = [(CLEAN_CODE, "a.xlsx!项目1"), (OTHER_CODE, "a.xlsx!项目2"), (f" {CLEAN_CODE} ", "b.xlsx!项目1"), ("", "c")]
    assert find_duplicates(pairs) == {CLEAN_CODE: ["a.xlsx!项目1", "b.xlsx!项目1"]}
    assert find_duplicates([("", "a"), ("", "b")]) == {}


def test_duplicate_code_marks_every_project() -> None:
    found = findings(department(clean_project(), clean_project(name="另一个项目")))
    assert [f.project_name for f in found] == ["中小企业数字化转型培训", "另一个项目"]
    assert all("被 2 个项目使用" in f.message for f in found)


def test_future_year_is_an_error_and_past_year_info() -> None:
    [future] = findings(coded(FUTURE_CODE))
    [past] = findings(coded("13080024P000098100080"))
    assert (future.severity, past.severity) == (Severity.ERROR, Severity.INFO)
    assert "2026" in future.message and "2024" in past.message


def test_checksum_message_names_the_expected_character() -> None:
    [finding] = findings(coded(CLEAN_CODE[:-1] + "Y"))
    assert finding.message == f"项目编码「{CLEAN_CODE[:-1]}Y」的校验码应为「X」，实际为「Y」，编码可能抄录有误"
    assert (finding.field, finding.cell) == ("code", "B3")


def test_region_mismatch_names_the_odd_project() -> None:
    [finding] = findings(department(clean_project(), coded(OTHER_CODE), coded(ZUNHUA_CODE)))
    assert finding.project_code == ZUNHUA_CODE
    assert "130281" in finding.message and "130800" in finding.message
