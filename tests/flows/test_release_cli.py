"""``zhclean release``, ``verify`` and ``publish`` on a dataset made by a real run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows.cli import main
from tests.paths import SAMPLE
from tests.s3_support import SECRET, moto_s3_server, new_bucket, read_objects, s3_environment

pytestmark = pytest.mark.slow


def one_line(text: str) -> str:
    assert text.count("\n") == 1, text
    return text.strip()


@pytest.fixture(scope="module")
def run_output(tmp_path_factory) -> Path:
    """One in-process ``zhclean run`` over the five sample dumps."""
    output = tmp_path_factory.mktemp("run") / "out"
    assert main(["run", str(SAMPLE), "-o", str(output), "--workers", "1", "--quiet"]) == 0
    return output


@pytest.fixture
def output(run_output, tmp_path) -> Path:
    """A private copy of the run's output folder."""
    copy = tmp_path / "out"
    shutil.copytree(run_output, copy)
    return copy


def test_release_then_verify(output, capsys):
    assert main(["release", "--version", "2026.11.1", "-o", str(output)]) == 0
    release = output / "releases" / "2026.11.1"
    stats = json.loads((output / "stats.json").read_text())
    manifest = json.loads((release / "manifest.json").read_text())
    line = one_line(capsys.readouterr().out)
    assert line.startswith(f"zhclean: release 2026.11.1: {stats['documents']['kept']} documents")
    assert line.endswith(f"-> {release}")

    assert main(["verify", str(release)]) == 0
    captured = capsys.readouterr()
    assert one_line(captured.out).startswith("zhclean: release 2026.11.1 verified: ")
    assert captured.err == ""
    assert manifest["runs"] == [stats]
    assert manifest["documents"]["kept"] == stats["documents"]["kept"]
    kept = pd.read_parquet(output / "data")
    released = pd.read_parquet(release / "data")
    assert sorted(released.doc_id) == sorted(kept.doc_id)


def test_the_card_tells_what_the_run_did(output):
    assert main(["release", "--version", "v1", "-o", str(output), "--quiet"]) == 0
    card = (output / "releases" / "v1" / "README.md").read_text()
    stats = json.loads((output / "stats.json").read_text())
    docs = stats["documents"]
    assert f"{docs['kept']} documents of cleaned Chinese text" in card
    assert f"from {stats['inputs']['files']} input files" in card
    assert f"{docs['rejected']} of {docs['extracted']} extracted records" in card
    for reason, n in stats["rejected_by_reason"].items():
        assert f"| dedup | `{reason}` | {n} |" in card
    assert f"| `{stats['run_id']}` |" in card


