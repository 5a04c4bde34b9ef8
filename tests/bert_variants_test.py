"""RoBERTa / XLM-R, ELECTRA and MPNet (noisy_meta.models.bert_variants) against
transformers' PyTorch models on the same weights: hidden states, gradients,
bfloat16, and a text classifier run on a RoBERTa folder."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import encoder_checks

from noisy_meta.models import bert_variants
from noisy_meta.models import encoders
from noisy_meta.models import hf_import

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOL = 1e-5  # Max abs difference of hidden states; gradients: relative to the leaf's scale.
KINDS = ("roberta", "xlm-roberta", "electra", "mpnet")
SMALL = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _hf_config(kind, vocab=300, positions=16):
  """A tiny transformers config of `kind` taking `positions` tokens."""
  small = dict(SMALL, vocab_size=vocab)
  if kind == "roberta":
    return transformers.RobertaConfig(max_position_embeddings=positions + 2, type_vocab_size=1,
                                      layer_norm_eps=1e-5, **small)
  if kind == "xlm-roberta":
    return transformers.XLMRobertaConfig(max_position_embeddings=positions + 2,
                                         type_vocab_size=1, layer_norm_eps=1e-5, **small)
  if kind == "electra":
    return transformers.ElectraConfig(embedding_size=16, max_position_embeddings=positions,
                                      **small)
  return transformers.MPNetConfig(max_position_embeddings=positions + 2, layer_norm_eps=1e-5,
                                  **small)


def _torch_model(kind, folder, safe=True, seed=0, **kwargs):
  """A random model saved to `folder`: every weight perturbed (LayerNorms,
  biases and MPNet's position bias away from their 1 / 0 inits)."""
  torch.manual_seed(seed)
  model = transformers.AutoModel.from_config(_hf_config(kind, **kwargs),
                                             attn_implementation="eager").eval()
  with torch.no_grad():
    for p in model.parameters():
      p.add_(0.1 * torch.randn_like(p))
  model.save_pretrained(folder, safe_serialization=safe)
  return model


def _batch(kind, vocab=300, seed=0):
  """4 rows of 12 tokens, 12, 7 and 3 of them real, then 5 real after 7 pads
  (left padding: RoBERTa's and MPNet's positions count real tokens only);
  pads hold the pad id."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, vocab, size=(4, 12)).astype(np.int32)
  mask = (np.arange(12)[None] < np.array([12, 7, 3, 0])[:, None]).astype(np.int32)
  mask[3, 7:] = 1
  ids[mask == 0] = 0 if kind == "electra" else 1
  return ids, mask


def _ours(folder, ids, mask):
  """(config, our module, its params from the folder)."""
  _, cfg, enc, _ = hf_import.load(folder)
  model = encoders.encoder(cfg, dropout=0.0)
  params = model.init(jax.random.key(0), ids, mask)["params"]
  return cfg, model, hf_import.merge(params, enc, "encoder", full=True)


def _torch_hidden(model, ids, mask):
  return model(input_ids=torch.tensor(ids).long(),
               attention_mask=torch.tensor(mask).long()).last_hidden_state


@pytest.mark.parametrize("kind,safe", [(k, True) for k in KINDS] + [("roberta", False)])
def test_hidden_states_match_pytorch(tmp_path, kind, safe):
  """Forward parity on a padded batch, the per-layer outputs, and bfloat16."""
  ref_model = _torch_model(kind, tmp_path, safe)
  ids, mask = _batch(kind)
  cfg, model, params = _ours(str(tmp_path), ids, mask)
  out, mods = model.apply({"params": params}, ids, mask,
                          capture_intermediates=encoders.is_layer(cfg))
  with torch.no_grad():
    ref = _torch_hidden(ref_model, ids, mask).numpy()
  real = mask.astype(bool)
  diff = float(np.abs(np.asarray(out) - ref)[real].max())
  print(f"{kind} ({'safetensors' if safe else 'bin'}): forward max abs diff {diff:.2e}")
  assert diff <= TOL
  layers = [mods["intermediates"][f"layer_{i}"]["__call__"][0] for i in range(cfg.num_layers)]
  np.testing.assert_array_equal(np.asarray(layers[-1]), np.asarray(out))
  if safe:  # bfloat16 computation, float32 parameters: finite and close to float32.
    model16 = encoders.encoder(cfg, dropout=0.0, dtype=jnp.bfloat16)
    fresh = model16.init(jax.random.key(0), ids, mask)["params"]
    assert {x.dtype for x in jax.tree_util.tree_leaves(fresh)} == {jnp.dtype(jnp.float32)}
    h16 = np.asarray(model16.apply({"params": params}, ids, mask).astype(jnp.float32))
    assert np.isfinite(h16).all()
    diff16 = float(np.abs(h16 - np.asarray(out))[real].max())
    print(f"{kind}: bfloat16 vs float32 max abs diff {diff16:.3f}")
    assert diff16 <= 0.1


@pytest.mark.parametrize("kind", ["roberta", "electra", "mpnet"])  # XLM-R: RoBERTa's.
def test_gradients_match_pytorch(tmp_path, kind):
  """d sum(hidden[real] @ R) / d every parameter, PyTorch's mapped by params_from_hf."""
  ref_model = _torch_model(kind, tmp_path, seed=1)
  ids, mask = _batch(kind, seed=1)
  real = mask.astype(bool)
  r_D = np.random.default_rng(2).normal(size=32).astype(np.float32)
  cfg, model, params = _ours(str(tmp_path), ids, mask)
  loss = lambda p: (model.apply({"params": p}, ids, mask)[real] @ r_D).sum()
  ours = jax.grad(loss)(params)
  (_torch_hidden(ref_model, ids, mask)[torch.tensor(real)] @ torch.tensor(r_D)).sum().backward()
  ref_t = {n: p.grad.numpy() for n, p in ref_model.named_parameters() if p.grad is not None}
  ref = encoders.get(cfg).params_from_hf(cfg, ref_t)
  flat_ours = dict(jax.tree_util.tree_flatten_with_path(ours)[0])
  flat_ref = dict(jax.tree_util.tree_flatten_with_path(ref)[0])
  assert set(flat_ours) == set(flat_ref)
  worst_abs = worst_rel = 0.0
  for path, g in flat_ours.items():
    g, want = np.asarray(g), np.asarray(flat_ref[path])
    d = float(np.abs(g - want).max())
    scale = max(1.0, float(np.abs(want).max()))
    worst_abs, worst_rel = max(worst_abs, d), max(worst_rel, d / scale)
    assert d <= TOL * scale, (jax.tree_util.keystr(path), d, scale)
  print(f"{kind}: gradient max abs diff {worst_abs:.2e}, max diff / leaf scale "
        f"{worst_rel:.2e}")


@pytest.mark.parametrize("kind", ["roberta", "electra", "mpnet"])
def test_bfloat16_products_accumulate_in_float32(kind):
  cfg = encoders.config_from_hf(_hf_config(kind).to_dict())
  ids, mask = _batch(kind)
  model = encoders.encoder(cfg, dropout=0.0, dtype=jnp.bfloat16)
  params = model.init(jax.random.key(0), ids, mask)["params"]
  encoder_checks.assert_fast_bf16_path(model, params, ids, mask)



def test_mpnet_buckets_match_transformers():
  """The bucket of every offset up to 600 tokens, against MPNetEncoder's own."""
  ours = bert_variants.relative_buckets(600)
  pos = torch.arange(600)
  ref = transformers.models.mpnet.modeling_mpnet.MPNetEncoder.relative_position_bucket(
      pos[None, :] - pos[:, None])
  np.testing.assert_array_equal(ours, ref.numpy())


@pytest.mark.parametrize("field,value", [("is_decoder", True),
                                         ("position_embedding_type", "relative_key"),
                                         ("hidden_act", "swish")])
def test_unsupported_options_are_named(field, value):
  d = _hf_config("roberta").to_dict()
  d[field] = value
  with pytest.raises(ValueError, match=field):
    encoders.config_from_hf(d)
  d = _hf_config("mpnet").to_dict()
  d["relative_attention_num_buckets"] = 16
  with pytest.raises(ValueError, match="relative_attention_num_buckets"):
    encoders.config_from_hf(d)


def _roberta_tokenizer(folder):
  """A byte-level BPE of 1200 tokens trained on made-up words, saved as
  RoBERTa's (<s>=0, <pad>=1, </s>=2)."""
  pytest.importorskip("tokenizers")
  corpus = encoder_checks.made_up_sentences(np.random.default_rng(0))
  return encoder_checks.roberta_tokenizer(folder, corpus + ["good great bad awful"])


def test_text_classifier_fits_a_toy_task_with_roberta(tmp_path):
  """The fine-tuning trainer on a RoBERTa folder (model + BPE tokenizer)."""
  from noisy_meta.trainers import supervised  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "roberta"
  tok = _roberta_tokenizer(folder)
  _torch_model("roberta", folder, vocab=len(tok), positions=16)
  assert hf_import.load(str(folder))[1].max_position == 16
  config = encoder_checks.toy_task_config(
      tmp_path, folder, repeats=8, max_len=16, num_epochs=6,
      **{"model.dtype": "bfloat16"})  # Mixed precision end to end (float32 is tested above).
  result = supervised.train_and_evaluate(config, str(tmp_path / "w"))
  print(f"roberta text classifier: dev {result['dev']}")
  assert result["dev"]["accuracy"] == 1.0
