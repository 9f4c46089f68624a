"""The backend registry: an unknown `NAME:` prefix is one line with the close names; paths and hub ids
still go to D-DiT; a name registered twice is an error."""

import pytest

from ddit_eval.backends import ALL_KINDS, BACKENDS, Backend, _BackendRegistry, backend_for, register_backend
from ddit_eval.errors import UsageError


@pytest.mark.parametrize("model, hint", [("doubel:pixel", "did you mean double?"), ("foo:bar", "known: ")])
def test_an_unknown_prefix_is_one_line_with_the_close_names(cli, tmp_path, monkeypatch, model, hint):
    monkeypatch.setattr("ddit_eval.cli.load_backend_model", lambda *a, **k: pytest.fail("the model must not load"))
    code, _, err = cli("run", "--tasks", "toy-colors", "--model", model, "--output-dir", tmp_path / "run")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--model {model!r}: unknown model backend {model.partition(':')[0]!r}; {hint}" in err
    assert "ddit, double" in err or "did you mean" in err  # the names it could have been
    assert not (tmp_path / "run").exists()


def test_paths_and_hub_ids_still_go_to_ddit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ckpt:v2").mkdir()  # an existing folder whose name has a colon
    assert backend_for("ckpt:v2") == (BACKENDS.get("ddit"), "ckpt:v2")
    assert backend_for("owner/name") == (BACKENDS.get("ddit"), "owner/name")
    for path in ("/no/such:dir", "./no:such", "~/no:such", "runs/no:such"):  # a path, if missing: ddit says so
        assert backend_for(path)[0].name == "ddit"
    assert backend_for("double:pixel") == (BACKENDS.get("double"), "pixel")
    with pytest.raises(UsageError, match="no such file or directory"):
        BACKENDS.get("ddit").check("/no/such:dir")


def _load(spec, device, dtype, mask_embedding):
    raise AssertionError("never loaded")


def test_a_name_registered_twice_is_an_error():
    registry = _BackendRegistry()
    mine = registry.register(Backend("mine", frozenset(ALL_KINDS), _load))
    assert registry.register(Backend("mine", frozenset(ALL_KINDS), _load)) == mine  # the same backend again
    with pytest.raises(ValueError, match="model backend 'mine' is registered twice"):
        registry.register(Backend("mine", frozenset({"answer"}), _load))
    with pytest.raises(ValueError, match="model backend 'double' is registered twice"):
        register_backend(Backend("double", ALL_KINDS, _load))
    assert BACKENDS.get("double").load is not _load
    with pytest.raises(TypeError):
        registry.register(type("NotABackend", (), {"name": "x"}))
    with pytest.raises(UsageError, match="unknown model backend 'mien'; did you mean mine"):
        registry.get("mien")
