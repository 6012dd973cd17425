import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from transforms.dedup.minhash import (
    MAX_HASH,
    estimated_jaccard,
    shingle_hash,
    shingle_hashes,
    shingles,
    signatures,
    to_lean_minhash,
)

TEXTS = [
    "疫情防控关键在治基础在防社区是城市的基本单元是人民安居乐业的家园",
    "社区是城市的基本单元是人民安居乐业的家园也是疫情防控的第一线",
    "短文",
    "",
    "covid19疫情2020年3月",
]


def datasketch_signature(text: str, n: int = 5, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash)
    reference.update_batch(shingles(text, n))
    return reference.hashvalues


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7), (256, 42)])
def test_signatures_are_bit_identical_to_datasketch(num_perm, seed):
    ours = signatures(TEXTS, 5, num_perm, seed)
    for text, row in zip(TEXTS, ours, strict=True):
        np.testing.assert_array_equal(row, datasketch_signature(text, 5, num_perm, seed))


def test_batched_shingle_hashes_equal_one_by_one_hashes():
    hashes, offsets = shingle_hashes(TEXTS, 5)
    for i, text in enumerate(TEXTS):
        expected = [shingle_hash(s) for s in shingles(text, 5)]
        assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected


def test_text_shorter_than_n_is_one_shingle_and_empty_text_has_none():
    _, offsets = shingle_hashes(["短文", "", "五个字符串"], 5)
    assert np.diff(offsets).tolist() == [1, 0, 1]


def test_empty_text_signature_is_all_max_hash():
    assert (signatures([""], 5, 128, 1) == MAX_HASH).all()


def test_signature_does_not_depend_on_the_rest_of_the_batch():
    alone = signatures([TEXTS[0]], 5, 128, 1)[0]
    in_batch = signatures(TEXTS[::-1], 5, 128, 1)[-1]
    np.testing.assert_array_equal(alone, in_batch)


def test_stored_signature_becomes_a_lean_minhash_with_the_same_jaccard():
    sig = signatures(TEXTS[:2], 5, 128, 1)
    left, right = to_lean_minhash(sig[0]), to_lean_minhash(sig[1])
    assert isinstance(left, LeanMinHash)
    assert left.jaccard(right) == pytest.approx(float(estimated_jaccard(sig[0], sig[1])))


def test_estimated_jaccard_tracks_true_jaccard():
    base = "".join(TEXTS[:2]) * 3
    edited = base[:-20] + "另外增加的一些不同的文字内容"
    a, b = set(shingles(base, 5)), set(shingles(edited, 5))
    true = len(a & b) / len(a | b)
    sig = signatures([base, edited], 5, 256, 1)
    assert abs(float(estimated_jaccard(sig[0], sig[1])) - true) < 0.1


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (256, 42), (7, 0)])
def test_permutations_are_datasketchs_own(num_perm, seed):
    from transforms.dedup.minhash import permutations

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    ours_a, ours_b = permutations(num_perm, seed)
    np.testing.assert_array_equal(ours_a, a)
    np.testing.assert_array_equal(ours_b, b)


def test_batches_larger_than_one_block_give_the_same_signatures():
    long_texts = [TEXTS[0] * 300, "", TEXTS[1] * 400, TEXTS[4]] * 30
    together = signatures(long_texts, 5, 128, 1)
    for text, row in zip(long_texts[:4], together[:4], strict=True):
        np.testing.assert_array_equal(row, datasketch_signature(text))
