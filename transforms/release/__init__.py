"""Releases: immutable, verifiable snapshots of a dataset with a dataset card."""
