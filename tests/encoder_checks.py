"""Checks the encoder tests share: the separable toy task every architecture's
text classifier must fit, and the bfloat16 products' fast path."""
import jax
import jax.numpy as jnp

TOY_WORDS = (("good", "pos"), ("great", "pos"), ("bad", "neg"), ("awful", "neg"))


def toy_task_config(tmp_path, model_path, repeats=16, max_len=None, **fields):
  """A fine-tuning config (configs/finetune_cola.py's runlocal recipe) on a
  trivially separable two-class TSV task written under `tmp_path`, for the
  encoder at `model_path`; `fields` are config fields ("optim.lr": 1e-3)."""
  from configs import finetune_cola  # pylint: disable=g-import-not-at-top
  train = "sentence\tlabel\n" + "".join(
      f"{w} {w} {w}\t{lab}\n" for _ in range(repeats) for w, lab in TOY_WORDS)
  (tmp_path / "train.tsv").write_text(train)
  (tmp_path / "dev.tsv").write_text("sentence\tlabel\ngood great\tpos\nbad awful\tneg\n"
                                    "great good\tpos\nawful bad\tneg\n")
  config = finetune_cola.get_config("runlocal,epochs=3")
  config.input.task = "tsv"
  config.input.train_file = str(tmp_path / "train.tsv")
  config.input.dev_file = str(tmp_path / "dev.tsv")
  config.input.train_size = config.input.dev_size = 0
  config.input.cache_dir = str(tmp_path / "cache")
  if max_len:
    config.input.max_len = max_len
  config.input.buckets = (16,)
  config.model.path = str(model_path)
  config.optim.lr = 1e-3
  for key, value in fields.items():
    *path, last = key.split(".")
    node = config
    for k in path:
      node = node[k]
    node[last] = value
  return config


def products(jaxpr):
  """(lhs, rhs, out) dtype names of every dot_general in `jaxpr`, nested ones too."""
  found = []
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "dot_general":
      found.append(tuple(str(v.aval.dtype) for v in (*eqn.invars, *eqn.outvars)))
    for p in eqn.params.values():
      for sub in p if isinstance(p, (tuple, list)) else (p,):
        sub = getattr(sub, "jaxpr", sub)  # ClosedJaxpr -> Jaxpr.
        if hasattr(sub, "eqns"):
          found += products(sub)
  return found


def assert_fast_bf16_path(model, params, ids, mask):
  """With dtype=bfloat16 every product, forward and backward, is either
  bfloat16 x bfloat16 -> float32 (precision.dense / einsum's fast path) or a
  float32 one (batched attention products); none rounds to bfloat16 inside.
  Every Dense kernel takes the fast path at least once."""
  loss = lambda p: model.apply({"params": p}, ids, mask).astype(jnp.float32).sum()
  kernels = sum(1 for path, x in jax.tree_util.tree_flatten_with_path(params)[0]
                if "kernel" in jax.tree_util.keystr(path) and "conv" not in
                jax.tree_util.keystr(path))
  for fn, per_kernel in ((lambda p: model.apply({"params": p}, ids, mask), 1),
                         (jax.grad(loss), 3)):  # Backward: x, dx and dkernel products.
    found = products(jax.make_jaxpr(fn)(params).jaxpr)
    assert set(found) <= {("bfloat16", "bfloat16", "float32"),
                          ("float32", "float32", "float32")}, set(found)
    assert found.count(("bfloat16", "bfloat16", "float32")) >= per_kernel * kernels


def made_up_sentences(rng, words=3000, per_sentence=10):
  """Sentences of random lower-case words (a tokenizer's training corpus)."""
  made = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), rng.integers(3, 9)))
          for _ in range(words)]
  return [" ".join(made[i:i + per_sentence]) for i in range(0, words, per_sentence)]


def roberta_tokenizer(folder, corpus, vocab_size=1200):
  """A byte-level BPE trained on `corpus`, saved to `folder` as RoBERTa's
  tokenizer (<s>=0, <pad>=1, </s>=2, <unk>, <mask>); returns it."""
  import json  # pylint: disable=g-import-not-at-top
  import tokenizers  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  bpe = tokenizers.ByteLevelBPETokenizer()
  bpe.train_from_iterator(corpus, vocab_size=vocab_size, min_frequency=1,
                          special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
  m = json.loads(bpe._tokenizer.to_str())["model"]  # pylint: disable=protected-access
  merges = [tuple(x) if isinstance(x, list) else tuple(x.split()) for x in m["merges"]]
  tok = transformers.RobertaTokenizerFast(vocab=m["vocab"], merges=merges)
  tok.save_pretrained(folder)
  return tok
