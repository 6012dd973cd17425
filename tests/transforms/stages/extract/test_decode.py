"""Encoding detection on real Chinese text: seed paragraphs re-encoded in the legacy encodings."""

from __future__ import annotations

import codecs
import random

import pytest

from tests.paths import SAMPLE
from transforms.stages.extract.decode import (
    HEAD_SAMPLE_BYTES,
    MIDDLE_SAMPLE_BYTES,
    bounded_sample,
    chinese_plausibility,
    decode_replacing,
    detect_encoding,
    undetectable_reason,
)

# Traditional-script paragraphs (the seeds, in Taiwan usage), all encodable in Big5.
TRADITIONAL = [
    "社區是疫情防控的最前線。在這場疫情防控的人民戰爭、總體戰、阻擊戰中，"
    "約400萬名社區工作者夜以繼日，奮戰在尋常巷陌，守護著千家萬戶。",
    "信陽位於豫鄂兩省交界處，疫情防控壓力不小。大年初一以來，每天早上六點左右，王燕的一天就開始了。",
    "守好社區，就是守住城市，守護人民！許多居民常常被陳麗娟感動，總會由衷說一句“您辛苦了”。",
    "他們，堅守一線戰風雨",
]


def seed_paragraphs() -> list[str]:
    """Plain-text paragraphs (no markup, no markers) of the five seed dumps."""
    paragraphs = []
    for path in sorted(SAMPLE.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(("<", ">>>", "*", "=")):
                paragraphs.append(line)
    return paragraphs


def encodable(texts: list[str], encoding: str) -> list[str]:
    kept = []
    for text in texts:
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            continue
        kept.append(text)
    return kept


@pytest.mark.parametrize(
    ("bom", "body_codec", "expected"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    ],
)
def test_byte_order_mark_decides_the_encoding(bom: bytes, body_codec: str, expected: str) -> None:
    data = bom + "动物临时“奶爸”".encode(body_codec)
    assert detect_encoding(data) == expected
    assert _decoded(data, expected) == "动物临时“奶爸”"


def test_plain_utf8_chinese_is_utf8() -> None:
    assert detect_encoding((SAMPLE / "003_ceb8abdfd1cab23a.txt").read_bytes()) == "utf-8"


def test_ascii_and_empty_data_are_utf8() -> None:
    assert detect_encoding(b"") == "utf-8"
    assert detect_encoding(b"plain ASCII news text\n") == "utf-8"


@pytest.mark.parametrize("encoding", ["gbk", "gb2312", "gb18030"])
def test_simplified_paragraphs_in_gb_encodings_decode_as_gb18030(encoding: str) -> None:
    paragraphs = encodable(seed_paragraphs(), encoding)
    assert len(paragraphs) > 200
    for paragraph in paragraphs:
        if paragraph.isascii():
            continue
        assert detect_encoding(paragraph.encode(encoding)) == "gb18030", paragraph


def test_traditional_paragraphs_in_big5_decode_as_big5() -> None:
    for paragraph in TRADITIONAL:
        data = paragraph.encode("big5")
        assert detect_encoding(data) == "big5", paragraph
        assert _decoded(data, "big5") == paragraph


def test_traditional_paragraphs_in_gbk_decode_as_gb18030() -> None:
    for paragraph in TRADITIONAL:
        assert detect_encoding(paragraph.encode("gbk")) == "gb18030", paragraph


def test_multi_paragraph_documents_decode_back_to_the_original() -> None:
    rng = random.Random(7)
    paragraphs = seed_paragraphs()
    for _ in range(50):
        text = "\n\n".join(rng.sample(paragraphs, 4))
        for encoding in ("gbk", "gb18030"):
            data = text.encode(encoding, errors="ignore")
            detected = detect_encoding(data)
            assert detected is not None
            assert _decoded(data, detected) == data.decode(encoding)
    big5 = "\n".join(TRADITIONAL).encode("big5")
    assert _decoded(big5, detect_encoding(big5) or "") == "\n".join(TRADITIONAL)


def test_gb18030_four_byte_characters_are_gb18030() -> None:
    text = "社区工作者篇：防疫一线的记录😀，蒙古文ᠮᠣᠩᠭᠣᠯ"
    data = text.encode("gb18030")
    assert detect_encoding(data) == "gb18030"
    assert _decoded(data, "gb18030") == text


def test_right_decoding_is_more_plausible_than_the_wrong_one() -> None:
    simplified = "社区是疫情防控的最前线，约400万名社区工作者夜以继日。".encode("gbk")
    traditional = TRADITIONAL[0].encode("big5")
    assert chinese_plausibility(simplified.decode("gb18030")) == pytest.approx(1.0)
    assert chinese_plausibility(simplified.decode("big5", errors="ignore")) < 0.7
    assert chinese_plausibility(traditional.decode("big5")) == pytest.approx(1.0)
    assert chinese_plausibility(traditional.decode("gb18030", errors="ignore")) < 0.7


def test_mostly_utf8_with_a_few_invalid_bytes_is_utf8() -> None:
    text = (SAMPLE / "004_4ea96290340b9324.txt").read_bytes()
    middle = len(text) // 2
    damaged = text[:middle] + b"\xff\xfe\x80" + text[middle:]
    assert detect_encoding(damaged) == "utf-8"


def test_utf8_dump_with_one_gbk_record_is_still_utf8() -> None:
    utf8 = (SAMPLE / "003_ceb8abdfd1cab23a.txt").read_bytes()
    gbk_record = "\n\n\n动物临时“奶爸”\n\n新华社记者才扬摄\n".encode("gbk")
    assert detect_encoding(utf8 + gbk_record) == "utf-8"


def test_png_is_binary_and_the_reason_names_the_nul_byte() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256))
    assert detect_encoding(png) is None
    assert "NUL byte at offset 8" in undetectable_reason(png)


