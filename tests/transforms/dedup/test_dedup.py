import numpy as np
import opencc
import pyarrow as pa
import pytest

from transforms.config import DedupConfig
from transforms.dedup.core import (
    BAND_SCHEMA,
    RANK_COLUMNS,
    UNCERTAIN_MARGIN,
    band_partitions,
    candidate_pairs,
    complete_decisions,
    connected_components,
    deduplicate,
    doc_keys,
    exact_duplicate_pairs,
    verify_pairs,
)
from transforms.dedup.fingerprint import fingerprint_bands, fingerprint_batch
from transforms.schema import RECORD_SCHEMA, table_from_rows

STORY = (
    "疫情发生以来，武汉高科集团下沉党员干部坚守社区一线，为居民配送生活物资、测量体温、排查登记。"
    "社区作为防控的最前线，肩负的任务十分艰巨，他们不分日夜值守在城市街巷和道路卡口。"
    "抗击疫情有两个阵地，一个是医院救死扶伤阵地，一个是社区防控阵地，坚持不懈做好疫情防控工作。"
)
OTHER = (
    "春耕农忙正当时，云南省会泽县大海乡小江村的村民在田间忙着播种，农技人员深入田间地头指导。"
    "统筹抓好春耕生产和农民就业增收，当地组织劳务输出，帮助返乡农民工安全有序外出务工。"
)


def records(rows):
    base = {
        "title": None,
        "is_html": False,
        "source_uri": "file:///x",
        "source_offset": 0,
        "source_length": 1,
        "source_sha256": "0" * 64,
        "source_format": "txt",
        "source_encoding": "utf-8",
    }
    full = []
    for i, row in enumerate(rows):
        full.append(
            {
                **base,
                "doc_id": row.get("doc_id", f"d{i}"),
                "source_path": row.get("path", "a.txt"),
                "source_record": row.get("record", i),
                "text": row["text"],
            }
        )
    return table_from_rows(full, RECORD_SCHEMA)


def decide(rows, cfg=DedupConfig()):
    decisions, counts = deduplicate(fingerprint_batch(records(rows), cfg), cfg)
    return {r["doc_id"]: r for r in decisions.to_pylist()}, counts


def test_exact_duplicates_ignore_punctuation_and_spacing():
    result, counts = decide([{"text": STORY}, {"text": STORY.replace("，", ", ")}, {"text": OTHER}])
    assert result["d0"]["status"] == "kept"
    assert result["d1"]["status"] == "exact_duplicate"
    assert result["d1"]["duplicate_of"] == "d0" and result["d1"]["similarity"] == 1.0
    assert result["d2"]["status"] == "kept"
    assert counts.exact_duplicates == 1 and counts.kept == 2


def test_near_duplicate_with_an_edit_points_at_the_kept_document():
    edited = STORY.replace("测量体温", "测体温") + "记者 张三"
    result, counts = decide([{"text": edited}, {"text": STORY}, {"text": OTHER}])
    kept = [d for d, r in result.items() if r["status"] == "kept"]
    assert sorted(kept) == ["d0", "d2"] or sorted(kept) == ["d1", "d2"]
    dup = "d1" if "d0" in kept else "d0"
    assert result[dup]["status"] == "near_duplicate"
    assert result[dup]["duplicate_of"] in kept
    assert 0.8 <= result[dup]["similarity"] < 1.0
    assert counts.near_duplicates == 1


def test_the_longest_version_is_kept_then_source_order():
    shorter = STORY[:-10]
    result, _ = decide([{"text": shorter}, {"text": STORY}])
    assert result["d1"]["status"] == "kept"
    assert result["d0"]["duplicate_of"] == "d1"
    tied, _ = decide([{"text": STORY, "path": "b.txt"}, {"text": STORY, "path": "a.txt"}])
    assert tied["d1"]["status"] == "kept"


def test_traditional_script_copy_is_an_exact_duplicate():
    traditional = opencc.OpenCC("s2t").convert(STORY)
    result, _ = decide([{"text": STORY}, {"text": traditional}])
    assert result["d1"]["status"] == "exact_duplicate"


def test_cluster_size_and_id_are_set_on_the_kept_document():
    result, counts = decide(
        [{"text": STORY}, {"text": STORY + "。"}, {"text": STORY[:-5]}, {"text": OTHER}]
    )
    keeper = next(
        d for d, r in result.items() if r["status"] == "kept" and r["dup_cluster_size"] == 3
    )
    assert all(r["dup_cluster_id"] == keeper for d, r in result.items() if d != "d3")
    assert result["d3"]["dup_cluster_size"] == 1 and result["d3"]["dup_cluster_id"] == "d3"
    assert counts.clusters_with_duplicates == 1 and counts.largest_cluster == 3


def test_exact_duplicate_of_a_near_duplicate_points_at_the_final_keeper():
    shorter = STORY[:-8]
    result, _ = decide([{"text": shorter}, {"text": shorter}, {"text": STORY}])
    assert result["d2"]["status"] == "kept"
    assert result["d0"]["duplicate_of"] == "d2" and result["d1"]["duplicate_of"] == "d2"
    assert {result["d0"]["status"], result["d1"]["status"]} == {"near_duplicate"}


