"""mnemo against scikit-learn's MLP on scikit-learn's own data sets, in one run.

Called by compare_sklearn.sh (which installs python3-sklearn and OpenBLAS if missing):
  /usr/bin/python3 compare_sklearn.py TRAIN [SEEDS]     (default 5 seeds: 1..SEEDS)

TRAIN is the tools/train binary. Three data sets that scikit-learn ships (no
download): breast_cancer (binary, one logit with sigmoid cross-entropy),
digits (10 classes, softmax cross-entropy) and diabetes (regression, mean
squared error, targets left unscaled, 25..346). For every seed, both systems
see the same split (train_test_split, test_size 0.25, stratified for the
classifications) one after the other, mnemo first, so that both see the same
machine state. Both train the same model for the same budget:
standardization fitted on the training split (mnemo's Standardize layer,
scikit-learn's StandardScaler), Dense(64) + ReLU, a linear output layer,
Glorot-uniform initialisation, Adam with the same learning rate, batches of
32, reshuffled every epoch, no L2 penalty, no early stopping, every epoch run.

scikit-learn runs on numpy's BLAS: with Debian's libopenblas0-pthread at its
faster thread setting, chosen per data set at the start from 1 and 2 OpenBLAS
threads (threadpoolctl); with Debian's reference BLAS (about half as fast on
digits) a warning says the comparison flatters mnemo. mnemo runs its default
backend (Eigen, one thread).

The test metric is accuracy (classification) or R^2 (regression) on the test
split after the last epoch. Fit time: scikit-learn's .fit() (the scaler and the
MLP) by time.perf_counter; mnemo's the sum of its training passes over the
epochs, from metrics.json (train samples / samples_per_second per epoch, which
is train_seconds with more digits). mnemo's process wall time is given too:
the whole tools/train run, starting the process, reading the CSV files, the
test evaluation after every epoch, the snapshot at every epoch's end and
writing the outputs, none of which scikit-learn's .fit() does; the snapshots
(~1 ms each, from tools/train's `snapshot ... in N ms` lines) are most of it
on this machine.

Done when, per data set: mnemo's mean test metric >= scikit-learn's mean
minus 1 accuracy point (classification) or minus 0.02 R^2 (regression), and
the fit-time ratio scikit-learn / mnemo has a median >= 5 over the seeds.
Prints PASS or FAIL per criterion and exits 1 if any fails.
"""
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from threadpoolctl import threadpool_info, threadpool_limits
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (accuracy_score, f1_score, log_loss, mean_absolute_error,
                             mean_squared_error)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HIDDEN = 64
BATCH = 32
ACCURACY_SLACK = 0.01  # one accuracy point
R2_SLACK = 0.02
SPEEDUP = 5.0

# name, loader, task, target column, mnemo loss, output units, epochs, learning rate.
# The diabetes targets are unscaled (25..346), so it takes a larger learning
# rate (on both sides) to get anywhere in 100 epochs.
DATASETS = [
    ("breast_cancer", lambda: datasets.load_breast_cancer(), "binary", "diagnosis",
     "SIGMOID_CROSS_ENTROPY", 1, 100, 0.001),
    ("digits", lambda: datasets.load_digits(), "multiclass", "digit",
     "SOFTMAX_CROSS_ENTROPY", 10, 100, 0.001),
    ("diabetes", lambda: datasets.load_diabetes(scaled=False), "regression", "progression",
     "MEAN_SQUARED_ERROR", 1, 100, 0.01),
]


def run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"compare_sklearn: {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def stats(values):
    return min(values), statistics.median(values), max(values)


def mean_std(values):
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def machine():
    """`lscpu`'s model name and the core count, and the BLAS numpy uses."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in run(["lscpu"]).splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, SystemExit):
        pass
    libs = [f"{i.get('internal_api')} {i.get('version') or ''} "
            f"({os.path.basename(i.get('filepath', ''))})".replace("  ", " ")
            for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:  # one threadpoolctl cannot tune, such as Debian's reference libblas3
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f
                            if os.path.basename(line.split()[-1]).startswith("libblas")})
        libs = [f"untunable BLAS ({', '.join(paths) or 'not found'})"]
        return model, os.cpu_count(), libs[0], False
    return model, os.cpu_count(), ", ".join(libs), True


def load(loader, task):
    """Features as float64 and targets: class labels as text for the binary
    set (the CSV's target column), class ids for digits, numbers for diabetes."""
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float64)
    if task == "binary":
        y = np.array(bunch.target_names)[bunch.target]  # "malignant" / "benign"
    elif task == "multiclass":
        y = np.asarray(bunch.target, dtype=np.int64)
    else:
        y = np.asarray(bunch.target, dtype=np.float64)
    names = [str(n).replace(" ", "_") for n in bunch.feature_names]
    return x, y, names


