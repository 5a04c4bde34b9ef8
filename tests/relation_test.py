"""Relation classification: features, models, the trainer end to end, bad input."""
import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import re_semeval
from configs import re_tacred
from noisy_meta.core import errors
from noisy_meta.data import relation_features as rf
from noisy_meta.models import relation_models as models
from noisy_meta.trainers import supervised

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _example(**kw):
  # "The cat chased a small mouse ." with a tree: chased <- cat <- The,
  # chased <- mouse <- a, small; chased <- .
  ex = dict(id="x", token=["The", "cat", "chased", "a", "small", "mouse", "."],
            subj_start=1, subj_end=1, obj_start=5, obj_end=5, subj_type="ANIMAL",
            obj_type="O", stanford_pos=["DT", "NN", "VBD", "DT", "JJ", "NN", "."],
            stanford_ner=["O"] * 7, stanford_head=[2, 3, 0, 6, 6, 3, 3],
            stanford_deprel=["det", "nsubj", "ROOT", "det", "amod", "dobj", "punct"],
            relation="chases")
  ex.update(kw)
  return ex


def test_positions_masking_and_pruning_by_hand():
  ex = _example()
  assert list(rf.relative_positions(1, 1, 7)) == [-1, 0, 1, 2, 3, 4, 5]
  assert list(rf.relative_positions(4, 5, 7)) == [-4, -3, -2, -1, 0, 0, 1]
  assert rf.masked_tokens(ex)[:3] == ["The", "SUBJ-ANIMAL", "chased"]
  assert rf.masked_tokens(ex)[5] == "OBJ-O"
  assert rf.masked_tokens(ex, mask=False) == ex["token"]
  # Path cat -> chased <- mouse; k=0 keeps it, k=1 adds The, a, small and "."
  heads, kept = rf.pruned_heads(ex, 0)
  assert list(kept) == [False, True, True, False, False, True, False]
  assert list(heads) == [-1, 2, -1, -1, -1, 2, -1]
  heads, kept = rf.pruned_heads(ex, 1)
  assert kept.all() and list(heads) == [1, 2, -1, 5, 5, 2, 2]
  heads, kept = rf.pruned_heads(ex, -1)
  assert kept.all()
  with pytest.raises(ValueError, match="cycle"):
    rf.pruned_heads(_example(stanford_head=[2, 1, 0, 6, 6, 3, 3], subj_start=0,
                             subj_end=0), 1)


def _pruned_by_subtree(ex, k):
  """An independent re-derivation of C-GCN's pruning: breadth-first search
  over undirected edges from the path, restricted to the subtree of the
  entities' lowest common ancestor (found by depths, not by path sets)."""
  heads = [h - 1 for h in ex["stanford_head"]]
  n = len(heads)
  depth = [0] * n
  for i in range(n):
    j = i
    while heads[j] >= 0:
      j, depth[i] = heads[j], depth[i] + 1
  ents = list(range(ex["subj_start"], ex["subj_end"] + 1)) + list(
      range(ex["obj_start"], ex["obj_end"] + 1))
  lca = ents[0]
  for e in ents[1:]:  # Climb the deeper of the two until they meet.
    a, b = lca, e
    while a != b:
      if depth[a] >= depth[b]:
        a = heads[a]
      else:
        b = heads[b]
    lca = a
  children = [[] for _ in range(n)]
  for i, h in enumerate(heads):
    if h >= 0:
      children[h].append(i)
  subtree, stack = set(), [lca]
  while stack:
    u = stack.pop()
    subtree.add(u)
    stack.extend(children[u])
  path = set()
  for e in ents:
    j = e
    while j != lca:
      path.add(j)
      j = heads[j]
  path.add(lca)
  dist, frontier = {u: 0 for u in path}, list(path)
  while frontier:
    nxt = []
    for u in frontier:
      for v in children[u] + ([heads[u]] if u != lca else []):
        if v in subtree and v not in dist:
          dist[v] = dist[u] + 1
          nxt.append(v)
    frontier = nxt
  return np.array([dist.get(i, np.inf) <= k for i in range(n)])  # Unreachable: out.


