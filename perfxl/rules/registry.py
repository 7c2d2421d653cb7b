"""The rule registry: rules are plain functions registered with a code, severity and message.

A rule looks at one project (``scope="project"``) or the whole department
(``scope="department"``) and yields ``Hit``s: the values it saw and where. The runner turns
hits into ``Finding``s, filling in the Chinese message from the rule's template, the unit and
project, and the sheet/cell or line of the field. Rules never raise on bad data; a rule that
crashes is reported as a finding of its own, so one bug never hides every other problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

from perfxl.config import Config
from perfxl.model import Department, Finding, Indicator, Location, Project, Severity

_S = TypeVar("_S")
_T = TypeVar("_T")


# A named tuple rather than a frozen dataclass: as immutable, and several times cheaper to build,
# which counts at ~170 hits per department.
class Hit(NamedTuple):
    """What a rule saw: the field (and indicator row) at fault and the values for the message."""

    field: str
    params: dict[str, Any]
    indicator: Indicator | None = None
    project: Project | None = None
    value: str = ""
    severity: Severity | None = None
    template: str | None = None
    # The key in the sources to point at, when finer than the field (one checkpoint of the plan).
    place: str | None = None


def hit(
    field: str,
    *,
    indicator: Indicator | None = None,
    project: Project | None = None,
    value: object = "",
    severity: Severity | None = None,
    template: str | None = None,
    place: str | None = None,
    **params: Any,
) -> Hit:
    """Return a Hit; ``params`` fill the message template, ``template`` picks a variant, ``place`` the cell."""
    text = "" if value is None else str(value)
    return Hit(field, params, indicator, project, text, severity, template, place)


@dataclass(frozen=True)
class Context:
    """What every rule may consult besides its subject."""

    config: Config
    department: Department
    memo: dict[Any, Any] = field(default_factory=dict)
    """Values several rules derive from the same subject, computed once per run (keys name their owner)."""

    def once(self, derive: Callable[[_S], _T], subject: _S) -> _T:
        """Return ``derive(subject)``, computed once per run for each subject.

        The subject is kept by identity: it lives in ``department`` for the whole run, so its
        ``id`` stays its own. ``derive`` must be a pure function of the subject.
        """
        key = (derive, id(subject))
        try:
            found: _T = self.memo[key]
        except KeyError:
            found = self.memo[key] = derive(subject)
        return found


ProjectCheck = Callable[[Project, Context], Iterable[Hit]]
DepartmentCheck = Callable[[Department, Context], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: stable code, default severity, Chinese title and message template."""

    code: str
    severity: Severity
    title: str
    message: str
    scope: Literal["project", "department"]
    check: Callable[..., Iterable[Hit]]
    variants: dict[str, str] = field(default_factory=dict)


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    severity: Severity,
    title: str,
    message: str,
    *,
    scope: Literal["project", "department"] = "project",
    variants: dict[str, str] | None = None,
) -> Callable[[Callable[..., Iterable[Hit]]], Callable[..., Iterable[Hit]]]:
    """Return a decorator that registers a check function under ``code``."""

    def register(func: Callable[..., Iterable[Hit]]) -> Callable[..., Iterable[Hit]]:
        if code in RULES:
            raise ValueError(f"rule {code} registered twice")
        RULES[code] = Rule(code, severity, title, message, scope, func, dict(variants or {}))
        return func

    return register


def _location(h: Hit, project: Project | None, dept: Department) -> Location | None:
    if h.indicator is not None:
        loc = h.indicator.where(h.field)
        if loc is not None:
            return loc
    if project is not None:
        return (project.sources.get(h.place) if h.place else None) or project.where(h.field)
    return dept.sources.get(h.field) or next(iter(dept.sources.values()), None)


def _finding(r: Rule, h: Hit, project: Project | None, ctx: Context, override: Severity | None) -> Finding:
    dept = ctx.department
    template = r.variants.get(h.template, r.message) if h.template else r.message
    try:
        message = template.format(**h.params)
    except (KeyError, IndexError, ValueError):
        message = f"{template}（参数：{h.params}）"
    loc = _location(h, project, dept)
    if project is None:
        unit_code, project_code, project_name = dept.unit_code, "", ""
    else:
        unit_code, project_code, project_name = project.unit_code or dept.unit_code, project.code, project.name
    if loc is None:
        file, sheet, cell, line, place = dept.source_file, None, None, None, None
    else:
        file, sheet, cell, line, place = loc.file or dept.source_file, loc.sheet, loc.cell, loc.line, loc.place
    # The model's own validator, called on a dict: the same validation as ``Finding(...)``
    # without the keyword and classmethod plumbing around it (~1 µs of ~4 per finding).
    finding: Finding = Finding.__pydantic_validator__.validate_python(
        {
            "code": r.code,
            "severity": override or h.severity or r.severity,
            "message": message,
            "unit_code": unit_code,
            "project_code": project_code,
            "project_name": project_name,
            "field": h.field,
            "value": h.value,
            "file": file,
            "sheet": sheet,
            "cell": cell,
            "line": line,
            "place": place,
        }
    )
    return finding


def _crash(r: Rule, exc: Exception, project: Project | None, ctx: Context) -> Finding:
    return Finding(
        code=r.code,
        severity=Severity.WARNING,
        message=f"规则 {r.code} 未能完成检查（程序错误：{type(exc).__name__}: {exc}），请人工核对",
        unit_code=ctx.department.unit_code,
        project_code=project.code if project else "",
        project_name=project.name if project else "",
        file=ctx.department.source_file,
    )


def run_rules(dept: Department, config: Config) -> list[Finding]:
    """Return every finding of every enabled rule on ``dept``, in project and rule order."""
    ctx = Context(config=config, department=dept)
    overrides = config.severity_overrides
    disabled = set(config.disabled_rules)
    enabled = [(r, overrides.get(r.code)) for r in RULES.values() if r.code not in disabled]
    per_project = [(r, o) for r, o in enabled if r.scope == "project"]
    findings: list[Finding] = []
    append = findings.append
    for project in dept.projects:
        for r, override in per_project:
            try:
                for h in r.check(project, ctx):
                    append(_finding(r, h, project, ctx, override))
            except Exception as exc:  # noqa: BLE001 - a rule bug must not hide other findings
                append(_crash(r, exc, project, ctx))
    for r, override in enabled:
        if r.scope != "department":
            continue
        try:
            for h in r.check(dept, ctx):
                append(_finding(r, h, h.project, ctx, override))
        except Exception as exc:  # noqa: BLE001 - a rule bug must not hide other findings
            append(_crash(r, exc, None, ctx))
    return findings
