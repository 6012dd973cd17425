"""Checking a release against its manifest, and publishing it to any fsspec URL.

A release is read and written through fsspec, so the same code checks a
local folder, ``file://`` URLs and object storage (``s3://bucket/prefix`` via
s3fs).  Credentials are never passed here: s3fs and the other backends find
them in the environment or their own config files, and ``storage_options``
(non-secret settings such as ``endpoint_url``) come from the config's
``release.storage_options``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import fsspec
import pyarrow.parquet as pq

from transforms.release.manifest import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    ReleaseError,
    ReleaseExists,
    schema_fields,
    sha256_stream,
)


class ReleaseMismatch(ReleaseError):
    """A release does not match its manifest; the message names the first difference."""


class InvalidLocation(ValueError):
    """A URL that zhclean refuses to use (it holds credentials)."""


def check_url(url: str) -> str:
    """Refuse URLs with a user name or password in them: credentials belong in the environment."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.username or parts.password or "@" in parts.netloc:
            raise InvalidLocation(
                "credentials must not be given in a URL: set them in the environment "
                "(e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the storage library's config"
            )
    return url


def open_location(location: str | Path, storage_options: dict[str, Any] | None = None):
    """``(filesystem, root path)`` for a local path or an fsspec URL."""
    # A fresh instance each time: credentials or endpoints may have changed since.
    fs, root = fsspec.core.url_to_fs(
        str(location), skip_instance_cache=True, **(storage_options or {})
    )
    return fs, root.rstrip("/") or root