def test_many_control_bytes_are_binary() -> None:
    data = bytes(random.Random(1).choice(range(1, 32)) for _ in range(2000))
    assert detect_encoding(data) is None
    assert "control bytes" in undetectable_reason(data)


def test_latin1_text_is_not_taken_for_chinese() -> None:
    data = "Ceci est un texte français très ordinaire, à côté de l'été.\n".encode("latin-1") * 5
    assert detect_encoding(data) is None
    assert "not decodable as UTF-8, GB18030 or Big5" in undetectable_reason(data)


def _decoded(data: bytes, encoding: str) -> str:
    """The text of a clean decode (no invalid byte)."""
    decoded = decode_replacing(data, encoding)
    assert decoded.invalid_bytes == 0 and decoded.first_error is None
    return decoded.text


def test_each_invalid_byte_becomes_one_replacement_character_and_is_counted() -> None:
    data = "疫情".encode() + b"\xff" + "防控".encode() + "中".encode()[:2] + "。".encode()
    decoded = decode_replacing(data, "utf-8")
    assert decoded.text == "疫情\ufffd防控\ufffd\ufffd。"
    assert decoded.invalid_bytes == 3
    assert decoded.first_error is not None and decoded.first_error.start == 6
    assert decoded.invalid_share(len(data)) == 3 / len(data)


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "utf-16-le", "utf-32-le"])
def test_replacement_counts_bytes_in_every_supported_encoding(encoding) -> None:
    good = "社會防控".encode(encoding)
    decoded = decode_replacing(good + b"\xff" + good, encoding)
    assert decoded.invalid_bytes >= 1 and decoded.text.count("\ufffd") == decoded.invalid_bytes
    assert decoded.text.startswith("社會防控")


def test_detection_looks_at_a_bounded_sample_of_large_data() -> None:
    line = "在这场没有硝烟的战役中，没有人做旁观者。\n".encode()
    data = line * (3 * HEAD_SAMPLE_BYTES // len(line))
    sample = bounded_sample(data)
    assert len(sample) <= HEAD_SAMPLE_BYTES + MIDDLE_SAMPLE_BYTES + 1
    assert sample.endswith(b"\n") and sample.decode("utf-8")  # cut at line breaks, still valid
    # Bytes outside the sample (the last third) do not change the answer.
    assert detect_encoding(data + b"\xff" * 100_000) == "utf-8"


# --------------------------------------------------------------------------- NUL and control bytes

NEWS = "\n".join(TRADITIONAL).encode("utf-8") + b"\n"


def test_nul_padding_left_by_a_crashed_writer_does_not_make_text_binary() -> None:
    assert detect_encoding(NEWS + b"\x00" * 100_000) == "utf-8"
    assert detect_encoding(NEWS + b"\x00" * 4096 + NEWS) == "utf-8"


def test_a_few_stray_control_bytes_and_nul_bytes_leave_text_text() -> None:
    data = NEWS[:60] + b"\x00\x07\x1b[31m" + NEWS[60:120] + b"\x7f\x00" + NEWS[120:]
    assert detect_encoding(data * 3) == "utf-8"


def test_utf16_without_a_byte_order_mark_is_still_binary() -> None:
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le"):
        data = ("疫情防控 COVID-19 第一线\n" * 20).encode(codec)
        assert detect_encoding(data) is None, codec
        assert "NUL byte at offset" in undetectable_reason(data)


def test_nothing_but_nul_bytes_is_binary() -> None:
    assert detect_encoding(b"\x00" * 5000) is None
    assert undetectable_reason(b"\x00" * 5000) == "binary data: nothing but NUL bytes"


def test_padding_does_not_hide_the_control_bytes_of_binary_data() -> None:
    png_like = bytes(random.Random(5).randrange(256) for _ in range(4000))
    assert detect_encoding(png_like + b"\x00" * 50_000) is None
