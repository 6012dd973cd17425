"""Prefect flows, configuration loading and the ``zhclean`` command line."""
