"""Which document of a cluster is kept, and what the others point at."""

from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from tests.transforms.dedup.dedup_support import OTHER, STORY, decide
from transforms.dedup.clusters import DECISION_SCHEMA, complete_decisions, resolve_clusters


def test_the_longest_version_is_kept_then_source_order():
    shorter = STORY[:-10]
    result = decide([{"text": shorter}, {"text": STORY}])
    assert result["d1"]["status"] == "kept"
    assert result["d0"]["duplicate_of"] == "d1"
    tied = decide([{"text": STORY, "path": "b.txt"}, {"text": STORY, "path": "a.txt"}])
    assert tied["d1"]["status"] == "kept"


def test_cluster_size_and_id_are_set_on_the_kept_document():
    result = decide(
        [{"text": STORY}, {"text": STORY + "。"}, {"text": STORY[:-5]}, {"text": OTHER}]
    )
    keeper = next(
        d for d, r in result.items() if r["status"] == "kept" and r["dup_cluster_size"] == 3
    )
    assert all(r["dup_cluster_id"] == keeper for d, r in result.items() if d != "d3")
    assert result["d3"]["dup_cluster_size"] == 1 and result["d3"]["dup_cluster_id"] == "d3"


def test_exact_duplicate_of_a_near_duplicate_points_at_the_final_keeper():
    shorter = STORY[:-8]
    result = decide([{"text": shorter}, {"text": shorter}, {"text": STORY}])
    assert result["d2"]["status"] == "kept"
    assert result["d0"]["duplicate_of"] == "d2" and result["d1"]["duplicate_of"] == "d2"
    assert {result["d0"]["status"], result["d1"]["status"]} == {"near_duplicate"}


def test_complete_decisions_keep_documents_without_a_decision_alone():
    duplicate = pa.Table.from_pylist(
        [
            {
                "doc_id": "d1",
                "status": "exact_duplicate",
                "duplicate_of": "d0",
                "similarity": 1.0,
                "dup_cluster_id": "d0",
                "dup_cluster_size": 2,
            }
        ],
        schema=DECISION_SCHEMA,
    )
    full = complete_decisions(pa.array(["d0", "d1", "d7"]), duplicate).to_pylist()
    assert {r["doc_id"]: r["status"] for r in full} == {
        "d1": "exact_duplicate",
        "d0": "kept",
        "d7": "kept",
    }
    assert next(r for r in full if r["doc_id"] == "d7")["dup_cluster_size"] == 1