def test_pruning_stays_under_the_lowest_common_ancestor():
  # "He said the cat chased a mouse": the path cat -> chased <- mouse hangs
  # under "said", which C-GCN's head_to_tree never keeps (nor "He").
  ex = _example(token=["He", "said", "the", "cat", "chased", "a", "mouse"],
                stanford_head=[2, 0, 4, 5, 2, 7, 5], subj_start=3, subj_end=3,
                obj_start=6, obj_end=6, stanford_pos=["PRP"] + ["X"] * 6,
                stanford_ner=["O"] * 7, stanford_deprel=["x"] * 7)
  heads, kept = rf.pruned_heads(ex, 1)
  assert list(kept) == [False, False, True, True, True, True, True]
  assert list(heads) == [-1, -1, 3, 4, -1, 6, 4]  # chased roots the pruned tree.
  heads, kept = rf.pruned_heads(ex, 5)
  assert not kept[:2].any()
  # k at or above the sentence's length: the LCA's whole subtree, still
  # nothing above it (C-GCN's head_to_tree: unreachable is infinitely far).
  for k in (6, 7, 8, 100, 10**9):
    heads, kept = rf.pruned_heads(ex, k)
    assert list(kept) == [False, False, True, True, True, True, True], k
    assert list(heads) == [-1, -1, 3, 4, -1, 6, 4], k
    np.testing.assert_array_equal(kept, _pruned_by_subtree(ex, k))
  assert rf.pruned_heads(ex, -1)[1].all()
  with pytest.raises(ValueError, match="different dependency trees"):
    rf.pruned_heads(_example(stanford_head=[2, 0, 0, 6, 6, 3, 3]), 1)


def test_pruning_matches_a_re_derivation_on_real_semeval(data_dir):
  """Every SemEval test sentence, k = 0, 1, 2 and the whole tree."""
  pytest.importorskip("spacy")
  from noisy_meta.data import semeval  # pylint: disable=g-import-not-at-top
  try:
    semeval.load_parser()
  except errors.InputError as e:
    pytest.skip(str(e))
  test = semeval.load_semeval(data_dir)["test"]
  for k in (0, 1, 2):
    for ex in test:
      np.testing.assert_array_equal(rf.pruned_heads(ex, k)[1], _pruned_by_subtree(ex, k),
                                    err_msg=f"sentence {ex['id']}, k={k}")
  for ex in test[:100]:
    assert rf.pruned_heads(ex, -1)[1].all()
  ex = next(e for e in test if str(e["id"]) == "8006")  # "is" heads the LCA "larger".
  kept = rf.pruned_heads(ex, 1)[1]
  assert "is" in ex["token"] and not kept[ex["token"].index("is")]


def test_glove_reader(tmp_path):
  vocab = rf.Vocab.build([["cat", "Dog", "zebra"]])
  path = tmp_path / "g.txt"
  path.write_text("cat 1 2\ndog 3 4\n")
  mat, hits = rf.read_glove(str(path), vocab)
  assert hits == 2 and mat.shape == (len(vocab), 2)
  assert list(mat[vocab.index["cat"]]) == [1, 2]
  assert list(mat[vocab.index["Dog"]]) == [3, 4]  # Lower-case fallback.
  assert (mat[0] == 0).all() and np.abs(mat[vocab.index["zebra"]]).max() <= 1
  path.write_text("cat 1 2\ndog 3\n")
  with pytest.raises(errors.InputError, match="g.txt:2: 1 values, expected 2"):
    rf.read_glove(str(path), vocab)
  with pytest.raises(errors.InputError, match="GloVe file"):
    rf.read_glove(str(tmp_path / "missing.txt"), vocab)


def test_lstm_final_state_ignores_padding():
  lstm = models.LSTM(8)
  x = jax.random.normal(jax.random.key(0), (2, 6, 5))
  mask = jnp.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
  params = lstm.init(jax.random.key(1), x, mask)
  hs, last = lstm.apply(params, x, mask)
  _, short = lstm.apply(params, x[:1, :3], mask[:1, :3])
  np.testing.assert_allclose(last[0], short[0], atol=1e-6)
  assert float(jnp.abs(hs[0, 3:]).max()) == 0.0
  rev = models.LSTM(8, reverse=True)
  hs_r, _ = rev.apply(params, x[:1, :3], mask[:1, :3])
  hs_rp, _ = rev.apply(params, x[:1], mask[:1])
  np.testing.assert_allclose(hs_rp[0, :3], hs_r[0], atol=1e-6)  # Padding after the end.


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_hand_written_backward_equals_autodiff(reverse):
  # The fused recurrence's backward pass (and the reverse mode through it
  # that MAML takes) against autodiff through the plain scan, with padding.
  x = jax.random.normal(jax.random.key(0), (3, 7, 5))
  mask = jnp.array([[1] * 7, [1, 1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0]], bool)
  fused, plain = models.LSTM(6, reverse=reverse), models.LSTM(6, reverse=reverse, fused=False)
  params = fused.init(jax.random.key(1), x, mask)

  def loss(lstm, p, x):
    hs, last = lstm.apply(p, x, mask)
    return (jnp.sin(hs) ** 2).sum() + (last * jnp.arange(6.0)).sum()

  for order in (1, 2):
    def grads(lstm):
      f = functools.partial(loss, lstm)
      if order == 2:  # The gradient of a function of the gradient (MAML's case).
        f = lambda p, x, f=f: optax.tree.norm(jax.grad(f)(p, x)) ** 2
      return jax.jit(jax.grad(f, argnums=(0, 1)))(params, x)
    want, got = grads(plain), grads(fused)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
  for a, b in zip(fused.apply(params, x, mask), plain.apply(params, x, mask)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_adjacency_is_symmetric_and_skips_pruned():
  a = np.asarray(models.adjacency(jnp.array([[1, -1, 1]]), 3))[0]
  assert (a == a.T).all() and a.tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]


