"""The ``perfxl`` command line: the same core as the Excel buttons, run on files."""

from __future__ import annotations

import codecs
import json
import sys
import zipfile
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from perfxl import __version__, paths
from perfxl.config import Config, load_config
from perfxl.consolidate import OutputError, Report, SourceOutcome, consolidate
from perfxl.errors import LOCKED_HINT, SourceError, os_reason
from perfxl.model import Finding, Project, PublicDepartment, ReadResult, public_department
from perfxl.readers import read_source
from perfxl.report import findings_document, print_department, print_findings, rules_markdown, summary_line
from perfxl.rules import RULES, unknown_codes, validate
from perfxl.tables import Status
from perfxl.usage import ChineseCommand, ChineseGroup
from perfxl.usage import install as install_chinese_usage
from perfxl.writers.files import replacing
from perfxl.writers.package import clear_findings, write_findings, write_rollup

_T = TypeVar("_T")

install_chinese_usage()
app = typer.Typer(
    name="perfxl",
    help="预算绩效目标工具：读取、校验、汇总、合并绩效目标。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=ChineseGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# Messages carry file paths and long Chinese reasons: rich must not hard-wrap them mid-path at
# the console width (80 columns in logs and pipes); the terminal folds them. Tables opt out.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


class Format(StrEnum):
    """Output formats of inspect and validate."""

    table = "table"
    json = "json"


SourceArg = Annotated[
    Path, typer.Argument(help="绩效文本（.txt、Word .docx 或 PDF）或部门工作簿（.xlsx/.xlsm）", show_default=False)
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="输出格式：table 或 json")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="把 JSON 写入此 .json 文件（UTF-8），表格仍显示在屏幕上")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="校验配置文件（TOML 或 JSON）")]
BookArg = Annotated[Path, typer.Argument(help="部门工作簿（.xlsx/.xlsm）", show_default=False)]
CopyOpt = Annotated[Path | None, typer.Option("--output", "-o", help="写入这个副本，原工作簿保持不变")]
WriteOpt = Annotated[bool, typer.Option("--write", "-w", help="写入「校验结果」表和问题单元格的底色、批注")]
ValidateOutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="把 JSON 写入此 .json 文件（UTF-8）；与 --write 同用时为写入结果的工作簿副本"),
]


def _fail(exc: SourceError) -> typer.Exit:
    err_console.print(f"[bold red]无法读取[/] {exc}")
    return typer.Exit(EXIT_UNREADABLE)


def _bad_output(message: str) -> typer.Exit:
    """Return the exit (code 2) of a command whose output cannot be written as asked, having said why."""
    err_console.print(f"[bold red]输出有误[/] {message}")
    return typer.Exit(EXIT_UNREADABLE)


def _read(path: Path) -> ReadResult:
    try:
        return read_source(path)
    except SourceError as exc:
        raise _fail(exc) from None


def _config(path: Path | None) -> Config:
    try:
        config = load_config(path)
    except SourceError as exc:
        raise _fail(exc) from None
    unknown = unknown_codes(config)
    if unknown and path is not None:
        raise _fail(SourceError(str(path), f"配置项无效：没有规则 {'、'.join(unknown)}（perfxl rules 列出全部规则）"))
    return config


