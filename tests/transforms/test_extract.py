"""Extract entry points: formats by suffix, provenance and doc ids, bad bytes rejected, never raised."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from tests.transforms.extract_support import CFG, P1, extract, seed, write
from transforms.extract import SUPPORTED_SUFFIXES, extract_file, source_format_of

# --------------------------------------------------------------------------- provenance


def test_seed_doc_ids_are_stable_across_calls_and_follow_the_formula() -> None:
    path = seed("001")
    rows = extract(path).kept.to_pylist()
    assert [row["doc_id"] for row in rows] == extract(path).kept.column("doc_id").to_pylist()
    for row in rows:
        key = f"{path.name}\0{row['source_record']}\0{row['source_sha256']}"
        assert row["doc_id"] == hashlib.sha256(key.encode()).hexdigest()[:24]


def test_source_path_is_relative_to_the_input_root(tmp_path: Path) -> None:
    nested = tmp_path / "2020" / "03"
    nested.mkdir(parents=True)
    path = write(nested, "news.txt", f"{P1}\n")
    row = extract(path, root=tmp_path).kept.to_pylist()[0]
    assert row["source_path"] == "2020/03/news.txt"
    assert row["source_format"] == "txt"


# --------------------------------------------------------------------------- formats, robustness


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.txt", "txt"),
        ("a.TXT", "txt"),
        ("a.html", "html"),
        ("a.htm", "html"),
        ("a.jsonl", "jsonl"),
        ("a.jsonl.gz", "jsonl.gz"),
        ("a.parquet", "parquet"),
        ("a.json", None),
        ("a.txt.gz", None),
    ],
)
def test_source_format_comes_from_the_suffix(name: str, fmt: str | None) -> None:
    assert source_format_of(Path(name)) == fmt


def test_supported_suffixes_all_have_a_format() -> None:
    assert all(source_format_of(Path(f"x{suffix}")) for suffix in SUPPORTED_SUFFIXES)


def test_unsupported_suffix_is_a_caller_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported input format"):
        extract_file(write(tmp_path, "a.csv", "x"), tmp_path, CFG)


def test_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        extract_file(tmp_path / "missing.txt", tmp_path, CFG)


def nasty_blobs() -> list[bytes]:
    rng = random.Random(11)
    blobs = [
        b"\xff" * 10,
        b"***\n>>>\n>>>\n=\n",
        b"\r\r\r\n\n>>>",
        "疫情".encode()[:4],
        b'{"text": [' * 5000,
        b"\x1f\x8b\x08\x00" + bytes(40),
        b"PAR1\x00\x00PAR1",
    ]
    blobs += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(12)]
    blobs += [
        bytes(rng.choice(b'\n\r *=>{}"tx:\xe7\x96\xab') for _ in range(500)) for _ in range(8)
    ]
    return blobs


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_arbitrary_bytes_are_rejected_never_raised(tmp_path: Path, suffix: str) -> None:
    for i, blob in enumerate(nasty_blobs()):
        extract(write(tmp_path, f"blob{i}{suffix}", blob))
