"""Banding from the threshold: the longest bands that keep pairs at the threshold."""

import pytest

from transforms.config import DedupConfig
from transforms.dedup.lsh import CANDIDATE_RECALL, candidate_probability, lsh_bands_rows


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_banding_follows_the_threshold_and_keeps_pairs_at_it(threshold, num_perm):
    dedup = DedupConfig(threshold=threshold, num_perm=num_perm)
    bands, rows = dedup.banding
    assert bands * rows <= num_perm
    assert candidate_probability(threshold, bands, rows) >= CANDIDATE_RECALL
    # Longer bands would miss pairs at the threshold even with every permutation used.
    assert candidate_probability(threshold, num_perm // (rows + 1), rows + 1) < CANDIDATE_RECALL


def test_a_lower_threshold_gets_shorter_bands():
    # At 0.5 the 20 x 6 bands of 0.8 would make a pair at the threshold a candidate
    # only 27% of the time.
    assert candidate_probability(0.5, 20, 6) < 0.3
    bands, rows = DedupConfig(threshold=0.5).banding
    assert rows < 6 and candidate_probability(0.5, bands, rows) > CANDIDATE_RECALL
    assert lsh_bands_rows(0.5, 128) == (bands, rows)


def test_an_exact_threshold_needs_every_row_to_agree():
    assert lsh_bands_rows(1.0, 128) == (1, 128)