def write_json(document: Any, path: Path) -> None:
    """Write ``document`` as UTF-8 JSON next to ``path`` and rename it into place."""
    with replacing(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def print_document(text: str) -> None:
    """Write ``text`` (JSON or Markdown) to stdout: UTF-8 bytes into a pipe or file, text on a console."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None and not sys.stdout.isatty():
        # Redirected output is data for another program: UTF-8 whatever the console's codepage.
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        sys.stdout.write(text)


def _check_json_output(output: Path | None, source: Path) -> None:
    """End the command with exit code 2 when ``output`` cannot take the JSON document."""
    if output is None:
        return
    reason = (
        "应以 .json 结尾" if output.suffix.lower() != ".json"
        else "是一个文件夹，请给出 .json 文件名" if paths.is_dir(output)
        else "会覆盖来源文件本身" if output.resolve() == source.resolve()
        else None
    )  # fmt: skip
    if reason is not None:
        raise _bad_output(f"{output} {reason}")


def _emit_json(document: Any, output: Path | None) -> None:
    if output is None:
        print_document(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    try:
        write_json(document, output)
    except OSError as exc:
        err_console.print(f"[bold red]无法写入[/] {output}：{os_reason(exc)}")
        raise typer.Exit(EXIT_UNREADABLE) from None
    err_console.print(f"已写入 {output}")


@app.command(cls=ChineseCommand)
def inspect(source: SourceArg, fmt: FormatOpt = Format.table, output: OutputOpt = None) -> None:
    """显示从来源中读到的单位、项目、金额、支出计划和指标。"""
    _check_json_output(output, source)
    result = _read(source)
    if fmt is Format.table:
        print_department(console, result.department)
    if fmt is Format.json or output is not None:
        _emit_json(public_department(result.department).model_dump(mode="json"), output)


@app.command("validate", cls=ChineseCommand)
def validate_cmd(
    source: SourceArg,
    fmt: FormatOpt = Format.table,
    config: ConfigOpt = None,
    output: ValidateOutputOpt = None,
    write: WriteOpt = False,
) -> None:
    """逐条校验绩效目标；有错误时退出码为 1，无法读取或写入时为 2。"""
    if not write:
        _check_json_output(output, source)
    cfg = _config(config)
    result = _read(source)
    if write and (not zipfile.is_zipfile(source) or source.suffix.lower() not in (".xlsx", ".xlsm")):
        err_console.print(f"[bold red]无法写入[/] {source}：--write 只能用于 Excel 工作簿（.xlsx/.xlsm）")
        raise typer.Exit(EXIT_UNREADABLE)
    if write:
        _check_copy(source, output)
    findings = validate(result, cfg)
    json_output = None if write else output
    if fmt is Format.table:
        print_findings(console, findings, title=f"校验结果：{source.name}")
    if fmt is Format.json or json_output is not None:
        _emit_json(findings_document(findings), json_output)
    if write:
        written = _edit(lambda: write_findings(source, findings, output=output), output or source)
        # Keep stdout pure JSON when JSON was asked for.
        (err_console if fmt is Format.json else console).print(f"已把 {len(findings)} 条校验结果写入 {written}")
    raise typer.Exit(exit_code(findings))


def _check_copy(book: Path, output: Path | None) -> None:
    """End the command with exit code 2 when ``output`` cannot be a copy of the workbook ``book``."""
    if output is None:
        return
    # Excel refuses a macro-enabled package named .xlsx, and the other way round.
    if output.suffix.lower() != book.suffix.lower():
        reason = f"应与原工作簿一样以 {book.suffix.lower() or '.xlsx'} 结尾"
    elif paths.is_dir(output):
        reason = "是一个文件夹，请给出工作簿文件名"
    else:
        return
    raise _bad_output(f"{output} {reason}")


def _edit(action: Callable[[], _T], target: Path) -> _T:
    """Return what ``action`` returns (the workbook it wrote); name ``target`` when it fails, with exit code 2."""
    try:
        return action()
    except SourceError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        # The error names the temporary file beside the target: users know the target.
        hint = f"（工作簿{LOCKED_HINT}）" if isinstance(exc, PermissionError) else ""
        err_console.print(f"[bold red]无法写入[/] {target}：{os_reason(exc)}{hint}")
        raise typer.Exit(EXIT_UNREADABLE) from None


@app.command("clear", cls=ChineseCommand)
def clear_cmd(book: BookArg, output: CopyOpt = None) -> None:
    """清除「校验结果」表，以及 perfxl 写入的单元格底色和批注。"""
    _check_copy(book, output)
    written = _edit(lambda: clear_findings(book, output=output), output or book)
    if written is None:
        console.print(f"{book} 中没有 perfxl 写入的校验结果、底色或批注，文件未改动")
    elif output is not None:
        # A copy is written whether or not there was anything to clear.
        console.print(f"已写出不含校验标记的副本：{written}")
    else:
        console.print(f"已清除校验标记：{written}")


@app.command("rollup", cls=ChineseCommand)
def rollup_cmd(book: BookArg, config: ConfigOpt = None, output: CopyOpt = None) -> None:
    """把各项目表汇总到「部门汇总」表，并显示部门预算总额。

    金额用公式链接到项目表，随项目表实时更新。
    """
    _check_copy(book, output)
    cfg = _config(config)
    result = _read(book)
    findings = validate(result, cfg)
    written = _edit(lambda: write_rollup(book, result, findings, output=output), output or book)
    projects = result.department.projects
    total = sum((p.budget for p in projects if p.budget is not None), Decimal(0))
    console.print(f"已写入 {written} 的「部门汇总」：{len(projects)} 个项目")
    console.print(f"部门预算总额 [bold]{total:,.2f}[/] 万元（{summary_line(findings)}）")
    unread = [p for p in projects if p.budget is None]
    if unread:
        places = "、".join(_budget_place(p) for p in unread)
        console.print(
            f"[yellow]注意[/] {len(unread)} 个项目的预算数空白或无法读取，未计入总额：{places}", highlight=False
        )


def _budget_place(project: Project) -> str:
    """Return where a project's budget is, as staff find it: 项目3!C4 (or the project's name)."""
    loc = project.sources.get("budget")
    if loc is not None and loc.sheet and loc.cell:
        return f"{loc.sheet}!{loc.cell}"
    return project.name or project.code or "（未命名项目）"


@app.command("export", cls=ChineseCommand)
def export_cmd(
    sources: Annotated[list[Path], typer.Argument(help="部门工作簿（或绩效文本），可以多个", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="一个 .docx 文件，或一个文件夹（每个来源一个 .docx）；默认写在来源旁边"),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """把部门工作簿写成可发布的《部门预算绩效文本》Word 文档（.docx）。

    文档包括部门整体绩效目标和每个项目的绩效目标表；写出前按规则校验，有错误时提示先修正。
    """
    from perfxl.writers.word import default_document_path

    cfg = _config(config)
    planned = _planned(sources, out, ".docx", default_document_path)
    written = [_export_one(source, target, cfg) for source, target in planned if target is not None]
    raise typer.Exit(EXIT_OK if all(written) and all(t for _, t in planned) else EXIT_UNREADABLE)


def _planned(
    sources: list[Path], out: Path | None, suffix: str, beside: Callable[[Path], Path] | None = None
) -> list[tuple[Path, Path | None]]:
    """Return each source with the file to write it to, or None (said why) where that must not happen.

    ``out`` is one file with ``suffix`` (for one source), a folder (one file per source, named
    after it), or None for commands that have ``beside`` name the file next to its source. A bad
    ``out`` ends the command with exit code 2.
    """
    to_file = out is not None and out.suffix.lower() == suffix and not paths.is_dir(out)
    if out is not None and not to_file and (paths.is_file(out) or out.suffix):
        raise _bad_output(f"{out} 应以 {suffix} 结尾，或是一个文件夹")
    if to_file and len(sources) > 1:
        raise _bad_output(f"有多个来源时，-o 应为文件夹（每个来源写一个 {suffix}）")
    planned: list[tuple[Path, Path | None]] = []
    taken: set[Path] = set()
    for source in sources:
        if out is None:
            assert beside is not None, "a command without -o names its outputs beside the sources"
            target = beside(source)
        else:
            target = out if to_file else out / f"{source.stem}{suffix}"
        if target.resolve() in taken or target.resolve() == source.resolve():
            reason = "与前面的来源同名" if target.resolve() in taken else "会覆盖来源文件本身"
            err_console.print(f"[bold red]未写出[/] {source}：输出 {target} {reason}")
            planned.append((source, None))
            continue
        taken.add(target.resolve())
        planned.append((source, target))
    return planned


def _export_one(source: Path, target: Path, cfg: Config) -> bool:
    """Write ``source`` as the published document at ``target``; print the outcome and return whether it was written."""
    from perfxl.writers.word import write_document

    try:
        result = read_source(source)
    except SourceError as exc:
        err_console.print(f"[bold red]无法读取[/] {exc}")
        return False
    findings = validate(result, cfg)
    try:
        write_document(result.department, target)
    except OSError as exc:
        hint = "（文档是否正在 Word 或 WPS 中打开？）" if isinstance(exc, PermissionError) else ""
        err_console.print(f"[bold red]无法写入[/] {target}：{os_reason(exc)}{hint}")
        return False
    console.print(f"{source} → [bold]{target}[/]（{len(result.department.projects)} 个项目）")
    if any(f.severity.value == "error" for f in findings):
        console.print(
            f"[yellow]注意[/] 校验发现 {summary_line(findings)}；发布前请先修正错误（perfxl validate {source} 查看）"
        )
    return True


# --- consolidate -------------------------------------------------------------------------------

# How many rejected files the closing summary names; 来源 lists them all.
MAX_LISTED_REJECTS = 30


def _consolidate(inputs: list[Path], output: Path, **options: Any) -> Report:
    """Return the report of a consolidation run with a progress bar on stderr; exit 2 if nothing can be written."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} 个/秒"), TextColumn("已拒绝 {task.fields[rejected]}"), TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("合并", total=None, rate="0.0", rejected=0)
        rejected = 0

        def started(total: int) -> None:
            progress.update(task, total=total)

        def advanced(outcome: SourceOutcome) -> None:
            nonlocal rejected
            if outcome.status is not Status.ACCEPTED:
                rejected += 1
            done = progress.tasks[0].completed + 1
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:.1f}" if elapsed > 0 else "—"
            progress.update(task, advance=1, rate=rate, rejected=rejected)
            if done == progress.tasks[0].total:
                # The tables of the whole run are assembled after the last file: seconds at scale.
                progress.update(task, description="写出汇总工作簿")

        try:
            return consolidate(inputs, output, on_start=started, on_file=advanced, **options)
        except (OutputError, SourceError) as exc:
            progress.stop()
            err_console.print(f"[bold red]未写出汇总工作簿：[/]{exc}")
            raise typer.Exit(EXIT_UNREADABLE) from None


