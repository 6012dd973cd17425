"""README.md documents every output column, rejection reason and setting, as the code has them."""

import re

from pydantic import BaseModel

from tests.paths import REPO
from transforms.config import PipelineConfig
from transforms.schema import COLUMN_DOCS, KEPT_SCHEMA, REJECTED_SCHEMA, REJECTION_REASONS

README = (REPO / "README.md").read_text(encoding="utf-8")


def _table_rows(first_header: str) -> list[str]:
    """The rows of every README table whose first column is headed ``first_header``."""
    rows, inside = [], False
    for line in README.splitlines():
        if line.startswith(f"| {first_header} |"):
            inside = True
        elif inside and line.startswith("|") and not line.startswith("|---"):
            rows.append(line)
        elif not line.startswith("|"):
            inside = False
    return rows


def _documented_settings() -> set[str]:
    """Settings named in the first column of the settings table: ``a.b`` / ``c`` is a.b and a.c."""
    found = set()
    for row in _table_rows("setting"):
        section = None
        for name in re.findall(r"`([^`]+)`", row.split("|")[1]):
            if "." in name:
                section, _, name = name.partition(".")
            found.add(f"{section}.{name}" if section else name)
    return found


def test_every_output_column_is_documented():
    documented = {re.findall(r"`([^`]+)`", row)[0] for row in _table_rows("column")}
    assert {*KEPT_SCHEMA.names, *REJECTED_SCHEMA.names} <= documented


def test_column_meanings_match_the_schema_module():
    # Release dataset cards take column meanings from COLUMN_DOCS: one wording.
    assert set(COLUMN_DOCS) == {*KEPT_SCHEMA.names, *REJECTED_SCHEMA.names}
    for name, meaning in COLUMN_DOCS.items():
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.rstrip().endswith(f"| {meaning} |"), name


def test_every_rejection_reason_is_documented():
    documented = {re.findall(r"`([^`]+)`", row)[0] for row in _table_rows("reason")}
    assert set(REJECTION_REASONS) <= documented


def test_every_setting_is_documented_by_its_full_name_and_no_other():
    settings = set()
    for section, model in PipelineConfig():
        if isinstance(model, BaseModel):
            settings |= {f"{section}.{knob}" for knob in type(model).model_fields}
        else:
            settings.add(section)
    documented = _documented_settings()
    assert settings - documented == set(), "undocumented"
    assert documented - settings == set(), "documented but not a setting"


def test_the_two_setup_commands_are_there():
    assert "pip install -q -e . && .venv/bin/zhclean run" in README
    assert ".venv/bin/python -m pytest" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test]' && .venv/bin/python -m pytest" in ci
