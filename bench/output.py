"""What every bench result carries: the machine and date, files written one
way, and a last line saying where they are.

  lines = ["# My bench", "", output.stamp("jax", "torch"), "", ...]
  output.publish("\n".join(lines) + "\n", flags.out)   # print; --out: write, say where
"""
import datetime
import importlib
import os
import platform


def cpu_name():
  """The processor's model name (/proc/cpuinfo), else what platform knows."""
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def stamp(*packages):
  """The line under every result's title: machine, cores, load, versions, date.

  `packages`: names of the packages the figures depend on, each with its
  version; jax also with its backend (and, off CPU, the device's kind).
  """
  versions = []
  for name in packages:
    module = importlib.import_module(name)
    version = f"{name} {module.__version__}"
    if name == "jax":
      backend = module.default_backend()
      device = "" if backend == "cpu" else f", {module.devices()[0].device_kind}"
      version += f" ({backend}{device})"
    versions.append(version)
  load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
  now = datetime.datetime.now(datetime.timezone.utc)
  return (f"Machine: {cpu_name()}, {platform.machine()}, {os.cpu_count()} cores (load "
          f"average {load}); " + "; ".join(versions + [f"Python {platform.python_version()}"])
          + f"; {now:%Y-%m-%d %H:%M} UTC.")


def write(path, content):
  """Writes `content` to `path` atomically, folders made: a str as it is,
  anything else as strict JSON (no NaN; sorted keys). Returns `path`."""
  from noisy_meta.core import writers  # pylint: disable=g-import-not-at-top
  # (Imported here: some benches pin cores or set XLA_FLAGS before jax loads.)
  path = os.fspath(path)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if isinstance(content, str):
    writers.write_text(path, content)
  else:
    writers.write_json(path, content)
  return path


def replace_between(path, begin, end, text):
  """Rewrites the part of file `path` between the marker lines `begin` and
  `end` (a page's generated tables) with `text`; returns `path`. A page
  without the markers is one line on exit."""
  import re  # pylint: disable=g-import-not-at-top
  with open(path, encoding="utf-8") as f:
    doc = f.read()
  pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
  if not pattern.search(doc):
    raise SystemExit(f"{path} lacks the markers {begin} ... {end}.")
  return write(path, pattern.sub(lambda _: f"{begin}\n{text}{end}", doc))


def done(*paths):
  """The last line of a bench that wrote files: where its results are."""
  print("done: " + ", ".join(os.fspath(p) for p in paths), flush=True)


def publish(text, out=""):
  """Prints a markdown result; with `out` also writes it there and says so last."""
  print(text.rstrip("\n"), flush=True)
  if out:
    done(write(out, text))
