"""Deduplication: canonical form, MinHash, exact hashes, LSH bands, verification, clusters."""
