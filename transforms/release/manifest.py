"""What a release holds and how its manifest describes it: names, versions, hashes, schemas.

A release folder (``<output>/releases/<VERSION>/``) holds ``data/``,
optionally ``rejected/``, the dataset card, plots, ``CHANGES.md`` and
``manifest.json``, which lists every other file with its size, rows and
SHA-256 and is written last.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.storage import read_json

RELEASES_DIR = "releases"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "zhclean-release/1"
CARD_NAME = "README.md"
CHANGES_NAME = "CHANGES.md"
CHANGES_TABLE = "changes.parquet"
INPUTS_NAME = "inputs.parquet"
PLOTS_DIR = "plots"
RUNS_DIR = "runs"
STATS_NAME = "stats.json"
# Release sub-folder -> file stem.  "train" follows the Hugging Face naming
# convention, so hub tooling sees one split without being told.
PARQUET_GROUPS = {"data": "train", "rejected": "rejected"}

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_HASH_CHUNK = 4 * 1024 * 1024


class ReleaseError(RuntimeError):
    """The release cannot be made; the message is one line for the user."""


class ReleaseExists(ReleaseError):
    """A release with this version is already there (releases are immutable)."""


class InvalidVersion(ValueError):
    """The version cannot name a release folder."""


def validate_version(version: str) -> str:
    """Return ``version`` if it can name a release folder: letters, digits, ``. _ + -``."""
    if not _VERSION.fullmatch(version) or ".." in version:
        raise InvalidVersion(
            f"invalid release version {version!r}: use letters, digits and . _ + - "
            "(at most 100, starting with a letter or digit, no '..')"
        )
    return version


def sha256_stream(handle: Any) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def type_name(data_type: pa.DataType) -> str:
    """An Arrow type as text, without list item names (``list<string>``)."""
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        prefix = "large_list" if pa.types.is_large_list(data_type) else "list"
        return f"{prefix}<{type_name(data_type.value_type)}>"
    if pa.types.is_struct(data_type):
        inner = ", ".join(f"{f.name}: {type_name(f.type)}" for f in data_type)
        return f"struct<{inner}>"
    return str(data_type)


def schema_fields(schema: pa.Schema) -> list[dict[str, Any]]:
    """The schema as JSON: one ``{name, type, nullable}`` per column, in order."""
    return [{"name": f.name, "type": type_name(f.type), "nullable": f.nullable} for f in schema]


def list_releases(releases: Path) -> list[dict[str, Any]]:
    """The manifests of the finished releases in ``releases``, oldest first.

    Releases are ordered by the ``sequence`` their manifests record (the order
    they were made in), never by their version's spelling.
    """
    manifests = []
    if not releases.is_dir():
        return manifests
    for folder in releases.iterdir():
        path = folder / MANIFEST_NAME
        if folder.name.startswith(".") or not path.is_file():
            continue
        try:
            manifest = read_json(path)
            key = (int(manifest["sequence"]), str(manifest["created_at"]))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ReleaseError(f"cannot read the manifest of release {folder.name}: {err}") from err
        manifests.append((key, manifest))
    return [m for _, m in sorted(manifests, key=lambda item: item[0])]


def _kind_of(relative: str) -> str:
    top = relative.split("/", 1)[0]
    if top in PARQUET_GROUPS and "/" in relative:
        return top
    return {
        CARD_NAME: "card",
        CHANGES_NAME: "changes",
        CHANGES_TABLE: "changes",
        INPUTS_NAME: "inputs",
    }.get(relative, "plot" if top == PLOTS_DIR else "other")


def describe_files(root: Path) -> list[dict[str, Any]]:
    """Every file under ``root`` but the manifest: path, kind, bytes, rows (Parquet), SHA-256."""
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == MANIFEST_NAME:
            continue
        entry: dict[str, Any] = {
            "path": relative,
            "kind": _kind_of(relative),
            "bytes": path.stat().st_size,
            "rows": pq.read_metadata(path).num_rows if path.suffix == ".parquet" else None,
            "sha256": file_sha256(path),
        }
        entries.append(entry)
    return entries
