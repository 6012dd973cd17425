"""The run's Prefect artifact: its counts per stage and reason, as markdown."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact

ARTIFACT_KEY = "zhclean-run-summary"


def summary_markdown(stats: dict[str, Any]) -> str:
    """The run's ``stats.json`` for a person: documents, each stage in order, failures, reasons."""
    docs = stats["documents"]
    lines = [
        f"# zhclean run {stats['run_id']}",
        "",
        f"{docs['extracted']} documents extracted from {stats['inputs']['files']} files: "
        f"**{docs['kept']} kept**, {docs['rejected']} rejected "
        f"(extracted == kept + rejected: {'yes' if docs['balanced'] else '**NO**'}).",
        "",
        "| stage | in | kept | rejected | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, counts in stats["stages"].items():
        rejected = ", ".join(f"{r} {n}" for r, n in counts["rejected"].items()) or "0"
        lines.append(
            f"| {name} | {counts['input']} | {counts['kept']} | {rejected} | {counts['seconds']:.2f} |"
        )
    failures = [
        (f"shard {f['shard_id']} ({', '.join(f['files'])})", f["error"])
        for f in stats["failed_shards"]
    ] + [(f"input {f['path']}", f["error"]) for f in stats["failed_inputs"]]
    if failures:
        lines += ["", "**Failed** (not in this run's counts; the next run tries them again):", ""]
        lines += [f"- {what}: {error}" for what, error in failures]
    lines += ["", "| reason | documents |", "|---|---:|"]
    lines += [f"| {reason} | {n} |" for reason, n in stats["rejected_by_reason"].items()] or [
        "| (none) | 0 |"
    ]
    return "\n".join([*lines, *news_markdown(stats["news"])])


def news_markdown(news: dict[str, Any]) -> list[str]:
    """The kept documents' datelines, and their commonest agencies and places."""
    documents, dated = news["documents"], news["with_dateline"]
    share = f" ({dated / documents:.1%})" if documents else ""
    lines = [
        "",
        "## News structure",
        "",
        f"{dated} of {documents} kept documents have a dateline{share}; "
        f"{news['with_agency']} name their agency.",
    ]
    for title, rows in (("agency", news["top_agencies"]), ("place", news["top_places"])):
        if rows:
            lines += ["", f"| {title} | documents |", "|---|---:|"]
            lines += [f"| {value} | {n} |" for value, n in rows]
    return lines


def publish_summary(stats: dict[str, Any]) -> None:
    create_markdown_artifact(
        summary_markdown(stats), key=ARTIFACT_KEY, description="zhclean counts per stage"
    )
