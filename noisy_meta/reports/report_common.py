"""What every report shares: the smoke-run line, metric names, Markdown tables."""
import json
import os

NAMES = {"mcc": "MCC", "accuracy": "accuracy", "dev_best_f1": "F1 (official, best-dev epoch)",
         "test_f1": "test F1 (official, best-dev epoch)"}
# The first line under a report's title when the job was a :runlocal smoke run.
SMOKE_RUN = ("**Smoke run (`:runlocal`)**: tiny data and one or two epochs, to check that "
             "the job runs end to end; its numbers are not results.")


def smoke_lines(config):
  """[SMOKE_RUN, ""] for a :runlocal job, else []."""
  return [SMOKE_RUN, ""] if config.runlocal else []


def warning_lines(warnings):
  """A report's "Data warnings" section: what the readers found odd but
  usable (a dev file that repeats train, a class without examples, ...)."""
  if not warnings:
    return []
  return ["## Data warnings", ""] + [f"- {w}" for w in warnings] + [""]


def table(header, rows):
  """A Markdown table's lines; `|` in a cell is escaped, newlines become spaces."""
  cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")
  return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
          + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows])


def read_json(workdir, *path):
  """A JSON file of a workdir (config.json, summary.json, results.json, ...)."""
  with open(os.path.join(workdir, *path), encoding="utf-8") as f:
    return json.load(f)
