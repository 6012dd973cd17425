"""The fields of a structured record (a JSON Lines object or a Parquet row): text or html, title, id."""

from __future__ import annotations

import json
from dataclasses import dataclass

from transforms.config import ExtractConfig


class BadRecord(ValueError):
    """A JSON Lines or Parquet record whose fields do not fit the contract."""


@dataclass(frozen=True)
class RecordFields:
    text: str
    is_html: bool
    title: str | None
    source_id: str | None
    given: dict[str, str | None]  # date, author, source: what the record says besides its text


def record_fields(obj: object, cfg: ExtractConfig) -> RecordFields:
    """The text (or html), title, id, date, author and source of one JSON object or Parquet row.

    The text field wins when both are set; the html field gives
    ``is_html=True``.  Raises ``BadRecord`` for a non-object, a record with
    neither field, or a value that is not a string.
    """
    if not isinstance(obj, dict):
        raise BadRecord(f"expected a JSON object, got {_type_name(obj)}")
    if cfg.text_field not in obj and cfg.html_field not in obj:
        fields = ", ".join(repr(str(name)) for name in list(obj)[:12]) or "none"
        raise BadRecord(f"no {cfg.text_field!r} or {cfg.html_field!r} field (fields: {fields})")
    use_text = obj.get(cfg.text_field) is not None or cfg.html_field not in obj
    name = cfg.text_field if use_text else cfg.html_field
    value = obj.get(name)
    if value is None:
        raise BadRecord(f"field {name!r} is null")
    if not isinstance(value, str):
        raise BadRecord(f"field {name!r} is {_type_name(value)}, expected a string")
    if not _is_valid_unicode(value):
        raise BadRecord(f"field {name!r} contains an unpaired surrogate (a bad \\u escape)")
    return RecordFields(
        text=value,
        is_html=not use_text,
        title=optional_string(obj.get(cfg.title_field)),
        source_id=optional_string(obj.get(cfg.id_field)),
        given={
            "given_date": optional_string(obj.get(cfg.date_field)),
            "given_author": optional_string(obj.get(cfg.author_field)),
            "given_source": optional_string(obj.get(cfg.source_field)),
        },
    )


def optional_string(value: object) -> str | None:
    """Ids and titles as strings: numbers and other values are JSON-encoded, null stays null."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    # Metadata with a bad escape is repaired rather than losing the record.
    return value.encode("utf-8", errors="replace").decode("utf-8")


def _type_name(value: object) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _is_valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
