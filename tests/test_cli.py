"""CLI argument errors: one line, non-zero exit, and no model load (so they are instant)."""

import pytest

from workbench.cli import main


@pytest.mark.parametrize("args, message", [
    (["--arms", "base,bogus"], "error: unknown arm bogus; choose from base, rag, lora, raft"),
    (["--corpus", "nope"], "error: unknown corpus 'nope' (known: handbook"),
    (["--adapter", "/no/such/folder"], "error: no adapter '/no/such/folder': not a folder and not a known adapter"),
])
def test_bad_arguments_exit_nonzero_with_one_line(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    assert main(["ask", "q?", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
