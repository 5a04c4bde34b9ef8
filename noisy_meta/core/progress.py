"""Progress of long loops: a log line with rate and ETA, and on an
interactive terminal a tqdm bar.

The log lines (every `log_every` steps, each finished stage) carry progress
into files and CI logs. The bar is drawn only when stderr is a terminal, so
logs stay clean otherwise; NOISY_META_PROGRESS=0 turns it off, =1 on.
"""
import os
import sys
import time


def _fmt(seconds):
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def interactive(stream):
  """Whether to draw a bar on `stream`: NOISY_META_PROGRESS, else a TTY."""
  forced = os.environ.get("NOISY_META_PROGRESS", "")
  if forced in ("0", "1"):
    return forced == "1"
  isatty = getattr(stream, "isatty", None)
  return bool(isatty and isatty())


class Progress:
  """Measures steps/s since the last report and estimates the time left;
  `advance` moves the terminal bar (one per stage, e.g. a training run)."""

  def __init__(self, total, start=0, unit="steps", desc="", stream=None):
    self.total, self.unit = total, unit
    self.t0 = self.t_last = time.perf_counter()
    self.start = self.last = start
    self.bar = None
    stream = stream or sys.stderr
    if interactive(stream):
      import tqdm  # pylint: disable=g-import-not-at-top
      self.bar = tqdm.tqdm(total=total, initial=start, desc=desc or None,
                           unit=unit.rstrip("s") or unit, file=stream, dynamic_ncols=True,
                           mininterval=0.5, leave=True)

  def advance(self, step):
    """The bar to `step` of `total` (nothing without a bar)."""
    if self.bar is not None and step > self.bar.n:
      self.bar.update(step - self.bar.n)
      if step >= self.total:
        self.close()

  def close(self):
    if self.bar is not None:
      self.bar.close()
      self.bar = None

  def line(self, step):
    self.advance(step)
    now = time.perf_counter()
    rate = (step - self.last) / max(now - self.t_last, 1e-9)
    overall = (step - self.start) / max(now - self.t0, 1e-9)
    self.t_last, self.last = now, step
    eta = (self.total - step) / overall if overall > 0 else float("inf")
    return (f"{step}/{self.total} {self.unit} | {rate:.2f} {self.unit}/s | "
            f"ETA {_fmt(eta) if eta != float('inf') else '?'}"), rate

  def elapsed(self):
    return time.perf_counter() - self.t0
