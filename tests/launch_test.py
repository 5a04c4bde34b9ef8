"""Launchers: shell syntax, tpu_pod.sh against a fake gcloud, gpu.sh, sweep.py."""
import ast
import glob
import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPU_POD = os.path.join(ROOT, "launch", "tpu_pod.sh")
SWEEP = os.path.join(ROOT, "launch", "sweep.py")

# Records each call as a JSON line, keeps copies of files sent to all workers,
# and fails when an argument contains $FAKE_GCLOUD_FAIL.
FAKE_GCLOUD = """#!{python}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GCLOUD_LOG"], "a") as f:
  f.write(json.dumps(args) + "\\n")
if "scp" in args and "--worker=all" in args:
  for a in args:
    if os.path.isfile(a):
      shutil.copy(a, os.environ["FAKE_GCLOUD_KEEP"])
fail = os.environ.get("FAKE_GCLOUD_FAIL")
sys.exit(1 if fail and any(fail in a for a in args) else 0)
"""


def _executable(path, text):
  with open(path, "w") as f:
    f.write(text.replace("{python}", sys.executable))
  os.chmod(path, 0o755)


def _tpu_pod(tmp_path, *args, **env):
  """Runs tpu_pod.sh with a fake gcloud first on PATH; returns (process, calls)."""
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir(exist_ok=True)
  (tmp_path / "kept").mkdir(exist_ok=True)
  _executable(bin_dir / "gcloud", FAKE_GCLOUD)
  log = tmp_path / "gcloud.log"
  full_env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}",
                  FAKE_GCLOUD_LOG=str(log), FAKE_GCLOUD_KEEP=str(tmp_path / "kept"),
                  NAME="nm-test", ZONE="zone-a", TYPE="v4-32", VERSION="tpu-ubuntu2204-base")
  for k in ("WORKDIR", "KEEP", "DRY_RUN", "CREATE", "DATA", "PROJECT", "LOGDIR"):
    full_env.pop(k, None)
  full_env.update(env)
  proc = subprocess.run(["bash", TPU_POD, *args], env=full_env, capture_output=True,
                        text=True, timeout=60, check=False)
  calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
  return proc, calls


def _verb(call):
  """'create', 'scp', 'ssh' or 'delete' of a `compute tpus tpu-vm VERB` call."""
  assert call[:3] == ["compute", "tpus", "tpu-vm"], call
  return call[3]


def _command(call):
  return next(a[len("--command="):] for a in call if a.startswith("--command="))


def _workdirs(text):
  return re.findall(r"--workdir=([^\s'\\]+)", text)


@pytest.mark.parametrize("script", sorted(glob.glob(os.path.join(ROOT, "launch", "*.sh"))))
def test_shell_syntax(script):
  subprocess.run(["bash", "-n", script], check=True)


def test_sweep_compiles():
  subprocess.run([sys.executable, "-m", "py_compile", SWEEP], check=True)


def test_tpu_pod_create_sync_setup_run_fetch_delete(tmp_path):
  workdir = str(tmp_path / "wd")
  proc, calls = _tpu_pod(tmp_path, "configs/aum_cola.py:noise=0.2", "--config.seed=3",
                         WORKDIR=workdir, PROJECT="proj")
  assert proc.returncode == 0, proc.stderr
  verbs = [_verb(c) for c in calls]
  assert verbs == ["create", "scp", "ssh", "ssh", "scp", "delete"], calls
  create, sync, setup, run, fetch, delete = calls
  for flag in ("nm-test", "--zone=zone-a", "--accelerator-type=v4-32",
               "--version=tpu-ubuntu2204-base", "--project=proj"):
    assert flag in create
  for call in calls:
    assert "--zone=zone-a" in call and "--project=proj" in call
  # The working tree goes to every worker: code yes, .venv and runs/ no.
  assert "--worker=all" in sync and "nm-test:" in sync
  with tarfile.open(tmp_path / "kept" / "noisy_meta_src.tar.gz") as tar:
    names = tar.getnames()
  assert "noisy_meta/main.py" in names and "launch/tpu_pod.sh" in names
  assert not [n for n in names if n.startswith((".venv/", "runs/"))]
  assert "--worker=all" in setup
  assert "-e ." in _command(setup) and re.search(r"jax\\?\[tpu\\?\]", _command(setup))
  # The job: all workers, distributed init, the one workdir, flags passed on.
  assert "--worker=all" in run
  job = _command(run)
  assert "export NOISY_META_DISTRIBUTED=1" in job
  assert "python -m noisy_meta.main --config=configs/aum_cola.py:noise=0.2" in job
  assert job.rstrip().endswith("--config.seed=3")
  assert _workdirs(job) == [workdir]
  # Worker 0's workdir comes back to the same path, then the VM goes.
  assert "--worker=0" in fetch and "--recurse" in fetch and f"nm-test:{workdir}" in fetch
  assert str(tmp_path) in fetch  # Into the workdir's parent here.
  assert "nm-test" in delete and "--quiet" in delete