def test_a_version_is_released_once(output, capsys):
    assert main(["release", "--version", "v1", "-o", str(output), "-q"]) == 0
    manifest = (output / "releases" / "v1" / "manifest.json").read_bytes()
    assert main(["release", "--version", "v1", "-o", str(output)]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith("zhclean: error: release v1 already exists") and "immutable" in err
    assert (output / "releases" / "v1" / "manifest.json").read_bytes() == manifest


def status_of(argv: list[str]) -> int:
    """The exit status, whether ``main`` returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["release", "--version", "../v1"], "invalid release version '../v1'"),
        (["release", "--version", "a/b"], "invalid release version"),
        (["release"], "the following arguments are required: --version"),
        (["release", "--version", "v1", "--bogus"], "unrecognized arguments: --bogus"),
        (["release", "--version", "v1", "--publish", "s3://k:s@b/p"], "credentials must not"),
        (["verify", "--bogus"], "the following arguments are required: RELEASE"),
    ],
)
def test_usage_errors_exit_2_with_one_line(output, capsys, argv, message):
    extra = ["-o", str(output)] if argv[0] == "release" else []
    assert status_of([*argv, *extra]) == 2
    err = one_line(capsys.readouterr().err)
    assert message in err and "Traceback" not in err
    assert not (output / "releases").exists()


def test_no_dataset_is_a_one_line_failure(tmp_path, capsys):
    assert main(["release", "--version", "v1", "-o", str(tmp_path / "nothing")]) == 1
    assert "no dataset in" in one_line(capsys.readouterr().err)
    assert main(["verify", str(tmp_path)]) == 1
    assert "no manifest.json" in one_line(capsys.readouterr().err)


def test_verify_names_the_first_mismatch(output, capsys):
    assert main(["release", "--version", "v1", "-o", str(output), "-q"]) == 0
    release = output / "releases" / "v1"
    target = release / "data" / "train-00000-of-00001.parquet"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 3] ^= 0x20
    target.write_bytes(bytes(raw))
    assert main(["verify", str(release)]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith("zhclean: error: release does not verify: ")
    assert "data/train-00000-of-00001.parquet: SHA-256 is" in err
    target.unlink()
    assert main(["verify", str(release)]) == 1
    assert "data/train-00000-of-00001.parquet: missing" in one_line(capsys.readouterr().err)


def test_help_lists_the_release_options(capsys):
    for command, options in (
        ("release", ["--version", "--output", "--config", "--with-rejected", "--publish"]),
        ("verify", ["RELEASE", "--config"]),
        ("publish", ["RELEASE", "URL", "--config"]),
    ):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        for option in options:
            assert option in out, (command, option)


# -- publishing to S3 (moto's server on 127.0.0.1) ---------------------------


@pytest.fixture(scope="module")
def endpoint():
    with moto_s3_server() as url:
        yield url


def test_release_publish_and_verify_on_s3_never_write_the_secret(
    output, endpoint, monkeypatch, capsys
):
    s3_environment(monkeypatch, endpoint)
    bucket = new_bucket(endpoint)
    url = f"s3://{bucket}/zhclean"
    assert main(["release", "--version", "v1", "-o", str(output), "--publish", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"zhclean: published to {url}/v1 and verified")
    assert main(["verify", f"{url}/v1"]) == 0
    out = one_line(capsys.readouterr().out)
    assert out.startswith("zhclean: release v1 verified")

    remote = pd.read_parquet(f"{url}/v1/data")
    local = pd.read_parquet(output / "releases" / "v1" / "data")
    assert sorted(remote.doc_id) == sorted(local.doc_id)

    # The secret is in the environment only: no file, object or output line has it.
    objects = read_objects(endpoint, bucket)
    assert "zhclean/v1/manifest.json" in objects
    written = {str(p): p.read_bytes() for p in output.rglob("*") if p.is_file()}
    for name, data in {**written, **objects}.items():
        assert SECRET.encode() not in data, name
    assert SECRET not in out

    # Publishing the same version again is refused; publishing it elsewhere works.
    assert main(["publish", str(output / "releases" / "v1"), url]) == 1
    assert "already published" in one_line(capsys.readouterr().err)


def test_the_endpoint_can_come_from_the_config(output, endpoint, monkeypatch, tmp_path, capsys):
    s3_environment(monkeypatch, None)
    bucket = new_bucket(endpoint)
    config = tmp_path / "zhclean.toml"
    config.write_text(f'[release]\nstorage_options = {{endpoint_url = "{endpoint}"}}\n')
    assert main(["release", "--version", "v1", "-o", str(output), "-q"]) == 0
    release = str(output / "releases" / "v1")
    assert main(["publish", release, f"s3://{bucket}/p", "-c", str(config), "-q"]) == 0
    assert main(["verify", f"s3://{bucket}/p/v1", "-c", str(config), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_credentials_in_the_config_are_refused(output, tmp_path, capsys):
    config = tmp_path / "zhclean.toml"
    config.write_text(f'[release]\nstorage_options = {{secret = "{SECRET}"}}\n')
    assert main(["release", "--version", "v1", "-o", str(output), "-c", str(config)]) == 2
    err = one_line(capsys.readouterr().err)
    assert "release.storage_options: Value error, must not hold credentials (secret)" in err
    assert SECRET not in err
    assert not (output / "releases").exists()
