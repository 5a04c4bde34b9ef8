"""Research benchmarks with their grids (configs/), and reading their finished results."""
