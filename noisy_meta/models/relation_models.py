"""PA-LSTM (Zhang et al. 2017) and C-GCN (Zhang, Qi and Manning 2018) in Flax.

Both read a batch of id arrays [B, L] (`words`, `pos`, `ner`, `subj_pos`,
`obj_pos`, `mask`; C-GCN also `heads` and `kept`) and return logits [B, C].
Word vectors are a fixed GloVe matrix in the `constants` collection
(`{"params": ..., "constants": {"embed": {"glove": G}}}`): never trained,
outside the optimizer; POS, NER and position embeddings are trained.

The LSTM computes the input projection of all time steps in one matrix
product and scans only the recurrent one (as cuDNN does); padding steps
keep the carry, so the final state is the one at each sentence's end.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp


def _cell(w_h, carry, xw_t, m_t):
  """One time step: ((c, h) kept where the row is padding, (i, f, g, o, tanh c))."""
  c, hh = carry
  z = xw_t + hh @ w_h
  i, f, g, o = jnp.split(z, 4, axis=-1)
  i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
  c_new = f * c + i * g
  tc = jnp.tanh(c_new)
  m = m_t[:, None]
  return (jnp.where(m, c_new, c), jnp.where(m, o * tc, hh)), (i, f, g, o, tc)


def recurrence(xw, mask, w_h):
  """Hidden states [L, B, H] of the recurrence over time-major xw [L, B, 4H]
  (the input projection) and mask [L, B], from zero states; autodiff through
  the scan (the reference for `fused_recurrence`)."""
  zeros = jnp.zeros((xw.shape[1], w_h.shape[0]), xw.dtype)

  def step(carry, inputs):
    carry, _ = _cell(w_h, carry, *inputs)
    return carry, carry[1]

  return jax.lax.scan(step, (zeros, zeros), (xw, mask))[1]


@jax.custom_vjp
def fused_recurrence(xw, mask, w_h):
  """`recurrence` with a hand-written backward pass: XLA:CPU's time goes to
  the number of ops per time step, not their size (bench/speed/profile_step.py),
  and autodiff of the scan runs about twice the ops this does. Per step the
  forward saves one array (gates, previous and tanh cell); the backward
  computes dz = dL/d(xw_t) and dh_{t-1} = dz W_h^T; dW_h = sum_t
  h_{t-1}^T dz_t is one matrix product after the loop. Reverse mode of any
  order (MAML differentiates through it); no forward mode."""
  return recurrence(xw, mask, w_h)


def _fused_fwd(xw, mask, w_h):
  zeros = jnp.zeros((xw.shape[1], w_h.shape[0]), xw.dtype)

  def step(carry, inputs):
    new, gates = _cell(w_h, carry, *inputs)
    return new, (new[1], jnp.concatenate(gates[:4] + (carry[0], gates[4]), -1))

  hs, saved = jax.lax.scan(step, (zeros, zeros), (xw, mask))[1]
  return hs, (hs, saved, mask, w_h)


def _fused_bwd(residuals, d_hs):
  hs, saved, mask, w_h = residuals
  zeros = jnp.zeros_like(hs[0])

  def step(carry, inputs):
    dh, dc = carry
    dh_t, s, m_t = inputs
    i, f, g, o, c_prev, tc = jnp.split(s, 6, axis=-1)
    dh = dh + dh_t
    dc_new = dc + dh * o * (1 - tc * tc)
    dz = jnp.concatenate([dc_new * g * i * (1 - i), dc_new * c_prev * f * (1 - f),
                          dc_new * i * (1 - g * g), dh * tc * o * (1 - o)], -1)
    m = m_t[:, None]
    dz = jnp.where(m, dz, 0)
    return (jnp.where(m, dz @ w_h.T, dh), jnp.where(m, dc_new * f, dc)), dz

  dz = jax.lax.scan(step, (zeros, zeros), (d_hs, saved, mask), reverse=True)[1]
  h_prev = jnp.concatenate([zeros[None], hs[:-1]], 0)
  return dz, None, jnp.einsum("lbh,lbk->hk", h_prev, dz)


fused_recurrence.defvjp(_fused_fwd, _fused_bwd)


class LSTM(nn.Module):
  """One LSTM layer over [B, L, D] with a mask [B, L]; returns (hs, h_last).

  fused: the recurrence's hand-written backward pass (`fused_recurrence`);
  False: autodiff through the scan (`recurrence`), the same numbers.
  """
  hidden: int
  reverse: bool = False
  fused: bool = True

  @nn.compact
  def __call__(self, x, mask):
    h = self.hidden
    xw = nn.Dense(4 * h, name="input")(x)  # [B, L, 4H], all steps at once.
    w_h = self.param("recurrent", nn.initializers.orthogonal(), (h, 4 * h))
    xw_t, mask_t = jnp.swapaxes(xw, 0, 1), jnp.swapaxes(mask, 0, 1)
    if self.reverse:  # Right to left: the same recurrence on flipped time.
      xw_t, mask_t = xw_t[::-1], mask_t[::-1]
    hs = (fused_recurrence if self.fused else recurrence)(xw_t, mask_t.astype(bool), w_h)
    h_last = hs[-1]  # Padding keeps the carry: the state at each sentence's end.
    if self.reverse:
      hs = hs[::-1]
    return jnp.swapaxes(hs, 0, 1) * mask[..., None], h_last


class Embed(nn.Module):
  """Fixed word vectors + trained POS and NER embeddings, word dropout."""
  vocab: int
  dim: int
  num_pos: int
  num_ner: int
  pos_dim: int = 30
  ner_dim: int = 30
  word_dropout: float = 0.04

  @nn.compact
  def __call__(self, batch, train):
    words = batch["words"]
    if train and self.word_dropout > 0:
      drop = jax.random.bernoulli(self.make_rng("dropout"), self.word_dropout, words.shape)
      words = jnp.where(drop & (words > 0), 1, words)  # 1: <UNK>.
    table = self.variable("constants", "glove", jnp.zeros, (self.vocab, self.dim))
    x = [table.value[words]]
    if self.pos_dim:
      x.append(nn.Embed(self.num_pos, self.pos_dim, name="pos")(batch["pos"]))
    if self.ner_dim:
      x.append(nn.Embed(self.num_ner, self.ner_dim, name="ner")(batch["ner"]))
    return jnp.concatenate(x, -1)


class PALSTM(nn.Module):
  """LSTM with position-aware attention (Zhang et al. 2017, TACRED paper).

  u_i = v . tanh(W_h h_i + W_q q + W_s p^s_i + W_o p^o_i), q the last hidden
  state; z = sum_i softmax(u)_i h_i; logits = W z.
  """
  vocab: int
  dim: int
  num_pos: int
  num_ner: int
  num_classes: int
  hidden: int = 200
  layers: int = 2
  attn_dim: int = 200
  pe_dim: int = 30
  max_len: int = 128  # Relative positions are clipped to +-max_len.
  dropout: float = 0.5
  word_dropout: float = 0.04
  pos_dim: int = 30
  ner_dim: int = 30

  @nn.compact
  def __call__(self, batch, train=False):
    mask = batch["mask"]
    x = Embed(self.vocab, self.dim, self.num_pos, self.num_ner, self.pos_dim, self.ner_dim,
              self.word_dropout, name="embed")(batch, train)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    for i in range(self.layers):
      x, q = LSTM(self.hidden, name=f"lstm{i}")(x, mask)
      if i < self.layers - 1:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    h = nn.Dropout(self.dropout, deterministic=not train)(x)
    pe = nn.Embed(2 * self.max_len + 1, self.pe_dim, name="position")
    clip = lambda p: jnp.clip(p, -self.max_len, self.max_len) + self.max_len
    ps, po = pe(clip(batch["subj_pos"])), pe(clip(batch["obj_pos"]))
    u = (nn.Dense(self.attn_dim, name="w_h")(h)
         + nn.Dense(self.attn_dim, use_bias=False, name="w_q")(q)[:, None]
         + nn.Dense(self.attn_dim, use_bias=False, name="w_s")(ps)
         + nn.Dense(self.attn_dim, use_bias=False, name="w_o")(po))
    score = nn.Dense(1, name="v")(jnp.tanh(u))[..., 0]
    score = jnp.where(mask, score, -1e30)
    z = jnp.einsum("bl,blh->bh", jax.nn.softmax(score, -1), h)
    self.sow("intermediates", "features", z)  # The classifier's input [B, D].
    return nn.Dense(self.num_classes, name="classifier")(z)


def adjacency(heads, length):
  """Symmetric adjacency [B, L, L] from pruned heads [B, L] (-1: none)."""
  a = jax.nn.one_hot(heads, length, dtype=jnp.float32)  # -1 -> all zeros.
  return a + jnp.swapaxes(a, 1, 2)


def masked_max(h, keep):
  return jnp.max(jnp.where(keep[..., None], h, -1e30), axis=1)


class CGCN(nn.Module):
  """Contextualised GCN over the pruned dependency tree.

  BiLSTM, then GCN layers h' = ReLU((A h W + h W) / (deg + 1)) (self loop,
  degree-normalised), then max pooling over the sentence (tokens in the
  pruned tree), the subject and the object, an MLP and a linear classifier.
  Returns (logits, sentence representation) for the pooling L2 penalty.
  """
  vocab: int
  dim: int
  num_pos: int
  num_ner: int
  num_classes: int
  hidden: int = 200
  gcn_layers: int = 2
  rnn_hidden: int = 200
  mlp_layers: int = 2
  input_dropout: float = 0.5
  gcn_dropout: float = 0.5
  rnn_dropout: float = 0.5
  word_dropout: float = 0.04
  pos_dim: int = 30
  ner_dim: int = 30

  @nn.compact
  def __call__(self, batch, train=False):
    mask = batch["mask"]
    x = Embed(self.vocab, self.dim, self.num_pos, self.num_ner, self.pos_dim, self.ner_dim,
              self.word_dropout, name="embed")(batch, train)
    x = nn.Dropout(self.input_dropout, deterministic=not train)(x)
    fw, _ = LSTM(self.rnn_hidden, name="rnn_fw")(x, mask)
    bw, _ = LSTM(self.rnn_hidden, reverse=True, name="rnn_bw")(x, mask)
    h = nn.Dropout(self.rnn_dropout, deterministic=not train)(jnp.concatenate([fw, bw], -1))
    adj = adjacency(batch["heads"], mask.shape[1])
    denom = adj.sum(2, keepdims=True) + 1.0
    for i in range(self.gcn_layers):
      w = nn.Dense(self.hidden, name=f"gcn{i}")
      h = jax.nn.relu((w(adj @ h) + w(h)) / denom)
      if i < self.gcn_layers - 1:
        h = nn.Dropout(self.gcn_dropout, deterministic=not train)(h)
    subj = (batch["subj_pos"] == 0) & mask
    obj = (batch["obj_pos"] == 0) & mask
    sent = masked_max(h, batch["kept"] & mask)
    z = jnp.concatenate([sent, masked_max(h, subj), masked_max(h, obj)], -1)
    for i in range(self.mlp_layers):
      z = jax.nn.relu(nn.Dense(self.hidden, name=f"mlp{i}")(z))
    self.sow("intermediates", "features", z)  # The classifier's input [B, D].
    return nn.Dense(self.num_classes, name="classifier")(z), sent


def make(name, vocab, dim, num_pos, num_ner, num_classes, **kwargs):
  """A relation model by config name: pa_lstm or cgcn."""
  if name == "pa_lstm":
    return PALSTM(vocab, dim, num_pos, num_ner, num_classes, **kwargs)
  if name == "cgcn":
    return CGCN(vocab, dim, num_pos, num_ner, num_classes, **kwargs)
  raise ValueError(f"Unknown relation model {name!r} (pa_lstm, cgcn).")
