"""The Colab notebooks run top to bottom (nbclient) with small settings (MCUNET_NOTEBOOK_SMALL=1)."""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

COLAB = pathlib.Path(__file__).resolve().parents[2] / "colab"


@pytest.mark.parametrize("name", ["convert_tflite", "tinynas_vww", "kws_end_to_end"])
def test_notebook_runs_top_to_bottom(name, tmp_path, monkeypatch):
    # The kernel inherits this environment: small settings, outputs under tmp_path.
    monkeypatch.setenv("MCUNET_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MCUNET_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.delenv("MCUNET_MODEL", raising=False)  # convert_tflite: its default, the repository's VWW
    monkeypatch.setenv("MCUNET_REPEATS", "2")
    notebook = nbformat.read(COLAB / f"{name}.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(COLAB)}}).execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the notebook shows its plots"
