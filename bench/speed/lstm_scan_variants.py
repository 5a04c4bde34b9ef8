r"""LSTM scan variants on this backend: what the PA-LSTM's inner loop could change.

A 2-layer LSTM (hidden 200, input 360, as PA-LSTM on GloVe 300 + POS + NER)
trained S=3 SGD steps per task, 8 tasks lax.map-ed (MLRC's inner loops on
CPU), K=8 rows, length 48 with each row's real length drawn from 5..29 (most
time steps are padding, as at 1 %). Variants, timed in alternating order,
medians of 7 rounds, compile excluded:

  skip    lax.cond skips a time step where every row is padding;
  unroll  lax.scan(unroll=n);
  remat   jax.checkpoint on the cell (save only the carry, recompute the gates).

  python -m bench.speed.lstm_scan_variants [--variant=skip,unroll,remat ...] \
      [--out=runs/bench/lstm.md]        e.g. --variant=0,1,0 --variant=1,1,0
"""
import time

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from bench import cli
from bench import output

H, D, B, L = 200, 360, 8, 48
T, S = 8, 3
VARIANTS = [(0, 1, 0), (0, 1, 1), (0, 4, 0), (0, 4, 1), (1, 1, 0), (1, 4, 1)]


def make_lstm(skip, unroll, remat):
  def layer(p, x, mask):
    xw = x @ p["wi"] + p["b"]
    carry = (jnp.zeros((x.shape[0], H)), jnp.zeros((x.shape[0], H)))
    def cell(carry, inputs):
      c, hh = carry
      xw_t, m_t = inputs
      z = xw_t + hh @ p["wh"]
      i, f, g, o = jnp.split(z, 4, axis=-1)
      c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
      h_new = jax.nn.sigmoid(o) * jnp.tanh(c_new)
      m = m_t[:, None]
      c_new, h_new = jnp.where(m, c_new, c), jnp.where(m, h_new, hh)
      return (c_new, h_new), h_new
    body = jax.checkpoint(cell) if remat else cell
    def step(carry, inputs):
      if not skip: return body(carry, inputs)
      return jax.lax.cond(inputs[1].any(), body, lambda c, _: (c, c[1]), carry, inputs)
    xs = (jnp.swapaxes(xw, 0, 1), jnp.swapaxes(mask, 0, 1))
    (_, hl), hs = jax.lax.scan(step, carry, xs, unroll=unroll)
    return jnp.swapaxes(hs, 0, 1) * mask[..., None], hl
  def loss(ps, x, mask):
    h = x
    for p in ps:
      h, last = layer(p, h, mask)
    return (h ** 2).mean() + last.sum()
  return loss


def adapt(loss, ps, xs, masks):
  def body(ps, xm):
    g = jax.grad(loss)(ps, *xm)
    return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, ps, g), None
  return jax.lax.scan(body, ps, (xs, masks))[0]


def define_flags(fv):
  flags.DEFINE_multi_string("variant", [], "skip,unroll,remat, e.g. 0,1,0 (repeat the flag; "
                            "default: six variants).", flag_values=fv)
  flags.DEFINE_string("out", "", "Also write the markdown table here.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  try:
    variants = [tuple(int(v) for v in a.split(",")) for a in args.variant] or VARIANTS
  except ValueError:
    raise SystemExit(f"error: --variant={args.variant}: expected skip,unroll,remat integers.")
  rng = np.random.default_rng(0)
  def init(din):
    return dict(wi=jnp.asarray(rng.normal(0, .05, (din, 4*H)), jnp.float32), wh=jnp.asarray(rng.normal(0, .05, (H, 4*H)), jnp.float32), b=jnp.zeros(4*H))
  ps = [init(D), init(H)]
  xs = jnp.asarray(rng.normal(size=(T, S, B, L, D)), jnp.float32)
  lens = rng.integers(5, 30, (T, S, B))
  masks = jnp.asarray(np.arange(L)[None, None, None] < lens[..., None])
  fns = {}
  for v in variants:
    loss = make_lstm(*v)
    fns[v] = jax.jit(lambda ps, xs, masks, loss=loss: jax.lax.map(lambda a: adapt(loss, ps, *a), (xs, masks)))
    jax.block_until_ready(fns[v](ps, xs, masks))
  ref = fns[variants[0]](ps, xs, masks)
  times = {v: [] for v in variants}
  for r in range(7):
    for v in (variants if r % 2 else variants[::-1]):
      t = time.perf_counter(); jax.block_until_ready(fns[v](ps, xs, masks)); times[v].append(time.perf_counter() - t)
  lines = ["# LSTM scan variants", "", output.stamp("jax"), "",
           "| variant | ms / 8 tasks x 3 steps | max diff vs first |", "|---|---:|---:|"]
  for v in variants:
    out = fns[v](ps, xs, masks)
    d = max(float(jnp.abs(a - b).max()) for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(ref)))
    lines.append(f"| skip={v[0]} unroll={v[1]} remat={v[2]} | {1e3*np.median(times[v]):.0f} | {d:.1e} |")
  output.publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
  cli.run(main)
