"""Pure stages of the zhclean pipeline and the engine that runs them over files. No Prefect here."""

from importlib.metadata import PackageNotFoundError, version


def zhclean_version() -> str:
    """The installed zhclean's version (``unknown`` when run from a tree that is not installed)."""
    try:
        return version("zhclean")
    except PackageNotFoundError:
        return "unknown"
