"""Tables and figures written into a workdir, shared by the jobs and the colabs.

  report_common    what every report uses: the smoke-run line, metric names.
  aum_report       the AUM pipeline's examples.csv, summary.json, report.md, figures.
  mlrc_report      the MLRC grid's results.json, report.md and F1-vs-fraction figure.
  relation_report  the supervised relation classifier's report.md.

Each module imports what it draws with (numpy, matplotlib lazily); this file
imports nothing.
"""
