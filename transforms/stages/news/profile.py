"""What a set of kept documents says about its news: how many have a dateline, which
agencies and places they come from.  Counted per shard as the shard is written,
added up for the run's ``stats.json`` and its Prefect artifact; the dataset card
counts the same over a release."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

TOP = 10  # agencies and places a summary lists


@dataclass
class NewsProfile:
    documents: int = 0
    with_dateline: int = 0
    agencies: Counter[str] = field(default_factory=Counter)
    places: Counter[str] = field(default_factory=Counter)

    def observe(self, batch: pa.Table | pa.RecordBatch) -> None:
        """Count the documents of ``batch`` (its news columns; absent ones count nothing)."""
        self.documents += batch.num_rows
        names = batch.schema.names
        if "dateline" in names:
            self.with_dateline += pc.count(batch.column("dateline")).as_py()
        for column, counter in (("news_agency", self.agencies), ("news_place", self.places)):
            if column in names:
                for entry in pc.value_counts(batch.column(column).drop_null()).to_pylist():
                    counter[entry["values"]] += entry["counts"]

    def merge(self, other: NewsProfile) -> None:
        self.documents += other.documents
        self.with_dateline += other.with_dateline
        self.agencies.update(other.agencies)
        self.places.update(other.places)

    def to_dict(self) -> dict[str, Any]:
        """Every count, for a shard's record (merged exactly later)."""
        return {
            "documents": self.documents,
            "with_dateline": self.with_dateline,
            "agencies": dict(self.agencies),
            "places": dict(self.places),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewsProfile:
        return cls(
            data["documents"],
            data["with_dateline"],
            Counter(data["agencies"]),
            Counter(data["places"]),
        )

    def summary(self) -> dict[str, Any]:
        """For people: the counts and the ``TOP`` commonest agencies and places."""
        return {
            "documents": self.documents,
            "with_dateline": self.with_dateline,
            "with_agency": sum(self.agencies.values()),
            "top_agencies": _top(self.agencies),
            "top_places": _top(self.places),
        }


def _top(counter: Counter[str]) -> list[list[Any]]:
    """The ``TOP`` commonest values with their counts, ties in the values' order."""
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [[value, n] for value, n in ranked[:TOP]]
