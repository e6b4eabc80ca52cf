#!/usr/bin/python3
"""Batch-1 prediction from Python: mnemo.Predictor.classify against PyTorch's
nn.Sequential of the same shape and the same weights, interleaved.

    ./bazelw build //tools/python:mnemo.so
    PYTHONPATH=bazel-bin/tools/python /usr/bin/python3 \\
        tools/bench/python_predict_benchmark.py [--model=out/fashion_mlp/model.safetensors]
        [--rounds=15] [--calls=2000]

The model is the fashion MLP (configs/fashion_mlp.pbtxt, 784-256-10); without
one at --model, one is trained for an epoch into /tmp. Each round times
`calls` single-sample calls of each side (which goes first alternates),
on the same 784 floats; PyTorch with one thread under inference_mode, mnemo
with its config's threads (one). Prints per-call microseconds (min, median,
max over rounds) and the ratio PyTorch / mnemo (> 1: mnemo is faster).
"""

import argparse
import json
import os
import statistics
import struct
import time

import numpy as np
import torch

import mnemo


def read_safetensors(path):
  """{name: float32 array} of a .safetensors file, read with NumPy."""
  with open(path, "rb") as f:
    (size,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(size))
    data = f.read()
  tensors = {}
  for name, info in header.items():
    if name == "__metadata__":
      continue
    assert info["dtype"] == "F32", (name, info["dtype"])
    begin, end = info["data_offsets"]
    tensors[name] = np.frombuffer(data[begin:end], dtype=np.float32).reshape(info["shape"])
  return tensors


def torch_model(tensors):
  """784-256-10 with ReLU, with the mnemo model's weights (Dense weights are
  stored input x output, as mnemo multiplies x W)."""
  weights = sorted((n for n in tensors if n.endswith(".weight")), key=lambda n: int(n.split("_")[0]))
  dense = [(tensors[n], tensors[n.replace("weight", "bias")]) for n in weights
           if n.replace("weight", "bias") in tensors]
  layers = []
  for i, (w, b) in enumerate(dense):
    linear = torch.nn.Linear(w.shape[0], w.shape[1])
    with torch.no_grad():
      linear.weight.copy_(torch.from_numpy(w.T.copy()))
      linear.bias.copy_(torch.from_numpy(b.reshape(-1).copy()))
    layers.append(linear)
    if i + 1 < len(dense):
      layers.append(torch.nn.ReLU())
  return torch.nn.Sequential(*layers).eval()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="out/fashion_mlp/model.safetensors")
  parser.add_argument("--rounds", type=int, default=15)
  parser.add_argument("--calls", type=int, default=2000)
  args = parser.parse_args()

  model = args.model
  if not os.path.exists(model):
    print(f"{model} not found: training the fashion MLP for one epoch into /tmp")
    model = mnemo.train("configs/fashion_mlp.pbtxt", out="/tmp/python_predict_benchmark",
                        epochs=1, overwrite=True)["model_path"]
  predictor = mnemo.Predictor(model)
  tensors = read_safetensors(model)
  print("tensors:", {n: t.shape for n, t in tensors.items()})
  net = torch_model(tensors)
  print("torch:  ", net)
  torch.set_num_threads(1)

  with open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", "rb") as f:
    import gzip
    pixels = np.frombuffer(gzip.decompress(f.read()), dtype=np.uint8, offset=16)
  x = np.ascontiguousarray(pixels.reshape(-1, 784)[:1000].astype(np.float32) / np.float32(255))

  # The same answers, on 1000 images one at a time.
  with torch.inference_mode():
    torch_labels = [int(net(torch.from_numpy(x[i:i + 1])).argmax(1)) for i in range(len(x))]
  mnemo_labels = [int(predictor.classify(x[i:i + 1])[0]) for i in range(len(x))]
  agree = sum(a == b for a, b in zip(torch_labels, mnemo_labels))
  print(f"labels agree on {agree} of {len(x)} images")

  sample = x[:1]  # 1 x 784, float32, C-contiguous
  sample_t = torch.from_numpy(sample)
  classify = predictor.classify

  def time_mnemo():
    start = time.perf_counter()
    for _ in range(args.calls):
      classify(sample)
    return (time.perf_counter() - start) / args.calls * 1e6

  def time_torch():
    with torch.inference_mode():
      start = time.perf_counter()
      for _ in range(args.calls):
        net(sample_t).argmax(1)
      return (time.perf_counter() - start) / args.calls * 1e6

  time_mnemo(), time_torch()  # warm-up
  mnemo_us, torch_us = [], []
  for r in range(args.rounds):
    if r % 2 == 0:
      m = time_mnemo()
      t = time_torch()
    else:
      t = time_torch()
      m = time_mnemo()
    mnemo_us.append(m)
    torch_us.append(t)
  ratios = [t / m for t, m in zip(torch_us, mnemo_us)]

  def line(name, values, unit):
    return (f"{name:<22} min {min(values):8.2f}  median {statistics.median(values):8.2f}  "
            f"max {max(values):8.2f} {unit}")

  print(f"batch-1 classify, {args.rounds} interleaved rounds x {args.calls} calls "
        f"(torch {torch.__version__}, {torch.get_num_threads()} thread; mnemo {predictor})")
  print(line("mnemo classify", mnemo_us, "us/call"))
  print(line("torch nn.Sequential", torch_us, "us/call"))
  print(line("ratio torch/mnemo", ratios, "(> 1: mnemo faster)"))


if __name__ == "__main__":
  main()
