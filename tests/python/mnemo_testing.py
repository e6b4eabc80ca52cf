"""What the Python tests share: the tools' paths, a scratch directory, the
breast cancer CSV as NumPy arrays, a small trained model."""

import csv
import os
import subprocess
import sys

import numpy as np

import mnemo

EVAL = os.path.abspath(sys.argv[1])
SERVE = os.path.abspath(sys.argv[2])
TMP = os.environ.get("TEST_TMPDIR") or "/tmp/mnemo_python_test"
CANCER = "configs/cancer_csv.pbtxt"
CANCER_TEST = "configs/data/breast_cancer_test.csv"


def read_csv(path, features, target):
  """The table's `features` columns (in that order) as float32, and its
  `target` column as text."""
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  x = np.array([[float(r[c]) for c in features] for r in rows], dtype=np.float32)
  y = [r[target] for r in rows]
  return np.ascontiguousarray(x), y


def train_cancer(out, epochs=2, **kwargs):
  return mnemo.train(CANCER, out=os.path.join(TMP, out), epochs=epochs, **kwargs)


def run(*command):
  """A tool's stdout; its stderr shown and a failure raised."""
  result = subprocess.run(command, capture_output=True, text=True)
  if result.returncode != 0:
    raise AssertionError(f"{command} failed ({result.returncode}):\n{result.stderr}")
  return result.stdout
