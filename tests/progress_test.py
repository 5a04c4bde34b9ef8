"""Progress: the log line's rate and ETA, and the terminal bar."""
import io
import json
import os

import pytest

from noisy_meta.core import progress


class _Terminal(io.StringIO):
  def isatty(self):
    return True


def test_bar_only_on_a_terminal_unless_forced(monkeypatch):
  monkeypatch.delenv("NOISY_META_PROGRESS", raising=False)
  tty, log = _Terminal(), io.StringIO()
  for stream in (tty, log):
    p = progress.Progress(10, unit="steps", desc="run", stream=stream)
    p.advance(4)
    line, _ = p.line(5)
    assert line.startswith("5/10 steps |") and "ETA" in line
    p.advance(10)
  assert "run:" in tty.getvalue() and "10/10" in tty.getvalue()
  assert log.getvalue() == ""  # Not a terminal: the log lines only.
  monkeypatch.setenv("NOISY_META_PROGRESS", "0")
  off = _Terminal()
  progress.Progress(3, stream=off).advance(3)
  assert off.getvalue() == ""
  monkeypatch.setenv("NOISY_META_PROGRESS", "1")
  forced = io.StringIO()
  progress.Progress(3, stream=forced, desc="x").advance(2)
  assert "2/3" in forced.getvalue()


@pytest.mark.job
def test_training_draws_one_bar_per_run(monkeypatch, capsys, data_dir, tmp_path):
  """A supervised run with the bar forced on: its steps on stderr, named after
  the workdir; the metrics files are the same as without it."""
  from configs import re_tacred  # pylint: disable=g-import-not-at-top
  from noisy_meta.trainers import supervised  # pylint: disable=g-import-not-at-top
  config = re_tacred.get_config("model=pa_lstm,runlocal")
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.input.glove = os.path.join(data_dir, "glove",
                                    "glove.6B.50d.filtered_cola_sst2_semeval.txt")
  config.model.hidden = config.model.attn_dim = 16
  results = []
  for name, flag in (("barred", "1"), ("plain", "0")):
    monkeypatch.setenv("NOISY_META_PROGRESS", flag)
    results.append(supervised.train_and_evaluate(config, str(tmp_path / name)))
    err = capsys.readouterr().err
    assert (f"{name}:" in err and "step/s" in err) == (flag == "1"), err[-500:]
  read = lambda n: [json.loads(l) for l in open(os.path.join(tmp_path, n, "metrics.jsonl"))
                    if "dev/f1" in l]
  assert results[0]["test_f1"] == results[1]["test_f1"]
  assert [r["dev/f1"] for r in read("barred")] == [r["dev/f1"] for r in read("plain")]
