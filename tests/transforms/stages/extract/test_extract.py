"""Extract entry points: formats by suffix, provenance and doc ids, bad bytes rejected, never raised."""

from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.paths import REPO
from tests.transforms.stages.extract.extract_support import CFG, P1, extract, seed, write
from transforms.stages.extract import SUPPORTED_SUFFIXES, extract_file, source_format_of

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


def random_bytes(count: int) -> list[bytes]:
    rng = random.Random(11)
    return [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(count)]


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
    blobs += random_bytes(12)
    blobs += [
        bytes(rng.choice(b'\n\r *=>{}"tx:\xe7\x96\xab') for _ in range(500)) for _ in range(8)
    ]
    return blobs


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_arbitrary_bytes_never_raise_and_every_file_shows_up(tmp_path: Path, suffix: str) -> None:
    for i, blob in enumerate(nasty_blobs()):
        result = extract(write(tmp_path, f"blob{i}{suffix}", blob))
        assert result.kept.num_rows + result.rejected.num_rows >= 1, blob[:40]
        assert all(result.rejected.column("detail").to_pylist()), blob[:40]


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_random_bytes_are_rejected_as_not_text_or_not_parseable(
    tmp_path: Path, suffix: str
) -> None:
    for i, blob in enumerate(random_bytes(12)):
        result = extract(write(tmp_path, f"random{i}{suffix}", blob))
        assert result.kept.num_rows == 0, blob[:40]
        reasons = set(result.rejected.column("reason").to_pylist())
        assert reasons and reasons <= {"decode_error", "parse_error"}, (reasons, blob[:40])


# --------------------------------------------------------------------------- files without records


def _parquet_without_rows() -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("a.html", b"", "whole file: empty (0 bytes)"),
        ("a.htm", " \n\u3000\n".encode(), "whole file: only whitespace"),
        ("a.jsonl", b"\n\n   \n", "whole file: only whitespace (6 bytes)"),
        ("a.jsonl.gz", gzip.compress(b""), "whole file: the gzip stream holds no data"),
        ("a.jsonl.gz", gzip.compress(b"\n \n"), "whole file: only whitespace"),
        ("a.parquet", _parquet_without_rows(), "whole file: a Parquet file with no rows"),
    ],
)
def test_a_file_without_records_is_one_empty_rejection_in_every_format(
    tmp_path: Path, name: str, content: bytes, detail: str
) -> None:
    """Every input file shows up in the output: one without records as one ``empty`` row."""
    result = extract(write(tmp_path, name, content))
    assert result.kept.num_rows == 0
    (row,) = result.rejected.to_pylist()
    assert (row["reason"], row["stage"], row["source_record"]) == ("empty", "extract", 0)
    assert row["detail"].startswith(detail), row["detail"]


# --------------------------------------------------------------------------- doc_id stability


@settings(max_examples=40, deadline=None)
@given(
    content=st.binary(max_size=400)
    | st.lists(st.sampled_from([P1, "*", ">>>标题", "", "\x00"]), max_size=8).map(
        lambda lines: "\n".join(lines).encode()
    ),
    suffix=st.sampled_from(SUPPORTED_SUFFIXES),
)
def test_doc_ids_depend_only_on_the_relative_path_and_the_bytes(
    content: bytes, suffix: str
) -> None:
    """The same file under two roots (another machine, another checkout) gives the same doc ids."""
    import tempfile

    ids = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as root:
            folder = Path(root) / "dumps"
            folder.mkdir()
            path = write(folder, f"news{suffix}", content)
            result = extract(path, root=Path(root))
            ids.append(
                sorted(
                    result.kept.column("doc_id").to_pylist()
                    + result.rejected.column("doc_id").to_pylist()
                )
            )
    assert ids[0] == ids[1] and ids[0]


def test_doc_ids_are_the_same_in_another_process(tmp_path: Path) -> None:
    """No per-process state (hash seeds, dict order) enters a doc id."""
    import json
    import subprocess
    import sys

    paths = [seed("001"), seed("002")]
    here = [sorted(extract(p).kept.column("doc_id").to_pylist()) for p in paths]
    code = (
        "import json, sys; from pathlib import Path; from transforms.config import ExtractConfig; "
        "from transforms.stages.extract import extract_file; "
        "print(json.dumps([sorted(extract_file(Path(p), Path(p).parent, ExtractConfig())"
        ".kept.column('doc_id').to_pylist()) for p in sys.argv[1:]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
        cwd=REPO,
    )
    assert json.loads(done.stdout) == here
