"""Finding input files and grouping them into shards.

Inputs are files or folders; folders are searched recursively.  Files are
listed in sorted order of (root, relative path), so the same inputs give the
same shards whatever order the user named them in.  Symbolic links are
followed only when their target stays inside the root they were found under:
a link out of the input tree, or a link loop, is skipped and reported; a link
to a folder is never walked (reported too).  A file with a supported name that
is not a regular file (a named pipe would block the reader forever) or that
cannot be opened and read (permissions, I/O error) is skipped and reported
with the reason; named directly on the command line, it is an ``InputError``.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from transforms.stages.extract import source_format_of


class InputError(ValueError):
    """An input path the user named cannot be used (missing, unsupported)."""


@dataclass(frozen=True, order=True)
class InputFile:
    source_path: str  # relative to root, POSIX: the sort key and the provenance path
    path: Path  # absolute, resolved
    root: Path
    size: int
    mtime_ns: int
    source_format: str

    def fingerprint(self) -> str:
        return f"{self.path}|{self.size}|{self.mtime_ns}"


@dataclass(frozen=True)
class SkippedInput:
    path: str
    reason: str


@dataclass
class Discovery:
    files: list[InputFile] = field(default_factory=list)
    skipped: list[SkippedInput] = field(default_factory=list)


def _input_file(path: Path, root: Path) -> InputFile | None:
    fmt = source_format_of(path)
    if fmt is None:
        return None
    status = path.stat()
    return InputFile(
        source_path=path.relative_to(root).as_posix(),
        path=path,
        root=root,
        size=status.st_size,
        mtime_ns=status.st_mtime_ns,
        source_format=fmt,
    )


_KIND_OF_MODE = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def unusable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file, or ``None`` when it can.

    A regular file must open and yield its first byte: this catches missing
    permissions and I/O errors before any work is planned.  Anything else (a
    named pipe, a device, a socket) is refused without being opened, since
    reading it could block or never end.
    """
    try:
        mode = path.stat().st_mode
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KIND_OF_MODE if test(mode)), "a special file")
        return f"not a regular file ({kind})"
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"
    return None


def _walk(root: Path, exclude: Path | None, found: Discovery) -> None:
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs.sort()
        # Never read our own output back as input, nor hidden folders (.git, .work).
        dirs[:] = [
            d for d in dirs if not d.startswith(".") and (exclude is None or here / d != exclude)
        ]
        for name in dirs:
            if (here / name).is_symlink():  # os.walk does not enter it; say so
                found.skipped.append(
                    SkippedInput(str(here / name), "symbolic link to a folder (not followed)")
                )
        for name in sorted(names):
            candidate = here / name
            if name.startswith("."):
                continue
            if candidate.is_symlink():
                try:
                    target = candidate.resolve(strict=True)
                except (OSError, RuntimeError):
                    found.skipped.append(
                        SkippedInput(str(candidate), "broken symbolic link or loop")
                    )
                    continue
                if not target.is_relative_to(root):
                    found.skipped.append(
                        SkippedInput(str(candidate), "symbolic link points outside the input root")
                    )
                    continue
            if source_format_of(candidate) is None:
                found.skipped.append(SkippedInput(str(candidate), "unsupported file type"))
                continue
            problem = unusable_reason(candidate)
            if problem is not None:
                found.skipped.append(SkippedInput(str(candidate), problem))
                continue
            entry = _input_file(candidate, root)
            if entry is not None:
                found.files.append(entry)


def discover_inputs(paths: list[Path], exclude: Path | None = None) -> Discovery:
    """All supported files under ``paths``; raises InputError for a path that cannot be used."""
    found = Discovery()
    exclude = exclude.resolve() if exclude is not None else None
    for given in paths:
        if not given.exists():
            raise InputError(f"input path does not exist: {given}")
        path = given.resolve()
        if path.is_dir():
            _walk(path, exclude, found)
        else:
            entry = _input_file(path, path.parent)
            if entry is None:
                raise InputError(
                    f"unsupported input file type: {given} "
                    "(expected .txt, .html, .htm, .jsonl, .jsonl.gz or .parquet)"
                )
            problem = unusable_reason(path)
            if problem is not None:
                raise InputError(f"input file {given} {_as_clause(problem)}")
            found.files.append(entry)
    unique = {f.path: f for f in found.files}  # a file named twice is read once
    found.files = sorted(unique.values(), key=lambda f: (str(f.root), f.source_path))
    return found


def _as_clause(problem: str) -> str:
    # "not a regular file (a named pipe)" -> "is not a regular file (a named pipe)"
    return problem if problem.startswith("cannot") else f"is {problem}"


@dataclass(frozen=True)
class Shard:
    shard_id: str
    files: tuple[InputFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def plan_shards(files: list[InputFile], max_bytes: int) -> list[Shard]:
    """Group consecutive files into shards of at most ``max_bytes`` (a bigger file is its own shard).

    The shard id hashes the files' paths, sizes and modification times, so an
    unchanged group of files keeps its id from one run to the next.
    """
    groups: list[list[InputFile]] = []
    size = 0
    for entry in files:
        if not groups or size + entry.size > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += entry.size
    return [
        Shard(
            shard_id=hashlib.sha256("\n".join(f.fingerprint() for f in group).encode()).hexdigest()[
                :16
            ],
            files=tuple(group),
        )
        for group in groups
    ]
