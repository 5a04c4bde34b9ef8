"""The package's rooms: modules of one idea (at most 450 lines), imports that
form a DAG, and no method probing a learner for attributes (issue 32)."""
import ast
import graphlib
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "noisy_meta"


def _modules():
  """{dotted name: path} of every module in the package."""
  out = {}
  for path in sorted(PACKAGE.rglob("*.py")):
    parts = path.relative_to(ROOT).with_suffix("").parts
    out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
  return out


def import_graph():
  """{module: the package modules it imports}, imports inside functions included."""
  modules = _modules()
  graph = {}
  for name, path in modules.items():
    deps = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        # `from a import b`: module a.b when it is one, else a.
        targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                   else node.module for a in node.names]
      else:
        continue
      deps |= {t for t in targets if t in modules and t != name}
    graph[name] = deps
  return graph


def test_no_module_over_450_lines():
  long = {str(p.relative_to(ROOT)): n for p in _modules().values()
          if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
  assert long == {}


def test_imports_form_a_dag():
  graph = import_graph()
  assert len(graph) > 40 and "noisy_meta.core.loop" in graph["noisy_meta.trainers.supervised"]
  # A package __init__ that imports its modules lazily (registries) is not an
  # edge back: registries name modules as strings.
  list(graphlib.TopologicalSorter(graph).static_order())  # CycleError on a circle.


def test_the_graph_sees_a_circle():
  """The check above can fail: a made-up back edge is a circle."""
  graph = import_graph()
  graph["noisy_meta.core.parallel"] = graph["noisy_meta.core.parallel"] | {
      "noisy_meta.core.loop"}
  try:
    list(graphlib.TopologicalSorter(graph).static_order())
  except graphlib.CycleError:
    return
  raise AssertionError("a circle went unseen")


def test_the_core_knows_no_method_and_no_learner_is_probed():
  found = []
  for path in _modules().values():
    rel = path.relative_to(ROOT).as_posix()
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
      if re.search(r"hasattr\(|getattr\((self\.)?learner", line):
        found.append(f"{rel}:{i}: {line.strip()}")
      if rel.startswith("noisy_meta/core/") and re.search(
          r"config\.(aum|mlrc|meta|clean|detect|noise)\b|from noisy_meta(\.| import )"
          r"(trainers|reports|detectors)", line):
        found.append(f"{rel}:{i}: {line.strip()}")
  assert found == []
