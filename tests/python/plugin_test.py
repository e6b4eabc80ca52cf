"""A model whose config names a plugin (configs/fashion_mlp_plugin.pbtxt: the
template plugin's Scale layer): trained from Python, served by Predictor (the
plugin loaded as its stored config says) with the labels tools/serve gives;
load_plugin; and plugin_path, in a process where only it finds the plugin."""

import gzip
import os
import shutil
import subprocess
import sys

import numpy as np

import mnemo
import mnemo_testing as t

PLUGIN = "plugins/template/libtemplate_plugin.so"
IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
SAMPLES = 500

assert mnemo.load_plugin(PLUGIN) == "template_plugin"
assert mnemo.load_plugin(PLUGIN) == "template_plugin"  # again: a no-op

result = mnemo.train("configs/fashion_mlp_plugin.pbtxt", out=os.path.join(t.TMP, "plugin"),
                     epochs=1, train_limit=3000, test_limit=SAMPLES)
assert len(result["history"]) == 1 and result["final"]["accuracy"] > 0.3, result["final"]

p = mnemo.Predictor(result["model_path"])
assert p.input_size == 784 and p.num_classes == 10
with gzip.open(IMAGES) as f:
  pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
x = (pixels.reshape(-1, 784)[:SAMPLES].astype(np.float32) / np.float32(255))
labels = p.classify(x)
assert labels.shape == (SAMPLES,)

serve_out = t.run(t.SERVE, f"--model={result['model_path']}", f"--idx={IMAGES}", "--batch=500")
served = [int(line) for line in serve_out.split()[:SAMPLES]]
assert served == labels.tolist(), (served[:20], labels[:20].tolist())

# Served elsewhere: the model and the plugin copied into a directory of their
# own, loaded by a fresh process outside the runfiles, the workspace and
# $MNEMO_PLUGIN_PATH. Without plugin_path the plugin is not found; with it,
# it is (by its file name), and the answers are the same.
away = os.path.join(t.TMP, "away")
os.makedirs(os.path.join(away, "plugins"), exist_ok=True)
shutil.copy(result["model_path"], os.path.join(away, "model.safetensors"))
# In the test's runfiles, else (run by hand from the workspace) in bazel-bin.
built = next(f for f in (PLUGIN, os.path.join("bazel-bin", PLUGIN)) if os.path.exists(f))
shutil.copy(built, os.path.join(away, "plugins", "libtemplate_plugin.so"))
np.save(os.path.join(away, "x.npy"), x[:50])
script = """
import sys, numpy as np, mnemo
try:
  mnemo.Predictor("model.safetensors")
  print("loaded without plugin_path")
except (FileNotFoundError, ValueError) as e:
  print("refused:", str(e).splitlines()[0][:300])
p = mnemo.Predictor("model.safetensors", plugin_path="plugins")
print(" ".join(str(v) for v in p.classify(np.load("x.npy")).tolist()))
"""
env = {k: v for k, v in os.environ.items()
       if k not in ("TEST_SRCDIR", "RUNFILES_DIR", "RUNFILES_MANIFEST_FILE", "MNEMO_PLUGIN_PATH",
                    "BUILD_WORKSPACE_DIRECTORY", "JAVA_RUNFILES", "PYTHON_RUNFILES")}
env["PYTHONPATH"] = os.path.dirname(os.path.abspath(mnemo.__file__))
child = subprocess.run([sys.executable, "-c", script], cwd=away, env=env, capture_output=True,
                       text=True)
print(child.stdout, child.stderr)
assert child.returncode == 0, child.stderr
lines = child.stdout.splitlines()
assert lines[0].startswith("refused:") and "not found" in lines[0], lines
assert [int(v) for v in lines[1].split()] == labels[:50].tolist(), lines
print("PASS")
