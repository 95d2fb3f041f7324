"""Batching rules of the linear-algebra primitives and functions beyond linalg.py."""
