"""README.md documents every output column, rejection reason and config knob."""

from pathlib import Path

from transforms.config import PipelineConfig
from transforms.schema import COLUMN_DOCS, KEPT_SCHEMA, REJECTED_SCHEMA, REJECTION_REASONS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_output_column_is_documented():
    for name in {*KEPT_SCHEMA.names, *REJECTED_SCHEMA.names}:
        assert f"`{name}`" in README, name


def test_column_meanings_match_the_schema_module():
    # Release dataset cards take column meanings from COLUMN_DOCS: one wording.
    assert set(COLUMN_DOCS) == {*KEPT_SCHEMA.names, *REJECTED_SCHEMA.names}
    for name, meaning in COLUMN_DOCS.items():
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.rstrip().endswith(f"| {meaning} |"), name


def test_every_rejection_reason_is_documented():
    for reason in REJECTION_REASONS:
        assert f"| `{reason}` |" in README, reason


def test_every_config_knob_is_documented():
    from pydantic import BaseModel

    for section, model in PipelineConfig():
        if isinstance(model, BaseModel):
            for knob in type(model).model_fields:
                assert knob in README, f"{section}.{knob}"
        else:
            assert f"`{section}`" in README, section


def test_the_two_setup_commands_are_there():
    assert "pip install -q -e . && .venv/bin/zhclean run" in README
    assert ".venv/bin/python -m pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test]' && .venv/bin/python -m pytest" in ci
