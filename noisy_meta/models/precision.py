"""Mixed precision for the encoders: bfloat16 products, float32 accumulation.

A product of two bfloat16 operands is asked for in float32
(`preferred_element_type`) and rounded to the computation dtype after: that
is what the matrix units take (AMX and AVX512-BF16 on x86 CPUs, tensor cores,
TPU MXUs), and XLA:CPU's fast bfloat16 kernel is only reached this way (a
bfloat16-out product of the same operands ran about 5x slower here:
docs/speed.md). Batched products (attention's scores and mixing) have no
such kernel on XLA:CPU and run in float32. In float32 these are the
ordinary products.

The backward pass is written out (`jax.custom_vjp`) so that its products
take the same path: JAX's own transpose of a float32-out product of
bfloat16 operands multiplies in float32.
"""
import functools
import string

import jax
import jax.numpy as jnp


def _low(dtype):
  return jnp.dtype(dtype) != jnp.dtype(jnp.float32)


def _parse(spec):
  ins, out = spec.split("->")
  a, b = ins.split(",")
  return a, b, out


def _transposable(spec):
  """Whether each operand's gradient is one einsum of the other two (every
  index of an operand also in the other operand or the output)."""
  a, b, c = _parse(spec)
  return set(a) <= set(b) | set(c) and set(b) <= set(a) | set(c)


def _batched(spec):
  a, b, c = _parse(spec)
  return bool(set(a) & set(b) & set(c))


def _mixed(spec, x, y, dtype):
  if _batched(spec):  # XLA:CPU has no batched bfloat16 x bfloat16 = float32 product.
    return jnp.einsum(spec, x.astype(jnp.float32), y.astype(jnp.float32)).astype(dtype)
  return jnp.einsum(spec, x.astype(dtype), y.astype(dtype),
                    preferred_element_type=jnp.float32).astype(dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 3))
def _einsum(spec, x, y, dtype):
  return _mixed(spec, x, y, dtype)


def _einsum_fwd(spec, x, y, dtype):
  return _mixed(spec, x, y, dtype), (x, y)


def _einsum_bwd(spec, dtype, res, g):
  x, y = res
  a, b, c = _parse(spec)
  gx = _mixed(f"{c},{b}->{a}", g, y, dtype).astype(x.dtype)
  gy = _mixed(f"{a},{c}->{b}", x, g, dtype).astype(y.dtype)
  return gx, gy


_einsum.defvjp(_einsum_fwd, _einsum_bwd)


def einsum(spec, a, b, dtype):
  """jnp.einsum of two operands in `dtype`, accumulated in float32 (forward
  and backward)."""
  spec = spec.replace(" ", "")
  if not _low(dtype):
    return jnp.einsum(spec, a, b)
  if not _transposable(spec):
    return _mixed(spec, a, b, dtype)
  return _einsum(spec, a, b, jnp.dtype(dtype))


def dot_general_spec(lhs_ndim, rhs_ndim, dimension_numbers):
  """The einsum spec of a dot_general (its output: batch, lhs free, rhs free)."""
  (lc, rc), (lb, rb) = dimension_numbers
  letters = iter(string.ascii_letters)
  l, r = [None] * lhs_ndim, [None] * rhs_ndim
  for i, j in list(zip(lb, rb)) + list(zip(lc, rc)):
    l[i] = r[j] = next(letters)
  l = [ch or next(letters) for ch in l]
  r = [ch or next(letters) for ch in r]
  out = ([l[i] for i in lb] + [ch for i, ch in enumerate(l) if i not in lb and i not in lc]
         + [ch for i, ch in enumerate(r) if i not in rb and i not in rc])
  return f"{''.join(l)},{''.join(r)}->{''.join(out)}"


def dot_general(dtype):
  """A `dot_general` for flax's Dense / DenseGeneral computing in `dtype`."""
  if not _low(dtype):
    return jax.lax.dot_general

  def dg(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    del precision, preferred_element_type  # Always accumulate in float32.
    spec = dot_general_spec(lhs.ndim, rhs.ndim, dimension_numbers)
    return einsum(spec, lhs, rhs, dtype)
  return dg


def dense(dtype):
  """Keyword arguments of nn.Dense / nn.DenseGeneral computing in `dtype`
  (parameters stay float32)."""
  return dict(dtype=dtype, dot_general=dot_general(dtype))
