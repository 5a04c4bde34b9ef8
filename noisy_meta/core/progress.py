"""A progress line with rate and ETA for long loops."""
import time


def _fmt(seconds):
  seconds = int(max(seconds, 0))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
  """Measures steps/s since the last report and estimates the time left."""

  def __init__(self, total, start=0, unit="steps"):
    self.total, self.unit = total, unit
    self.t0 = self.t_last = time.perf_counter()
    self.start = self.last = start

  def line(self, step):
    now = time.perf_counter()
    rate = (step - self.last) / max(now - self.t_last, 1e-9)
    overall = (step - self.start) / max(now - self.t0, 1e-9)
    self.t_last, self.last = now, step
    eta = (self.total - step) / overall if overall > 0 else float("inf")
    return (f"{step}/{self.total} {self.unit} | {rate:.2f} {self.unit}/s | "
            f"ETA {_fmt(eta) if eta != float('inf') else '?'}"), rate

  def elapsed(self):
    return time.perf_counter() - self.t0
