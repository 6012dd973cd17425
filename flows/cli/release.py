"""``zhclean release``, ``verify`` and ``publish``: versioned, verifiable snapshots of a dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flows.cli.common import fail, one_line, write_error_log
from transforms.config import ConfigError, PipelineConfig, load_config
from transforms.release.manifest import InvalidVersion, ReleaseError, validate_version


def add_parsers(commands: Any) -> None:
    _add_release(commands)
    _add_verify(commands)
    _add_publish(commands)


def _add_release(commands: Any) -> None:
    release = commands.add_parser(
        "release",
        help="snapshot the dataset as a versioned, verifiable release",
        description=(
            "Copy <output>/data (and with --with-rejected <output>/rejected) into "
            "<output>/releases/VERSION/ with a manifest (sizes, rows, SHA-256, schema, runs), "
            "a dataset card (README.md with plots) and CHANGES.md. A version is made once: "
            "releasing it again fails. Credentials for --publish come from the environment."
        ),
    )
    release.add_argument(
        "--version",
        required=True,
        metavar="VERSION",
        help="release name: letters, digits and . _ + - (e.g. 2026.11.1 or v3)",
    )
    release.add_argument("--output", "-o", type=Path, help="dataset folder (default: output)")
    release.add_argument(
        "--config", "-c", type=Path, help="TOML file (release.* and write.* settings)"
    )
    release.add_argument(
        "--with-rejected",
        action="store_true",
        default=None,
        help="also put the rejected documents into the release (default: release.include_rejected)",
    )
    release.add_argument(
        "--publish",
        metavar="URL",
        help="then copy the release to URL/VERSION (s3://bucket/prefix or a folder) and verify it",
    )
    release.add_argument("--quiet", "-q", action="store_true", help="no summary line")
    release.set_defaults(command_function=command_release)


def _add_verify(commands: Any) -> None:
    verify = commands.add_parser(
        "verify",
        help="check a release's files against its manifest",
        description=(
            "Recompute the size, SHA-256, rows and schema of every file of a release (a folder "
            "or an fsspec URL such as s3://bucket/prefix/VERSION) and refuse files the manifest "
            "does not list. Exits 1 naming the first mismatch."
        ),
    )
    verify.add_argument("release", metavar="RELEASE", help="release folder or URL")
    verify.add_argument(
        "--config", "-c", type=Path, help="TOML file (release.storage_options for URLs)"
    )
    verify.add_argument("--quiet", "-q", action="store_true", help="no summary line")
    verify.set_defaults(command_function=command_verify)


def _add_publish(commands: Any) -> None:
    publish = commands.add_parser(
        "publish",
        help="copy an existing release to a URL and verify the copy",
        description=(
            "Copy the release folder RELEASE to URL/VERSION (manifest.json last) and verify the "
            "copy; what `zhclean release --publish` does, for a release made earlier."
        ),
    )
    publish.add_argument("release", type=Path, metavar="RELEASE", help="release folder")
    publish.add_argument("url", metavar="URL", help="s3://bucket/prefix, a folder, any fsspec URL")
    publish.add_argument(
        "--config", "-c", type=Path, help="TOML file (release.storage_options for the URL)"
    )
    publish.add_argument("--quiet", "-q", action="store_true", help="no summary line")
    publish.set_defaults(command_function=command_publish)


def _release_config(args: argparse.Namespace) -> PipelineConfig:
    overrides = {"output": str(args.output)} if getattr(args, "output", None) else {}
    return load_config(args.config, overrides)


def command_release(args: argparse.Namespace) -> int:
    from transforms.release.build import create_release  # matplotlib: only for releases
    from transforms.release.store import InvalidLocation, check_url

    try:
        config = _release_config(args)
        validate_version(args.version)
        if args.publish:
            check_url(args.publish)
    except (ConfigError, InvalidVersion, InvalidLocation) as err:
        return fail(str(err))
    if not (config.output / "data").is_dir():
        return fail(f"no dataset in {config.output} (run `zhclean run` first)", status=1)
    from transforms.engine.lock import OutputLocked, output_lock

    try:
        with output_lock(config.output):
            release = create_release(
                config.output, args.version, config, include_rejected=args.with_rejected
            )
    except (OutputLocked, ReleaseError) as err:
        return fail(one_line(err), status=1)
    except Exception as err:
        log = write_error_log(config.output)
        return fail(
            f"release failed: {type(err).__name__}: {one_line(err)} (traceback in {log})", 1
        )
    if not args.quiet:
        data = release.files("data")
        size = sum(f["bytes"] for f in data)
        print(
            f"zhclean: release {release.version}: {release.documents:,} documents in "
            f"{len(data)} data file(s), {size:,} bytes -> {release.path}"
        )
    if args.publish:
        return _publish(release.path, args.publish, config, args.quiet)
    return 0


def _publish(release_dir: Path, url: str, config: PipelineConfig, quiet: bool) -> int:
    from transforms.release.store import publish_release

    try:
        verified = publish_release(release_dir, url, config.release.storage_options)
    except ReleaseError as err:
        return fail(f"publish failed: {one_line(err)}", status=1)
    except Exception as err:  # network, permissions, missing bucket: say what, in one line
        return fail(
            f"publish of {release_dir} to {url} failed: {type(err).__name__}: {one_line(err)}",
            status=1,
        )
    if not quiet:
        print(f"zhclean: published to {verified.location} and verified: {verified.files} files")
    return 0


def command_publish(args: argparse.Namespace) -> int:
    from transforms.release.store import InvalidLocation, check_url

    try:
        config = _release_config(args)
        check_url(args.url)
    except (ConfigError, InvalidLocation) as err:
        return fail(str(err))
    return _publish(args.release, args.url, config, args.quiet)


def command_verify(args: argparse.Namespace) -> int:
    from transforms.release.store import verify_release

    try:
        config = _release_config(args)
    except ConfigError as err:
        return fail(str(err))
    try:
        verified = verify_release(args.release, config.release.storage_options)
    except ReleaseError as err:
        return fail(f"release does not verify: {one_line(err)}", status=1)
    except Exception as err:
        return fail(f"cannot verify {args.release}: {type(err).__name__}: {one_line(err)}", 1)
    if not args.quiet:
        print(f"zhclean: {verified.summary()}")
    return 0