def test_tpu_pod_dry_run_prints_and_chooses_workdir_once(tmp_path):
  proc, calls = _tpu_pod(tmp_path, DRY_RUN="1", NAME="")
  assert proc.returncode == 0, proc.stderr
  assert not calls  # Nothing ran.
  lines = [l for l in proc.stdout.splitlines() if l.startswith("+ gcloud ")]
  assert [l.split()[5] for l in lines] == [
      "create", "scp", "ssh", "ssh", "scp", "delete"], proc.stdout
  name = re.search(r"tpu-vm create (noisy-meta-\d{8}-\d{6}) ", lines[0]).group(1)
  assert f"tpu-vm delete {name} " in lines[-1]
  # The default workdir: the config's name and the launch time, once for all.
  workdirs = set(_workdirs(proc.stdout))
  assert len(workdirs) == 1, workdirs
  (workdir,) = workdirs
  assert re.fullmatch(r"runs/tpu/aum_cola-\d{8}-\d{6}", workdir), workdir
  assert name[-len("20260101-000000"):] == workdir[-len("20260101-000000"):]  # One stamp.
  assert f"{name}:noisy_meta/{workdir}" in lines[-2]  # Fetched from where it ran.
  assert "--worker=all" in lines[3] and "NOISY_META_DISTRIBUTED=1" in lines[3]
  assert not os.path.exists(os.path.join(ROOT, workdir))


def test_tpu_pod_failed_job_still_fetches_and_deletes(tmp_path):
  proc, calls = _tpu_pod(tmp_path, WORKDIR=str(tmp_path / "wd"), FAKE_GCLOUD_FAIL="noisy_meta.main")
  assert proc.returncode != 0
  assert [_verb(c) for c in calls][-2:] == ["scp", "delete"]


def test_tpu_pod_keep_and_reuse(tmp_path):
  proc, calls = _tpu_pod(tmp_path, WORKDIR=str(tmp_path / "wd"), KEEP="1", CREATE="0")
  assert proc.returncode == 0, proc.stderr
  verbs = [_verb(c) for c in calls]
  assert "create" not in verbs and "delete" not in verbs
  assert "kept nm-test" in proc.stderr


def test_tpu_pod_gcs_workdir_is_mounted_on_every_worker(tmp_path):
  proc, calls = _tpu_pod(tmp_path, "configs/mlrc_semeval.py", WORKDIR="gs://bkt/runs/x")
  assert proc.returncode == 0, proc.stderr
  assert [_verb(c) for c in calls] == ["create", "scp", "ssh", "ssh", "delete"]
  assert "gcsfuse" in _command(calls[2]) and "/mnt/gcs/bkt" in _command(calls[2])
  assert _workdirs(_command(calls[3])) == ["/mnt/gcs/bkt/runs/x"]


def test_tpu_pod_uploads_an_existing_local_workdir(tmp_path):
  workdir = tmp_path / "wd"
  workdir.mkdir()
  proc, calls = _tpu_pod(tmp_path, WORKDIR=str(workdir))
  assert proc.returncode == 0, proc.stderr
  up = [c for c in calls if "scp" in c and str(workdir) in c and "--worker=all" in c]
  assert len(up) == 1 and "--recurse" in up[0]
  assert calls.index(up[0]) < [i for i, c in enumerate(calls) if "ssh" in c][-1]


def test_tpu_pod_refuses_bad_input_before_any_gcloud(tmp_path):
  proc, calls = _tpu_pod(tmp_path, "configs/nope.py")
  assert proc.returncode == 2 and "configs/nope.py" in proc.stderr and not calls
  proc, calls = _tpu_pod(tmp_path, NAME="Bad_Name")
  assert proc.returncode == 2 and "NAME" in proc.stderr and not calls


