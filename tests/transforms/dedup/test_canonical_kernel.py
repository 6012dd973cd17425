"""The compiled loops of the canonical form give what the numpy formulation gives."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.codepoints import code_points, map_code_points
from transforms.dedup.canonical import _EXPANDS, _fold_table, _script_shares, _script_shares_numpy
from transforms.dedup.canonical_kernel import fold_kernel

# Han, traditional-only, ligatures and squared units (several characters),
# punctuation, astral and private-use code points beyond the fold table.
ALPHABET = st.sampled_from(
    [*"中国體験為裡爲裏,，。 \t\nAaＡ１①㎡ﬁß", "\U00020000", "\U000e0100", "\U0010fffd"]
)
TEXTS = st.lists(st.text(alphabet=ALPHABET, max_size=30), max_size=12)


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_the_fold_loop_equals_the_numpy_mapping(texts):
    table, _ = _fold_table(True)
    cps, bounds = code_points(texts)
    expected = map_code_points(cps, bounds, table)
    folded, folded_bounds, several = fold_kernel(cps, bounds, table, _EXPANDS)
    assert folded.dtype == np.uint32
    assert folded.tolist() == expected[0].tolist()
    assert folded_bounds.tolist() == expected[1].tolist()
    assert several.tolist() == expected[2].tolist()


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_the_script_census_loop_equals_the_numpy_counts(texts):
    cps, bounds = code_points(texts)
    for got, expected in zip(
        _script_shares(cps, bounds), _script_shares_numpy(cps, bounds), strict=True
    ):
        assert got.tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
def test_exact_hashes_from_code_points_equal_hashing_the_canonical_strings(texts):
    from transforms.dedup.canonical import (
        canonical_batch,
        canonical_code_points,
        exact_hash,
        exact_hashes,
    )

    expected = [exact_hash(c) if c else None for c in canonical_batch(texts)]
    assert exact_hashes(*canonical_code_points(texts)) == expected


def test_the_utf8_loop_encodes_every_length_as_python_does():
    from transforms.dedup.canonical_kernel import utf8_kernel

    texts = ["a", "é", "中文", "\U00020000", "", "aé中\U0010fffd"]
    data, offsets = utf8_kernel(*code_points(texts))
    got = [bytes(data[a:b]) for a, b in itertools.pairwise(offsets.tolist())]
    assert got == [t.encode("utf-8") for t in texts]
