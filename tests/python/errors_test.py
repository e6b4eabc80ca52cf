"""Errors from Python: each raises an exception whose message names the
problem; nothing is converted silently."""

import os

import numpy as np

import mnemo
import mnemo_testing as t


def raises(exception, words, call, *args, **kwargs):
  try:
    call(*args, **kwargs)
  except exception as e:
    message = str(e)
    for word in words:
      assert word in message, f"{word!r} not in {message!r}"
    print(f"{exception.__name__}: {message.splitlines()[0]}")
    return
  raise AssertionError(f"{call} {args} {kwargs} did not raise {exception.__name__}")


result = t.train_cancer("errors", epochs=1)
p = mnemo.Predictor(result["model_path"])
x = np.zeros((4, 30), dtype=np.float32)
assert p.classify(x).shape == (4,)

# The array: dtype, contiguity, rank, width, values.
raises(TypeError, ["float64", "np.ascontiguousarray(x, dtype=np.float32)"],
       p.classify, np.zeros((4, 30)))
raises(TypeError, ["int32"], p.predict, np.zeros((4, 30), dtype=np.int32))
raises(TypeError, ["list", "float32"], p.classify, [[0.0] * 30])
raises(ValueError, ["not C-contiguous", "np.ascontiguousarray"],
       p.classify, np.zeros((30, 4), dtype=np.float32).T)
raises(ValueError, ["not C-contiguous"], p.classify, np.zeros((4, 60), dtype=np.float32)[:, ::2])
raises(ValueError, ["3 dimensions"], p.classify, np.zeros((2, 2, 30), dtype=np.float32))
raises(ValueError, ["29 features per sample", "takes 30"], p.classify,
       np.zeros((4, 29), dtype=np.float32))
raises(ValueError, ["31 features", "takes 30"], p.classify, np.zeros(31, dtype=np.float32))
bad = x.copy()
bad[2, 7] = np.nan
raises(ValueError, ["nan", "sample 2", "feature 7"], p.classify, bad)
bad[2, 7] = np.inf
raises(ValueError, ["feature 7"], p.predict, bad)

# Files.
missing = os.path.join(t.TMP, "nowhere", "model.safetensors")
raises(FileNotFoundError, [missing], mnemo.Predictor, missing)
raises(FileNotFoundError, ["no_such_plugin.so"], mnemo.load_plugin, "no_such_plugin.so")
raises(FileNotFoundError, ["no_such.pbtxt"], mnemo.train, "no_such.pbtxt")
raises(RuntimeError, ["before any successful"], mnemo.Predictor(result["model_path"]).probabilities)

# Settings and overrides name the key.
raises(TypeError, ["epoch"], mnemo.train, t.CANCER, epoch=3)
raises(ValueError, ["epochs must be > 0"], t.train_cancer, "never", epochs=-3)
raises(TypeError, ["batch_size", "int"], t.train_cancer, "never", batch_size=2.5)
raises(ValueError, ["trainer.batch_size", "> 0"], t.train_cancer, "never",
       overrides={"trainer.batch_size": -1})
raises(ValueError, ["trainer.epoch", "no field"], t.train_cancer, "never",
       overrides={"trainer.epoch": 3})
raises(ValueError, ["trainer.nonfinite", "NOT_A_MODE"], t.train_cancer, "never",
       overrides={"trainer.nonfinite": "NOT_A_MODE"})
raises(ValueError, ["model.layer", "repeated"], t.train_cancer, "never",
       overrides={"model.layer.units": 3})
# A finished run is not replaced without overwrite.
raises(RuntimeError, ["finished run"], t.train_cancer, "errors", epochs=1)


# An exception in the progress callback stops the run after that epoch and is
# raised as it is; the snapshot lets resume=True finish the run.
class Stop(Exception):
  pass


def stop_at_2(epoch):
  if epoch["epoch"] == 2:
    raise Stop("enough")


raises(Stop, ["enough"], t.train_cancer, "stopped", epochs=4, progress=stop_at_2)
out = os.path.join(t.TMP, "stopped")
assert os.path.exists(os.path.join(out, "snapshot.safetensors"))
assert not os.path.exists(os.path.join(out, "model.safetensors"))
resumed = t.train_cancer("stopped", epochs=4, resume=True)
assert [e["epoch"] for e in resumed["history"]][-1] >= 3, resumed["history"]
assert os.path.exists(resumed["model_path"])
print("PASS")
