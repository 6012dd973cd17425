"""Every saved regression input (tests/fixtures/regressions) replays without failing."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.transforms.stages.extract.extract_support import extract
from transforms.config import ExtractConfig
from transforms.stages import html_strip

REGRESSIONS = Path(__file__).resolve().parents[1] / "fixtures" / "regressions"
NAME = re.compile(
    r"(?P<kind>extract|html)-(?P<label>[\w-]+?)(?:-r(?P<limit>\d+))?"
    r"(?P<suffix>\.txt|\.html?|\.jsonl\.gz|\.jsonl|\.parquet)"
)
NOT_INPUTS = re.compile(r".*\.expect\.json|README\.md")
FIXTURES = sorted(p for p in REGRESSIONS.iterdir() if NAME.fullmatch(p.name))


def test_every_saved_file_is_a_replayable_input() -> None:
    assert FIXTURES, "no regression input to replay"
    names = [p.name for p in REGRESSIONS.iterdir()]
    assert [n for n in names if not NAME.fullmatch(n) and not NOT_INPUTS.fullmatch(n)] == []
    for name in names:
        if name.endswith(".expect.json"):
            assert (REGRESSIONS / name.removesuffix(".expect.json")).is_file(), name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_a_saved_input_replays_without_failing(path: Path) -> None:
    match = NAME.fullmatch(path.name)
    assert match is not None
    if match["kind"] == "html":
        text = path.read_bytes().decode("utf-8", errors="surrogatepass")
        stripped = html_strip.strip_html(text)
        assert isinstance(stripped, str) and not html_strip._TAG_RE.search(stripped)
        return
    limit = int(match["limit"]) if match["limit"] else ExtractConfig().max_record_bytes
    result = extract(path, ExtractConfig(max_record_bytes=limit))  # checks every invariant
    expect_path = path.with_name(path.name + ".expect.json")
    if expect_path.exists():
        expected = json.loads(expect_path.read_text(encoding="utf-8"))
        assert result.kept.num_rows == expected["kept"]
        assert Counter(result.rejected.column("reason").to_pylist()) == expected["rejected"]
        if "encodings" in expected:
            encodings = set(result.kept.column("source_encoding").to_pylist())
            assert encodings == set(expected["encodings"])
