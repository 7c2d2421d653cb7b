"""Project code rules (rules.md §8.7) and the 项目编码 check character (§10).

A 项目编码 reads ``130800 25 P 000094 1 0006 G``: 6-digit region (财政区划), 2-digit year the
project entered the 项目库, the letter P, an 11-digit sequence and a check character. The
check character was reverse-engineered from 23 real codes (all verify) and is not confirmed
by an official text, so PT-CODE-002 sits behind ``config.check_code_checksum``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache
from operator import mul
from typing import TypeVar

from perfxl.model import Department, Project, Severity
from perfxl.rules.registry import Context, Hit, hit, rule
from perfxl.textnorm import halfwidth

# The 31 characters of GB 32100 (统一社会信用代码): no I, O, S, V or Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CODE_LENGTH = 21
_ALPHABET_SET = frozenset(ALPHABET)
_VALUES = {ch: n for n, ch in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(CODE_LENGTH - 1))  # of the body's characters, in order
_CODE_RE = re.compile(r"\d{6}\d{2}P\d{11}[0-9A-HJ-NP-RTUW-Y]")
_SEGMENTS: tuple[tuple[int, int, re.Pattern[str], str], ...] = (
    (0, 6, re.compile(r"\d{6}"), "第 1–6 位区划代码应为 6 位数字"),
    (6, 8, re.compile(r"\d{2}"), "第 7–8 位年度应为 2 位数字"),
    (8, 9, re.compile("P"), "第 9 位应为字母 P"),
    (9, 20, re.compile(r"\d{11}"), "第 10–20 位应为 11 位数字"),
    (20, 21, re.compile("[0-9A-HJ-NP-RTUW-Y]"), "第 21 位校验码只能是数字或 I、O、S、V、Z 以外的大写字母"),
)
_BLANK = re.compile(r"\s")
_BLANKS = re.compile(r"\s+")

W = TypeVar("W")


def normalise_code(code: str) -> str:
    """Return the code as compared: half-width, with every blank removed (so 1308 00… matches 130800…)."""
    return _BLANKS.sub("", halfwidth(code))


def check_character(body: str) -> str:
    """Return the check character of a 20-character code body; ValueError for a bad body."""
    if len(body) != CODE_LENGTH - 1 or not _ALPHABET_SET.issuperset(body):
        raise ValueError(f"code body must be 20 characters of {ALPHABET}: {body!r}")
    total = sum(map(mul, map(_VALUES.__getitem__, body), _WEIGHTS)) % 31
    return ALPHABET[(30 - total) % 31]


# Cached: four rules ask about each project's code.
@lru_cache(maxsize=1 << 12)
def code_format_problem(code: str) -> str | None:
    """Return why ``code`` is not a well-formed 21-character 项目编码 (Chinese), or None when it is."""
    if _BLANK.search(halfwidth(code).strip()):
        return "编码中间有空格"
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        return f"长度为 {len(code)} 位，应为 {CODE_LENGTH} 位"
    for start, end, pattern, problem in _SEGMENTS:
        if not pattern.fullmatch(code[start:end]):
            return problem
    return None


def project_code_ok(code: str) -> bool:
    """Return True when ``code`` is well formed and its check character is right."""
    code = halfwidth(code).strip()
    return bool(_CODE_RE.fullmatch(code)) and check_character(code[:20]) == code[20]


def find_duplicates(pairs: Iterable[tuple[str, W]]) -> dict[str, list[W]]:
    """Return each code used more than once (blanks ignored) with where it was used, in input order."""
    seen: defaultdict[str, list[W]] = defaultdict(list)
    for code, where in pairs:
        key = normalise_code(code)
        if key:
            seen[key].append(where)
    return {code: wheres for code, wheres in seen.items() if len(wheres) > 1}


def _well_formed(project: Project) -> str | None:
    return _well_formed_code(project.code)


@lru_cache(maxsize=1 << 12)
def _well_formed_code(code: str) -> str | None:
    return normalise_code(code) if code_format_problem(code) is None else None


@rule(
    "PT-CODE-001",
    Severity.ERROR,
    "项目编码格式错误",
    "项目编码「{code}」格式不正确：{problem}（应为 6 位区划 + 2 位年度 + P + 11 位数字 + 1 位校验码）",
)
def code_format(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when a non-empty 项目编码 does not have the 21-character layout."""
    if not project.code.strip():
        return  # a missing code is PT-STR-001's finding
    problem = code_format_problem(project.code)
    if problem:
        yield hit("code", value=project.code, code=project.code, problem=problem)


@rule(
    "PT-CODE-002",
    Severity.ERROR,
    "项目编码校验码错误",
    "项目编码「{code}」的校验码应为「{expected}」，实际为「{actual}」，编码可能抄录有误",
)
def code_checksum(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield a hit when a well-formed code's check character is wrong (if the check is enabled)."""
    code = _well_formed(project)
    if code is None or not ctx.config.check_code_checksum:
        return
    expected = check_character(code[:20])
    if expected != code[20]:
        yield hit("code", value=project.code, code=code, expected=expected, actual=code[20])


@rule(
    "PT-CODE-003",
    Severity.WARNING,
    "项目编码区划不一致",
    "项目编码的区划代码 {region} 与本部门多数项目的区划代码 {usual} 不一致",
    scope="department",
    variants={"unexpected": "项目编码的区划代码 {region} 不在配置的本级区划 {expected} 之内"},
)
def code_region(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit per project whose region prefix is not the department's usual one or not configured."""
    coded = [(p, code[:6]) for p in dept.projects if (code := _well_formed(p))]
    if not coded:
        return
    usual = Counter(region for _, region in coded).most_common(1)[0][0]
    expected = ctx.config.region_codes
    for project, region in coded:
        if expected and region not in expected:
            yield hit(
                "code",
                project=project,
                value=project.code,
                template="unexpected",
                region=region,
                expected="、".join(expected),
            )
        elif region != usual:
            yield hit("code", project=project, value=project.code, region=region, usual=usual)


@rule(
    "PT-CODE-004",
    Severity.INFO,
    "项目编码年度",
    "项目编码的年度为 20{code_year}，早于预算年度 {year}，属于延续或结转项目，请确认",
    variants={
        "future": "项目编码的年度为 20{code_year}，晚于预算年度 {year}，项目不可能在预算年度之后才入库，请核对编码"
    },
)
def code_year(project: Project, ctx: Context) -> Iterator[Hit]:
    """Yield info when the code's year is before the budget year, an error when it is after."""
    code, year = _well_formed(project), ctx.department.year
    if code is None or year is None:
        return
    code_year = 2000 + int(code[6:8])
    if code_year < year:
        yield hit("code", value=project.code, code_year=code[6:8], year=year)
    elif code_year > year:
        yield hit(
            "code",
            value=project.code,
            severity=Severity.ERROR,
            template="future",
            code_year=code[6:8],
            year=year,
        )


@rule(
    "PT-CODE-005",
    Severity.ERROR,
    "项目编码重复",
    "项目编码「{code}」被 {count} 个项目使用：{names}",
    scope="department",
)
def code_duplicates(dept: Department, ctx: Context) -> Iterator[Hit]:
    """Yield a hit on every project whose code another project of the department also uses."""
    for code, projects in find_duplicates((p.code, p) for p in dept.projects).items():
        names = "、".join(f"「{p.name}」" for p in projects)
        for project in projects:
            yield hit("code", project=project, value=project.code, code=code, count=len(projects), names=names)
