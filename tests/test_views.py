"""The copies scanners read (views.py): shebangs, IPython syntax, codings, line maps.

The end-to-end proof is tests/test_coverage_e2e.py (real bandit and semgrep); these pin the
corner cases of each translation, where a wrong guess would hide a line or break a file.
"""

from __future__ import annotations

import ast
import json

import pytest

from compliance.scanners.views import (
    SHELL_CALL,
    ViewError,
    decode_python,
    is_python_shebang,
    notebook_code,
)


@pytest.mark.parametrize(
    ("line", "python"),
    [
        (b"#!/usr/bin/env python3\n", True),
        (b"#!/usr/bin/python3 -u\n", True),
        (b"#!/usr/bin/env -S python3 -X dev\n", True),
        (b"#!/usr/bin/env -Spython3\n", True),
        (b"#!/usr/bin/env -u HOME python3.12\n", True),
        (b"#!/usr/bin/env PYTHONPATH=. python\r\n", True),
        (b"#! /opt/pypy3/bin/pypy3\n", True),
        (b"#!/bin/sh\n", False),
        (b"#!/usr/bin/env bash\n", False),
        (b"#!/usr/bin/env -S\n", False),
        (b"#!/usr/bin/pythonista\n", False),
        (b"# python3\n", False),
        (b"", False),
    ],
)
def test_python_shebangs(line: bytes, python: bool) -> None:
    assert is_python_shebang(line) is python


def _notebook(*sources: list[str], language: str | None = None) -> bytes:
    cells = [{"cell_type": "code", "source": source, "outputs": []} for source in sources]
    meta = {"language_info": {"name": language}} if language else {}
    return json.dumps({"cells": cells, "metadata": meta, "nbformat": 4}).encode()


def test_ipython_syntax_becomes_python_line_for_line() -> None:
    source = [
        "%load_ext autoreload\n",
        "import os\n",
        "!pip install requests\n",
        "files = !ls {folder}\n",
        "out = %sx ls\n",
        "t = %timeit -o f()\n",
        "for x in files:\n",
        "    !echo {x}\n",
        "    %time g(x)\n",
        "os.path?\n",
        "y = 1  # really?\n",
    ]
    code = notebook_code(_notebook(source, ["%%bash\n", "echo $HOME\n"], ["%%time\n", "z = 2"]))
    assert code is not None
    text, source_map = code
    ast.parse(text)  # a valid module: bandit can read it
    lines = text.splitlines()
    assert len(lines) == len(source) + 2 + 2
    assert lines[1] == "import os" and lines[10] == "y = 1  # really?"
    shells = [n for n, line in enumerate(lines, 1) if SHELL_CALL in line]
    assert shells == [3, 4, 5, 8, 12]
    assert lines[5] == "pass" and lines[9] == "pass"  # %timeit assignment, help
    assert lines[14] == "z = 2"  # the body of %%time is Python
    assert source_map.locate(13, 13) == (2, 2, 2)  # `echo $HOME`: cell 2, line 2
    assert source_map.note(15) == "notebook cell 3, line 2"
    assert source_map.shown[2] == "!pip install requests"


def test_a_coding_line_in_a_cell_cannot_re_decode_the_cells() -> None:
    code = notebook_code(_notebook(["# -*- coding: utf-7 -*-\n", "x = 1+AAo-import os\n"]))
    assert code is not None
    assert code[0].splitlines()[0] == ""


def test_notebooks_that_are_not_python_or_not_notebooks() -> None:
    assert notebook_code(_notebook(["x <- 1\n"], language="R")) is None
    assert notebook_code(_notebook(["x = 1\n"], language="python")) is not None
    for bad, reason in [
        (b'{"cells": [', "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"nbformat": 4}', "no 'cells' list"),
        (b'{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1 has a source"),
        (b"\xff\xfe\x00", "not valid JSON"),
    ]:
        with pytest.raises(ViewError) as caught:
            notebook_code(bad)
        assert reason in caught.value.reason


def test_utf7_lines_map_back_to_the_file() -> None:
    data = b"# -*- coding: utf-7 -*-\nx = 1 # +AAo-import os+AAo-os.system(x)\ny = 2\n"
    decoded = decode_python(data)
    assert decoded is not None
    text, source_map = decoded
    assert text.splitlines()[2:4] == ["import os", "os.system(x)"]
    assert [source_map.locate(n, n)[0] for n in range(1, 6)] == [1, 2, 2, 2, 3]
    assert "utf-7" in source_map.note(4)


def test_codings_python_reads_and_refuses() -> None:
    assert decode_python(b"x = 1\n") is None
    assert decode_python("# coding: utf-8\nx = 'é'\n".encode()) is None
    latin = decode_python("# -*- coding: latin-1 -*-\nx = 'é'\n".encode("latin-1"))
    assert latin is not None and "é" in latin[0]
    with pytest.raises(ViewError, match="coding declaration"):
        decode_python(b"# coding: no-such-codec\nx = 1\n")
    with pytest.raises(ViewError, match="cannot decode"):
        decode_python(b"# coding: ascii\nx = '\xe9'\n")
