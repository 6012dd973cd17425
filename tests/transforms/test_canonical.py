import opencc

from transforms.canonical import canonical_form, exact_hash, fold_script, is_traditional

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
    assert fold_script(text) == text


def test_script_folding_can_be_turned_off():
    traditional = opencc.OpenCC("s2t").convert(NEWS)
    assert canonical_form(traditional, fold_traditional=False) != canonical_form(NEWS)


def test_exact_hash_is_equal_only_for_equal_canonical_forms():
    assert exact_hash(canonical_form(NEWS)) == exact_hash(canonical_form(NEWS.replace("，", ",")))
    assert exact_hash(canonical_form(NEWS)) != exact_hash(canonical_form(NEWS + "另一句"))
