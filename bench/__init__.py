"""Benchmarks and developer tools, run as modules from the repository root.

  python -m bench.speed.step_speed --lengths=16,32    # speed against PyTorch
  python -m bench.research.detectors --grid=configs/detectors.py:cpu --out=runs/bench/det

Groups: `speed` (ours against PyTorch, profiles, what XLA does), `parity`
(the same numbers as PyTorch and peer packages), `research` (benchmarks
with their grids, and reading their results), `tools` (golden outputs,
config dumps, every speed bench in one command, explorer screenshots),
`examples` (using the library from someone else's training). Every
script takes --name=value flags (`bench.cli`) and writes its results
with `bench.output`.
"""
import pathlib

# The repository root: where jobs run and relative paths in configs resolve.
ROOT = pathlib.Path(__file__).resolve().parent.parent
