"""Every ```python block of README.md and docs/*.md runs as written (issue 35).

Each block runs in a fresh namespace (exec, in this process: the package and
its compiled programs are loaded once), in its own temporary working
directory, with the repository root importable. Markdown may mark a block on
the line right before its fence, in an HTML comment (invisible on the page):

  <!-- snippet: skip (why it cannot run here) -->    not run; listed with its reason
  <!-- snippet: workdir PATH (what it stands for) --> a small made-up finished
      AUM workdir (the logits our jobs keep) is written at PATH first
  <!-- snippet: data (why) -->                       uses ../shared/data: skipped
      with a reason when that is absent
  <!-- snippet: job (why) -->                        runs a whole job: in the
      job tier (pytest -m job, tests/conftest.py), not the quick suite

Blocks of other languages (bash, plain text) are not run. A failure names
the block as file:line (the line of its opening fence).
"""
import contextlib
import dataclasses
import glob
import os
import re
import sys
import traceback

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SKIPS = 2  # Skips must stay rare: prefer a snippet that runs in seconds.
_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
_MARK = re.compile(r"^\s*<!--\s*snippet:\s*(skip|workdir|data|job)\b\s*(.*?)\s*-->\s*$")


@dataclasses.dataclass
class Snippet:
  where: str  # file:line of the opening fence, the file relative to the root.
  code: str
  mark: str = ""  # skip, workdir, data, job or "".
  detail: str = ""  # The mark's text: a reason, or "PATH (reason)" for workdir.


def extract(text, name):
  """The ```python blocks of markdown `text` (from file `name`), in order."""
  lines = text.splitlines()
  out, i = [], 0
  while i < len(lines):
    m = _FENCE.match(lines[i])
    if not m:
      i += 1
      continue
    indent, fence, lang = m.groups()
    start, body = i, []
    i += 1
    while i < len(lines) and not lines[i].strip().startswith(fence[0] * len(fence)):
      body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
      i += 1
    i += 1  # The closing fence.
    if lang.lower() not in ("python", "py", "python3"):
      continue
    mark = _MARK.match(lines[start - 1]) if start else None
    out.append(Snippet(f"{name}:{start + 1}", "\n".join(body) + "\n",
                       *(mark.groups() if mark else ("", ""))))
  return out


def markdown_files():
  return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs",
                                                                            "*.md")))


def all_snippets():
  out = []
  for path in markdown_files():
    with open(path, encoding="utf-8") as f:
      out += extract(f.read(), os.path.relpath(path, ROOT))
  return out


@contextlib.contextmanager
def _in_folder(folder):
  old, path = os.getcwd(), list(sys.path)
  os.chdir(folder)
  if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
  try:
    yield
  finally:
    os.chdir(old)
    sys.path[:] = path


def run(snippet, folder):
  """Runs `snippet` in `folder`; None, or the failure as 'file:line: traceback'."""
  try:
    compiled = compile(snippet.code, snippet.where, "exec")
  except SyntaxError as e:
    return f"{snippet.where}: {type(e).__name__}: {e}"
  with _in_folder(folder):
    try:
      exec(compiled, {"__name__": "__snippet__"})  # pylint: disable=exec-used
    except Exception as e:  # pylint: disable=broad-except
      # The snippet's own lines: fence line + line within the block.
      file, fence = snippet.where.rsplit(":", 1)
      lines = [f"{file}:{int(fence) + fr.lineno}" for fr in traceback.extract_tb(
          e.__traceback__) if fr.filename == snippet.where]
      at = lines[-1] if lines else snippet.where
      return f"{at}: {type(e).__name__}: {e}"
  return None


def made_up_aum_workdir(folder, n=60, num_classes=2, epochs=3, seed=0):
  """The files `analyze.load` reads of a finished AUM job: each run's
  aum_run<r>/dynamics.npz (logits_ENC, threshold_idx) and noise.npz (given)."""
  from noisy_meta import analyze  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(seed)
  given = rng.integers(0, num_classes, n)
  for r, thr in enumerate(analyze.threshold_ids(given, num_classes, seed=seed), 1):
    os.makedirs(os.path.join(folder, f"aum_run{r}"), exist_ok=True)
    logits = rng.normal(size=(epochs, n, num_classes + 1)).astype(np.float32)
    np.savez(os.path.join(folder, f"aum_run{r}", "dynamics.npz"), logits_ENC=logits,
             threshold_idx=thr)
  np.savez(os.path.join(folder, "noise.npz"), given=given, original=given)


SNIPPETS = all_snippets()


@pytest.mark.parametrize("snippet", [
    pytest.param(s, marks=pytest.mark.job) if s.mark == "job" else s for s in SNIPPETS],
                         ids=[s.where for s in SNIPPETS])
def test_snippet_runs_as_written(snippet, tmp_path, request, monkeypatch):
  if snippet.mark == "skip":
    pytest.skip(f"{snippet.where}: marked skip {snippet.detail}")
  if snippet.mark == "data":  # conftest's fixture: skips with a reason when absent.
    monkeypatch.setenv("NOISY_META_DATA_DIR", request.getfixturevalue("data_dir"))
  if snippet.mark == "workdir":
    made_up_aum_workdir(str(tmp_path / snippet.detail.split()[0]))
  failure = run(snippet, str(tmp_path))
  assert failure is None, failure


def test_there_are_snippets_and_few_skips():
  """The docs' Python blocks are found; the skipped ones, with their reasons,
  are listed (pytest -rA shows them) and stay few."""
  assert len(SNIPPETS) >= 4, [s.where for s in SNIPPETS]
  skipped = [f"{s.where}: {s.detail}" for s in SNIPPETS if s.mark == "skip"]
  print("skipped snippets:", *skipped or ["none"], sep="\n  ")
  assert len(skipped) <= MAX_SKIPS, skipped
  assert all(s.detail.startswith("(") for s in SNIPPETS if s.mark == "skip"), (
      "a skip needs its reason: <!-- snippet: skip (reason) -->")


BROKEN = """# A page

Some text.

```bash
echo this is not run
```

```python
x = 1
```

<!-- snippet: skip (needs a GPU) -->
```python
import this_module_does_not_exist
```

```python
y = 2
print(undefined_name)
```
"""


def test_the_checker_fails_on_a_broken_snippet(tmp_path):
  """A block raising NameError is reported with the file and its line."""
  got = extract(BROKEN, "docs/broken.md")
  assert [s.where for s in got] == ["docs/broken.md:9", "docs/broken.md:14",
                                    "docs/broken.md:18"]
  assert got[1].mark == "skip" and got[1].detail == "(needs a GPU)"
  assert run(got[0], str(tmp_path)) is None
  failure = run(got[2], str(tmp_path))
  # The fence is line 18; print(undefined_name) is the block's second line.
  assert failure == ("docs/broken.md:20: NameError: name 'undefined_name' is not defined")
  assert run(Snippet("docs/broken.md:3", "def f(:\n"), str(tmp_path)).startswith(
      "docs/broken.md:3: SyntaxError")


def test_the_snippets_run_in_their_own_folder(tmp_path):
  """A snippet writes into a fresh folder and sees the repository's packages."""
  snippet = Snippet("x.md:1", "import configs, noisy_meta\nopen('out.txt', 'w').write('hi')\n")
  assert run(snippet, str(tmp_path)) is None
  assert (tmp_path / "out.txt").read_text() == "hi"
  assert not os.path.exists(os.path.join(os.getcwd(), "out.txt")) or os.getcwd() == str(tmp_path)
