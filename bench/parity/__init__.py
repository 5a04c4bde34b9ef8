"""Parity: our numbers against PyTorch and peer packages (`aum`, cleanlab) on the same data."""
