"""The DeBERTa-v2/v3 encoder against transformers' DebertaV2Model on the same weights."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import encoder_checks

from noisy_meta.models import deberta
from noisy_meta.models import encoders
from noisy_meta.models import hf_import

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOL = 1e-5  # Max abs difference of hidden states and gradients (float32).

# deberta-v3-base's options, shrunk.
V3 = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
          intermediate_size=64, max_position_embeddings=64, relative_attention=True,
          position_buckets=8, max_relative_positions=16, pos_att_type=["p2c", "c2p"],
          share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
          type_vocab_size=0, layer_norm_eps=1e-7, hidden_act="gelu")
# The other branches: separate position projections, absolute positions,
# token types, a narrower embedding, no buckets, the first block's convolution.
V2 = dict(V3, share_att_key=False, position_buckets=-1, max_relative_positions=6,
          position_biased_input=True, type_vocab_size=2, embedding_size=24,
          norm_rel_ebd="none", conv_kernel_size=3, conv_act="gelu", pos_att_type="c2p|p2c")


def _save(folder, options, safe=True, seed=0, cls="DebertaV2Model"):
  torch.manual_seed(seed)
  model = getattr(transformers, cls)(transformers.DebertaV2Config(**options)).eval()
  with torch.no_grad():  # LayerNorms and biases off their 1 / 0 defaults.
    for name, w in model.named_parameters():
      if "LayerNorm" in name or name.endswith(".bias"):
        w.add_(0.1 * torch.randn_like(w))
  model.save_pretrained(folder, safe_serialization=safe)
  return model


def _batch(vocab, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, vocab, size=(3, 14)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 9:] = 0  # Rows of different lengths: only real positions compared.
  mask[2, 4:] = 0
  ids[mask == 0] = 0
  types = (np.arange(14)[None, :] >= 5).astype(np.int32) * mask
  return ids, mask, types


def _flax(folder, ids, mask, dtype=jnp.float32):
  _, cfg, enc, head = hf_import.load(folder)
  model = encoders.encoder(cfg, dtype=dtype)
  params = model.init(jax.random.key(0), ids, mask)["params"]
  return cfg, model, hf_import.merge(params, enc, "encoder", full=True), head


def _torch_hidden(model, ids, mask, types):
  return model(input_ids=torch.tensor(ids).long(), attention_mask=torch.tensor(mask).long(),
               token_type_ids=torch.tensor(types).long()).last_hidden_state


@pytest.mark.parametrize("name,safe,cls", [
    ("v3", True, "DebertaV2Model"), ("v3", False, "DebertaV2Model"),
    ("v2", True, "DebertaV2Model"), ("v3", True, "DebertaV2ForSequenceClassification")])
def test_forward_matches_pytorch(tmp_path, name, safe, cls):
  """Last hidden states, and each block's (the per-layer features), on real positions."""
  ref_model = _save(tmp_path, V3 if name == "v3" else V2, safe, cls=cls)
  ref_model = getattr(ref_model, "deberta", ref_model)  # "deberta." prefixed tensors.
  ids, mask, types = _batch(300)
  cfg, model, params, head = _flax(str(tmp_path), ids, mask)
  assert isinstance(cfg, deberta.DebertaConfig) and head == {}
  ours, mods = model.apply({"params": params}, ids, mask, types,
                           capture_intermediates=encoders.is_layer(cfg))
  with torch.no_grad():
    out = ref_model(input_ids=torch.tensor(ids).long(),
                    attention_mask=torch.tensor(mask).long(),
                    token_type_ids=torch.tensor(types).long(), output_hidden_states=True)
  real = mask.astype(bool)
  diff = np.abs(np.asarray(ours) - out.last_hidden_state.numpy())[real].max()
  print(f"deberta {name} {cls} safetensors={safe}: forward max abs diff {diff:.2e}")
  assert diff <= TOL
  for i in range(cfg.num_layers):
    layer = np.asarray(mods["intermediates"][f"layer_{i}"]["__call__"][0])
    assert np.abs(layer - out.hidden_states[i + 1].numpy())[real].max() <= TOL, i


