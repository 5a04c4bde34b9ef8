"""TACRED-schema examples for the relation data tests (semeval, tacred, label patches).

A made-up example, a JSON file writer, a schema check and the TACRED sample
folder: the three test modules share them, so they live beside the tests.
"""
import json
import os

import pytest


def sample_dir(data_dir):
  """The TACRED sample folder in the real data; skips the test if absent."""
  folder = os.path.join(data_dir, "tacred_sample")
  if not os.path.isdir(folder):
    pytest.skip(f"no TACRED sample at {folder}")
  return folder


def make(**changes):
  """A valid four-token TACRED example (heads as strings, as LDC's), with `changes`."""
  ex = dict(id="a1", relation="per:title", token=["Bob", "is", "CEO", "."],
            subj_start=0, subj_end=0, obj_start=2, obj_end=2,
            subj_type="PERSON", obj_type="TITLE",
            stanford_pos=["NNP", "VBZ", "NN", "."],
            stanford_ner=["PERSON", "O", "TITLE", "O"],
            stanford_head=["3", "3", "0", "3"],
            stanford_deprel=["nsubj", "cop", "ROOT", "punct"])
  ex.update(changes)
  return ex


def write_json(tmp_path, obj, name="t.json"):
  """Writes `obj` as JSON to `tmp_path/name`; returns the path as a string."""
  path = tmp_path / name
  path.write_text(json.dumps(obj), encoding="utf-8")
  return str(path)


def check_schema(ex):
  """Asserts that `ex` is a well-formed TACRED-schema example (NER renamed)."""
  n = len(ex["token"])
  for k in ("stanford_pos", "stanford_ner", "stanford_head", "stanford_deprel"):
    assert len(ex[k]) == n, k
  assert all(isinstance(h, int) and 0 <= h <= n for h in ex["stanford_head"])
  assert ex["stanford_head"].count(0) == 1
  root = ex["stanford_head"].index(0)
  assert ex["stanford_deprel"][root] == "ROOT"
  assert all(d == d.lower() for i, d in enumerate(ex["stanford_deprel"]) if i != root)
  assert 0 <= ex["subj_start"] <= ex["subj_end"] < n
  assert 0 <= ex["obj_start"] <= ex["obj_end"] < n
  assert ex["subj_type"] == ex["stanford_ner"][ex["subj_end"]]
  assert ex["obj_type"] == ex["stanford_ner"][ex["obj_end"]]
  assert not set(ex["stanford_ner"]) & {"ORG", "GPE", "LOC", "CARDINAL", ""}
