"""The Transformer relation learner (noisy_meta/learners/relation_transformer.py):
entity-start pooling against PyTorch, training and resume, MLRC's inner loop
and the AUM method on it."""
import json
import os

import jax
import numpy as np
import pytest

from configs import aum_semeval
from configs import mlrc as mlrc_configs
from configs import re_tacred
from noisy_meta.core import parallel
from noisy_meta.learners import relation_transformer
from noisy_meta.trainers import supervised


def _config(arg, data_dir, model_dir):
  config = re_tacred.get_config(arg)
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.model.path = model_dir
  config.input.buckets = (32, 64, 128)
  return config


def test_config_choices():
  c = re_tacred.get_config("model=transformer")
  assert c.learner == "relation_transformer" and c.input.markers == "typed_punct"
  assert c.optim.name == "adamw" and c.input.batch_size == 32
  c = re_tacred.get_config("model=distilbert")  # An encoder name: the Transformer learner.
  assert c.learner == "relation_transformer" and c.model.path == "distilbert-base-uncased"
  assert re_tacred.get_config("model=cgcn").learner == "relation"
  with pytest.raises(ValueError, match="model='pa-lstm'"):
    re_tacred.get_config("model=pa-lstm")
  m = mlrc_configs.get_config("model=transformer")
  assert m.learner == "relation_transformer" and m.meta.inner_optim == "adam"


def test_entity_start_pooling_equals_pytorch(data_dir, tiny_bert_dir):
  """The features are BertModel's last hidden states (PyTorch, same weights)
  at the two start markers, side by side; the logits are a linear map of them."""
  torch = pytest.importorskip("torch")
  import transformers  # pylint: disable=g-import-not-at-top
  config = _config("model=transformer,runlocal", data_dir, tiny_bert_dir)
  learner = relation_transformer.RelationTransformer(config)
  mesh = parallel.make_mesh()
  state = learner.init_state(jax.random.key(0), learner.num_classes, 10, mesh)
  idx, length = learner.eval_batches(learner.train)[0]
  batch = learner.make_batch(learner.train, idx, len(idx), length)
  logits, feats = learner.features(state, state.params, batch)
  ref_model = transformers.BertModel.from_pretrained(tiny_bert_dir).eval()
  with torch.no_grad():
    h = ref_model(input_ids=torch.tensor(batch["input_ids"], dtype=torch.long),
                  attention_mask=torch.tensor(batch["attention_mask"], dtype=torch.long)
                  ).last_hidden_state.numpy()
  rows = np.arange(len(idx))
  ref = np.concatenate([h[rows, batch["e1"]], h[rows, batch["e2"]]], -1)
  np.testing.assert_allclose(np.asarray(feats), ref, atol=1e-4)
  w = jax.device_get(state.params)["classifier"]
  np.testing.assert_allclose(np.asarray(feats) @ w["kernel"] + w["bias"], logits, atol=1e-4)
  np.testing.assert_allclose(logits, learner.logits(state, state.params, batch), atol=1e-5)
  # The frozen encoder's view for detectors: the same vectors, normalised per layer.
  emb = learner.embed_layers(learner.train)
  assert emb.shape == (learner.size(learner.train), 2, 64)
  last = ref / np.linalg.norm(ref, axis=-1, keepdims=True)
  np.testing.assert_allclose(emb[idx, -1], last, atol=1e-4)


@pytest.mark.job
def test_trainer_learns_the_tacred_sample_and_resumes(data_dir, tiny_bert_dir, tmp_path):
  config = _config("model=transformer,runlocal", data_dir, tiny_bert_dir)
  config.num_epochs = 15
  config.input.batch_size = 10
  config.optim.lr = 2e-3
  workdir = str(tmp_path / "w")
  result = supervised.train_and_evaluate(config, workdir)
  lines = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  accs = [l["train/accuracy"] for l in lines if "train/accuracy" in l]
  assert accs[-1] > accs[0] and accs[-1] >= 0.8, accs
  assert 0.0 <= result["test_f1"] <= 1.0 and result["steps"] == 30
  assert result["model"] == "transformer"
  again = supervised.train_and_evaluate(config, workdir)  # Resumes: nothing to do.
  assert again["steps"] == 30 and again["test_f1"] == result["test_f1"]


def test_mlrc_meta_training_moves_the_transformer(data_dir, tiny_bert_dir, tmp_path):
  from noisy_meta.trainers import mlrc as mlrc_trainer  # pylint: disable=g-import-not-at-top
  config = mlrc_configs.get_config("model=transformer,runlocal", dataset="tacred")
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.model.path = tiny_bert_dir
  config.input.buckets = (32, 64, 128)
  config.meta.tasks = 2
  config.meta.inner_lr = 1e-3
  learner = relation_transformer.RelationTransformer(config)
  rows = np.arange(learner.size(learner.train))
  theta = mlrc_trainer.meta_train(config, str(tmp_path / "meta"), learner, rows)
  start = learner.init_state(jax.random.split(jax.random.key(config.seed))[0],
                             learner.num_classes, 0, parallel.make_mesh()).params
  moved = jax.tree_util.tree_map(lambda a, b: float(np.abs(np.asarray(a) - b).max()),
                                 jax.device_get(theta), jax.device_get(start))
  assert max(jax.tree_util.tree_leaves(moved)) > 0
  log = [json.loads(l) for l in open(tmp_path / "meta" / "metrics.jsonl")]
  assert log[-1]["step"] == config.meta.iterations
  assert np.isfinite(log[-1]["meta/inner_loss_last"])


@pytest.mark.job
def test_aum_detection_on_the_transformer(data_dir, tiny_bert_dir, tmp_path):
  pytest.importorskip("spacy")
  from noisy_meta.trainers import aum  # pylint: disable=g-import-not-at-top
  config = aum_semeval.get_config("model=transformer,runlocal,noise=0.2,seeds=0,folds=0")
  config.input.data_dir = data_dir
  config.model.path = tiny_bert_dir
  config.input.max_len = 64  # Cut around the entities where longer.
  config.input.train_size = 400  # Small: the other AUM tests cover the method at size.
  config.input.dev_size = 100
  config.clean.methods = ("sieve",)
  config.input.buckets = (32, 64, 128)
  w = str(tmp_path / "w")
  aum.train_and_evaluate(config, w)
  rows = open(os.path.join(w, "examples.csv"), encoding="utf-8").read().splitlines()
  assert len(rows) == config.input.train_size + 1 == 401 and "score_probe" in rows[0]
  assert "[S " in open(os.path.join(w, "examples.csv"), encoding="utf-8").read()
