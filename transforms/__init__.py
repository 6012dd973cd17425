"""Pure stages of the zhclean pipeline: batches of documents in, batches out. No Prefect here."""
