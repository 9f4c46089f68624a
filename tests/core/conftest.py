import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddit_eval.cli import main
from ddit_eval.registry import include_path

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture(scope="session", autouse=True)
def toy_tasks():
    include_path(PLUGINS)


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def call(*argv):
        code = main([str(a) for a in argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def run_subprocess(*argv, **kwargs):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "ddit_eval", *map(str, argv)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def samples(run_dir, task):
    path = Path(run_dir) / "samples" / f"{task}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]