def _chain(rng, length: int = 800, links: int = 3, edits: int = 14) -> list[str]:
    """``links`` texts, each a few edits away from the one before: neighbours are near
    duplicates, the ends of the chain are not."""
    chars = [chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=length)]
    texts = ["".join(chars)]
    for step in range(1, links):
        region = range(step * length // links - length // links, step * length // links)
        for position in rng.choice(region, size=edits, replace=False):
            chars[position] = "〇"
        texts.append("".join(chars))
    return texts


def _jaccard(a: str, b: str, n: int = 5) -> float:
    left = {a[i : i + n] for i in range(len(a) - n + 1)}
    right = {b[i : i + n] for i in range(len(b) - n + 1)}
    return len(left & right) / len(left | right)


def test_a_chain_keeps_its_middle_and_never_points_at_a_document_unlike_it():
    a, b, c = _chain(np.random.default_rng(3))
    assert _jaccard(a, b) >= 0.8 and _jaccard(b, c) >= 0.8 and _jaccard(a, c) < 0.8
    result = decide([{"text": a}, {"text": b}, {"text": c}])
    # The old rule kept the first (a) and removed c as a duplicate of it.
    assert result["d1"]["status"] == "kept" and result["d1"]["dup_cluster_size"] == 3
    for doc in ("d0", "d2"):
        assert result[doc]["status"] == "near_duplicate" and result[doc]["duplicate_of"] == "d1"
        assert result[doc]["similarity"] >= 0.8


def test_a_long_chain_keeps_a_second_member_only_where_no_kept_one_is_similar():
    texts = _chain(np.random.default_rng(5), length=1200, links=5, edits=16)
    result = decide([{"text": t} for t in texts])
    kept = {d for d, r in result.items() if r["status"] == "kept"}
    assert 1 < len(kept) < len(texts)
    by_id = dict(zip([f"d{i}" for i in range(len(texts))], texts, strict=True))
    for doc, row in result.items():
        if row["status"] != "kept":
            assert row["duplicate_of"] in kept
            assert _jaccard(by_id[doc], by_id[row["duplicate_of"]]) >= 0.8
            assert row["similarity"] >= 0.8
    # Two kept members are not duplicates of each other.
    ordered = sorted(kept)
    assert all(
        _jaccard(by_id[x], by_id[y]) < 0.8 for i, x in enumerate(ordered) for y in ordered[i + 1 :]
    )


def _random_graph_decisions(seed: int):
    """resolve_clusters over a random graph of 30 documents with random similarities."""
    rng = np.random.default_rng(seed)
    n, threshold = 30, 0.8
    keys = np.sort(rng.choice(2**40, size=n, replace=False)).astype(np.int64)
    sim = rng.uniform(0.5, 1.0, size=(n, n))
    sim = (sim + sim.T) / 2
    info = pa.table(
        {
            "doc_key": keys,
            "doc_id": [f"{k:024x}" for k in keys],
            "exact_hash": [f"h{i}" for i in range(n)],
            "priority": np.where(rng.random(n) < 0.1, 0, 1).astype(np.int8),
            "content_chars": rng.integers(100, 200, size=n).astype(np.int32),
            "source_path": ["a.txt"] * n,
            "source_record": np.arange(n),
        }
    )
    candidates = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.2]
    verified = [(i, j) for i, j in candidates if sim[i, j] >= threshold]
    pairs = keys[np.array(verified, dtype=np.int64).reshape(-1, 2)]
    index = {int(k): i for i, k in enumerate(keys)}

    def measure(more):
        return np.array([sim[index[int(a)], index[int(b)]] for a, b in more])

    exact = (np.empty(0, np.int64), np.empty(0, np.int64))
    decisions = resolve_clusters(info, exact, pairs, measure(pairs), measure, threshold)
    return decisions.to_pylist(), info.to_pylist(), sim, index, verified


def _component_of(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        parent[root(a)] = root(b)
    return [root(i) for i in range(n)]


@pytest.mark.parametrize("seed", range(20))
def test_every_removed_document_is_similar_enough_to_the_kept_one_it_names(seed):
    decisions, info, sim, index, _ = _random_graph_decisions(seed)
    key_of = {row["doc_id"]: row["doc_key"] for row in info}
    published = {row["doc_id"] for row in info if row["priority"] == 0}
    status = {d["doc_id"]: d["status"] for d in decisions}
    for d in decisions:
        if d["status"] == "kept":
            continue
        assert status[d["duplicate_of"]] == "kept"
        truth = sim[index[key_of[d["doc_id"]]], index[key_of[d["duplicate_of"]]]]
        assert d["similarity"] == pytest.approx(truth, abs=1e-6) and truth >= 0.8
    assert all(status[p] == "kept" for p in published if p in status)
    sizes = Counter(d["dup_cluster_id"] for d in decisions)
    assert all(d["dup_cluster_size"] == sizes[d["dup_cluster_id"]] for d in decisions)


@pytest.mark.parametrize("seed", range(20))
def test_no_two_documents_kept_in_one_component_are_duplicates(seed):
    """A second member is kept only when no kept one is similar enough (published ones stay)."""
    decisions, info, sim, index, verified = _random_graph_decisions(seed)
    component = _component_of(len(info), verified)
    row = {r["doc_id"]: r for r in info}
    kept = [index[row[d["doc_id"]]["doc_key"]] for d in decisions if d["status"] == "kept"]
    published = {index[r["doc_key"]] for r in info if r["priority"] == 0}
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            if component[a] == component[b] and not {a, b} <= published:
                assert sim[a, b] < 0.8, (a, b)
