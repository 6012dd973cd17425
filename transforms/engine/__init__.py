"""The run engine: inputs, shard and dedup jobs over the work folder, the dataset's state and commit."""
