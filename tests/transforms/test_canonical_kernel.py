"""The compiled loops of the canonical form give what the numpy formulation gives."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.canonical import _EXPANDS, _fold_table, _script_shares, _script_shares_numpy
from transforms.canonical_kernel import fold_kernel
from transforms.codepoints import code_points, map_code_points

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
