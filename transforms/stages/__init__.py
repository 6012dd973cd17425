"""The batch stages: each turns a batch of documents into kept rows, rejected rows and tallies."""
