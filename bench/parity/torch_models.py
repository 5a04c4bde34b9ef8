"""The PyTorch side of the benches: transformers' classifier with our config's dropout."""
import transformers


def hf_classifier(config, folder, num_classes):
  """`AutoModelForSequenceClassification` from `folder`, dropout rates from `config.model`."""
  hf_cfg = transformers.AutoConfig.from_pretrained(folder, num_labels=num_classes)
  if hf_cfg.model_type == "bert":
    hf_cfg.hidden_dropout_prob = hf_cfg.attention_probs_dropout_prob = config.model.dropout
    hf_cfg.classifier_dropout = config.model.classifier_dropout
  else:  # DistilBERT's names.
    hf_cfg.dropout = hf_cfg.attention_dropout = config.model.dropout
    hf_cfg.seq_classif_dropout = config.model.classifier_dropout
  return transformers.AutoModelForSequenceClassification.from_pretrained(folder, config=hf_cfg)


def adamw(model, optim):
  """torch's AdamW with our recipe (config.optim): no weight decay on biases
  and LayerNorms (DistilBERT's block LayerNorms are *_layer_norm), as ours."""
  import torch  # pylint: disable=g-import-not-at-top
  no_decay = lambda n: n.endswith(".bias") or "LayerNorm" in n or "layer_norm" in n
  params = list(model.named_parameters())
  return torch.optim.AdamW(
      [{"params": [p for n, p in params if not no_decay(n)], "weight_decay": optim.weight_decay},
       {"params": [p for n, p in params if no_decay(n)], "weight_decay": 0.0}],
      lr=optim.lr, betas=(optim.b1, optim.b2), eps=optim.eps)