def write_csv(path, header, x, y, task):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row, target in zip(x, y):
            if task == "regression":
                cell = repr(float(target))
            else:
                cell = str(target)
            writer.writerow([repr(float(v)) for v in row] + [cell])


CONFIG = """\
model {{
  input_size: {inputs}
  init {{ scheme: XAVIER_UNIFORM }}
  layer {{ type: "Standardize" }}
  layer {{ type: "Dense" units: {hidden} activation: "ReLU" }}
  layer {{ type: "Dense" units: {outputs} }}
  loss: {loss}
}}
data {{
  format: "csv"
  train_file: "{train}"
  test_file: "{test}"
  target: "{target}"
}}
trainer {{
  optimizer {{ type: "adam" learning_rate: {lr} }}
  batch_size: {batch}
  epochs: {epochs}
  seed: {seed}
}}
"""


def mnemo(train, workdir, spec, seed, inputs, n_train):
    """Trains with tools/train; its figures after the last epoch, the sum of
    its training passes and the process wall time."""
    name, _, task, target, loss, outputs, epochs, lr = spec
    config = os.path.join(workdir, "config.pbtxt")
    with open(config, "w") as f:
        f.write(CONFIG.format(inputs=inputs, hidden=HIDDEN, outputs=outputs, loss=loss,
                              train=os.path.join(workdir, "train.csv"),
                              test=os.path.join(workdir, "test.csv"), target=target,
                              lr=lr, batch=BATCH, epochs=epochs, seed=seed))
    out = os.path.join(workdir, "run")
    start = time.perf_counter()
    stdout = run([train, f"--config={config}", f"--out={out}", "--snapshot_every_seconds=0"])
    wall = time.perf_counter() - start
    # "snapshot at step 14 (end of epoch 1) in 1 ms"; "backend eigen, 1 thread"
    snapshots = [int(line.rsplit(" ", 2)[1]) for line in stdout.splitlines()
                 if line.startswith("snapshot at step") and line.endswith(" ms")]
    backend = next((line.split(None, 1)[1] for line in stdout.splitlines()
                    if line.startswith("backend ")), "?")
    with open(os.path.join(out, "metrics.json")) as f:
        history = json.load(f)["epochs"]
    if len(history) != epochs:
        sys.exit(f"compare_sklearn: mnemo ran {len(history)} epochs of {epochs} on {name}")
    last = history[-1]
    # train_seconds is printed with 4 decimals (a pass here takes ~0.1-1 ms);
    # samples_per_second = train samples / train_seconds carries more digits.
    fit = sum(n_train / e["samples_per_second"] for e in history)
    fit_rounded = sum(e["train_seconds"] for e in history)
    if task == "regression":
        figures = {"metric": last["test_r2"], "rmse": last["test_rmse"], "mae": last["test_mae"]}
    else:
        figures = {"metric": last["test_accuracy"], "macro_f1": last.get("test_macro_f1"),
                   "log_loss": last.get("test_log_loss")}
    return figures, fit, fit_rounded, wall, snapshots, backend


