"""The training loop and what it stands on (checkpoints, writers, guards)."""
