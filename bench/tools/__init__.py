"""Developer tools: golden outputs, config dumps, every speed bench in one command, screenshots."""
