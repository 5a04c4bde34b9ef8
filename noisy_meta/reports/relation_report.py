"""The supervised relation classifier's report.md: test F1 and per-relation scores."""
from noisy_meta import relation_metrics
from noisy_meta.reports import report_common as common


def report_lines(config, result):
  """report.md's lines for `result` (what `trainers.relation.fit` writes to
  metrics.json): title, test and best dev F1, collapse, the per-relation table."""
  lines = [f"# {config.model.name} on {config.input.dataset}", "",
           f"Test F1 of the best-dev model (official score): {100 * result['test_f1']:.2f}; "
           f"best dev F1 {100 * result['dev_best_f1']:.2f}; seed {config.seed}.", ""]
  lines += common.smoke_lines(config)
  lines += common.warning_lines(result.get("data_warnings"))
  if result.get("collapse_reason"):
    lines += [f"**Collapsed classifier** (test): {result['collapse_reason']}.", ""]
  lines.append(relation_metrics.per_relation_table(result["per_relation"]))
  return lines
