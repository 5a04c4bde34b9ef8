"""ModernBERT (noisy_meta/models/modernbert.py) against transformers' PyTorch
ModernBertModel (eager attention) on the same random weights."""
import dataclasses
import datetime

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import encoder_checks

from noisy_meta.models import encoders
from noisy_meta.models import hf_import
from noisy_meta.models import modernbert

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOL = 1e-5  # Max abs difference of hidden states and (relative) gradients.
VOCAB = 300


def _config(bias=False, vocab=VOCAB, pad=0):
  # 3 layers, a global layer every 2nd: global, local, global. A 4-token
  # window (2 each side) is narrower than the length-16 rows.
  return transformers.ModernBertConfig(
      vocab_size=vocab, hidden_size=32, intermediate_size=48, num_hidden_layers=3,
      num_attention_heads=4, global_attn_every_n_layers=2, local_attention=4,
      max_position_embeddings=64, pad_token_id=pad, bos_token_id=None, eos_token_id=None,
      cls_token_id=None, sep_token_id=None, global_rope_theta=1000.0,
      local_rope_theta=50.0, attention_bias=bias, mlp_bias=bias, norm_bias=bias,
      attn_implementation="eager")


def _torch_model(tmp_path, bias=False, safe=True, seed=0):
  torch.manual_seed(seed)
  model = transformers.ModernBertModel(_config(bias)).eval()
  if bias:  # Zero-initialised biases would hide a wrong mapping.
    with torch.no_grad():
      for n, p in model.named_parameters():
        if n.endswith(".bias"):
          p.normal_(0.0, 0.1)
  model.save_pretrained(tmp_path, safe_serialization=safe)
  return model


