"""``verify_release``: every checksum, row count and schema against the manifest."""

from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.transforms.release.release_support import build_dataset
from transforms.config import PipelineConfig
from transforms.release.build import create_release
from transforms.release.store import ReleaseMismatch, verify_release


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    dataset = build_dataset(tmp_path_factory.mktemp("verify") / "out")
    dataset.write()
    config = PipelineConfig.model_validate({"write": {"max_rows_per_file": 20}})
    return create_release(dataset.root, "v1", config, include_rejected=True)


@pytest.fixture
def release(pristine, tmp_path):
    """A fresh copy of the release for a test to damage."""
    copy = tmp_path / "v1"
    shutil.copytree(pristine.path, copy)
    return copy


def manifest_of(root):
    return json.loads((root / "manifest.json").read_text())


def update_entry(root, relative):
    """Make the manifest agree with the file's new bytes (size, SHA-256, rows)."""
    manifest = manifest_of(root)
    entry = next(f for f in manifest["files"] if f["path"] == relative)
    path = root / relative
    entry.update(
        bytes=path.stat().st_size,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        rows=pq.ParquetFile(path).metadata.num_rows,
    )
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_an_intact_release_verifies(release, pristine):
    verified = verify_release(release)
    manifest = manifest_of(release)
    assert verified.files == len(manifest["files"]) >= 8
    assert verified.documents == manifest["documents"]["kept"] == pristine.documents
    assert verified.bytes == sum(f["bytes"] for f in manifest["files"])
    assert verified.version == "v1"
    assert "release v1 verified" in verified.summary()


def test_a_corrupted_byte_is_found(release):
    target = release / "data" / "train-00001-of-00002.parquet"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(ReleaseMismatch, match=r"data/train-00001-of-00002.parquet: SHA-256 is "):
        verify_release(release)


def test_a_deleted_file_is_found(release):
    (release / "rejected" / "rejected-00000-of-00001.parquet").unlink()
    with pytest.raises(ReleaseMismatch, match=r"rejected-00000-of-00001.parquet: missing"):
        verify_release(release)


def test_a_truncated_file_is_found_by_its_size(release):
    target = release / "README.md"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(ReleaseMismatch, match=r"README.md: [\d,]+ bytes, the manifest says"):
        verify_release(release)


def test_a_file_the_manifest_does_not_list_is_refused(release):
    # Readers glob data/*.parquet: an extra file would silently join the dataset.
    shutil.copy(
        release / "data" / "train-00000-of-00002.parquet", release / "data" / "extra.parquet"
    )
    with pytest.raises(ReleaseMismatch, match=r"data/extra.parquet: not listed in the manifest"):
        verify_release(release)


def test_a_changed_schema_is_found_even_when_checksums_were_updated(release):
    relative = "data/train-00000-of-00002.parquet"
    table = pq.read_table(release / relative)
    index = table.schema.get_field_index("n_chars")
    changed = table.set_column(index, "n_chars", table["n_chars"].cast(pa.int64()))
    pq.write_table(changed, release / relative)
    update_entry(release, relative)
    with pytest.raises(
        ReleaseMismatch,
        match=rf"{relative}: schema differs: column {index} is n_chars int64, "
        r"the manifest says n_chars int32 not null",
    ):
        verify_release(release)


def test_a_file_with_other_rows_is_found_even_when_checksums_were_updated(release):
    relative = "data/train-00001-of-00002.parquet"
    table = pq.read_table(release / relative)
    pq.write_table(table.slice(0, 3), release / relative)
    update_entry(release, relative)
    with pytest.raises(ReleaseMismatch, match=r"data/ holds [\d,]+ rows, the manifest says"):
        verify_release(release)


def test_a_folder_without_a_manifest_is_not_a_release(release):
    (release / "manifest.json").unlink()
    with pytest.raises(ReleaseMismatch, match=r"no manifest\.json"):
        verify_release(release)


def test_a_manifest_cannot_point_outside_the_release(release):
    manifest = manifest_of(release)
    manifest["files"][0]["path"] = "../../etc/passwd"
    (release / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReleaseMismatch, match="unsafe path"):
        verify_release(release)


def test_a_damaged_manifest_is_named(release):
    (release / "manifest.json").write_text("{")
    with pytest.raises(ReleaseMismatch, match=r"manifest\.json is not valid JSON"):
        verify_release(release)
    (release / "manifest.json").write_text('{"format": "something-else", "files": []}')
    with pytest.raises(ReleaseMismatch, match="is not a zhclean-release/1 manifest"):
        verify_release(release)


def test_a_file_url_verifies_like_a_path(release):
    assert verify_release(f"file://{release}").files == verify_release(release).files
