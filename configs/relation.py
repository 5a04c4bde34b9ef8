r"""Supervised relation classification with PA-LSTM, C-GCN or a pretrained
Transformer over entity markers (semeval | tacred).

  python -m noisy_meta.main --config=configs/relation.py:dataset=semeval,model=cgcn,runlocal \
      --workdir=/tmp/re
  python -m noisy_meta.main --config=configs/relation.py:model=transformer,runlocal --workdir=/tmp/re_tf

`model=transformer` fine-tunes `encoder=` (default minilm, the offline
all-MiniLM-L6-v2; any BERT / DistilBERT folder or hub name); `model=` a
short encoder name (minilm, distilbert), a folder or a hub name means the
same with that encoder.

The family of configs/re_{semeval,tacred}.py, which are the entry points;
configs/aum.py and configs/mlrc.py build on `build`.
"""
import ml_collections

from configs import common
from configs import rules

DATASETS = ("semeval", "tacred")  # noisy_meta/data/semeval.py and tacred.py.
# The `:key=value,...` arguments and their defaults. epochs=0 and lr=0.0:
# the model's own (RELATION_OPTIM).
# batch_size=0: the model's own (50 in both originals; 32 for the Transformer).
# train_size=0: all (runlocal: 300).
ARGS = dict(runlocal=False, seed=0, model="pa_lstm", train_size=0, epochs=0, lr=0.0,
            batch_size=0, prune_k=1, encoder="minilm", max_len=128, markers="")

# Published hyperparameters of the two learners. PA-LSTM: train.py defaults
# of yuhaozhang/tacred-relation (Zhang et al. 2017). C-GCN: train.py
# defaults and train_cgcn.sh of qipeng/gcn-over-pruned-trees (Zhang, Qi and
# Manning 2018), which sets prune_k 1, lr 0.3 and pooling_l2 0.003.
RELATION_MODELS = {
    "pa_lstm": dict(hidden=200, layers=2, attn_dim=200, pe_dim=30, dropout=0.5,
                    word_dropout=0.04, pos_dim=30, ner_dim=30),
    "cgcn": dict(hidden=200, gcn_layers=2, rnn_hidden=200, mlp_layers=2,
                 input_dropout=0.5, gcn_dropout=0.5, rnn_dropout=0.5,
                 word_dropout=0.04, pos_dim=30, ner_dim=30),
}
RELATION_OPTIM = {
    # lr decays by lr_decay when dev F1 does not improve, after decay_epoch.
    "pa_lstm": dict(name="sgd", lr=1.0, lr_decay=0.9, decay_epoch=10, grad_clip=5.0,
                    epochs=30),
    "cgcn": dict(name="sgd", lr=0.3, lr_decay=0.9, decay_epoch=5, grad_clip=5.0,
                 epochs=100),
}
# The Transformer: the text classifier's AdamW recipe (configs/finetune.py),
# lr and epochs a starting point for a 22M-parameter encoder (docs/relation.md).
TRANSFORMER_OPTIM = dict(name="adamw", lr=5e-5, weight_decay=0.01, warmup_frac=0.1,
                         grad_clip=1.0, b1=0.9, b2=0.999, eps=1e-8, epochs=5)
TRANSFORMER_BATCH = 32
# Entity markers (noisy_meta/data/entity_markers.py). SemEval's nominals have
# no types: punct (@ subject @, # object #), chosen on dev over the unused-slot
# markers (84.21 vs 83.62, seed 0; docs/relation.md). TACRED: typed markers as
# in Zhou & Chen 2021.
MARKERS = {"semeval": "punct", "tacred": "typed_punct"}


def transformer_encoder(a):
  """The encoder of a Transformer relation config, or None for PA-LSTM / C-GCN."""
  if a.model == "transformer":
    return a.encoder
  if a.model in RELATION_MODELS:
    return None
  if a.model in common.MODELS or "/" in a.model:  # An encoder name, folder or hub id.
    return a.model
  raise ValueError(f"model={a.model!r}: use one of {sorted(RELATION_MODELS)}, transformer, "
                   f"an encoder ({', '.join(sorted(common.MODELS))}), a folder or a hub name.")


def get_config(arg=None, dataset=None):
  """The relation config of `dataset`; as a config file, `dataset=` is an argument."""
  if dataset is None:  # Run as configs/relation.py itself: the dataset is an argument too.
    a = common.parse_arg(arg, dataset="semeval", **ARGS)
    return build(a.dataset, a)
  return build(dataset, common.parse_arg(arg, **ARGS))


