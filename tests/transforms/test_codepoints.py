import numpy as np

from transforms.codepoints import SEVERAL, code_points, count_per_text, lookup, map_characters


def test_bounds_cut_the_joined_code_points_back_into_texts():
    cps, bounds = code_points(["中文", "", "a\ud800b"])
    assert bounds.tolist() == [0, 2, 2, 5]
    assert cps[bounds[2] : bounds[3]].tolist() == [ord("a"), 0xD800, ord("b")]


def test_counts_per_text_handle_empty_texts():
    _, bounds = code_points(["ab", "", "abc"])
    mask = np.array([True, False, True, True, False])
    assert count_per_text(mask, bounds).tolist() == [1, 0, 2]


def test_counts_per_text_with_empty_texts_at_the_end():
    """Found by hypothesis: a trailing empty text once cut the text before it short."""
    _, bounds = code_points(["AA", "", ""])
    assert count_per_text(np.array([True, True]), bounds).tolist() == [2, 0, 0]
    _, bounds = code_points(["", ""])
    assert count_per_text(np.array([], dtype=bool), bounds).tolist() == [0, 0]


def test_lookup_gives_outside_beyond_the_table():
    table = np.array([5, 6, 7], dtype=np.uint32)
    assert lookup(table, np.array([0, 2, 9], dtype=np.uint32), outside=1).tolist() == [5, 7, 1]


def test_map_characters_replaces_deletes_and_reports_several():
    table = np.arange(0x10000, dtype=np.uint32)
    table[ord("，")] = ord(",")
    table[ord(" ")] = 0
    table[ord("㎡")] = SEVERAL
    texts, several = map_characters(["你好， 世界", "", "面积㎡"], table)
    assert texts == ["你好,世界", "", "面积"]
    assert several.tolist() == [False, False, True]


def test_replace_texts_splices_the_new_texts_in_place():
    from transforms.codepoints import replace_texts, texts_from_code_points

    texts = ["甲乙", "", "丙", "丁戊己", "庚"]
    cps, bounds = code_points(texts)
    for indices, new in (
        ([0], ["一二三"]),
        ([4], [""]),
        ([1, 2], ["x", "yz"]),
        ([0, 2, 4], ["", "𠀀", "末尾"]),
        ([], []),
    ):
        got = replace_texts(cps, bounds, np.array(indices, dtype=np.int64), new)
        expected = list(texts)
        for i, text in zip(indices, new, strict=True):
            expected[i] = text
        assert got[0].dtype == np.uint32
        assert texts_from_code_points(*got) == expected
