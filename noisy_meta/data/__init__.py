"""Readers, tokenisation and batching."""
