"""The examples run: the notebook (with nbclient) and the scripts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO

EXAMPLES = REPO / "examples"


@pytest.mark.slow
def test_quickstart_notebook(smollm2_path: str) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(str(EXAMPLES / "quickstart.ipynb"), as_version=4)
    os.environ["REALM_MODEL"] = smollm2_path
    try:
        client = nbclient.NotebookClient(
            nb,
            kernel_name="python3",
            timeout=300,
            resources={"metadata": {"path": str(EXAMPLES)}},
        )
        client.execute()
    finally:
        del os.environ["REALM_MODEL"]
    outputs = "".join(
        o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
    )
    assert "Paris" in outputs
    assert "InvalidArgumentError" in outputs and "ModelNotFoundError" in outputs


@pytest.mark.slow
@pytest.mark.parametrize("script", ["quickstart.py", "tenants.py", "async_chat.py"])
def test_example_script(script: str, smollm2_path: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), smollm2_path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Paris" in proc.stdout
