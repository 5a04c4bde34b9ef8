"""Examples: the library used from someone else's training loop."""
