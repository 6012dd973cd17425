import opencc

from transforms.dedup.canonical import (
    canonical_batch,
    canonical_form,
    exact_hash,
    is_traditional,
)

NEWS = "疫情防控，关键在治，基础在防。社区是城市的基本单元，是人民安居乐业的家园，也是疫情防控的第一线。"


def test_punctuation_whitespace_and_width_are_ignored():
    variant = "疫情防控,关键在治  基础在防 社区是城市的基本单元;是人民安居乐业的家园——也是疫情防控的第一线！"
    assert canonical_form(variant) == canonical_form(NEWS)


def test_fullwidth_latin_and_digits_fold_and_case_is_ignored():
    assert canonical_form("ＣＯＶＩＤ－１９疫情") == canonical_form("covid-19疫情") == "covid19疫情"


def test_traditional_copy_has_the_same_canonical_form():
    traditional = opencc.OpenCC("s2t").convert(NEWS)
    assert traditional != NEWS
    assert is_traditional(traditional)
    assert not is_traditional(NEWS)
    assert canonical_form(traditional) == canonical_form(NEWS)


def test_taiwan_vocabulary_folds_to_mainland_words():
    mainland = "请把文件保存到软件的程序目录，然后打开网络设置。"
    taiwan = opencc.OpenCC("s2twp").convert(mainland)
    assert "軟體" in taiwan and "程式" in taiwan
    assert canonical_form(taiwan) == canonical_form(mainland)
    # Character-level t2s alone leaves the Taiwan words in place.
    assert opencc.OpenCC("t2s").convert(taiwan) != mainland


def test_simplified_text_is_not_rewritten_by_phrase_conversion():
    text = "程序员打开文件夹里的文件。"
    assert canonical_form(text) == "程序员打开文件夹里的文件"


def test_script_folding_can_be_turned_off():
    traditional = opencc.OpenCC("s2t").convert(NEWS)
    assert canonical_form(traditional, fold_traditional=False) != canonical_form(NEWS)


def test_exact_hash_is_equal_only_for_equal_canonical_forms():
    assert exact_hash(canonical_form(NEWS)) == exact_hash(canonical_form(NEWS.replace("，", ",")))
    assert exact_hash(canonical_form(NEWS)) != exact_hash(canonical_form(NEWS + "另一句"))


def test_batch_equals_one_by_one_and_matches_the_per_character_definition():
    import random
    import re
    import unicodedata

    rng = random.Random(3)
    texts = [NEWS, "", "ＣＯＶＩＤ－１９", "㎡面积①ﬁ", "ͅ", "𠀀𪚥\U000e0100汉字", "Straße ΣΑΣ"]
    texts += [
        "".join(chr(rng.randrange(0x20, 0x30000)) for _ in range(rng.randrange(0, 40)))
        .encode("utf-8", "ignore")
        .decode("utf-8")
        for _ in range(500)
    ]
    word = re.compile(r"[\W_]+")

    def by_definition(text: str) -> str:
        return "".join(word.sub("", unicodedata.normalize("NFKC", c).casefold()) for c in text)

    batch = canonical_batch(texts, fold_traditional=False)
    assert batch == [canonical_form(t, fold_traditional=False) for t in texts]
    assert batch == [by_definition(t) for t in texts]


def test_character_level_traditional_copy_is_not_rewritten_with_taiwan_phrases():
    mainland = "因为网络设置里写着地址，请把文件保存到程序目录，然后打开网络设置。"
    copy = opencc.OpenCC("s2t").convert(mainland)
    # OpenCC's standard forms 爲 and 裏 are not Taiwan's (為, 裡): mainland vocabulary.
    assert "爲" in copy and "裏" in copy and is_traditional(copy)
    # tw2sp would turn 文件 into 文档; character-level folding keeps it.
    assert canonical_form(copy) == canonical_form(mainland)


def test_stray_traditional_characters_in_simplified_text_fold():
    assert canonical_form("这是一个關於经济的报道") == canonical_form("这是一个关于经济的报道")


def test_a_batch_mixing_taiwan_text_and_expanding_characters_equals_one_by_one():
    taiwan = opencc.OpenCC("s2twp").convert("请把文件保存到软件的程序目录，面积10㎡。")
    texts = [NEWS, taiwan, "㎡面积①ﬁ", "", opencc.OpenCC("s2t").convert(NEWS)]
    assert canonical_batch(texts) == [canonical_form(t) for t in texts]
    assert canonical_form(taiwan) == canonical_form("请把文件保存到软件的程序目录，面积10m2。")
