import sys
import textwrap

import pytest

from ddit_eval.api import ANSWER, Task
from ddit_eval.errors import UsageError
from ddit_eval.registry import TASKS, Registry, _TaskRegistry, include_path


class _A(Task):
    name = "alpha-task"


def test_unknown_name_suggests_close_names():
    registry = Registry("task", Task)
    registry.register(_A)
    with pytest.raises(UsageError, match="did you mean alpha-task"):
        registry.get("alpha-tsk")


def test_duplicate_name_from_another_class_is_an_error():
    registry = Registry("task", Task)
    registry.register(_A)
    other = type("Other", (Task,), {"name": "alpha-task"})
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(other)


def test_non_task_is_rejected():
    with pytest.raises(TypeError):
        Registry("task", Task).register(type("NotATask", (), {"name": "x"}))


def test_include_path_registers_plugin_tasks():
    assert "toy-colors" in TASKS.names() and "toy-draw" in TASKS.names()
    assert TASKS.get("toy-colors").request_kind == ANSWER


def test_include_path_missing_dir_is_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not a directory"):
        include_path(tmp_path / "nope")


def test_include_path_broken_module_names_the_file(tmp_path):
    (tmp_path / "broken_task.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(UsageError, match="broken_task.py"):
        include_path(tmp_path)


def test_entry_point_group_registers_third_party_tasks(tmp_path, monkeypatch):
    """A real installed distribution (a dist-info folder on sys.path) exposing ddit_eval.tasks."""
    (tmp_path / "thirdparty_mod.py").write_text(textwrap.dedent("""
        from ddit_eval.api import ANSWER, Task
        class ThirdParty(Task):
            name = "third-party"
            description = "from an entry point"
            data_source = "none"
            primary_metric = "accuracy"
            request_kind = ANSWER
    """))
    dist = tmp_path / "thirdparty-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ddit_eval.tasks]\nthird = thirdparty_mod:ThirdParty\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = _TaskRegistry()
    assert registry.get("third-party").description == "from an entry point"
    sys.modules.pop("thirdparty_mod", None)


def test_list_tasks_shows_description_source_and_metric(cli):
    code, out, _ = cli("list-tasks")
    assert code == 0
    assert "toy-colors" in out and "name the colour of a square" in out and "headline metric: accuracy" in out


_PLUGIN = """
from ddit_eval.api import ANSWER, Task
from ddit_eval.registry import register_task

@register_task
class Plugin(Task):
    name = {name!r}
    description = "a plugin"
    data_source = "none"
    primary_metric = "accuracy"
    request_kind = ANSWER
"""


def test_include_path_loads_same_named_files_from_two_folders(tmp_path):
    for folder, task in (("one", "plugin-one"), ("two", "plugin-two")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "my_tasks.py").write_text(_PLUGIN.format(name=task))
    assert include_path(tmp_path / "one") == ["plugin-one"]
    assert include_path(tmp_path / "two") == ["plugin-two"]
    assert include_path(tmp_path / "one") == []  # a folder included twice is imported once


def test_broken_entry_point_is_a_usage_error_naming_it(tmp_path, monkeypatch):
    dist = tmp_path / "brokenplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ddit_eval.tasks]\nbroken = no_such_module_xyz:Task\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="entry point 'broken'.*no_such_module_xyz"):
        _TaskRegistry().names()


def test_listing_tasks_loads_no_model_library():
    """`list-tasks` and task construction stay instant: no task module imports torch at import time."""
    import subprocess
    import sys

    code = ("import sys; from ddit_eval.registry import TASKS; names = TASKS.names(); "
            "print(len(names), sorted(m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(maxsplit=1)
    assert int(out[0]) >= 19 and out[1].strip() == "[]"
