"""The ``run`` command's setting flags: each is a shortcut for one setting of the config model.

A flag's help text, type, choices and default come from the setting itself
(``transforms.config``), so the two never disagree; ``overrides_from_args``
turns the flags given into the nested overrides ``load_config`` takes.
"""

from __future__ import annotations

import argparse
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from transforms.config import PipelineConfig

MiB = 2**20


@dataclass(frozen=True)
class SettingFlag:
    flag: str  # --min-chars
    setting: str  # quality.min_chars
    switch: bool = False  # takes no value: given, it sets ``switched_to``
    switched_to: Any = True
    unit: str = ""  # the flag counts in this unit (MiB) where the setting counts bytes
    says: str = ""  # what the flag does, where the setting's description does not say it

    def to_setting(self, value: Any) -> Any:
        if self.switch:
            return self.switched_to
        return int(value * MiB) if self.unit == "MiB" else value


RUN_FLAGS: tuple[SettingFlag, ...] = (
    SettingFlag("--workers", "run.workers"),
    SettingFlag("--dask-address", "run.dask_address"),
    SettingFlag("--shard-max-mb", "run.shard_max_bytes", unit="MiB"),
    SettingFlag("--min-chars", "quality.min_chars"),
    SettingFlag("--min-chinese-ratio", "quality.min_chinese_ratio"),
    SettingFlag("--t2s", "normalize.traditional_to_simplified", switch=True),
    SettingFlag(
        "--no-dedup",
        "dedup.enabled",
        switch=True,
        switched_to=False,
        says="keep duplicates: no exact or near-duplicate removal",
    ),
    SettingFlag("--threshold", "dedup.threshold"),
    SettingFlag("--num-perm", "dedup.num_perm"),
    SettingFlag("--bands", "dedup.bands"),
    SettingFlag("--rows", "dedup.rows"),
    SettingFlag("--ngram", "dedup.ngram_size"),
    SettingFlag("--words", "segment.words", switch=True),
    SettingFlag("--word-segmenter", "segment.word_segmenter"),
)


def _field(setting: str) -> tuple[FieldInfo, Any]:
    """The model field of a dotted setting and its default value."""
    section, name = setting.split(".")
    model = PipelineConfig.model_fields[section].default
    assert isinstance(model, BaseModel)
    return type(model).model_fields[name], getattr(model, name)


def _value_type(info: FieldInfo) -> tuple[Callable[[str], Any], list[Any] | None]:
    """The argparse type of a field (``int | None`` counts as int) and its choices."""
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return str, list(args)
    if args:  # Optional[X]
        annotation = args[0]
    return annotation, None


_DEFAULT_IN_DESCRIPTION = re.compile(r"\s*\(default: ([^()]*)\)$")


def _help(flag: SettingFlag, info: FieldInfo, default: Any) -> str:
    """What the flag does, the setting it sets and that setting's default, in one sentence."""
    description = flag.says or info.description or ""
    if flag.switch:
        state = "on" if default else "off"
        setting = f"{flag.setting} = {str(flag.switched_to).lower()}"
        return f"{description} ({setting}; default: {state})"
    stated = _DEFAULT_IN_DESCRIPTION.search(description)
    if stated:  # the setting's description says its default in words
        description, shown = description[: stated.start()], stated.group(1)
    elif default is None:
        shown = "none"
    else:
        shown = f"{default / MiB:g} MiB" if flag.unit == "MiB" else str(default)
    return f"{description} ({flag.setting}; default: {shown})"


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for flag in RUN_FLAGS:
        info, default = _field(flag.setting)
        help_text = _help(flag, info, default)
        dest = flag.flag.removeprefix("--").replace("-", "_")
        if flag.switch:
            parser.add_argument(
                flag.flag, dest=dest, action="store_true", default=None, help=help_text
            )
            continue
        kind, choices = _value_type(info)
        if flag.unit == "MiB":
            kind = float
        metavar = None if choices else flag.flag.removeprefix("--").upper().replace("-", "_")
        parser.add_argument(
            flag.flag, dest=dest, type=kind, choices=choices, metavar=metavar, help=help_text
        )


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives: inputs, output and every setting flag used."""
    overrides: dict[str, Any] = {}
    if args.inputs:
        overrides["inputs"] = [str(p) for p in args.inputs]
    if getattr(args, "output", None) is not None:
        overrides["output"] = str(args.output)
    for flag in RUN_FLAGS:
        value = getattr(args, flag.flag.removeprefix("--").replace("-", "_"), None)
        if value is None:
            continue
        section, name = flag.setting.split(".")
        overrides.setdefault(section, {})[name] = flag.to_setting(value)
    return overrides
