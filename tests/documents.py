"""What the Word and PDF tests share: the seeds read from their text, and how results compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfxl.model import ReadResult
from perfxl.readers import read_source
from perfxl.rules import validate

EXAMPLES = Path(__file__).parent.parent / "examples"
SEEDS = [EXAMPLES / "chengde-2025.txt", EXAMPLES / "zunhua-2025.txt"]


@pytest.fixture(scope="module", params=SEEDS, ids=["chengde", "zunhua"])
def seed(request: pytest.FixtureRequest) -> ReadResult:
    """Return a published example as read from its text."""
    path: Path = request.param
    return read_source(path)


def part1(result: ReadResult) -> tuple[object, ...]:
    """Return what a document holds besides its projects: title unit, year, Part 1 and its items."""
    dept = result.department
    subs = [s.model_dump(exclude={"sources"}) for s in dept.sub_goals]
    return dept.title_unit_name, dept.year, dept.overall_goal, dept.safeguards, subs


def comparable_findings(result: ReadResult) -> list[tuple[str, str, str, str]]:
    """Return the findings as compared across sources, without their places.

    Documents are written with the standard labels, so the text's 项目编号 note (PT-STR-002) goes.
    """
    return [(f.code, f.message, f.project_code, f.field) for f in validate(result) if f.code != "PT-STR-002"]
