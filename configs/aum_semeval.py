r"""AUM on SemEval-2010 Task 8 with PA-LSTM or C-GCN: mislabelled relation examples.

  python -m noisy_meta.main --config=configs/aum_semeval.py:runlocal --workdir=/tmp/aum_re
  python -m noisy_meta.main --config=configs/aum_semeval.py:model=cgcn,noise=0.2 \
      --workdir=runs/aum_semeval_cgcn_n20

The same pipeline as configs/aum_cola.py over the relation learner: two AUM
runs with threshold samples (19 real classes + 1 fake), the percentile
sweep, sieve / flip retrains. Retrains report dev accuracy of the last
epoch; the neighbour rule uses mean GloVe vectors. Whether AUM finds
mislabelled relation examples is measured in issue 19, not here.
"""
from configs import aum


def get_config(arg=None):
  return aum.get_config(arg, task="semeval")