def print_consolidation(report: Report) -> None:
    """Print the closing summary of a consolidation in Chinese: counts, money, reconciliation, output."""
    accepted, rejected, duplicates = (report.count(s) for s in (Status.ACCEPTED, Status.REJECTED, Status.DUPLICATE))
    console.print(
        f"输入文件 {len(report.sources)} 个：已汇入 [bold green]{accepted}[/] 个，"
        f"已拒绝 [bold red]{rejected}[/] 个，重复 [bold yellow]{duplicates}[/] 个（用时 {report.seconds:.1f} 秒）"
    )
    not_merged = [s for s in report.sources if s.status is not Status.ACCEPTED]
    for s in not_merged[:MAX_LISTED_REJECTS]:
        style = "red" if s.status is Status.REJECTED else "yellow"
        console.print(f"  [{style}]{s.status.value}[/] {s.file}：{s.reason}", highlight=False)
    if len(not_merged) > MAX_LISTED_REJECTS:
        console.print(f"  …… 另有 {len(not_merged) - MAX_LISTED_REJECTS} 个，见输出的「来源」表")
    if report.output is None or report.written is None:
        console.print("[bold red]没有可以汇入的工作簿，未写出汇总工作簿。[/]")
        return
    rows = report.written.rows
    console.print(
        f"项目 {rows.get('项目', 0)} 个，指标 {rows.get('指标', 0)} 条，问题 {rows.get('问题', 0)} 条，"
        f"预算数合计 [bold]{report.written.budget:,.2f}[/] 万元"
    )
    if report.reconciled:
        console.print("核对：[bold green]一致[/]（项目数、指标数和预算数合计与已汇入的文件相符）")
    else:
        console.print(
            f"核对：[bold red]不一致[/]（输入项目 {report.input_projects} 个、预算数 {report.input_budget:,.2f} 万元；"
            f"项目表 {rows.get('项目', 0)} 行、{report.written.budget:,.2f} 万元）"
        )
    for note in report.notes():
        console.print(f"[yellow]{note}[/]", highlight=False)
    units = list(report.cross_file.units.items())
    for code, files in units[:MAX_LISTED_REJECTS]:
        console.print(f"  单位 {code}：{'、'.join(files)}", highlight=False)
    if len(units) > MAX_LISTED_REJECTS:
        console.print(f"  …… 另有 {len(units) - MAX_LISTED_REJECTS} 个，见输出的「来源」表")
    if report.locked is not None:
        console.print(
            f"[bold red]无法覆盖[/] {report.locked}（{LOCKED_HINT}）；"
            f"为免丢失本次结果，已另存为 [bold]{report.output.resolve()}[/]"
        )
    else:
        sheets = "、".join(report.written.sheets)
        console.print(f"已写出汇总工作簿 [bold]{report.output.resolve()}[/]（工作表：{sheets}）")
    if report.parquet_dir is not None:
        console.print(f"Parquet 文件在 [bold]{report.parquet_dir.resolve()}[/]（每张表一个文件）")


