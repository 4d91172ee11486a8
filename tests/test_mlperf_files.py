"""The repository carries the MLPerf Tiny files it needs, unchanged, and nothing reads a folder beside it."""

import hashlib
import os
import pathlib
import re
import subprocess

import pytest

from mcunet_tf import mlperf

ROOT = pathlib.Path(__file__).resolve().parents[1]
# A path into the folder that used to lie beside the checkout: "../" then its name, or the name joined
# to a parent by pathlib ("parent / ..." with the name quoted). Written split so this file passes.
_NAME = "sha" + "red"
OUTSIDE = re.compile(r"\.\./+" + _NAME + r"\b|/\s*[\"']" + _NAME + r"[\"']|[\"']" + _NAME + r"[\"']\s*/")
TEXT_SUFFIXES = {".py", ".ipynb", ".sh", ".md", ".txt", ".toml", ".cfg", ".ini", ".c", ".h", ".json", ".yml",
                 ".yaml", ""}


def sums() -> dict[str, str]:
    """file (relative to the models folder) -> SHA-256, from SHA256SUMS (`sha256sum` format)."""
    lines = (mlperf.REPO_MODELS / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line.strip())}


def test_sums_list_every_model_and_sample():
    names = set(sums())
    assert {*mlperf.INT8_FILES.values(), *mlperf.FLOAT_FILES.values()} <= names
    assert {f"data/{n}" for n in (mlperf.KWS_INPUT, mlperf.MARVIN_WAV, mlperf.AD_FEATURES)} <= names
    on_disk = {str(p.relative_to(mlperf.REPO_MODELS)) for p in mlperf.REPO_MODELS.rglob("*")
               if p.is_file() and p.suffix in {".tflite", ".npy", ".wav", ".bin"}}
    assert on_disk == names


@pytest.mark.parametrize("name", sorted(sums()))
def test_repository_copy_matches_its_sha256(name):
    digest = hashlib.sha256((mlperf.REPO_MODELS / name).read_bytes()).hexdigest()
    assert digest == sums()[name], f"{name}: {digest} != SHA256SUMS"


def test_licence_and_upstream_are_recorded():
    readme = (mlperf.REPO_MODELS / "README.md").read_text()
    assert "github.com/mlcommons/tiny" in readme and re.search(r"\b[0-9a-f]{40}\b", readme)
    for name in sums():
        assert f"`{name}`" in readme, f"{name} has no upstream path in the README"
    assert "Apache License" in (mlperf.REPO_MODELS / "LICENSE").read_text()
    assert "Apache License, Version 2.0" in (mlperf.REPO_MODELS / "NOTICE").read_text()


def test_lookup_prefers_mcunet_models_then_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv(mlperf.ENV_VAR, raising=False)
    assert mlperf.models_dir() == mlperf.REPO_MODELS
    assert mlperf.sample(mlperf.KWS_INPUT) == mlperf.REPO_MODELS / "data" / mlperf.KWS_INPUT
    (tmp_path / mlperf.INT8_FILES["kws"]).write_bytes(b"")
    monkeypatch.setenv(mlperf.ENV_VAR, str(tmp_path))
    assert mlperf.int8_model("kws") == tmp_path / mlperf.INT8_FILES["kws"]
    with pytest.raises(mlperf.ModelsNotFound, match=re.escape(str(tmp_path / mlperf.INT8_FILES["vww"]))):
        mlperf.int8_model("vww")  # no silent fall-back to the repository's copy
    monkeypatch.setenv(mlperf.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(mlperf.ModelsNotFound, match="MCUNET_MODELS"):
        mlperf.models_dir()


def project_files() -> list[pathlib.Path]:
    """Every file of the project: git's tracked and untracked-but-not-ignored files, else a walk."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode()
        return [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # a copy without .git (or without git)
        skip = {".git", "out", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".benchmarks"}
        files = []
        for folder, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
            files += [pathlib.Path(folder) / name for name in names]
        return files


def test_no_file_reads_a_folder_beside_the_checkout():
    offenders = []
    for path in project_files():
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)
