"""mnemo.train on the breast cancer CSV with a progress callback, then
mnemo.Predictor on the test table as a NumPy array: the same accuracy as
tools/eval prints and the same labels as tools/serve answers."""

import math
import os

import numpy as np

import mnemo
import mnemo_testing as t

epochs_seen = []
result = t.train_cancer("run", epochs=3, seed=7, learning_rate=0.003,
                        overrides={"trainer.early_stopping.patience": 5},
                        progress=epochs_seen.append)

# The callback: once per epoch, in order, finite figures; the history agrees.
assert [e["epoch"] for e in epochs_seen] == [1, 2, 3], epochs_seen
for e in epochs_seen:
  assert math.isfinite(e["train_loss"]) and e["train_loss"] > 0, e
  assert math.isfinite(e["val_loss"]) and 0 <= e["val_accuracy"] <= 1, e
  assert e["seconds"] >= 0, e
  assert e["learning_rate"] == np.float32(0.003), e  # no schedule: the rate set
assert result["history"] == epochs_seen, (result["history"], epochs_seen)
assert result["samples"] == {"train": 341, "validation": 85, "test": 143,
                             "features": 30}, result["samples"]
final = result["final"]
assert final["set"] == "test" and final["epoch"] == result["kept_epoch"], final
assert 0.5 < final["accuracy"] <= 1, final
for key in ("model_path", "metrics_csv", "metrics_json", "steps_csv", "plot"):
  assert os.path.getsize(result[key]) > 0, (key, result[key])
with open(result["metrics_csv"]) as f:
  assert len(f.read().splitlines()) == 4  # a header and three epochs
with open(result["steps_csv"]) as f:
  steps = f.read().splitlines()
assert steps[0] == "step,epoch,learning_rate", steps[0]
assert steps[-1].startswith("%d,3," % (len(steps) - 1)), steps[-1]

# The saved model from Python, on the test table as an array.
p = mnemo.Predictor(result["model_path"])
assert p.input_size == 30 and p.num_classes == 1 and not p.regression
names = p.names
assert names["classes"] == ["benign", "malignant"], names
x, y = t.read_csv(t.CANCER_TEST, names["features"], names["targets"][0])
labels = p.classify(x)
assert labels.dtype == np.int32 and labels.shape == (len(y),), labels
answers = [p.class_label(int(i)) for i in labels]
accuracy = sum(a == b for a, b in zip(answers, y)) / len(y)

# tools/eval prints the accuracy to four places.
eval_out = t.run(t.EVAL, f"--model={result['model_path']}")
print(eval_out)
eval_accuracy = float(next(line.split()[2] for line in eval_out.splitlines()
                           if line.startswith("test accuracy")))
assert f"{accuracy:.4f}" == f"{eval_accuracy:.4f}", (accuracy, eval_accuracy)
assert f"{accuracy:.4f}" == f"{final['accuracy']:.4f}", (accuracy, final)

# tools/serve's answers, one a line, for the same table.
serve_out = t.run(t.SERVE, f"--model={result['model_path']}", f"--csv={t.CANCER_TEST}")
served = [line.split()[0] for line in serve_out.splitlines()
          if line.split() and line.split()[0] in ("benign", "malignant")]
assert served == answers, (served[:10], answers[:10])

# One sample (1-D) and a batch of one agree with the batch; predict and
# probabilities are consistent with the labels.
assert p.classify(x[5]) == labels[5]
assert p.classify(x[5:6]).tolist() == [labels[5]]
logits = p.predict(x)
assert logits.dtype == np.float32 and logits.shape == (len(y), 1)
assert ((logits[:, 0] > 0).astype(np.int32) == labels).all()
probabilities = p.probabilities()
assert probabilities.shape == (len(y), 2)
assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
assert (probabilities.argmax(axis=1) == labels).all()
# Outputs are copies: the next call does not change them.
before = labels.copy()
p.classify(x[:3])
assert (labels == before).all()
print("PASS")