def build(dataset, a):
  """The relation config of parsed arguments `a` (ARGS' keys; others are ignored)."""
  encoder = transformer_encoder(a)
  c = ml_collections.ConfigDict()
  c.trainer = "relation"
  c.runlocal = a.runlocal  # A smoke run, as in configs/finetune.py.
  c.seed = a.seed
  c.num_devices = 0  # Mesh ('data',) over this many devices; 0: all (every host).
  c.overwrite_config = False  # As in configs/finetune.py.
  c.debug = common.debug_config()

  c.input = ml_collections.ConfigDict()
  c.input.dataset = dataset  # semeval | tacred
  c.input.data_dir = ""  # Empty: $NOISY_META_DATA_DIR (semeval2010_task8/ inside).
  c.input.cache_dir = ""  # spaCy conversions; empty: $NOISY_META_CACHE.
  # SemEval already converted (tacred.write_tacred_json of train, dev and
  # test): train.json, dev.json, test.json here; then spaCy is not needed.
  c.input.converted_dir = ""
  c.input.tacred_dir = ""  # TACRED: folder with train.json, dev.json, test.json (LDC).
  # TACRED label patch, a file or a folder: TACRED-Revisited (tacrev's patch/
  # folder or one *_patch.json: relabels), Re-TACRED (the folder of
  # {train,dev,test}_id2label.json: relabels and drops unlisted examples) or
  # one JSON object id -> label for all splits (relabels). Format: auto (from
  # the file names and JSON shape) | tacrev | retacred | mapping.
  c.input.label_patch = ""
  c.input.label_patch_format = "auto"
  # A person's review decisions: the explorer's corrections.csv (docs/explorer.md),
  # applied to the training examples after train_size (relabel, drop, keep); empty: none.
  c.input.corrections = ""
  # Training examples: 0, all; relations (here), the first N of the
  # (shuffled) training split; text (configs/finetune.py), a seeded subset.
  c.input.train_size = a.train_size
  c.input.dev_size = 500  # SemEval: seeded split of the 8000 training sentences.
  c.input.split_seed = 0
  c.input.glove = ""  # GloVe text file; empty: <data_dir>/glove/glove.6B.50d.*.txt.
  c.input.lower = False  # Lower-case words (the originals keep case).
  # Replace subject/object words by SUBJ-<type>/OBJ-<type> (the originals on
  # TACRED). SemEval's nominals have no types (nearly all "O"), so masking
  # would hide the words that decide the relation: off there.
  c.input.entity_mask = dataset == "tacred"
  c.input.prune_k = a.prune_k  # C-GCN: distance from the dependency path; -1 keeps all.
  c.input.batch_size = a.batch_size or (TRANSFORMER_BATCH if encoder else 50)
  c.input.eval_batch_size = 200
  c.input.length_bucket = 16  # Batches are padded to a multiple of this.

  c.learner = "relation_transformer" if encoder else "relation"
  if encoder:
    c.model = common.model_config(encoder)
    c.model.encoder, c.model.name = c.model.name, "transformer"
    # entity | punct | typed_punct; markers= overrides the dataset's default.
    c.input.markers = a.markers or MARKERS[dataset]
    c.input.max_len = a.max_len  # Subword tokens; longer sentences are cut around the entities.
    c.input.buckets = tuple(b for b in (16, 32, 64, 128, 256, 512) if b < a.max_len) + (
        a.max_len,)
    c.input.eval_batch_size = 128
    o = dict(TRANSFORMER_OPTIM)
  else:
    c.model = ml_collections.ConfigDict(dict(name=a.model, **RELATION_MODELS[a.model]))
    o = dict(RELATION_OPTIM[a.model])
  c.model.pooling_l2 = 0.003 if a.model == "cgcn" else 0.0

  c.noise = ml_collections.ConfigDict()
  # TACRED with input.label_patch: True also puts the relations the patch
  # replaced in the output space (an AUM job trains on the labels before the
  # patch: configs/aum.py); a supervised job trains on the patched labels.
  c.noise.from_patch = False

  c.num_epochs = a.epochs or o.pop("epochs")
  o.pop("epochs", None)
  c.optim = ml_collections.ConfigDict(o)
  if a.lr:
    c.optim.lr = a.lr
  c.log_every = 50
  c.checkpoint_every = 0  # Steps between checkpoints; 0: at epoch ends only.
  # These learners read dev every epoch (best-dev parameters; PA-LSTM's and
  # C-GCN's lr decay), so False (dev after the last epoch only) changes nothing.
  c.eval_every_epoch = True
  c.eval_every = 1  # Dev scored after every N-th epoch and the last.
  c.precompile = True  # As in configs/finetune.py.

  if a.runlocal:  # Arguments typed on the same line win (common.given).
    if not common.given(a, "train_size"):
      c.input.train_size = 300
    if not common.given(a, "epochs"):
      c.num_epochs = 2
    c.log_every = 2
  return c


