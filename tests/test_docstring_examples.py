"""The `>>>` examples in the library's docstrings (ddit_eval/, model/, tasks/) run as written, through doctest."""

import doctest
import importlib
import importlib.util
from pathlib import Path

import pytest

PACKAGES = ("ddit_eval", "ddit_eval.model", "ddit_eval.tasks")  # model/ and tasks/ install under ddit_eval


def modules_with_examples():
    """Names of the library's modules whose source holds a `>>>` line, found without importing any of them."""
    names = []
    for package in PACKAGES:
        for root in importlib.util.find_spec(package).submodule_search_locations:
            for path in sorted(Path(root).rglob("*.py")):
                if any(line.lstrip().startswith(">>>") for line in path.read_text().splitlines()):
                    parts = path.relative_to(root).with_suffix("").parts
                    names.append(".".join([package, *(p for p in parts if p != "__init__")]))
    return names


MODULES = modules_with_examples()


def test_the_examples_are_found():
    assert {"ddit_eval.metrics.gqa", "ddit_eval.metrics.vqa"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