def _tacred_config(arg, data_dir, tmp_path):
  config = re_tacred.get_config(arg)
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.input.glove = os.path.join(data_dir, "glove",
                                    "glove.6B.50d.filtered_cola_sst2_semeval.txt")
  return config


@pytest.mark.job
@pytest.mark.parametrize("model", ["pa_lstm", "cgcn"])
def test_trainer_learns_the_tacred_sample_and_resumes(model, data_dir, tmp_path):
  config = _tacred_config(f"model={model},runlocal", data_dir, tmp_path)
  config.num_epochs = 12
  config.input.batch_size = 10
  config.optim.lr = 0.5
  workdir = str(tmp_path / model)
  result = supervised.train_and_evaluate(config, workdir)
  # 20 training sentences memorised: training accuracy is in metrics.jsonl.
  lines = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  accs = [l["train/accuracy"] for l in lines if "train/accuracy" in l]
  assert accs[-1] > accs[0] and accs[-1] >= 0.8
  assert 0.0 <= result["test_f1"] <= 1.0 and result["steps"] == 24
  again = supervised.train_and_evaluate(config, workdir)  # Resumes: nothing to do.
  assert again["steps"] == 24 and again["test_f1"] == result["test_f1"]


def test_eval_every_scores_dev_every_nth_epoch_and_the_last(data_dir, tmp_path):
  config = _tacred_config("model=pa_lstm,runlocal", data_dir, tmp_path)
  config.num_epochs, config.eval_every = 5, 2
  config.model.hidden = config.model.attn_dim = 16
  supervised.train_and_evaluate(config, str(tmp_path / "w"))
  lines = [json.loads(l) for l in open(tmp_path / "w" / "metrics.jsonl")]
  assert [l["dev/epoch"] for l in lines if "dev/epoch" in l] == [2, 4, 5]


@pytest.mark.job
def test_semeval_runlocal_writes_official_answer_files(data_dir, tmp_path):
  pytest.importorskip("spacy")
  config = re_semeval.get_config("model=pa_lstm,runlocal")
  config.input.data_dir = data_dir
  result = supervised.train_and_evaluate(config, str(tmp_path))
  lines = open(tmp_path / "test_predictions.txt").read().splitlines()
  assert len(lines) == 2717 and lines[0].split("\t")[0] == "8001"
  assert len(open(tmp_path / "dev_ids.txt").read().split()) == 500
  report = open(tmp_path / "report.md").read()
  assert "| Cause-Effect |" in report and "**Smoke run (`:runlocal`)**" in report
  assert 0.0 <= result["test_f1"] <= 1.0


def _main(*args, env=None):
  return subprocess.run([sys.executable, "-m", "noisy_meta.main", *args], cwd=ROOT,
                        capture_output=True, text=True, env=env, timeout=600)


def test_bad_input_missing_glove_and_tacred_dir(data_dir, tmp_path):
  env = dict(os.environ, NOISY_META_DATA_DIR=data_dir)
  r = _main("--config=configs/re_tacred.py:runlocal", f"--workdir={tmp_path}/a",
            env=env)
  assert r.returncode == 2 and "tacred_dir" in r.stderr
  r = _main("--config=configs/re_tacred.py:runlocal", f"--workdir={tmp_path}/b",
            f"--config.input.tacred_dir={data_dir}/tacred_sample",
            f"--config.input.glove={tmp_path}/none.txt", env=env)
  assert r.returncode == 2 and "none.txt" in r.stderr


@pytest.mark.parametrize("model", ["pa_lstm", "cgcn"])
def test_features_map_to_the_logits_through_the_classifier(model, data_dir, tmp_path):
  """learner.features: the input of the last linear layer (the tuned-space
  neighbour detectors read it)."""
  import jax  # pylint: disable=g-import-not-at-top
  from noisy_meta.core import parallel  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import relation_classifier  # pylint: disable=g-import-not-at-top
  config = _tacred_config(f"model={model},runlocal", data_dir, tmp_path)
  learner = relation_classifier.RelationClassifier(config)
  mesh = parallel.make_mesh()
  state = learner.init_state(jax.random.key(0), learner.num_classes, 10, mesh)
  idx, length = learner.eval_batches(learner.train)[0]
  batch = learner.make_batch(learner.train, idx, len(idx), length)
  logits, feats = learner.features(state, state.params, batch)
  np.testing.assert_allclose(logits, learner.logits(state, state.params, batch), atol=1e-5)
  w = jax.device_get(state.params)["classifier"]
  np.testing.assert_allclose(np.asarray(feats) @ w["kernel"] + w["bias"], logits, atol=1e-4)