SIZE = rules.integer(1, 2**14)  # Hidden and embedding sizes.
LAYERS = rules.integer(1, 64)
# The rule of every field of build(), in its order (noisy_meta/validate.py).
INPUT_RULES = {
    "input.dataset": rules.choice(DATASETS),
    "input.data_dir": rules.text(),
    "input.cache_dir": rules.text(),
    "input.converted_dir": rules.text(),
    "input.tacred_dir": rules.text(),
    "input.label_patch": rules.text(),
    "input.label_patch_format": rules.choice("noisy_meta.data.label_patches:PATCH_FORMATS"),
    "input.corrections": rules.text(),  # noisy_meta/data/corrections.py reads the file.
    "input.train_size": rules.integer(0, rules.MAX_SIZE),
    "input.dev_size": rules.integer(0, rules.MAX_SIZE),
    "input.split_seed": rules.seed(),
    "input.glove": rules.text(),
    "input.lower": rules.flag(),
    "input.entity_mask": rules.flag(),
    "input.prune_k": rules.integer(-1, rules.MAX_TOKENS),  # -1: keep all.
    "input.batch_size": rules.integer(1, rules.MAX_BATCH),
    "input.eval_batch_size": rules.integer(1, rules.MAX_BATCH),
    "input.length_bucket": rules.integer(1, rules.MAX_TOKENS),
    # The Transformer's.
    "input.markers": rules.choice("noisy_meta.data.entity_markers:KINDS"),
    "input.max_len": rules.integer(8, rules.MAX_TOKENS),  # Markers and [CLS] [SEP] fit.
    "input.buckets": rules.sequence(
        rules.integer(1, rules.MAX_TOKENS), increasing=True, max_len=64,
        says="give padded lengths as positive, increasing integers, e.g. "
             "--config.input.buckets=(16,32,64,128)."),
}
# RELATION_MODELS' fields (PA-LSTM and C-GCN), then the Transformer's.
MODEL_RULES = {
    "model.hidden": SIZE, "model.layers": LAYERS, "model.attn_dim": SIZE,
    "model.pe_dim": SIZE, "model.dropout": common.DROPOUT,
    "model.word_dropout": common.DROPOUT, "model.pos_dim": rules.integer(0, 2**14),
    "model.ner_dim": rules.integer(0, 2**14), "model.gcn_layers": LAYERS,
    "model.rnn_hidden": SIZE, "model.mlp_layers": LAYERS,
    "model.input_dropout": common.DROPOUT, "model.gcn_dropout": common.DROPOUT,
    "model.rnn_dropout": common.DROPOUT,
    **common.MODEL_RULES,
    "model.encoder": common.NAMED,  # As model_config's name: short, hub or folder.
    "model.pooling_l2": rules.number(0),
    "noise.from_patch": rules.flag(),
}
# RELATION_OPTIM's (SGD with decay on dev F1), then TRANSFORMER_OPTIM's.
OPTIM_RULES = {
    "optim.lr_decay": rules.number(0, 1, open_lo=True),
    "optim.decay_epoch": rules.integer(0, rules.MAX_EPOCHS),
    **common.ADAMW_RULES,
}


def rules_of(c):
  """The rule of every field of relation config `c` (optim.name: _optimiser_fits)."""
  del c  # The same fields in every relation config (those it has are checked).
  return {**common.RUN_RULES, **INPUT_RULES, **MODEL_RULES,
          "model.name": rules.choice(tuple(RELATION_MODELS), extra=("transformer",)),
          "optim.name": common.NAMED, **OPTIM_RULES, **common.CADENCE_RULES}


# The optimisers of each learner: the relation classifier's make_optimizer
# decides; the Transformer's is AdamW's only.
OPTIMISERS = {
    "relation": rules.accepted_by(
        "noisy_meta.learners.relation_classifier:make_optimizer", "an unknown optimiser",
        call=lambda f, v: f(ml_collections.ConfigDict(dict(name=v, grad_clip=1.0)))),
    "relation_transformer": rules.choice(("adamw",)),
}


def _model_fits(c):
  """The model block holds the named model's fields (:model= builds it)."""
  learner = "relation_transformer" if c.model.name == "transformer" else "relation"
  if c.learner != learner:
    return ("model.name", c.model.name, f"is trained by {learner}, but --config.learner="
            f"{c.learner}: choose the model with the :model= argument instead.")
  missing = [k for k in RELATION_MODELS.get(c.model.name, ()) if k not in c.model]
  if missing:
    return ("model.name", c.model.name, f"this config's model block has no "
            f"{', '.join(missing)}; choose the model with :model={c.model.name}.")
  return None


def _optimiser_fits(c):
  """optim.name is one of the learner's optimisers (after _model_fits)."""
  problem = OPTIMISERS[c.learner].problem(c.optim.name)
  return ("optim.name", c.optim.name, problem) if problem else None


TRAINERS = ("relation", "supervised")  # The trainers its configs run (noisy_meta/validate.py).
# Rules across fields, each (config) -> None or (field, value, problem).
CROSS_RULES = (
    lambda c: None if c.learner in ("relation", "relation_transformer") else (
        "learner", c.learner, "a relation config trains relation or relation_transformer "
        "(configs/finetune_*.py for text)."),
    _model_fits,
    _optimiser_fits,
    common.buckets_cover_max_len,
)


def cross_rules(c):
  """The rules across fields of `c`: CROSS_RULES."""
  del c  # The same for every config of the family.
  return CROSS_RULES
