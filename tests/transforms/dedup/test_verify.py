import numpy as np

from transforms.dedup.verify import verify_pairs


def test_verify_pairs_applies_the_threshold():
    sig = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [7, 8, 9, 9]], dtype=np.uint32)
    kept, sims = verify_pairs(np.array([[0, 1], [0, 2]]), lambda keys: sig[keys], threshold=0.75)
    assert kept.tolist() == [[0, 1]] and sims.tolist() == [0.75]


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


def test_no_pairs_verify_to_no_pairs():
    kept, sims = verify_pairs(np.empty((0, 2), np.int64), lambda keys: keys, threshold=0.8)
    assert kept.shape == (0, 2) and len(sims) == 0
