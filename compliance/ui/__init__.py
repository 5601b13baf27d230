"""What the CLI shows a person: colour, verbosity, progress. No decisions are made here.

`console.py` picks the streams and styles (colour on a terminal only, NO_COLOR, --color),
`progress.py` draws scan and audit progress on a terminal's stderr, `options.py` holds the
click options every command shares, `errors.py` turns a user error into one line and exit 2.
"""