def scikit(spec, seed, x_train, y_train, x_test, y_test, threads):
    """Trains scikit-learn's MLP with `threads` BLAS threads (None: as they
    are); its test figures and .fit() seconds."""
    _, _, task, _, _, _, epochs, lr = spec
    kind = MLPRegressor if task == "regression" else MLPClassifier
    model = make_pipeline(
        StandardScaler(),
        kind(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam",
             learning_rate_init=lr, batch_size=BATCH, max_iter=epochs, alpha=0.0,
             shuffle=True, random_state=seed, tol=0.0, n_iter_no_change=epochs + 1,
             early_stopping=False))
    with warnings.catch_warnings(), threadpool_limits(limits=threads, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(x_train, y_train)
        fit = time.perf_counter() - start
    mlp = model[-1]
    if mlp.n_iter_ != epochs:
        sys.exit(f"compare_sklearn: scikit-learn ran {mlp.n_iter_} epochs of {epochs}")
    predicted = model.predict(x_test)
    if task == "regression":
        figures = {"metric": model.score(x_test, y_test),
                   "rmse": mean_squared_error(y_test, predicted) ** 0.5,
                   "mae": mean_absolute_error(y_test, predicted)}
    else:
        figures = {"metric": accuracy_score(y_test, predicted),
                   "macro_f1": f1_score(y_test, predicted, average="macro"),
                   "log_loss": log_loss(y_test, model.predict_proba(x_test),
                                        labels=model.classes_)}
    return figures, fit


def main():
    train = os.path.abspath(sys.argv[1])
    seeds = list(range(1, (int(sys.argv[2]) if len(sys.argv) > 2 else 5) + 1))

    model, cores, blas, tunable = machine()
    print(f"machine: {model}, {cores} cores; Python {platform.python_version()}, "
          f"scikit-learn {sklearn.__version__}, numpy {np.__version__} on {blas}")
    if not tunable:
        print("WARNING: numpy runs on Debian's reference BLAS, about half as fast as OpenBLAS "
              "on digits here: the fit-time ratios flatter mnemo (install "
              "libopenblas0-pthread; compare_sklearn.sh does when run as root)")
    print(f"model: Standardize -> Dense({HIDDEN}) ReLU -> Dense(out), Glorot uniform, Adam, "
          f"batch {BATCH}, no L2, no early stopping, every epoch run; seeds "
          f"{seeds[0]}..{seeds[-1]}")
    print()

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in DATASETS:
            name, loader, task, target, loss, _, epochs, lr = spec
            x, y, names = load(loader, task)
            stratify = None if task == "regression" else y
            print(f"{name}: {x.shape[0]} samples, {x.shape[1]} features, {task}, {loss}, "
                  f"{epochs} epochs, learning rate {lr}", flush=True)
            threads = None
            if tunable and cores > 1:
                x_train, x_test, y_train, y_test = train_test_split(
                    x, y, test_size=0.25, random_state=seeds[0], stratify=stratify)
                timed = {t: scikit(spec, seeds[0], x_train, y_train, x_test, y_test, t)[1]
                         for t in (1, 2)}
                threads = min(timed, key=timed.get)
                print(f"  scikit-learn fit: {timed[1] * 1e3:.0f} ms with 1 BLAS thread, "
                      f"{timed[2] * 1e3:.0f} ms with 2; using {threads}", flush=True)
            rows = []
            for seed in seeds:
                x_train, x_test, y_train, y_test = train_test_split(
                    x, y, test_size=0.25, random_state=seed, stratify=stratify)
                workdir = os.path.join(tmp, f"{name}_{seed}")
                os.makedirs(workdir)
                header = names + [target]
                write_csv(os.path.join(workdir, "train.csv"), header, x_train, y_train, task)
                write_csv(os.path.join(workdir, "test.csv"), header, x_test, y_test, task)
                ours, fit, fit_rounded, wall, snapshots, backend = mnemo(
                    train, workdir, spec, seed, x.shape[1], len(x_train))
                theirs, their_fit = scikit(spec, seed, x_train, y_train, x_test, y_test,
                                           threads)
                rows.append({"ours": ours, "fit": fit, "fit_rounded": fit_rounded,
                             "wall": wall, "snapshots": snapshots, "theirs": theirs,
                             "their_fit": their_fit})
                metric = "R^2" if task == "regression" else "accuracy"
                print(f"  seed {seed}: {metric} mnemo {ours['metric']:.4f}, scikit-learn "
                      f"{theirs['metric']:.4f}; fit mnemo {fit * 1e3:.1f} ms ({backend}; "
                      f"process {wall * 1e3:.0f} ms), scikit-learn {their_fit * 1e3:.0f} ms; "
                      f"ratio {their_fit / fit:.1f}, to process {their_fit / wall:.1f}",
                      flush=True)
            results[name] = rows
    print()

    print("| data set | metric | scikit-learn mean ± std | mnemo mean ± std | mnemo - sklearn "
          "| scikit-learn fit (median) | mnemo fit (median) | mnemo process (median) "
          "| fit ratio min / median / max | ratio to process min / median / max |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    verdicts = []
    for name, _, task, *_ in DATASETS:
        rows = results[name]
        ours_m, ours_s = mean_std([r["ours"]["metric"] for r in rows])
        theirs_m, theirs_s = mean_std([r["theirs"]["metric"] for r in rows])
        low, mid, high = stats([r["their_fit"] / r["fit"] for r in rows])
        wlow, wmid, whigh = stats([r["their_fit"] / r["wall"] for r in rows])
        their_fit = statistics.median(r["their_fit"] for r in rows)
        fit = statistics.median(r["fit"] for r in rows)
        wall = statistics.median(r["wall"] for r in rows)
        if task == "regression":
            metric, difference, slack = "test R^2", f"{ours_m - theirs_m:+.4f}", R2_SLACK
        else:
            metric, slack = "test accuracy", ACCURACY_SLACK
            difference = f"{100 * (ours_m - theirs_m):+.2f} pts"
        print(f"| {name} | {metric} | {theirs_m:.4f} ± {theirs_s:.4f} | {ours_m:.4f} ± "
              f"{ours_s:.4f} | {difference} | {their_fit * 1e3:.0f} ms | {fit * 1e3:.1f} ms | "
              f"{wall * 1e3:.0f} ms | {low:.1f} / {mid:.1f} / {high:.1f} | "
              f"{wlow:.1f} / {wmid:.1f} / {whigh:.1f} |")
        verdicts.append((name, task, ours_m, theirs_m, slack, mid, wlow, wmid))

    print()
    print("| data set | figure (test) | scikit-learn mean | mnemo mean |")
    print("| --- | --- | --- | --- |")
    for name, _, task, *_ in DATASETS:
        rows = results[name]
        keys = ["rmse", "mae"] if task == "regression" else ["macro_f1", "log_loss"]
        for key in keys:
            theirs = statistics.mean(r["theirs"][key] for r in rows)
            ours = [r["ours"][key] for r in rows if r["ours"].get(key) is not None]
            ours_text = f"{statistics.mean(ours):.4f}" if ours else "-"
            print(f"| {name} | {key} | {theirs:.4f} | {ours_text} |")
    everything = [r for rows in results.values() for r in rows]
    rounded = max(abs(r["fit_rounded"] - r["fit"]) for r in everything)
    rest = statistics.median(r["wall"] - r["fit"] for r in everything)
    snapshots = [ms for r in everything for ms in r["snapshots"]]
    print()
    print(f"mnemo fit = the sum over epochs of train samples / samples_per_second (the sum of "
          f"the 4-decimal train_seconds is at most {rounded * 1e3:.1f} ms off it). The rest of "
          f"its process wall time (median {rest * 1e3:.0f} ms a run) is starting the process, "
          f"reading the CSV files, the test evaluation and the snapshot at every epoch's end, "
          f"and writing the outputs. tools/train writes {len(snapshots) // len(everything)} "
          f"snapshots a run (one per epoch and one at the start) and prints their times "
          f"rounded to whole ms: median {statistics.median(snapshots)} ms, max "
          f"{max(snapshots)} ms, so they are most of the rest.")
    print("The 5x criterion compares scikit-learn's .fit() with mnemo's training passes: "
          "neither includes reading the data, evaluating the test set or writing outputs.")
    failed = False
    for name, task, ours_m, theirs_m, slack, *_ in verdicts:
        ok = ours_m >= theirs_m - slack
        failed |= not ok
        what, allowed = (("R^2", f"{slack}") if task == "regression" else
                         ("accuracy", f"{100 * slack:.0f} point"))
        print(f"{'PASS' if ok else 'FAIL'}: {name} test {what}: mnemo mean {ours_m:.4f} >= "
              f"scikit-learn mean {theirs_m:.4f} - {allowed}")
    for name, task, _, _, _, mid, wlow, wmid in verdicts:
        ok = mid >= SPEEDUP
        failed |= not ok
        process = (f"holds on process wall time too (median {wmid:.1f}x, min {wlow:.1f}x)"
                   if wlow >= SPEEDUP else
                   f"on process wall time: median {wmid:.1f}x, min {wlow:.1f}x")
        print(f"{'PASS' if ok else 'FAIL'}: {name} fit time: scikit-learn / mnemo median "
              f"{mid:.1f}x >= {SPEEDUP:.0f}x; {process}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