@pytest.mark.parametrize("name", ["v3", "v2"])
def test_gradients_match_pytorch(tmp_path, name):
  """d sum(hidden[real] @ R) / d every parameter, torch's mapped by params_from_hf."""
  ref_model = _save(tmp_path, V3 if name == "v3" else V2)
  ids, mask, types = _batch(300, seed=1)
  cfg, model, params, _ = _flax(str(tmp_path), ids, mask)
  r = np.random.default_rng(2).normal(size=cfg.hidden_size).astype(np.float32)
  real = mask.astype(bool)

  def loss(p):
    h = model.apply({"params": p}, ids, mask, types)
    return jnp.sum(jnp.where(real[..., None], h, 0.0) @ r)

  ours = jax.grad(loss)(params)
  ref_model.zero_grad()
  h = _torch_hidden(ref_model, ids, mask, types)
  (h[torch.tensor(real)] @ torch.tensor(r)).sum().backward()
  grads = {n: (w.grad if w.grad is not None else torch.zeros_like(w)).numpy()
           for n, w in ref_model.named_parameters()}
  ref = deberta.params_from_hf(cfg, grads)
  assert jax.tree.structure(ours) == jax.tree.structure(ref)
  worst_abs, worst_rel = 0.0, 0.0
  for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(ours), jax.tree.leaves(ref)):
    d = np.abs(np.asarray(a) - b).max()
    scale = max(1.0, np.abs(b).max())  # Relative to the leaf's largest gradient.
    worst_abs, worst_rel = max(worst_abs, d), max(worst_rel, d / scale)
    assert d <= TOL * scale, (jax.tree_util.keystr(path), d, scale)
  print(f"deberta {name}: gradient max abs diff {worst_abs:.2e}, "
        f"max of diff / max(1, leaf's max |grad|) {worst_rel:.2e}")


def test_bfloat16_close_to_float32_with_float32_params(tmp_path):
  _save(tmp_path, V3)
  ids, mask, types = _batch(300)
  _, model32, params, _ = _flax(str(tmp_path), ids, mask)
  _, model16, params16, _ = _flax(str(tmp_path), ids, mask, jnp.bfloat16)
  init16 = model16.init(jax.random.key(0), ids, mask)["params"]
  assert {x.dtype for x in jax.tree.leaves(init16)} == {jnp.dtype(jnp.float32)}
  h16 = model16.apply({"params": params16}, ids, mask)
  assert h16.dtype == jnp.bfloat16
  h16 = np.asarray(h16.astype(jnp.float32))
  h32 = np.asarray(model32.apply({"params": params}, ids, mask))
  real = mask.astype(bool)
  assert np.isfinite(h16[real]).all()
  diff = np.abs(h16 - h32)[real].max()
  print(f"deberta v3: bfloat16 vs float32 max abs diff {diff:.3f}")
  assert diff <= 0.1


@pytest.mark.parametrize("name", ["v3", "v2"])
def test_bfloat16_products_accumulate_in_float32(name):
  cfg = encoders.config_from_hf(dict({"v3": V3, "v2": V2}[name], model_type="deberta-v2"))
  ids, mask, _ = _batch(300)
  model = encoders.encoder(cfg, dropout=0.0, dtype=jnp.bfloat16)
  params = model.init(jax.random.key(0), ids, mask)["params"]
  encoder_checks.assert_fast_bf16_path(model, params, ids, mask)



@pytest.mark.parametrize("buckets,max_rel,length", [(8, 16, 40), (256, 512, 512),
                                                    (32, 64, 100), (-1, 6, 12)])
