"""Batching rules of sorts, order statistics and value-reading reductions along dims."""
