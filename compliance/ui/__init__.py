"""What the CLI shows a person: colour, verbosity, progress. No decisions are made here.

`console.py` picks the streams and styles (colour on a terminal only, NO_COLOR, --color),
`summary.py` lays the summary out (tables on a terminal, plain lines elsewhere),
`progress.py` draws scan and audit progress on a terminal's stderr, `options.py` holds the
click options every command shares, `streams.py` keeps stdout to one document, ends quietly
on a closed pipe and gives every option its COMPLIANCE_<OPTION> variable. User errors and
their hints are `compliance.errors.UserError`.
"""
