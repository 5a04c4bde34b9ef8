r"""Golden outputs of the `:runlocal` jobs: did a refactoring change any number?

  python -m bench.tools.golden --mode=run --dir=/tmp/golden_new       # the five smoke jobs
  python -m bench.tools.golden --mode=save --dir=/tmp/golden_new      # write golden_runlocal.json
  python -m bench.tools.golden --mode=compare --dir=/tmp/golden_new   # list every difference
  python -m bench.tools.golden --mode=run --dir=/tmp/g --jobs=re_semeval_cgcn   # some jobs only
                                                         # (compare: the jobs the dir holds)

`save` digests the artifacts that carry results (metrics.json, metrics.jsonl
as one hash per logged key, summary.json, results.json, examples.csv, answer
files, dynamics and noise arrays, train row lists) into one JSON file kept in
git. Numbers and label
names are stored as values, so a difference names the field and both values;
text files and CSV columns are stored as sha256 (the CSV holds sentences from
the data, which never enter the repo). Wall-clock fields (`*seconds`,
`*_per_sec`) are left out: they are the only thing meant to change. The
digest is of one machine's float arithmetic (XLA CPU, this jax version): on
other hardware compare two runs made there, not against the file in git.
"""
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

from absl import flags
import numpy as np

import bench
from bench import cli
from bench import output

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden_runlocal.json"
# The `:runlocal` jobs (issue 15), each with its default seed 0.
JOBS = {
    "finetune_cola": "configs/finetune_cola.py:runlocal",
    "aum_cola": "configs/aum_cola.py:runlocal",
    "re_semeval_pa_lstm": "configs/re_semeval.py:model=pa_lstm,runlocal",
    "re_semeval_cgcn": "configs/re_semeval.py:model=cgcn,runlocal",
    "mlrc_semeval": "configs/mlrc_semeval.py:runlocal",
}
JSON_FILES = ("metrics.json", "summary.json", "results.json")
TEXT_FILES = ("test_predictions.txt", "test_key.txt", "dev_ids.txt",
              "train_rows.txt")
VOLATILE = re.compile(r"(seconds|_per_sec)$")


def _sha(data):
  return hashlib.sha256(data).hexdigest()[:16]


def _strip(obj):
  """Drops wall-clock keys, recursively."""
  if isinstance(obj, dict):
    return {k: _strip(v) for k, v in obj.items() if not VOLATILE.search(k)}
  if isinstance(obj, list):
    return [_strip(v) for v in obj]
  return obj


def _jsonl_series(path):
  """sha256 of each logged key's (step, value) series: a difference names the key."""
  series = {}
  for line in path.read_text().splitlines():
    row = _strip(json.loads(line))
    for k, v in row.items():
      if k != "step":
        series.setdefault(k, []).append((row.get("step"), v))
  return {k: f"{len(v)} rows:" + _sha(json.dumps(v).encode()) for k, v in sorted(series.items())}


def _csv_columns(path, data_dir):
  """sha256 of each column; the data dir in `source` becomes `$DATA`."""
  import csv
  with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
  header, body = rows[0], rows[1:]
  out = {"rows": len(body)}
  for j, name in enumerate(header):
    column = [r[j] for r in body]
    if name == "source" and data_dir:
      column = [c.replace(data_dir, "$DATA") for c in column]
    out[name] = _sha("\n".join(column).encode())
  return out


def _npz(path):
  with np.load(path) as z:
    return {k: f"{z[k].dtype}{list(z[k].shape)}:{_sha(z[k].tobytes())}"
            for k in sorted(z.files)}


def digest(root):
  """{job/relative/path: digest} for every result-bearing file under root."""
  root = pathlib.Path(root)
  data_dir = os.path.realpath(os.environ.get("NOISY_META_DATA_DIR", "")) or None
  out = {}
  for path in sorted(root.rglob("*")):
    if not path.is_file() or "ckpt" in path.parts:
      continue
    rel, name = path.relative_to(root).as_posix(), path.name
    if name in JSON_FILES:
      out[rel] = _strip(json.loads(path.read_text()))
    elif name == "metrics.jsonl":
      out[rel] = _jsonl_series(path)
    elif name in TEXT_FILES:
      out[rel] = _sha(path.read_bytes())
    elif name == "examples.csv":
      out[rel] = _csv_columns(path, data_dir)
    elif name.endswith(".npz"):
      out[rel] = _npz(path)
  return out


def _diff(old, new, where, out):
  if isinstance(old, dict) and isinstance(new, dict):
    for k in sorted(set(old) | set(new)):
      if k not in new:
        out.append(f"{where}/{k}: missing in the new run")
      elif k not in old:
        out.append(f"{where}/{k}: new (not in the golden outputs)")
      else:
        _diff(old[k], new[k], f"{where}/{k}", out)
  elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
    for i, (a, b) in enumerate(zip(old, new)):
      _diff(a, b, f"{where}[{i}]", out)
  elif old != new:
    out.append(f"{where}: {json.dumps(old)[:120]} -> {json.dumps(new)[:120]}")


def compare(old, new):
  """Every difference between two digests, one line each."""
  out = []
  _diff(old, new, "", out)
  return [line[1:] for line in out]


def run(out_dir, names=()):
  for name in names or JOBS:
    config = JOBS[name]
    workdir = pathlib.Path(out_dir) / name
    print(f"{name}: {config}", flush=True)
    subprocess.run([sys.executable, "-m", "noisy_meta.main", f"--config={config}",
                    f"--workdir={workdir}"], cwd=bench.ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def define_flags(fv):
  flags.DEFINE_enum("mode", None, ["run", "save", "compare"], "run: the jobs into --dir; "
                    "save: their digest becomes the golden file; compare: list every "
                    "difference from it.", flag_values=fv)
  flags.DEFINE_string("dir", None, "The jobs' folder (one workdir per job).", flag_values=fv)
  flags.DEFINE_list("jobs", [], f"--mode=run: these jobs only ({', '.join(JOBS)}).",
                    flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("mode", "dir"))
  unknown = [n for n in args.jobs if n not in JOBS]
  if unknown:
    sys.exit(f"error: --jobs: unknown job {', '.join(unknown)}; use {', '.join(JOBS)}.")
  root = args.dir
  if args.mode == "run":
    run(root, args.jobs)
    output.done(root)
  elif args.mode == "save":
    output.done(output.write(GOLDEN, json.dumps(digest(root), indent=1, sort_keys=True) + "\n"))
  else:
    jobs = {p.name for p in pathlib.Path(root).iterdir() if p.name in JOBS}
    golden = {k: v for k, v in json.loads(GOLDEN.read_text()).items()
              if k.split("/")[0] in jobs}
    lines = compare(golden, digest(root))
    for line in lines:
      print(line)
    print(f"{len(lines)} difference(s) between {root} and {GOLDEN.name}")
    sys.exit(1 if lines else 0)


if __name__ == "__main__":
  cli.run(main)