def _batch(seed=0):
  """Rows of lengths 16, 11 and 5: padding on the right."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, VOCAB, size=(3, 16)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 11:] = 0
  mask[2, 5:] = 0
  ids[mask == 0] = 0
  return ids, mask


def _ours(folder, ids, mask, dtype=jnp.float32):
  _, cfg, enc, _ = hf_import.load(folder)
  model = encoders.encoder(cfg, dtype=dtype)
  params = model.init(jax.random.key(0), ids, mask)["params"]
  return cfg, model, hf_import.merge(params, enc, "encoder", full=True)


def _log(what, value):
  print(f"modernbert {what}: {value:.3g} ({datetime.date.today()})")


def test_config_reads_layer_types_and_rope(tmp_path):
  _torch_model(tmp_path)
  _, cfg, _, _ = hf_import.load(str(tmp_path))
  assert cfg.kind == "modernbert" and cfg.global_layers == (True, False, True)
  assert (cfg.global_rope_theta, cfg.local_rope_theta, cfg.local_attention) == (1000.0, 50.0, 4)
  # The hub's older config.json: no layer_types or rope_parameters.
  old = modernbert.config_from_hf(dict(
      model_type="modernbert", vocab_size=50368, hidden_size=768, intermediate_size=1152,
      num_hidden_layers=22, num_attention_heads=12, global_attn_every_n_layers=3,
      global_rope_theta=160000.0, local_rope_theta=10000.0, local_attention=128,
      pad_token_id=50283, max_position_embeddings=8192))
  assert old.global_layers[:4] == (True, False, False, True) and old.num_layers == 22
  assert (old.global_rope_theta, old.local_rope_theta) == (160000.0, 10000.0)
  base = dict(vocab_size=10, hidden_size=8, intermediate_size=8, num_hidden_layers=1,
              num_attention_heads=2)
  with pytest.raises(ValueError, match="rope_scaling"):
    modernbert.config_from_hf(dict(base, rope_scaling={"rope_type": "linear", "factor": 2}))
  with pytest.raises(ValueError, match="rope_parameters"):
    modernbert.config_from_hf(dict(base, rope_parameters={
        "full_attention": {"rope_type": "yarn", "rope_theta": 1.0}}))
  with pytest.raises(ValueError, match="hidden_activation"):
    modernbert.config_from_hf(dict(base, hidden_activation="mish"))


@pytest.mark.parametrize("safe,bias", [(True, False), (False, True)])
def test_hidden_states_match_pytorch(tmp_path, safe, bias):
  """safetensors without biases (as ModernBERT-base), pytorch_model.bin with
  every bias on."""
  ref_model = _torch_model(tmp_path, bias=bias, safe=safe)
  ids, mask = _batch()
  _, model, params = _ours(str(tmp_path), ids, mask)
  ours, mods = model.apply({"params": params}, ids, mask, capture_intermediates=
                           encoders.is_layer(model.cfg), mutable=["intermediates"])
  ours = np.asarray(ours)
  with torch.no_grad():
    out = ref_model(input_ids=torch.tensor(ids).long(),
                    attention_mask=torch.tensor(mask).long(), output_hidden_states=True)
  ref = out.last_hidden_state.numpy()
  real = mask.astype(bool)
  err = np.abs(ours - ref)[real].max()
  _log(f"forward max abs diff (safe={safe}, bias={bias})", err)
  assert err <= TOL
  # The per-layer features: each block's output, the last one's after the
  # final norm (transformers' hidden_states: the embeddings' output, then
  # each block's, the last replaced by last_hidden_state).
  assert len(out.hidden_states) == 4
  for i in range(3):
    layer = np.asarray(mods["intermediates"][f"layer_{i}"]["__call__"][0])
    assert np.abs(layer - out.hidden_states[i + 1].numpy())[real].max() <= TOL
  # The window matters: a global-only model differs on the long rows.
  assert not np.allclose(ours, np.asarray(encoders.encoder(
      dataclasses.replace(model.cfg, global_layers=(True,) * 3)).apply(
          {"params": params}, ids, mask)), atol=1e-3)


def test_masked_lm_checkpoint_loads(tmp_path):
  """ModernBERT-base ships as ModernBertForMaskedLM: "model." names, an MLM
  head (not a pooler) beside them, and the decoder tied to the embeddings."""
  torch.manual_seed(3)
  ref_model = transformers.ModernBertForMaskedLM(_config()).eval()
  ref_model.save_pretrained(tmp_path)
  ids, mask = _batch(seed=3)
  _, model, params = _ours(str(tmp_path), ids, mask)
  assert hf_import.load(str(tmp_path))[3] == {}
  ours = np.asarray(model.apply({"params": params}, ids, mask))
  with torch.no_grad():
    ref = ref_model.model(input_ids=torch.tensor(ids).long(),
                          attention_mask=torch.tensor(mask).long()).last_hidden_state.numpy()
  assert np.abs(ours - ref)[mask.astype(bool)].max() <= TOL


def test_gradients_match_pytorch(tmp_path):
  ref_model = _torch_model(tmp_path, bias=True, seed=1)
  ids, mask = _batch(seed=1)
  cfg, model, params = _ours(str(tmp_path), ids, mask)
  r_D = np.random.default_rng(2).normal(size=32).astype(np.float32)
  real = mask.astype(bool)

  def loss(p):
    return (model.apply({"params": p}, ids, mask)[real] @ r_D).sum()

  grads = jax.grad(loss)(params)
  out = ref_model(input_ids=torch.tensor(ids).long(),
                  attention_mask=torch.tensor(mask).long()).last_hidden_state
  (out[torch.tensor(real)] @ torch.tensor(r_D)).sum().backward()
  # Torch's gradients through the same name mapping as the weights.
  ref = modernbert.params_from_hf(cfg, {n: p.grad.numpy() for n, p in
                                        ref_model.named_parameters()})
  flat_ours = dict(jax.tree_util.tree_leaves_with_path(grads))
  flat_ref = dict(jax.tree_util.tree_leaves_with_path(ref))
  assert set(flat_ours) == set(flat_ref)
  worst = worst_abs = 0.0
  for path, g in flat_ours.items():
    want = flat_ref[path]
    assert g.shape == want.shape, path
    diff = np.abs(np.asarray(g) - want).max()
    worst_abs = max(worst_abs, diff)
    worst = max(worst, diff / max(1.0, np.abs(want).max()))  # Relative to the leaf's scale.
  _log("gradient max abs diff", worst_abs)
  _log("gradient max diff / max(1, leaf's max |g|)", worst)
  assert worst <= TOL


def test_bfloat16_runs_close_to_float32(tmp_path):
  _torch_model(tmp_path)
  ids, mask = _batch()
  _, model32, params = _ours(str(tmp_path), ids, mask)
  _, model16, params16 = _ours(str(tmp_path), ids, mask, dtype=jnp.bfloat16)
  assert all(p.dtype == jnp.float32 for p in jax.tree_util.tree_leaves(
      model16.init(jax.random.key(0), ids, mask)["params"]))
  h16 = np.asarray(model16.apply({"params": params16}, ids, mask).astype(jnp.float32))
  h32 = np.asarray(model32.apply({"params": params}, ids, mask))
  real = mask.astype(bool)
  err = np.abs(h16 - h32)[real].max()
  _log("bfloat16 vs float32 max abs diff", err)
  assert np.isfinite(h16).all() and err <= 0.1


def test_bfloat16_products_accumulate_in_float32():
  cfg = encoders.config_from_hf(_config(bias=True).to_dict())
  ids, mask = _batch()
  model = encoders.encoder(cfg, dropout=0.0, dtype=jnp.bfloat16)
  params = model.init(jax.random.key(0), ids, mask)["params"]
  encoder_checks.assert_fast_bf16_path(model, params, ids, mask)



def _tokenizer(folder):
  """A whitespace word-level tokenizer with BERT's special tokens and 1100
  words (hf_import.load_tokenizer wants >= 1000)."""
  tokenizers = pytest.importorskip("tokenizers")
  specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
  words = ["good", "great", "bad", "awful"] + [f"w{i}" for i in range(1096)]
  vocab = {w: i for i, w in enumerate(specials + words)}
  tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
  tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
  tok.post_processor = tokenizers.processors.TemplateProcessing(
      single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
      special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
  fast = transformers.PreTrainedTokenizerFast(
      tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
      sep_token="[SEP]", mask_token="[MASK]")
  fast.save_pretrained(folder)
  return len(vocab)


def test_text_classifier_fine_tunes_modernbert(tmp_path):
  """The fine-tuning trainer end to end on a tiny ModernBERT: a separable toy task."""
  from noisy_meta.trainers import supervised  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "model"
  vocab = _tokenizer(folder)
  torch.manual_seed(0)
  transformers.ModernBertModel(_config(vocab=vocab)).save_pretrained(folder)
  config = encoder_checks.toy_task_config(tmp_path, folder, repeats=8, max_len=16, num_epochs=8,
                                          **{"optim.lr": 3e-3})
  result = supervised.train_and_evaluate(config, str(tmp_path / "w"))
  assert result["dev"]["accuracy"] == 1.0
