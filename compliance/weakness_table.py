"""The weakness table as the Markdown of docs/weakness-classes.md ("## The table"), made from
weakness.py itself so the documentation cannot say something the gate does not do
(tests/test_weakness.py compares them; `python -m compliance.weakness_table` prints it)."""

from __future__ import annotations

from compliance.weakness import BANDIT, CLASSES, INJECTION, SEMGREP, Entry, class_of

HEADING = "## The table"


def _severity(entry: Entry) -> str:
    if entry.severity is None:
        return "tool's own"
    if entry.at_most:
        block = entry.blocking.label if entry.blocking else "tool's own"
        if entry.sink_confidence is not None:
            block += f" at confidence ≥ {entry.sink_confidence.label}, else medium"
        return f"block: {block}; confirmed: tool's own, at most {entry.severity.label}"
    return entry.severity.label


def _rows(table: dict[str, Entry], quote: bool) -> list[str]:
    return [
        f"| {f'`{rule}`' if quote else rule} | CWE-{e.cwe} | {class_of(e.cwe)} | "
        f"{_severity(e)} | {e.why} |"
        for rule, e in table.items()
    ]


def markdown() -> str:
    parts = [
        "| bandit test | CWE | class | gate severity | why |",
        "| --- | --- | --- | --- | --- |",
        *_rows(BANDIT, quote=False),
        "",
        "| semgrep rule | CWE | class | gate severity | why |",
        "| --- | --- | --- | --- | --- |",
        *_rows(SEMGREP, quote=True),
        "",
        "| class | CWEs | injection family |",
        "| --- | --- | --- |",
        *(
            f"| {name} | {', '.join(f'CWE-{c}' for c in sorted(cwes))} | "
            f"{'yes' if name in INJECTION else ''} |"
            for name, cwes in CLASSES.items()
        ),
    ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