@app.command("consolidate", cls=ChineseCommand)
def consolidate_cmd(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="部门或下级汇总的工作簿 .xlsx/.xlsm 或文件夹（含子文件夹）", show_default=False),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="汇总工作簿（.xlsx）", show_default=False)],
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help="同时把每张表写成 Parquet 文件，放在此文件夹")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="并行读取的进程数（默认为 CPU 核数）")] = None,
    config: ConfigOpt = None,
) -> None:
    """合并多个部门工作簿或下级汇总工作簿为一个汇总工作簿。

    全部汇入时退出码为 0，有拒绝或重复的文件时为 3，未写出汇总工作簿时为 2。
    """
    cfg = _config(config)
    report = _consolidate(inputs, output, parquet_dir=parquet, workers=workers, config=cfg)
    print_consolidation(report)
    raise typer.Exit(report.exit_code)


def exit_code(findings: list[Finding]) -> int:
    """Return 1 when any finding is an error, else 0."""
    return EXIT_FINDINGS if any(f.severity.value == "error" for f in findings) else EXIT_OK


@app.command("rules", cls=ChineseCommand)
def rules_cmd(
    markdown: Annotated[bool, typer.Option("--markdown", help="输出 Markdown（docs/rules.md）")] = False,
) -> None:
    """列出全部校验规则及其默认级别。"""
    if markdown:
        print_document(rules_markdown(RULES))
        return
    table = Table(title="校验规则")
    for column in ("规则", "级别", "名称"):
        table.add_column(column)
    for code in sorted(RULES):
        r = RULES[code]
        table.add_row(code, r.severity.label, r.title)
    console.print(table, soft_wrap=False)


