"""Tables and figures written into a workdir, shared by the jobs and the colabs.

  report_common    what every report uses: the smoke-run line, metric names.
  aum_summary      the AUM pipeline's summary.json numbers (dev scores, detection).
  aum_examples     its examples.csv, and a finished workdir read back.
  aum_markdown     its report.md tables.
  aum_figures      its PNG figures.
  aum_report       write_all: the four above, in order.
  mlrc_report      the MLRC grid's results.json, report.md and F1-vs-fraction figure.
  relation_report  the supervised relation classifier's report.md.
  explorer         explorer.html (its HTML, CSS and JavaScript in assets/), which
                   the jobs write after the reports; no report imports it.

Each module imports what it draws with (numpy, matplotlib lazily); this file
imports nothing.
"""
