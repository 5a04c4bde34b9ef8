"""AUM on relation data with a published correction (Re-TACRED or
TACRED-Revisited patch) as the ground truth of which labels are wrong."""
import csv
import json
import os

import numpy as np
import pytest

from configs import aum_tacred
from noisy_meta.core import errors
from noisy_meta.trainers import aum


def _tacred_aum_config(data_dir, patch):
  config = aum_tacred.get_config("runlocal,model=pa_lstm,seeds=0")
  config.input.tacred_dir = os.path.join(data_dir, "tacred_sample")
  config.input.glove = os.path.join(data_dir, "glove",
                                    "glove.6B.50d.filtered_cola_sst2_semeval.txt")
  config.input.label_patch = patch
  config.noise.from_patch = True
  config.aum.threshold_mode = "random"  # 20 sentences, 10 labels: one per run.
  config.model.hidden = config.model.attn_dim = 16
  config.clean.methods = ()
  config.clean.detector = "aum"
  return config


@pytest.mark.job
def test_retacred_patch_is_the_ground_truth(data_dir, tmp_path):
  sample = os.path.join(data_dir, "tacred_sample")
  splits = {s: json.load(open(os.path.join(sample, f"{s}.json"))) for s in ("train", "dev",
                                                                            "test")}
  folder = tmp_path / "retacred"
  folder.mkdir()
  wrong = [e["id"] for e in splits["train"] if e["relation"] == "no_relation"][:3]
  dropped = splits["train"][-1]["id"]
  for s, exs in splits.items():
    labels = {e["id"]: ("org:city_of_headquarters" if e["id"] in wrong else e["relation"])
              for e in exs if e["id"] != dropped}
    (folder / f"{s}_id2label.json").write_text(json.dumps(labels))
  w = tmp_path / "job"
  summary = aum.train_and_evaluate(_tacred_aum_config(data_dir, str(folder)), str(w))
  with np.load(w / "noise.npz") as z:
    assert z["noisy"].sum() == 3 == summary["noisy"] and len(z["given"]) == 19
  with open(w / "examples.csv", newline="") as f:
    rows = list(csv.DictReader(f))
  assert dropped not in {r["source"] for r in rows}  # Re-TACRED drops what it does not list.
  flagged_truth = {r["source"] for r in rows if r["noisy"] == "1"}
  assert flagged_truth == set(wrong)
  for r in rows:
    if r["source"] in wrong:  # Trained on TACRED's label; the patch's is the original.
      assert r["label_name"] == "no_relation"
      assert r["original_label_name"] == "org:city_of_headquarters"
  assert "detection" in summary["percentiles"]["99"]


def test_a_patch_without_train_labels_is_refused(data_dir, tmp_path):
  sample = os.path.join(data_dir, "tacred_sample")
  dev = json.load(open(os.path.join(sample, "dev.json")))
  patch = tmp_path / "dev_patch.json"  # TACRED-Revisited: dev and test only.
  patch.write_text(json.dumps([{"id": dev[0]["id"], "relation": "no_relation"}]))
  with pytest.raises(errors.InputError, match="changes no training label"):
    aum.train_and_evaluate(_tacred_aum_config(data_dir, str(patch)), str(tmp_path / "j"))


def test_from_patch_keeps_the_relations_the_patch_replaced(data_dir, tmp_path):
  """Every org:city_of_headquarters becomes org:city_of_branch: the output
  space still holds the old label, which the job trains on."""
  from noisy_meta.learners import relation_classifier  # pylint: disable=g-import-not-at-top
  sample = os.path.join(data_dir, "tacred_sample")
  folder = tmp_path / "retacred"
  folder.mkdir()
  for s in ("train", "dev", "test"):
    exs = json.load(open(os.path.join(sample, f"{s}.json")))
    (folder / f"{s}_id2label.json").write_text(json.dumps({
        e["id"]: e["relation"].replace("org:city_of_headquarters", "org:city_of_branch")
        for e in exs}))
  config = _tacred_aum_config(data_dir, str(folder))
  _, labels = relation_classifier.load_examples(config)
  assert {"org:city_of_headquarters", "org:city_of_branch"} <= set(labels)
  config.noise.from_patch = False  # A plain run: the patched labels only.
  _, labels = relation_classifier.load_examples(config)
  assert "org:city_of_headquarters" not in labels
