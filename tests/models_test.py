"""Our Flax encoders against transformers' PyTorch models on the same weights."""
import jax
import numpy as np
import pytest

from noisy_meta.core import errors
from noisy_meta.models import hf_import
from noisy_meta.models import transformer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOL = 1e-4  # Max abs difference of hidden states / logits (issue 2).


def _flax_encoder(folder, input_ids, mask):
  _, cfg, enc, _ = hf_import.load(folder)
  model = transformer.Encoder(cfg)
  params = model.init(jax.random.key(0), input_ids, mask)["params"]
  params = hf_import.merge(params, enc, "encoder", full=True)
  return np.asarray(model.apply({"params": params}, input_ids, mask))


def _torch_hidden(model, input_ids, mask):
  with torch.no_grad():
    return model(input_ids=torch.tensor(input_ids).long(),
                 attention_mask=torch.tensor(mask).long()).last_hidden_state.numpy()


def _random_batch(vocab, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, vocab, size=(3, 12)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 7:] = 0  # Padded rows: only real positions are compared.
  mask[2, 3:] = 0
  ids[mask == 0] = 0
  return ids, mask


def test_minilm_real_weights_match_pytorch(minilm_dir):
  tok = hf_import.load_tokenizer(minilm_dir)
  b = tok(["The cat sat on the mat.", "Colorless green ideas sleep furiously.",
           "Who do you think that left?"], padding=True, return_tensors="np")
  ours = _flax_encoder(minilm_dir, b["input_ids"], b["attention_mask"])
  ref = _torch_hidden(transformers.BertModel.from_pretrained(minilm_dir).eval(),
                      b["input_ids"], b["attention_mask"])
  real = b["attention_mask"].astype(bool)
  assert np.abs(ours - ref)[real].max() <= TOL


@pytest.mark.parametrize("safe", [True, False])
def test_random_distilbert_from_disk_matches_pytorch(tmp_path, safe):
  torch.manual_seed(0)
  cfg = transformers.DistilBertConfig(vocab_size=500, dim=64, n_layers=2, n_heads=4,
                                      hidden_dim=128, max_position_embeddings=32)
  model = transformers.DistilBertModel(cfg).eval()
  model.save_pretrained(tmp_path, safe_serialization=safe)
  ids, mask = _random_batch(500)
  ours = _flax_encoder(str(tmp_path), ids, mask)
  ref = _torch_hidden(model, ids, mask)
  assert np.abs(ours - ref)[mask.astype(bool)].max() <= TOL


@pytest.mark.parametrize("kind", ["bert", "distilbert"])
def test_classifier_head_matches_pytorch(tmp_path, kind):
  """Whole *ForSequenceClassification logits: pooler / pre_classifier included."""
  torch.manual_seed(1)
  if kind == "bert":
    cfg = transformers.BertConfig(vocab_size=500, hidden_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, intermediate_size=128,
                                  max_position_embeddings=32, num_labels=3)
    ref_model = transformers.BertForSequenceClassification(cfg).eval()
  else:
    cfg = transformers.DistilBertConfig(vocab_size=500, dim=64, n_layers=2, n_heads=4,
                                        hidden_dim=128, max_position_embeddings=32,
                                        num_labels=3)
    ref_model = transformers.DistilBertForSequenceClassification(cfg).eval()
  ref_model.save_pretrained(tmp_path)
  ids, mask = _random_batch(500, seed=2)
  _, ecfg, enc, head = hf_import.load(str(tmp_path))
  model = transformer.Classifier(ecfg, 3)
  params = dict(model.init(jax.random.key(0), ids, mask)["params"])
  params["encoder"] = hf_import.merge(params["encoder"], enc, "encoder", full=True)
  params = hf_import.merge(params, head, "head")
  sd = ref_model.state_dict()
  params["classifier"] = {"kernel": sd["classifier.weight"].numpy().T,
                          "bias": sd["classifier.bias"].numpy()}
  ours = np.asarray(model.apply({"params": params}, ids, mask))
  with torch.no_grad():
    ref = ref_model(input_ids=torch.tensor(ids).long(),
                    attention_mask=torch.tensor(mask).long()).logits.numpy()
  assert np.abs(ours - ref).max() <= TOL


def test_missing_checkpoint_folder_is_a_clear_error(tmp_path):
  with pytest.raises(errors.InputError, match="does not exist"):
    hf_import.resolve(str(tmp_path / "no_such_model"))
  (tmp_path / "config.json").write_text('{"model_type": "bert", "vocab_size": 10, '
                                        '"hidden_size": 4, "num_hidden_layers": 1, '
                                        '"num_attention_heads": 1, "intermediate_size": 4, '
                                        '"max_position_embeddings": 8}')
  with pytest.raises(errors.InputError, match="neither model.safetensors"):
    hf_import.load(str(tmp_path))


def test_checkpoint_of_another_shape_is_rejected(tmp_path, minilm_dir):
  _, cfg, enc, _ = hf_import.load(minilm_dir)
  small = transformer.EncoderConfig(kind="bert", vocab_size=30522, hidden_size=32,
                                    num_layers=6, num_heads=4, intermediate_size=64,
                                    max_position=512)
  ids = np.zeros((1, 4), np.int32)
  params = transformer.Encoder(small).init(jax.random.key(0), ids, ids + 1)["params"]
  with pytest.raises(errors.InputError, match="checkpoint shape"):
    hf_import.merge(params, enc, "encoder", full=True)


@pytest.mark.parametrize("kind", ["bert", "distilbert"])
def test_train_state_draws_the_head_the_whole_init_would(tmp_path, kind):
  """create_train_state inits the head alone (no compile of the encoder's
  init): the same values as the whole model's init, the encoder from disk."""
  from configs import finetune_cola  # pylint: disable=g-import-not-at-top
  from noisy_meta.learners import text_classifier  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  if kind == "bert":
    ref = transformers.BertModel(transformers.BertConfig(
        vocab_size=300, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=16), add_pooling_layer=False)
  else:
    ref = transformers.DistilBertModel(transformers.DistilBertConfig(
        vocab_size=300, dim=32, n_layers=1, n_heads=2, hidden_dim=64,
        max_position_embeddings=16))
  ref.save_pretrained(tmp_path)
  _, ecfg, enc, head = hf_import.load(str(tmp_path))
  key = jax.random.split(jax.random.key(3))[0]
  state = text_classifier.create_train_state(finetune_cola.get_config(), ecfg, enc, head, 3,
                                             10, key)
  ids = np.zeros((1, 8), np.int32)
  whole = transformer.Classifier(ecfg, 3).init(key, ids, np.ones_like(ids))["params"]
  assert set(state.params) == set(whole) and "encoder" in whole
  for name in set(whole) - {"encoder"}:
    for leaf in ("kernel", "bias"):
      # Jitted vs eager draws: the same numbers up to float rounding.
      np.testing.assert_allclose(np.asarray(state.params[name][leaf]),
                                 np.asarray(whole[name][leaf]), rtol=1e-6, atol=1e-7)
  np.testing.assert_array_equal(
      np.asarray(state.params["encoder"]["word_embeddings"]["embedding"]),
      ref.state_dict()["embeddings.word_embeddings.weight"].numpy())
