"""The quickstart scripts: per-argument default workdirs, setup skipped when unchanged."""
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fake_repo(tmp_path):
  """A copy of scripts/ and setup.py whose .venv's python only logs its calls."""
  shutil.copytree(os.path.join(ROOT, "scripts"), tmp_path / "scripts")
  shutil.copy(os.path.join(ROOT, "setup.py"), tmp_path)
  venv = tmp_path / ".venv" / "bin"
  venv.mkdir(parents=True)
  (venv / "activate").write_text(f'PATH="{venv}:$PATH"\n')
  (venv / "python").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls.log"\n')
  (venv / "python").chmod(0o755)
  return tmp_path


def _run(repo, script, *args, **env):
  return subprocess.run(["bash", str(repo / "scripts" / script), *args], capture_output=True,
                        text=True, check=True, env=dict(os.environ, **env))


def test_default_workdir_differs_per_config_argument(tmp_path):
  repo = _fake_repo(tmp_path)
  workdir = lambda *a: _run(repo, "run.sh", *a, NOISY_META_DRY_RUN="1").stdout.split(
      "--workdir=")[1].split()[0]
  assert workdir() == "runs/aum_cola"
  assert workdir("configs/aum_cola.py") == "runs/aum_cola"
  assert workdir("configs/aum_cola.py:runlocal") == "runs/aum_cola_runlocal"
  assert workdir("configs/aum_sst2.py:noise=0.2,seeds=0") == "runs/aum_sst2_noise-0.2_seeds-0"
  assert workdir("configs/aum_cola.py:runlocal", "/tmp/mine") == "/tmp/mine"


def test_setup_runs_once_until_setup_py_changes(tmp_path):
  repo = _fake_repo(tmp_path)
  log = repo / "calls.log"
  first = _run(repo, "setup.sh")
  assert "Setting up" in first.stderr and "-e .[test]" in log.read_text()
  log.unlink()
  again = _run(repo, "setup.sh")  # Nothing changed: no pip call, no output.
  assert not log.exists() and again.stdout == again.stderr == ""
  with open(repo / "setup.py", "a") as f:
    f.write("# changed\n")
  _run(repo, "setup.sh")
  assert "-e .[test]" in log.read_text()


def test_test_sh_refuses_an_unknown_tier_before_setting_up():
  proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "test.sh")], cwd=ROOT,
                        env=dict(os.environ, NOISY_META_TESTS="slow"), capture_output=True,
                        text=True, timeout=60)
  assert proc.returncode == 2 and proc.stdout == ""
  assert proc.stderr.strip() == ("error: NOISY_META_TESTS must be fast, jobs or all "
                                 "(got 'slow')")
