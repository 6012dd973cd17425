"""Publishing a release to an fsspec URL: a folder, and a real S3 endpoint (moto server)."""

from __future__ import annotations

import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest
import s3fs

from tests.s3_support import moto_s3_server, new_bucket, read_objects, s3_environment
from tests.transforms.release.release_support import build_dataset
from transforms.release.build import create_release
from transforms.release.manifest import ReleaseError, ReleaseExists
from transforms.release.store import (
    InvalidLocation,
    ReleaseMismatch,
    check_url,
    publish_release,
    verify_release,
)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    dataset = build_dataset(tmp_path_factory.mktemp("publish") / "out")
    dataset.write()
    return create_release(dataset.root, "v1", include_rejected=True)


@pytest.fixture(scope="module")
def endpoint():
    with moto_s3_server() as url:
        yield url


@pytest.fixture
def bucket(endpoint, monkeypatch):
    s3_environment(monkeypatch, endpoint)
    return new_bucket(endpoint)


def local_files(release) -> dict[str, bytes]:
    return {
        p.relative_to(release.path).as_posix(): p.read_bytes()
        for p in release.path.rglob("*")
        if p.is_file()
    }


def test_publishing_to_a_folder_copies_the_release_and_verifies_it(release, tmp_path):
    verified = publish_release(release.path, str(tmp_path / "mirror"))
    copy = tmp_path / "mirror" / "v1"
    assert verified.location == f"{tmp_path / 'mirror'}/v1"
    assert verified.files == len(release.manifest["files"])
    assert {
        p.relative_to(copy).as_posix(): p.read_bytes() for p in copy.rglob("*") if p.is_file()
    } == local_files(release)


def test_a_published_version_is_never_overwritten(release, tmp_path):
    publish_release(release.path, str(tmp_path))
    manifest = (tmp_path / "v1" / "manifest.json").read_bytes()
    with pytest.raises(ReleaseExists, match="already published"):
        publish_release(release.path, str(tmp_path))
    assert (tmp_path / "v1" / "manifest.json").read_bytes() == manifest


def test_an_interrupted_publish_is_completed_by_publishing_again(release, tmp_path):
    half = tmp_path / "v1" / "data"
    half.mkdir(parents=True)
    first = release.files("data")[0]["path"]
    (tmp_path / "v1" / first).write_bytes(b"half an upload")
    publish_release(release.path, str(tmp_path))
    assert verify_release(tmp_path / "v1").files == len(release.manifest["files"])


def test_a_destination_with_other_files_is_refused(release, tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "notes.txt").write_text("someone else's")
    with pytest.raises(ReleaseError, match=r"not part of release v1 \(notes.txt"):
        publish_release(release.path, str(tmp_path))
    assert not (tmp_path / "v1" / "manifest.json").exists()


def test_a_damaged_local_release_is_not_published(release, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(release.path, damaged)
    (damaged / "CHANGES.md").write_text("edited")
    with pytest.raises(ReleaseMismatch, match=r"CHANGES\.md"):
        publish_release(damaged, str(tmp_path / "mirror"))
    assert not (tmp_path / "mirror").exists()


@pytest.mark.parametrize(
    "url", ["s3://AKIA:secret@bucket/prefix", "s3://user@bucket/x", "https://u:p@host/x"]
)
def test_urls_with_credentials_are_refused(url):
    with pytest.raises(InvalidLocation, match="credentials must not be given in a URL"):
        check_url(url)


def test_publishing_to_s3_uploads_every_file_manifest_last_and_reads_back(
    release, bucket, endpoint, monkeypatch
):
    uploads: list[str] = []
    original = s3fs.S3FileSystem.put_file

    def recording(self, lpath, rpath, *args, **kwargs):
        uploads.append(str(rpath))
        return original(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "put_file", recording)
    url = f"s3://{bucket}/zhclean/releases"
    verified = publish_release(release.path, url)
    assert verified.location == f"{url}/v1"
    assert uploads[-1] == f"{bucket}/zhclean/releases/v1/manifest.json"
    assert len(uploads) == len(release.manifest["files"]) + 1

    objects = read_objects(endpoint, bucket)
    assert objects == {f"zhclean/releases/v1/{k}": v for k, v in local_files(release).items()}
    remote = pd.read_parquet(f"{url}/v1/data")
    local = pd.read_parquet(release.path / "data")
    pd.testing.assert_frame_equal(
        remote.sort_values("doc_id", ignore_index=True),
        local.sort_values("doc_id", ignore_index=True),
    )
    assert pq.read_schema(
        s3fs.S3FileSystem(skip_instance_cache=True).open(
            f"{bucket}/zhclean/releases/v1/{release.files('data')[0]['path']}"
        )
    ).names == list(local.columns)
    assert verify_release(f"{url}/v1").documents == release.documents


def test_a_corrupted_object_on_s3_is_found(release, bucket):
    url = f"s3://{bucket}/r"
    publish_release(release.path, url)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    target = f"{bucket}/r/v1/{release.files('data')[0]['path']}"
    raw = bytearray(fs.cat_file(target))
    raw[100] ^= 0xFF
    fs.pipe_file(target, bytes(raw))
    with pytest.raises(ReleaseMismatch, match=r"data/train-00000-of-00001.parquet: SHA-256"):
        verify_release(f"{url}/v1")
    fs.rm_file(f"{bucket}/r/v1/CHANGES.md")
    fs.pipe_file(target, bytes(raw[:10]))
    with pytest.raises(ReleaseMismatch, match=r"CHANGES.md: missing"):
        verify_release(f"{url}/v1")


def test_the_endpoint_can_come_from_storage_options(release, endpoint, monkeypatch):
    s3_environment(monkeypatch, None)  # credentials only; no endpoint in the environment
    bucket = new_bucket(endpoint)
    verified = publish_release(
        release.path, f"s3://{bucket}/p", storage_options={"endpoint_url": endpoint}
    )
    assert verified.files == len(release.manifest["files"])
