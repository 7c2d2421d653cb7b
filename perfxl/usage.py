"""Chinese messages for command-line usage errors: an unknown option, a missing argument, a bad value.

Typer vendors Click and raises its usage errors with English text and no message catalogue, so
the message is rebuilt here from the error's own fields (its class, the option, the parameter
and its Chinese help, the refused value). An English wording this module does not know is shown
as it came after a Chinese lead, so nothing the user needs is lost.

The error classes live in typer's vendored Click (``typer._click``, typer 0.29 and later) and
the help screens read module constants of ``typer.rich_utils``; there is no public hook for
either. ``tests/test_cli.py`` runs every usage error and help screen, so a typer release that
moves them fails the tests instead of printing English.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape
from typer import rich_utils
from typer._click import exceptions as click_errors
from typer._click.core import Context, Parameter
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup, TyperOption

UsageError = click_errors.UsageError

# Typer reads these module constants, and looks up its two error printers, each time it uses
# them, so replacing them localises help screens and usage errors while typer keeps choosing
# the exit code (2 for a usage error, 1 for an abort).
_HELP_TEXT: dict[str, object] = {
    "ARGUMENTS_PANEL_TITLE": "参数",
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "DEFAULT_STRING": "[默认：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
}

# (pattern over an English value message, Chinese template); groups fill the template.
_VALUE_MESSAGES = (
    (re.compile(r"Input should be a valid integer"), "应为整数"),
    (re.compile(r"Input should be a valid number"), "应为数字"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), "应不小于 {0}"),
    (re.compile(r"Input should be greater than (\S+)"), "应大于 {0}"),
    (re.compile(r"Input should be less than or equal to (\S+)"), "应不大于 {0}"),
    (re.compile(r"(?:Value error, )?'(.*)' is not one of (.*?)\.?$"), "「{0}」不是可选值；可选：{1}"),
    (re.compile(r"Value '(.*)' is not a valid (\w+)\.?$"), "「{0}」不是有效的 {1}"),
)
_NO_COMMAND = re.compile(r"No such command '(.*)'\.(?: Did you mean (.*)\?)?$")
_EXTRA = re.compile(r"Got unexpected extra argument\(s\) \((.*)\)$")
_TAKES = re.compile(r"Argument '(.*)' takes (\d+) values\.$")
_REQUIRES = re.compile(r"Option '(.*)' requires (\d+) arguments\.$")
_USAGE_PIECES = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}
HELP_OPTION = "显示此帮助并退出"


def _chinese_help(option: TyperOption | None) -> TyperOption | None:
    if option is not None:
        option.help = HELP_OPTION
    return option


def _write_usage(command: TyperCommand | TyperGroup, ctx: Context, formatter: HelpFormatter) -> None:
    pieces = [
        _USAGE_PIECES.get(p) or re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), p)
        for p in command.collect_usage_pieces(ctx)
    ]
    formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="用法：")


class ChineseCommand(TyperCommand):
    """A typer command whose usage line and --help option read in Chinese."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        """Return the --help option, its help text in Chinese."""
        return _chinese_help(super().get_help_option(ctx))

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Write the Chinese usage line (用法：perfxl validate [选项] SOURCE) into ``formatter``."""
        _write_usage(self, ctx, formatter)


class ChineseGroup(TyperGroup):
    """The typer command group of ChineseCommand: the same Chinese usage line and --help option."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        """Return the --help option, its help text in Chinese."""
        return _chinese_help(super().get_help_option(ctx))

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Write the Chinese usage line (用法：perfxl [选项] 命令 [参数]...) into ``formatter``."""
        _write_usage(self, ctx, formatter)


_english_error = rich_utils.rich_format_error


def install() -> None:
    """Make typer print help screens and usage errors in Chinese (sets typer's module attributes)."""
    for name, value in {**_HELP_TEXT, "rich_format_error": show, "rich_abort_error": _aborted}.items():
        setattr(rich_utils, name, value)


def show(exc: click_errors.ClickException) -> None:
    """Print the usage error ``exc`` in Chinese on stderr, with the usage line and where help is."""
    if not isinstance(exc, UsageError):
        _english_error(exc)
        return
    # Typer prints the help itself when a command is run without arguments.
    if type(exc).__name__ == "NoArgsIsHelpError":
        return
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(f"[bold red]命令行有误[/] {escape(message(exc))}")
    for line in (usage(exc), help_hint(exc)):
        if line:
            console.print(escape(line), style="dim")


def _aborted() -> None:
    Console(stderr=True).print("[bold red]已中止。[/]")


def _quoted_list(text: str) -> str:
    return "、".join(part.strip().strip("'") for part in text.split(","))


def _value(message: str) -> str:
    for pattern, template in _VALUE_MESSAGES:
        m = pattern.search(message)
        if m:
            groups = [_quoted_list(g) if "'" in g else g for g in m.groups()]
            return template.format(*groups)
    return message


def _param(param: Parameter | None) -> str:
    """Return how a parameter is named to the user: its option names, or its argument name in capitals."""
    if param is None:
        return ""
    if param.param_type_name == "argument":
        return str(param.name).upper()
    return " / ".join(param.opts)


def _help(param: Parameter | None) -> str:
    text = getattr(param, "help", None)
    return f"（{text}）" if text else ""


def message(exc: UsageError) -> str:
    """Return the Chinese message for the usage error ``exc``."""
    if isinstance(exc, click_errors.NoSuchOption):
        options = sorted(exc.possibilities or ())
        return f"没有 {exc.option_name} 这个选项" + (f"；您是否想用 {'、'.join(options)}？" if options else "")
    if isinstance(exc, click_errors.MissingParameter):
        param = exc.param
        what = "参数" if param is None or param.param_type_name == "argument" else "必填选项"
        return f"缺少{what} {_param(param)}{_help(param)}".rstrip()
    if isinstance(exc, click_errors.BadParameter):
        return f"{_param(exc.param)} 的值无效：{_value(exc.message)}"
    if isinstance(exc, click_errors.BadOptionUsage):
        name = exc.option_name
        if exc.message.endswith("requires an argument."):
            return f"选项 {name} 后面缺少值"
        if exc.message.endswith("does not take a value."):
            return f"选项 {name} 是开关，不带值：只写 {name} 即可"
        m = _REQUIRES.match(exc.message)
        if m:
            return f"选项 {name} 后面需要 {m.group(2)} 个值"
    text = exc.message
    m = _NO_COMMAND.match(text)
    if m:
        guess = f"；您是否想用 {_quoted_list(m.group(2))}？" if m.group(2) else ""
        return f"没有 {m.group(1)} 这个命令{guess}"
    m = _EXTRA.match(text)
    if m:
        return f"多余的参数：{m.group(1)}（路径中有空格时请加英文引号）"
    m = _TAKES.match(text)
    if m:
        return f"参数 {m.group(1).upper()} 需要 {m.group(2)} 个值"
    if text == "Missing command.":
        return "缺少命令"
    return text


def usage(exc: UsageError) -> str | None:
    """Return the usage line of the command ``exc`` was raised for, or None without one."""
    return exc.ctx.get_usage().strip() if exc.ctx is not None else None


def help_hint(exc: UsageError) -> str | None:
    """Return the Chinese pointer to the command's --help, or None when it has none."""
    ctx = exc.ctx
    if ctx is None or ctx.command.get_help_option(ctx) is None:
        return None
    return f"运行 {ctx.command_path} {ctx.help_option_names[0]} 查看全部参数和选项。"
