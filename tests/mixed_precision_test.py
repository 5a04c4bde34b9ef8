"""bfloat16 mixed precision (model.dtype): float32 parameters, optimiser state,
logits and losses around an encoder computing in bfloat16. (A bfloat16
fine-tune end to end: tests/bert_variants_test.py's RoBERTa toy task.)"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import encoder_checks

from configs import finetune_cola
from noisy_meta import validate
from noisy_meta.core import errors
from noisy_meta.core import loop
from noisy_meta.core import parallel
from noisy_meta.learners import text_classifier as text


def _toy(tmp_path, tiny_bert_dir, dtype):
  return encoder_checks.toy_task_config(tmp_path, tiny_bert_dir, **{"model.dtype": dtype,
                                                                    "num_epochs": 8})


def test_bfloat16_state_is_float32_and_logits_are_float32(tmp_path, tiny_bert_dir):
  config = _toy(tmp_path, tiny_bert_dir, "bfloat16")
  learner = text.TextClassifier(config)
  mesh = parallel.make_mesh(1)
  state = learner.init_state(jax.random.key(0), 2, 10, mesh)
  leaves = jax.tree_util.tree_leaves(state.params) + [
      x for x in jax.tree_util.tree_leaves(state.opt_state) if hasattr(x, "dtype")
      and jnp.issubdtype(x.dtype, jnp.floating)]
  assert {x.dtype for x in leaves} == {jnp.dtype(jnp.float32)}
  batch = learner.make_batch(learner.dev, np.arange(4), 4, 16)
  logits = learner.logits(state, state.params, batch)
  assert logits.dtype == jnp.float32
  # The encoder does compute in bfloat16: its hidden states are bfloat16, and
  # the logits differ from float32's by bfloat16's rounding, not more.
  f32 = _toy(tmp_path, tiny_bert_dir, "float32")
  ref = text.TextClassifier(f32).init_state(jax.random.key(0), 2, 10, mesh)
  ref_logits = learner.logits(ref, ref.params, batch)
  gap = float(jnp.abs(logits - ref_logits).max())
  assert 0 < gap < 0.05, gap
  state2, metrics = jax.jit(lambda s, b, r: loop.train_step(s, b, r, learner))(
      state, learner.make_batch(learner.train, np.arange(8), 8, 16), jax.random.key(1))
  assert np.isfinite(float(metrics["loss"]))
  assert {x.dtype for x in jax.tree_util.tree_leaves(state2.params)} == {
      jnp.dtype(jnp.float32)}


def test_model_dtype_is_checked():
  config = finetune_cola.get_config("runlocal")
  config.model.dtype = "float16"
  with pytest.raises(errors.InputError, match="model.dtype"):
    validate.check(config)


@pytest.mark.parametrize("spec, shapes", [
    ("ab,bc->ac", ((6, 5), (5, 7))),  # Dense.
    ("abd,dhk->abhk", ((2, 3, 8), (8, 2, 4))),  # DenseGeneral into heads.
    ("bqhk,bshk->bhqs", ((2, 3, 2, 4), (2, 5, 2, 4))),  # Batched: float32 inside.
])
def test_mixed_einsum_and_its_gradients_follow_float32(spec, shapes):
  from noisy_meta.models import precision  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  x, y = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in shapes)
  loss = lambda f: lambda a, b: (f(a, b).astype(jnp.float32) ** 2).sum()
  ours = jax.grad(loss(lambda a, b: precision.einsum(spec, a, b, jnp.bfloat16)), (0, 1))(x, y)
  ref = jax.grad(loss(lambda a, b: jnp.einsum(spec, a, b)), (0, 1))(x, y)
  out = precision.einsum(spec, x, y, jnp.bfloat16)
  assert out.dtype == jnp.bfloat16
  np.testing.assert_allclose(np.asarray(out, np.float32), jnp.einsum(spec, x, y), rtol=0.05,
                             atol=0.05)
  for o, r in zip(ours, ref):
    assert o.dtype == jnp.float32  # Cotangents in the operands' dtype.
    assert float(jnp.abs(o - r).max()) <= 0.03 * float(jnp.abs(r).max())
  # float32 is the plain product, bit for bit.
  assert (precision.einsum(spec, x, y, jnp.float32) == jnp.einsum(spec, x, y)).all()


def test_dot_general_spec_orders_batch_lhs_rhs():
  from noisy_meta.models import precision  # pylint: disable=g-import-not-at-top
  assert precision.dot_general_spec(2, 2, (((1,), (0,)), ((), ()))) == "ba,ac->bc"
  # DenseGeneral over two axes: [B, L, H, K] x [H, K, D].
  spec = precision.dot_general_spec(4, 3, (((2, 3), (0, 1)), ((), ())))
  x, w = np.ones((2, 3, 4, 5)), np.ones((4, 5, 6))
  assert np.einsum(spec, x, w).shape == jax.lax.dot_general(
      x, w, (((2, 3), (0, 1)), ((), ()))).shape == (2, 3, 6)