def test_gpu_runs_config_with_flags(tmp_path):
  """gpu.sh in a copy of the layout whose .venv python records its call."""
  (tmp_path / "launch").mkdir()
  (tmp_path / "launch" / "gpu.sh").write_text(
      open(os.path.join(ROOT, "launch", "gpu.sh")).read())
  script = ["bash", str(tmp_path / "launch" / "gpu.sh"), "configs/x.py:runlocal", "wd",
            "--config.seed=2"]
  env = dict(os.environ, GPUS="1")
  env.pop("JAX_PLATFORMS", None)
  proc = subprocess.run(script, env=env, capture_output=True, text=True, check=False)
  assert proc.returncode == 2 and "SETUP=1" in proc.stderr  # No .venv yet.
  venv = tmp_path / ".venv" / "bin"
  venv.mkdir(parents=True)
  (venv / "activate").write_text(f'export PATH="{venv}:$PATH"\n')
  record = tmp_path / "call.json"
  _executable(venv / "python", "#!{python}\nimport json, os, sys\n"
              f"json.dump([sys.argv[1:], {{k: os.environ.get(k) for k in "
              f"('JAX_PLATFORMS', 'CUDA_VISIBLE_DEVICES')}}], open({str(record)!r}, 'w'))\n")
  proc = subprocess.run(script, env=env, capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr
  argv, seen = json.loads(record.read_text())
  assert argv == ["-m", "noisy_meta.main", "--config=configs/x.py:runlocal", "--workdir=wd",
                  "--config.seed=2"]
  assert seen == {"JAX_PLATFORMS": "cuda", "CUDA_VISIBLE_DEVICES": "1"}


def _sweep(*args, check=True):
  proc = subprocess.run([sys.executable, SWEEP, *args], capture_output=True, text=True,
                        timeout=60, check=False)
  if check:
    assert proc.returncode == 0, proc.stderr
  return proc


def _jobs(stdout):
  """[(config, workdir, overrides)] of the printed `noisy_meta.main` commands."""
  jobs = []
  for line in stdout.splitlines():
    argv = shlex.split(line)
    config = next(a.split("=", 1)[1] for a in argv if a.startswith("--config="))
    workdir = next(a.split("=", 1)[1] for a in argv if a.startswith("--workdir="))
    jobs.append((config, workdir, [a[2:] for a in argv if a.startswith("--config.")]))
  return jobs


def _load(config, overrides):
  """The ConfigDict a job gets: get_config(arg), then its --config.* overrides."""
  path, _, arg = config.partition(":")
  c = importlib.import_module("configs." + os.path.basename(path)[:-3]).get_config(arg)
  for item in overrides:
    key, value = item.split("=", 1)
    *parents, leaf = key.split(".")[1:]
    node = c
    for p in parents:
      node = node[p]
    assert leaf in node and isinstance(node[leaf], tuple), key  # A real tuple field.
    node[leaf] = ast.literal_eval(value)
  return c


def test_sweep_aum_dry_run_one_job_per_point(tmp_path):
  root = str(tmp_path / "aum")
  out = _sweep("--grid=aum", "--dry-run", f"--root={root}", "--datasets=sst2,cola",
               "--noise=0,0.2", "--percentiles=10,90", "--seeds=0,1,2").stdout
  jobs = _jobs(out)
  assert len(jobs) == 2 * 2 * 2 * 3
  assert len({w for _, w, _ in jobs}) == len(jobs)
  assert all(w.startswith(root + "/") for _, w, _ in jobs)
  points = set()
  for config, _, overrides in jobs:
    c = _load(config, overrides)
    assert c.trainer == "aum" and len(c.aum.percentiles) == len(c.clean.seeds) == 1
    assert c.clean.percentiles == c.aum.percentiles and c.seed == 0  # Shared AUM runs.
    points.add((c.input.task, c.noise.rate, c.aum.percentiles[0], c.clean.seeds[0]))
  assert points == {(d, n, p, s) for d in ("sst2", "cola") for n in (0.0, 0.2)
                    for p in (10, 90) for s in (0, 1, 2)}


def test_sweep_mlrc_dry_run_run_r_is_seed_r(tmp_path):
  out = _sweep("--grid=mlrc", "--dry-run", f"--root={tmp_path}", "--fractions=0.01,1",
               "--runs=3", "--iterations=300").stdout
  jobs = _jobs(out)
  assert len(jobs) == 2 * 2 * 3 and len({w for _, w, _ in jobs}) == len(jobs)
  points = set()
  for config, _, overrides in jobs:
    c = _load(config, overrides)
    assert c.mlrc.runs == 1 and c.meta.iterations == 300
    points.add((c.model.name, c.mlrc.fractions, c.seed))
  assert points == {(m, (f,), r) for m in ("pa_lstm", "cgcn") for f in (0.01, 1.0)
                    for r in range(3)}


def test_sweep_defaults_are_the_papers_grids():
  assert len(_jobs(_sweep("--grid=aum", "--dry-run").stdout)) == 3 * 5 * 3
  assert len(_jobs(_sweep("--grid=mlrc", "--dry-run").stdout)) == 2 * 7 * 10


def test_sweep_pack_keeps_axes_inside_jobs():
  jobs = _jobs(_sweep("--grid=aum", "--dry-run", "--pack=percentiles,seeds").stdout)
  assert len(jobs) == 3
  c = _load(jobs[0][0], jobs[0][2])
  assert c.aum.percentiles == (1, 10, 50, 90, 99) and c.clean.seeds == (0, 1, 2)
  jobs = _jobs(_sweep("--grid=mlrc", "--dry-run", "--pack=runs", "--models=cgcn").stdout)
  assert len(jobs) == 7 and _load(jobs[0][0], []).mlrc.runs == 10
  assert _sweep("--grid=aum", "--pack=runs", check=False).returncode != 0
  assert _sweep("--grid=aum", "--root=gs://b/x", "--dry-run", check=False).returncode != 0


def test_sweep_tpu_launcher_one_vm_per_job():
  out = _sweep("--grid=mlrc", "--dry-run", "--launcher=tpu", "--root=gs://b/m",
               "--models=cgcn", "--fractions=0.01", "--runs=2", "--tpu-prefix=nm-s",
               "--", "--config.meta.log_every=5").stdout.splitlines()
  assert out == [
      "NAME=nm-s-000 WORKDIR=gs://b/m/cgcn_f0.01_run0 bash launch/tpu_pod.sh "
      "configs/mlrc_semeval.py:model=cgcn,fractions=0.01,runs=1,seed=0 "
      "--config.meta.log_every=5",
      "NAME=nm-s-001 WORKDIR=gs://b/m/cgcn_f0.01_run1 bash launch/tpu_pod.sh "
      "configs/mlrc_semeval.py:model=cgcn,fractions=0.01,runs=1,seed=1 "
      "--config.meta.log_every=5"]


def test_sweep_runs_jobs_and_names_the_failed_one(tmp_path):
  record = tmp_path / "calls.txt"
  fake = tmp_path / "python"
  _executable(fake, "#!{python}\nimport sys\n"
              f"open({str(record)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
              "sys.exit(3 if any('noise0.2_p90' in a for a in sys.argv) else 0)\n")
  args = ["--grid=aum", f"--root={tmp_path / 'root'}", f"--python={fake}", "--datasets=sst2",
          "--noise=0,0.2", "--percentiles=10,90", "--seeds=0"]
  proc = _sweep(*args, "--parallel=2", check=False)
  assert proc.returncode == 1
  failed = proc.stderr[proc.stderr.index("FAILED:"):].splitlines()[1:]
  assert len(failed) == 1 and failed[0].startswith("  sst2_noise0.2_p90_seed0 (exit 3,")
  assert len(record.read_text().splitlines()) == 4  # The others ran all the same.
  assert len(os.listdir(tmp_path / "root" / "logs")) == 4
  proc = _sweep(*args[:-3], "--noise=0", "--percentiles=10", "--seeds=0,1")
  assert "all 2 jobs finished" in proc.stderr


def test_mlrc_learners_dry_run_grid_controls_and_figure(tmp_path):
  env = dict(os.environ, DRY_RUN="1", ITERATIONS="50", MODELS="pa_lstm transformer")
  out = subprocess.run(["bash", os.path.join(ROOT, "launch", "mlrc_learners.sh"),
                        str(tmp_path)], env=env, check=True, capture_output=True,
                       text=True).stdout.splitlines()
  assert len(out) == 5 and _workdirs(out[0]) == [f"{tmp_path}/pa_lstm"]
  # 50 meta-iterations x 8 tasks x 3 steps x 10 rows over the 75 rows of 1 %.
  assert "--epochs=160" in out[1] and "--runs=0,1,2,3,4" in out[1]
  assert "model=transformer" in out[2] and out[4].count("--grid=") == 2


def test_relation_noise_dry_run_supervised_then_the_grid(tmp_path):
  env = dict(os.environ, DRY_RUN="1", MODELS="pa_lstm")
  out = subprocess.run(["bash", os.path.join(ROOT, "launch", "relation_noise.sh"),
                        str(tmp_path)], env=env, check=True, capture_output=True,
                       text=True).stdout.splitlines()
  assert _workdirs(out[0]) == [f"{tmp_path}/pa_lstm/supervised"]
  assert f"pairing={tmp_path}/pa_lstm/supervised" in out[1] and "detectors_relation" in out[1]