def inspect_schema() -> dict[str, Any]:
    """Return the JSON Schema of the ``inspect --format json`` document."""
    schema = PublicDepartment.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "perfxl inspect"
    return schema


@app.command(cls=ChineseCommand)
def schema() -> None:
    """输出 inspect JSON 的 JSON Schema（公开接口）。"""
    print_document(json.dumps(inspect_schema(), ensure_ascii=False, indent=2) + "\n")


def _examples_dir() -> Path:
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parent.parent / "examples"):
        if any(candidate.glob("*.txt")):
            return candidate
    raise SourceError("examples", "找不到示例文件夹 examples/（请在 perfxl 仓库目录中运行）")


@app.command(cls=ChineseCommand)
def demo(
    out: Annotated[Path, typer.Option("--output", "-o", "--out", help="结果输出文件夹")] = Path("perfxl-demo"),
) -> None:
    """用自带的两份真实绩效文本演示全部流程。

    读取、校验、生成部门工作簿并合并，最后说明结果在哪里。
    """
    if paths.exists(out) and not paths.is_dir(out):
        raise _bad_output(f"{out} 已有同名的文件，请给出一个文件夹")
    try:
        examples = sorted(_examples_dir().glob("*.txt"))
    except SourceError as exc:
        raise _fail(exc) from None
    from perfxl.writers.word import write_document
    from perfxl.writers.workbook import write_department_workbook

    written: list[Path] = []
    books: list[Path] = []
    for path in examples:
        result = _read(path)
        findings = validate(result)
        console.rule(f"[bold]{path.name}")
        print_department(console, result.department)
        errors = [f for f in findings if f.severity.value == "error"]
        print_findings(console, errors, title=f"错误（共 {summary_line(findings)}）", summary=False)
        inspect_path = out / f"{path.stem}.inspect.json"
        validate_path = out / f"{path.stem}.validate.json"
        write_json(public_department(result.department).model_dump(mode="json"), inspect_path)
        write_json(findings_document(findings), validate_path)
        book = write_department_workbook(result.department, out / f"{path.stem}.xlsx")
        # Read the workbook back, as staff would hand it in: the marks and links point at its cells.
        book_result = _read(book)
        book_findings = validate(book_result)
        write_rollup(book, book_result, book_findings)
        write_findings(book, book_findings)
        document = write_document(book_result.department, out / f"{path.stem}.docx")
        total = sum((p.budget or 0 for p in book_result.department.projects), Decimal(0))
        console.print(
            f"部门工作簿 {book}：「部门汇总」合计 {total:,.2f} 万元，"
            f"「校验结果」{len(book_findings)} 条，问题单元格已标色并加批注"
        )
        console.print(f"绩效文本 {document}：由部门工作簿导出的 Word 文档（perfxl export），可编辑后发布")
        written += [inspect_path, validate_path, book, document]
        books.append(book)
    console.rule("[bold]合并")
    merged = out / "合并汇总.xlsx"
    print_consolidation(_consolidate(books, merged))
    written.append(merged)
    console.rule("[bold]结果")
    for path in written:
        console.print(f"  {path}")
    console.print(f"全部结果在文件夹 [bold]{out.resolve()}[/] 中。")


