"""Every dedup step over one batch in memory: what is a duplicate of what."""

from collections import Counter

import numpy as np
import opencc
import pytest

from tests.transforms.dedup.dedup_support import OTHER, STORY, decide, records
from transforms.config import DedupConfig
from transforms.dedup.batch import deduplicate
from transforms.dedup.fingerprint import fingerprint_batch
from transforms.dedup.verify import UNCERTAIN_MARGIN


def statuses(result):
    return Counter(r["status"] for r in result.values())


def test_exact_duplicates_ignore_punctuation_and_spacing():
    result = decide([{"text": STORY}, {"text": STORY.replace("，", ", ")}, {"text": OTHER}])
    assert result["d0"]["status"] == "kept"
    assert result["d1"]["status"] == "exact_duplicate"
    assert result["d1"]["duplicate_of"] == "d0" and result["d1"]["similarity"] == 1.0
    assert result["d2"]["status"] == "kept"
    assert statuses(result) == {"kept": 2, "exact_duplicate": 1}


def test_near_duplicate_with_an_edit_points_at_the_kept_document():
    edited = STORY.replace("测量体温", "测体温") + "记者 张三"
    result = decide([{"text": edited}, {"text": STORY}, {"text": OTHER}])
    kept = [d for d, r in result.items() if r["status"] == "kept"]
    assert sorted(kept) == ["d0", "d2"] or sorted(kept) == ["d1", "d2"]
    dup = "d1" if "d0" in kept else "d0"
    assert result[dup]["status"] == "near_duplicate"
    assert result[dup]["duplicate_of"] in kept
    assert 0.8 <= result[dup]["similarity"] < 1.0


def test_traditional_script_copy_is_an_exact_duplicate():
    traditional = opencc.OpenCC("s2t").convert(STORY)
    result = decide([{"text": STORY}, {"text": traditional}])
    assert result["d1"]["status"] == "exact_duplicate"


def test_decisions_do_not_depend_on_row_order():
    rows = [
        {"text": STORY, "doc_id": "a1", "record": 0},
        {"text": STORY[:-6], "doc_id": "b2", "record": 1},
        {"text": OTHER, "doc_id": "c3", "record": 2},
        {"text": OTHER + "。", "doc_id": "e4", "record": 3},
    ]
    assert decide(rows) == decide(rows[::-1])


def test_document_without_letters_is_never_a_duplicate():
    result = decide([{"text": "……！！"}, {"text": "……！！"}])
    assert {r["status"] for r in result.values()} == {"kept"}


def test_disabled_dedup_keeps_everything():
    result = decide([{"text": STORY}, {"text": STORY}], DedupConfig(enabled=False))
    assert {r["status"] for r in result.values()} == {"kept"}


def _random_han(rng: np.random.Generator, length: int) -> str:
    return "".join(chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=length))


def _true_jaccard(a: str, b: str, n: int = 5) -> float:
    left = {a[i : i + n] for i in range(len(a) - n + 1)}
    right = {b[i : i + n] for i in range(len(b) - n + 1)}
    return len(left & right) / len(left | right)


def test_pairs_near_the_threshold_are_decided_by_exact_jaccard():
    rng = np.random.default_rng(7)
    cfg = DedupConfig()
    decided = below = 0
    for edits in range(6, 20, 2):
        base = _random_han(rng, 600)
        chars = list(base)
        for pos in rng.choice(len(chars), size=edits, replace=False):
            chars[pos] = "〇"
        variant = "".join(chars)
        table = fingerprint_batch(records([{"text": base}, {"text": variant}]), cfg)
        truth = _true_jaccard(*table.column("canonical").to_pylist())
        rows = deduplicate(table, cfg).to_pylist()
        if truth >= cfg.threshold:
            assert rows[1]["status"] == "near_duplicate", truth
            similarity = rows[1]["similarity"]
            # Exact where it was uncertain; a clear estimate is reported as it is.
            exact = similarity == pytest.approx(truth, abs=1e-6)  # float32 column
            assert exact or similarity >= cfg.threshold + UNCERTAIN_MARGIN, (similarity, truth)
            decided += exact
        else:
            assert {r["status"] for r in rows} == {"kept"}, truth
            below += 1
    assert below >= 2
    assert decided >= 2  # the sweep really went through the uncertain band
