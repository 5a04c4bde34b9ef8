"""Every config of every family (with representative arguments) as one JSON file.

  python -m bench.tools.dump_configs --out=/tmp/configs.json   # before and after a change, then diff

Used to check that a refactoring of configs/ changes no config value.
"""
import importlib
import json

from absl import flags

from bench import cli
from bench import output

CASES = {
 "finetune_cola": ["", "runlocal", "seed=3,model=distilbert,epochs=2,lr=1e-4", "runlocal,train_size=64"],
 "finetune_sst2": ["", "runlocal"], "finetune_tsv": ["", "runlocal"],
 "aum_cola": ["", "runlocal", "noise=0.2,seeds=1", "runlocal,train_size=64,seeds=0"],
 "aum_sst2": ["", "runlocal"], "aum_tsv": ["", "runlocal"],
 "aum_semeval": ["", "runlocal", "model=cgcn,noise=0.1", "runlocal,train_size=400"],
 "re_semeval": ["", "runlocal", "model=cgcn,seed=1", "model=pa_lstm,epochs=3,lr=0.5,batch_size=20,prune_k=2"],
 "re_tacred": ["", "model=cgcn"],
 "mlrc_semeval": ["", "runlocal", "model=cgcn,fractions=0.01+0.1+1,runs=5+2+1", "fraction=0.05,algorithm=maml,tasks=4", "runlocal,fraction=0.2"],
 "mlrc_text": ["", "runlocal", "runlocal,fraction=0.5"],
 # The family modules run as config files themselves.
 "finetune": ["task=cola", "task=sst2,runlocal"], "relation": ["dataset=tacred,model=cgcn"],
 "aum": ["runlocal"], "mlrc": ["runlocal"],
}


def define_flags(fv):
  flags.DEFINE_string("out", None, "The JSON file to write.", flag_values=fv)


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__, required=("out",))
  out = {}
  for name, cases in CASES.items():
    m = importlib.import_module(f"configs.{name}")
    for a in cases:
      out[f"{name}:{a}"] = json.loads(m.get_config(a).to_json_best_effort(sort_keys=True))
  print(f"{len(out)} configs")
  output.done(output.write(args.out, json.dumps(out, indent=1, sort_keys=True) + "\n"))


if __name__ == "__main__":
  cli.run(main)