def _is_local(fs: Any) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def _safe_relative(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and "\\" not in path


@dataclass
class Verified:
    location: str
    version: str
    files: int
    documents: int
    bytes: int

    def summary(self) -> str:
        return (
            f"release {self.version} verified: {self.files} files, {self.documents:,} documents, "
            f"{self.bytes:,} bytes match manifest.json ({self.location})"
        )


def _first_schema_difference(actual: list[dict], expected: list[dict]) -> str:
    for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
        if a != e:
            return (
                f"column {i} is {a['name']} {a['type']}{'' if a['nullable'] else ' not null'}, "
                f"the manifest says {e['name']} {e['type']}{'' if e['nullable'] else ' not null'}"
            )
    return f"{len(actual)} columns, the manifest says {len(expected)}"


def read_manifest(fs: Any, root: str, location: str) -> dict[str, Any]:
    try:
        raw = fs.cat_file(f"{root}/{MANIFEST_NAME}")
    except FileNotFoundError:
        raise ReleaseMismatch(
            f"{location}: no {MANIFEST_NAME} (not a release, or not completely published)"
        ) from None
    try:
        manifest = json.loads(raw)
    except ValueError as err:
        raise ReleaseMismatch(f"{location}: {MANIFEST_NAME} is not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ReleaseMismatch(f"{location}: {MANIFEST_NAME} is not a {MANIFEST_FORMAT} manifest")
    if not isinstance(manifest.get("files"), list):
        raise ReleaseMismatch(f"{location}: {MANIFEST_NAME} has no file list")
    return manifest


def verify_release(location: str | Path, storage_options: dict[str, Any] | None = None) -> Verified:
    """Recompute every listed file's size, SHA-256, rows and schema; refuse unlisted files.

    Raises ``ReleaseMismatch`` naming the first difference, in manifest order.
    """
    location = str(location)
    fs, root = open_location(location, storage_options)
    fs.invalidate_cache()
    manifest = read_manifest(fs, root, location)
    rows_by_kind: dict[str, int] = {}
    listed = set()
    total_bytes = 0
    for entry in manifest["files"]:
        relative = str(entry.get("path", ""))
        if not _safe_relative(relative):
            raise ReleaseMismatch(f"{location}: manifest lists an unsafe path {relative!r}")
        listed.add(relative)
        checked = _ListedFile(fs, root, location, relative, entry)
        total_bytes += checked.check_bytes()
        if relative.endswith(".parquet"):
            rows = checked.check_parquet(manifest.get("schema", {}).get(entry.get("kind")))
            kind = str(entry.get("kind"))
            rows_by_kind[kind] = rows_by_kind.get(kind, 0) + rows
    documents = manifest.get("documents", {})
    _check_documents(location, documents, rows_by_kind)
    present = sorted(p[len(root) + 1 :] for p in fs.find(root) if p.startswith(root + "/"))
    for relative in present:
        if relative != MANIFEST_NAME and relative not in listed:
            raise ReleaseMismatch(f"{location}: {relative}: not listed in the manifest")
    return Verified(
        location=location,
        version=str(manifest.get("version")),
        files=len(listed),
        documents=int(documents.get("kept") or 0),
        bytes=total_bytes,
    )


@dataclass
class _ListedFile:
    """One file a manifest lists, checked against its entry."""

    fs: Any
    root: str
    location: str
    relative: str
    entry: dict[str, Any]

    @property
    def path(self) -> str:
        return f"{self.root}/{self.relative}"

    def mismatch(self, what: str) -> ReleaseMismatch:
        return ReleaseMismatch(f"{self.location}: {self.relative}: {what}")

    def check_bytes(self) -> int:
        """Its size and SHA-256; returns the size."""
        try:
            size = self.fs.info(self.path)["size"]
        except FileNotFoundError:
            raise self.mismatch("missing (listed in the manifest)") from None
        if size != self.entry["bytes"]:
            raise self.mismatch(f"{size:,} bytes, the manifest says {self.entry['bytes']:,}")
        with self.fs.open(self.path, "rb") as handle:
            digest = sha256_stream(handle)
        if digest != self.entry["sha256"]:
            raise self.mismatch(f"SHA-256 is {digest}, the manifest says {self.entry['sha256']}")
        return size

    def check_parquet(self, expected_schema: list[dict[str, Any]] | None) -> int:
        """Its rows and schema; returns the rows."""
        with self.fs.open(self.path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            rows, schema = parquet.metadata.num_rows, parquet.schema_arrow
        if rows != self.entry.get("rows"):
            raise self.mismatch(f"{rows:,} rows, the manifest says {self.entry.get('rows')}")
        found = schema_fields(schema)
        if expected_schema is not None and found != expected_schema:
            raise self.mismatch(
                "schema differs: " + _first_schema_difference(found, expected_schema)
            )
        return rows


def _check_documents(
    location: str, documents: dict[str, Any], rows_by_kind: dict[str, int]
) -> None:
    for kind, key in (("data", "kept"), ("rejected", "rejected")):
        expected_rows = documents.get(key)
        if expected_rows is not None and rows_by_kind.get(kind, 0) != expected_rows:
            raise ReleaseMismatch(
                f"{location}: {kind}/ holds {rows_by_kind.get(kind, 0):,} rows, "
                f"the manifest says {expected_rows:,} {key} documents"
            )


def publish_release(
    release_dir: Path, url: str, storage_options: dict[str, Any] | None = None
) -> Verified:
    """Copy the release in ``release_dir`` to ``<url>/<version>/`` and verify the copy.

    The local release is verified first.  Files go up in manifest order and
    ``manifest.json`` last, so a reader that finds the manifest finds every
    file it lists.  A version already published (its manifest is there) is
    never overwritten; the files of an interrupted publish (no manifest) are
    replaced, and a destination holding any other file is refused.
    """
    check_url(url)
    verify_release(release_dir)
    manifest = json.loads((release_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    version = str(manifest["version"])
    destination = f"{url.rstrip('/')}/{version}"
    fs, root = open_location(destination, storage_options)
    fs.invalidate_cache()
    if fs.exists(f"{root}/{MANIFEST_NAME}"):
        raise ReleaseExists(f"{destination} is already published: releases are immutable")
    listed = {entry["path"] for entry in manifest["files"]} | {f".tmp-{MANIFEST_NAME}"}
    strangers = sorted(
        p[len(root) + 1 :] for p in fs.find(root) if p[len(root) + 1 :] not in listed
    )
    if strangers:  # files of an interrupted publish of this release are simply replaced
        raise ReleaseError(
            f"{destination} holds files that are not part of release {version} "
            f"({strangers[0]}, ...): publish to an empty location"
        )
    local = _is_local(fs)
    for entry in manifest["files"]:
        target = f"{root}/{entry['path']}"
        if local:
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(release_dir / entry["path"]), target)
    source = str(release_dir / MANIFEST_NAME)
    if local:  # a local copy is written whole under a temporary name, then renamed
        fs.makedirs(root, exist_ok=True)
        staged = f"{root}/.tmp-{MANIFEST_NAME}"
        fs.put_file(source, staged)
        fs.mv(staged, f"{root}/{MANIFEST_NAME}")
    else:  # an object store PUT is atomic
        fs.put_file(source, f"{root}/{MANIFEST_NAME}")
    return verify_release(destination, storage_options)
