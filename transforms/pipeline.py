"""The pipeline: the ordered list of stages every shard goes through.

Each stage's name is also its module (``transforms.stages.<name>``), its
section of the configuration (``[<name>]``), its key in ``stats.json`` and the
word in its Prefect task's name.  The shard jobs run this list; the flow, the
run's statistics, the Prefect artifact, the dataset card and the README
follow its order.

Adding a stage is one module in ``transforms/stages/``, one entry here, one
config section of the same name in ``transforms.config`` and its tests.

``dedup`` is the one stage that needs every shard before it can decide: the
shard jobs run the stages before it (``BEFORE_DEDUP``), the cross-shard dedup
jobs run, and then the shard jobs run the rest (``FROM_DEDUP``).
"""

from __future__ import annotations

from transforms.stage import Stage
from transforms.stages.dedup import drop_duplicates
from transforms.stages.extract import extract_files
from transforms.stages.html_strip import strip_html_batch
from transforms.stages.news import news_batch
from transforms.stages.normalize import normalize_batch
from transforms.stages.quality import quality_batch
from transforms.stages.segment import segment_batch
from transforms.stages.write import write_shard

STAGES: tuple[Stage, ...] = (
    Stage("extract", extract_files, role="source"),
    Stage("html_strip", strip_html_batch),
    Stage("normalize", normalize_batch),
    Stage("news", news_batch),
    Stage("quality", quality_batch),
    Stage("dedup", drop_duplicates),
    Stage("segment", segment_batch),
    Stage("write", write_shard, role="sink"),
)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)

_DEDUP = STAGE_NAMES.index("dedup")
BEFORE_DEDUP: tuple[Stage, ...] = STAGES[:_DEDUP]
FROM_DEDUP: tuple[Stage, ...] = STAGES[_DEDUP:]
