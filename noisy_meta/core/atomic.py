"""Atomic file writes: a temporary file in the same folder, then a rename.

A crash (SIGKILL, full disk) leaves either the old file or the new one,
never a truncated file under the final name; the temporary file of a write
that failed is removed.
"""
import contextlib
import os


@contextlib.contextmanager
def path(final, suffix=""):
  """Yields a temporary path next to `final`; renamed onto it on success.

  `suffix` keeps the extension that writers infer the format from
  (np.savez appends ".npz", savefig reads ".png").
  """
  folder, name = os.path.split(os.path.abspath(final))
  tmp = os.path.join(folder, f".{name}.tmp{os.getpid()}{suffix}")
  try:
    yield tmp
    os.replace(tmp, final)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise


def write_text(final, text, newline=None):
  """Writes `text` (UTF-8) to `final` atomically."""
  with path(final) as tmp:
    with open(tmp, "w", encoding="utf-8", newline=newline) as f:
      f.write(text)
