"""Where the tests find the repository and its bundled sample, from any folder of the tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