def test_decisions_do_not_depend_on_row_order():
    rows = [
        {"text": STORY, "doc_id": "a1", "record": 0},
        {"text": STORY[:-6], "doc_id": "b2", "record": 1},
        {"text": OTHER, "doc_id": "c3", "record": 2},
        {"text": OTHER + "。", "doc_id": "e4", "record": 3},
    ]
    forward, _ = decide(rows)
    backward, _ = decide(rows[::-1])
    assert forward == backward


def test_document_without_letters_is_never_a_duplicate():
    result, _ = decide([{"text": "……！！"}, {"text": "……！！"}])
    assert {r["status"] for r in result.values()} == {"kept"}


def test_disabled_dedup_keeps_everything():
    result, _ = decide([{"text": STORY}, {"text": STORY}], DedupConfig(enabled=False))
    assert {r["status"] for r in result.values()} == {"kept"}


def test_exact_duplicate_pairs_keep_the_best_ranked_and_skip_missing_hashes():
    table = fingerprint_batch(
        records([{"text": STORY}, {"text": "……"}, {"text": STORY + "！"}, {"text": "——"}]),
        DedupConfig(),
    )
    duplicates, keepers = exact_duplicate_pairs(table.select(RANK_COLUMNS))
    assert duplicates.tolist() == doc_keys(["d2"]).tolist()
    assert keepers.tolist() == doc_keys(["d0"]).tolist()


def bands_of(keys, band_values):
    return pa.table(
        {
            "band_key": np.array(band_values, dtype=np.uint64),
            "doc_key": np.array(keys, dtype=np.int64),
        },
        schema=BAND_SCHEMA,
    )


def test_candidate_pairs_come_from_shared_bands_only():
    bands = bands_of([0, 1, 2, 3, 4, 0, 1, 2, 3, 4], [1, 1, 2, 3, 4, 10, 11, 12, 12, 13])
    assert candidate_pairs(bands).tolist() == [[0, 1], [2, 3]]


def test_excluded_documents_make_no_pairs():
    bands = bands_of([0, 1, 2], [5, 5, 5])
    assert candidate_pairs(bands, exclude=np.array([1])).tolist() == [[0, 2]]


def test_large_bucket_yields_star_and_chain_not_all_pairs():
    pairs = candidate_pairs(bands_of(list(range(40)), [7] * 40))
    assert len(pairs) == 39 + 38
    assert connected_components(40, pairs).max() == 0


def test_band_partitions_keep_every_row_and_colliding_keys_together():
    bands = bands_of(list(range(100)), [i % 13 for i in range(100)])
    parts = band_partitions(bands, 4)
    assert sum(t.num_rows for t in parts.values()) == 100
    for p, table in parts.items():
        assert all(k % 4 == p for k in table.column("band_key").to_pylist())


def test_banding_makes_a_high_similarity_pair_a_candidate():
    cfg = DedupConfig()
    table = fingerprint_batch(records([{"text": STORY}, {"text": STORY[:-6]}]), cfg)
    assert candidate_pairs(fingerprint_bands(table, cfg)).tolist() == [
        sorted(doc_keys(["d0", "d1"]).tolist())
    ]


def test_verify_pairs_applies_the_threshold():
    sig = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [7, 8, 9, 9]], dtype=np.uint32)
    kept, sims = verify_pairs(np.array([[0, 1], [0, 2]]), lambda keys: sig[keys], threshold=0.75)
    assert kept.tolist() == [[0, 1]] and sims.tolist() == [0.75]


def test_complete_decisions_keep_documents_without_a_decision_alone():
    cfg = DedupConfig()
    decisions, _ = deduplicate(
        fingerprint_batch(records([{"text": STORY}, {"text": STORY}]), cfg), cfg
    )
    only_dups = decisions.filter(pa.compute.not_equal(decisions.column("status"), "kept"))
    full = complete_decisions(pa.array(["d0", "d1", "d7"]), only_dups).to_pylist()
    assert {r["doc_id"]: r["status"] for r in full} == {
        "d1": "exact_duplicate",
        "d0": "kept",
        "d7": "kept",
    }
    assert next(r for r in full if r["doc_id"] == "d7")["dup_cluster_size"] == 1


def test_connected_components_join_chains():
    labels = connected_components(5, np.array([[0, 1], [1, 2], [3, 4]]))
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4]


def test_signature_width_mismatch_is_an_error():
    cfg = DedupConfig()
    table = fingerprint_batch(records([{"text": STORY}, {"text": OTHER}]), cfg)
    short = pa.array([[1, 2, 3], [4, 5, 6]], pa.list_(pa.uint32()))
    table = table.set_column(table.schema.get_field_index("signature"), "signature", short)
    with pytest.raises(ValueError, match="num_perm"):
        deduplicate(table, cfg)


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
        decisions, _ = deduplicate(table, cfg)
        rows = decisions.to_pylist()
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


def test_verify_pairs_uses_exact_jaccard_only_near_the_threshold():
    sig = np.array([[1] * 10, [1] * 8 + [2, 2], [3] * 10], dtype=np.uint32)
    asked: list[list[int]] = []

    def exact(pairs):
        asked.extend(pairs.tolist())
        return np.full(len(pairs), 0.85)

    kept, sims = verify_pairs(
        np.array([[0, 1], [0, 2]]), lambda keys: sig[keys], threshold=0.8, exact_jaccard=exact
    )
    assert asked == [[0, 1]]  # estimate 0.8 is uncertain; 0.0 is clearly not a duplicate
    assert kept.tolist() == [[0, 1]] and sims.tolist() == [0.85]
