"""Checks a tools/export_pytorch file with PyTorch itself.

Builds the nn.Sequential from the Python the tool printed (--module), loads
the state_dict file as torch.save would have written it (torch.load, then
load_state_dict with strict=True, the tensors as they are), runs it on the
test set in eval mode and asserts that each sample's label is the one
tools/eval wrote (--predictions), that the outputs agree to float rounding,
and that the accuracy is the one tools/eval printed (--accuracy).

The test set: --npy_features/--npy_labels (.npy, a row of features per sample
once flattened), or --csv with its header, the feature columns taken in the
order the tool's "# inputs:" line gives and the target column mapped to class
ids by its "# classes:" line.
"""

import argparse
import collections
import csv
import re
import sys
import zipfile

import numpy as np
import torch
from torch import nn


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def read_module(path):
    """The expression, the input feature names and the class labels printed."""
    expression, features, classes = None, None, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("nn.Sequential("):
                expression = line
            m = re.match(r"# inputs: \d+ features, in this order: (.*)$", line)
            if m:
                features = m.group(1).split(", ")
            m = re.match(r"# classes: (.*)$", line)
            if m:
                classes = {}
                for item in m.group(1).split(", "):
                    index, label = item.split(" = ", 1)
                    classes[label] = int(index)
    if expression is None:
        fail(f"{path} has no nn.Sequential(...) line")
    return expression, features, classes


def read_test_set(args, features, classes):
    if args.npy_features:
        x = np.load(args.npy_features)
        x = x.reshape(x.shape[0], -1).astype(np.float32)
        y = np.load(args.npy_labels).astype(np.int64)
        return x, y
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if features is None or classes is None:
        fail("a CSV test set needs the tool's '# inputs:' and '# classes:' lines")
    x = np.array([[float(row[name]) for name in features] for row in rows], dtype=np.float32)
    y = np.array([classes[row[args.target]] for row in rows], dtype=np.int64)
    return x, y


def read_predictions(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header[0] != "label":
            fail(f"{path}: a classifier's predictions start with a label column: {header}")
        data = np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float64)
    return data[:, 0].astype(np.int64), data[:, 1:].astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state_dict", required=True)
    parser.add_argument("--module", required=True)
    parser.add_argument("--predictions", required=True)
    parser.add_argument("--accuracy", type=float, required=True)
    parser.add_argument("--npy_features")
    parser.add_argument("--npy_labels")
    parser.add_argument("--csv")
    parser.add_argument("--target")
    args = parser.parse_args()

    # The file is what torch.save writes: stored entries, tensor data 64-byte aligned.
    with zipfile.ZipFile(args.state_dict) as z:
        if z.testzip() is not None:
            fail("bad CRC in " + args.state_dict)
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                fail(f"{info.filename} is compressed")
            with open(args.state_dict, "rb") as raw:
                raw.seek(info.header_offset + 26)
                name_len, extra_len = np.frombuffer(raw.read(4), dtype="<u2")
            data_offset = info.header_offset + 30 + int(name_len) + int(extra_len)
            if data_offset % 64 != 0:
                fail(f"{info.filename}: data at {data_offset}, not on a 64-byte boundary")

    expression, features, classes = read_module(args.module)
    model = eval(expression, {"nn": nn})  # the tool's own output
    state_dict = torch.load(args.state_dict)
    if not isinstance(state_dict, collections.OrderedDict):
        fail(f"torch.load gave a {type(state_dict)}, not an OrderedDict")
    result = model.load_state_dict(state_dict, strict=True)
    if result.missing_keys or result.unexpected_keys:
        fail(f"keys: {result}")
    for key, tensor in state_dict.items():
        if tensor.dtype != torch.float32 or not tensor.is_contiguous():
            fail(f"{key}: {tensor.dtype}, contiguous {tensor.is_contiguous()}")
    model.eval()

    x, y = read_test_set(args, features, classes)
    with torch.no_grad():
        outputs = model(torch.from_numpy(x)).numpy()
    if outputs.shape[1] == 1:
        labels = (outputs[:, 0] > 0).astype(np.int64)  # one sigmoid logit
    else:
        labels = outputs.argmax(axis=1)

    mnemo_labels, mnemo_outputs = read_predictions(args.predictions)
    if mnemo_outputs.shape != outputs.shape:
        fail(f"tools/eval wrote outputs of shape {mnemo_outputs.shape}, PyTorch gives {outputs.shape}")
    differ = np.flatnonzero(labels != mnemo_labels)
    if differ.size:
        i = differ[0]
        fail(f"{differ.size} of {len(y)} labels differ; sample {i}: PyTorch {labels[i]}, "
             f"mnemo {mnemo_labels[i]} (outputs {outputs[i]} vs {mnemo_outputs[i]})")
    scale = max(1.0, float(np.abs(mnemo_outputs).max()))
    max_diff = float(np.abs(outputs - mnemo_outputs).max())
    if max_diff > 1e-4 * scale:
        fail(f"outputs differ by up to {max_diff} (logit scale {scale})")
    accuracy = float((labels == y).mean())
    if abs(accuracy - args.accuracy) > 0.00005 + 1e-9:  # tools/eval prints 4 decimals
        fail(f"PyTorch's accuracy {accuracy:.4f}, tools/eval printed {args.accuracy:.4f}")
    print(f"PASS: {len(y)} samples, every label as mnemo's, accuracy {accuracy:.4f}, "
          f"outputs within {max_diff:.2e} (scale {scale:.2f}); modules {expression}")


if __name__ == "__main__":
    main()
