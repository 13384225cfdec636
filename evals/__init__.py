"""Retrieval and answer-quality evaluation."""
