"""The rule catalogue of rules.md §8; importing this package registers every rule."""

from __future__ import annotations

from perfxl.config import Config
from perfxl.model import Finding, ReadResult
from perfxl.rules import codes, indicators, money, plan, structure, text  # noqa: F401 - registers
from perfxl.rules.registry import RULES, Rule, run_rules

__all__ = ["RULES", "Rule", "unknown_codes", "validate"]


def unknown_codes(config: Config) -> list[str]:
    """Return the rule codes ``config`` overrides or disables that no rule has (a typo silently checks nothing)."""
    return sorted({code for code in [*config.severity_overrides, *config.disabled_rules] if code not in RULES})


def validate(result: ReadResult, config: Config | None = None) -> list[Finding]:
    """Return the reader's findings followed by every rule finding, most severe first per project."""
    findings = [*result.findings, *run_rules(result.department, config or Config())]
    order = {p.code: n for n, p in enumerate(result.department.projects)}
    return sorted(findings, key=lambda f: (order.get(f.project_code, len(order)), f.severity.rank, f.code))