def test_relative_positions_match_pytorch(buckets, max_rel, length):
  m = transformers.models.deberta_v2.modeling_deberta_v2
  x = torch.zeros(1, length, 1)
  ref = m.build_relative_position(x, x, bucket_size=buckets, max_position=max_rel)[0]
  np.testing.assert_array_equal(deberta.relative_positions(length, buckets, max_rel),
                                ref.numpy())


@pytest.mark.parametrize("field,value", [("pos_att_type", "p2c|p2p"),
                                         ("norm_rel_ebd", "batch_norm"),
                                         ("hidden_act", "swish"),
                                         ("conv_kernel_size", 4),
                                         ("attention_head_size", 4)])
def test_unsupported_options_name_the_field(field, value):
  with pytest.raises(ValueError, match=field):
    encoders.config_from_hf(dict(V3, model_type="deberta-v2", **{field: value}))


def _tokenizer(folder):
  """A SentencePiece-style (Unigram, "▁" word starts) fast tokenizer of 1,000+
  pieces: [PAD] 0, [CLS] 1, [SEP] 2, [UNK] 3, the task's words, fillers."""
  import tokenizers  # pylint: disable=g-import-not-at-top
  models, pre_tokenizers = tokenizers.models, tokenizers.pre_tokenizers
  decoders, processors = tokenizers.decoders, tokenizers.processors
  pieces = [("[PAD]", 0.0), ("[CLS]", 0.0), ("[SEP]", 0.0), ("[UNK]", 0.0)]
  pieces += [("▁" + w, -1.0) for w in ("good", "great", "bad", "awful")]
  pieces += [(ch, -5.0) for ch in "abcdefghijklmnopqrstuvwxyz▁"]
  pieces += [(f"▁{a}{b}", -8.0) for a in "abcdefghijklmnopqrstuvwxyz"
             for b in "abcdefghijklmnopqrstuvwxyz"]
  pieces += [(f"▁w{i}", -9.0) for i in range(300)]
  tok = tokenizers.Tokenizer(models.Unigram(pieces, unk_id=3))
  tok.pre_tokenizer = pre_tokenizers.Metaspace()
  tok.decoder = decoders.Metaspace()
  tok.post_processor = processors.TemplateProcessing(
      single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
      special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
  fast = transformers.PreTrainedTokenizerFast(
      tokenizer_object=tok, pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
      unk_token="[UNK]")
  fast.save_pretrained(folder)
  return len(pieces)


def test_text_classifier_learns_a_separable_task(tmp_path):
  """The fine-tuning trainer on a tiny random DeBERTa-v3 folder (tokenizer included)."""
  from noisy_meta.trainers import supervised  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "model"
  vocab = _tokenizer(folder)
  _save(folder, dict(V3, vocab_size=vocab, pad_token_id=0))
  config = encoder_checks.toy_task_config(tmp_path, folder, max_len=16, num_epochs=4,
                                          **{"optim.lr": 3e-3})
  result = supervised.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["dev"]["accuracy"] == 1.0


def test_deberta_v3_base_config_json():
  """microsoft/deberta-v3-base's config.json fields (pos_att_type as a string)."""
  cfg = encoders.config_from_hf({
      "model_type": "deberta-v2", "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
      "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
      "intermediate_size": 3072, "max_position_embeddings": 512, "relative_attention": True,
      "position_buckets": 256, "norm_rel_ebd": "layer_norm", "share_att_key": True,
      "pos_att_type": "p2c|c2p", "layer_norm_eps": 1e-7, "max_relative_positions": -1,
      "position_biased_input": False, "num_attention_heads": 12, "num_hidden_layers": 12,
      "type_vocab_size": 0, "vocab_size": 128100})
  assert (cfg.kind, cfg.att_span, cfg.max_relative_positions, cfg.pos_att_type) == (
      "deberta-v2", 256, 512, ("p2c", "c2p"))
  assert cfg.norm_rel_ebd and cfg.share_att_key and not cfg.position_biased_input
  assert (cfg.head_dim, cfg.embedding_size, cfg.conv_kernel_size) == (64, 768, 0)
