"""Flax models and checkpoint import."""
