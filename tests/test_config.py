"""Configuration: the documented example equals the defaults, and bad files say why in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfxl.config import Config, load_config
from perfxl.errors import SourceError
from perfxl.model import Severity

DOCS = Path(__file__).parent.parent / "docs"


def test_documented_example_is_exactly_the_defaults() -> None:
    assert load_config(DOCS / "config-example.toml") == Config()


def test_documented_example_names_every_threshold() -> None:
    text = (DOCS / "config-example.toml").read_text(encoding="utf-8")
    for name in Config.model_fields["thresholds"].default_factory().model_dump():  # type: ignore[misc]
        assert name in text


def test_partial_override(tmp_path: Path) -> None:
    path = tmp_path / "bureau.toml"
    path.write_text(
        'scheme = "C"\n[severity_overrides]\n"PT-CODE-002" = "warning"\n[thresholds]\nsatisfaction_min = 90\n',
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert cfg.scheme == "C"
    assert cfg.severity_overrides == {"PT-CODE-002": Severity.WARNING}
    assert cfg.thresholds.satisfaction_min == 90
    assert cfg.thresholds.min_indicators == Config().thresholds.min_indicators


def test_json_config(tmp_path: Path) -> None:
    path = tmp_path / "bureau.json"
    path.write_text('{"region_codes": ["130800"]}', encoding="utf-8")
    assert load_config(path).region_codes == ["130800"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('scheme = "X"', "scheme"),
        ("unknown_key = 1", "unknown_key"),
        ("this is not toml", "配置文件格式错误"),
        ('[thresholds]\nmin_indicators = "many"', "min_indicators"),
    ],
)
def test_bad_config_is_a_chinese_error_naming_the_file(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="无法读取配置文件"):
        load_config(tmp_path / "nope.toml")