@app.command("import", cls=ChineseCommand)
def import_cmd(
    sources: Annotated[
        list[Path], typer.Argument(help="绩效文本（.txt、.docx 或 PDF）或工作簿，可以多个", show_default=False)
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="一个 .xlsx 文件、一个 .xlsm 文件（带功能区的模板副本） 或一个文件夹（每个来源一个 .xlsx）",
            show_default=False,
        ),
    ],
) -> None:
    """把公开的绩效文本转换为部门工作簿：部门页 + 每个项目一张绩效目标表。"""
    from perfxl.writers.workbook import write_department_workbook

    if out.suffix.lower() == ".xlsm":
        raise typer.Exit(_import_xlsm(sources, out))
    failed = False
    for source, target in _planned(sources, out, ".xlsx"):
        if target is None:
            failed = True
            continue
        try:
            result = read_source(source)
        except SourceError as exc:
            err_console.print(f"[bold red]无法读取[/] {exc}")
            failed = True
            continue
        try:
            write_department_workbook(result.department, target)
        except OSError as exc:
            err_console.print(f"[bold red]无法写入[/] {target}：{os_reason(exc)}")
            failed = True
            continue
        console.print(f"{source} → [bold]{target}[/]（{len(result.department.projects)} 个项目）")
    raise typer.Exit(EXIT_UNREADABLE if failed else EXIT_OK)


def _import_xlsm(sources: list[Path], out: Path) -> int:
    """Write the one source into a copy of the macro-enabled template at ``out``; return the exit code."""
    from perfxl.excel.template import BuildError, build_workbook

    if len(sources) != 1 or out.resolve() == sources[0].resolve():
        raise _bad_output("输出 .xlsm 时只能有一个来源，且不能覆盖来源文件本身")
    try:
        result = read_source(sources[0])
        build_workbook(result.department, out)
    except SourceError as exc:
        err_console.print(f"[bold red]无法读取[/] {exc}")
        return EXIT_UNREADABLE
    except BuildError as exc:
        err_console.print(f"[bold red]无法生成[/] {exc}")
        return EXIT_UNREADABLE
    except OSError as exc:
        err_console.print(f"[bold red]无法写入[/] {out}：{os_reason(exc)}")
        return EXIT_UNREADABLE
    projects = len(result.department.projects)
    console.print(f"{sources[0]} → [bold]{out}[/]（{projects} 个项目，带「绩效目标」功能区和宏）")
    return EXIT_OK


@app.command("template", cls=ChineseCommand)
def template_cmd(
    out: Annotated[
        Path, typer.Option("--output", "-o", help="模板文件（.xlsm），如 workbooks/template.xlsm", show_default=False)
    ],
) -> None:
    """生成带「绩效目标」功能区、宏和 Python 工作表函数的 Excel 模板（.xlsm）。"""
    from perfxl.excel.template import BuildError, build_template

    if out.suffix.lower() != ".xlsm":
        raise _bad_output(f"{out} 应以 .xlsm 结尾（带宏的工作簿）")
    try:
        build_template(out)
    except BuildError as exc:
        err_console.print(f"[bold red]无法生成[/] {exc}")
        raise typer.Exit(EXIT_UNREADABLE) from None
    except OSError as exc:
        err_console.print(f"[bold red]无法写入[/] {out}：{os_reason(exc)}")
        raise typer.Exit(EXIT_UNREADABLE) from None
    console.print(f"已生成模板 [bold]{out}[/]")


def version_callback(value: bool) -> None:
    """Print the version and exit when --version is given."""
    if value:
        console.print(f"perfxl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="显示版本")
    ] = False,
) -> None:
    """预算绩效目标工具。"""


def _console_text(exc: UnicodeError) -> tuple[bytes, int]:
    """Return the bytes a console shows for characters it cannot encode, and where to go on.

    The bytes of a file name that is not UTF-8 (a GBK name on Linux) show as the name they
    spell; any other character the console lacks (an emoji on a GBK console) shows as "?".
    The replacement is returned encoded: the UTF-8 codec accepts only ASCII text from a handler.
    """
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    # Some codecs (GBK) report one character at a time; a name's bytes decode only together.
    text, end = exc.object, exc.start
    while end < len(text) and "\udc80" <= text[end] <= "\udcff":
        end += 1
    end = max(end, exc.end)
    run = text[exc.start : end]
    shown = paths.shown(run)
    return ("?" * len(run) if shown == run else shown).encode(exc.encoding, "replace"), end


codecs.register_error("perfxl-console", _console_text)


def main() -> None:
    """Run the command line."""
    # A command must never end in UnicodeEncodeError because of what it prints.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="perfxl-console")
    app()
