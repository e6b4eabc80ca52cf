"""PyTorch's side of //tools/bench:compare_pytorch: the same work as
//tools/bench:backend_benchmark, timed the same way.

  python3 pytorch_workloads.py seed_epoch THREADS [EPOCHS]
      The seed MLP (784-256-10, ReLU, softmax cross-entropy, SGD lr 0.1, batch
      256, N(0, 0.01) weights) on Fashion-MNIST, a fresh shuffle and batch
      gather every epoch. Prints `seconds S test_accuracy A` per epoch.
  python3 pytorch_workloads.py deep_step THREADS [STEPS]
      32 x (Linear 512 + ReLU) + Linear 10, batch 4096, one SGD step each.
      Prints `seconds S` per step.
  python3 pytorch_workloads.py deep_step_bf16 THREADS [STEPS]
      The same step under torch.autocast("cpu", dtype=torch.bfloat16): the
      matmuls in bf16 (oneDNN inside PyTorch), fp32 weights and optimizer.
  python3 pytorch_workloads.py infer THREADS BATCH [CALLS]
      The seed MLP's forward and arg-max on a batch of test images, under
      torch.no_grad(). Prints `seconds S` per call, median of CALLS calls.
  python3 pytorch_workloads.py gemm THREADS
      torch.matmul 2048 x 2048 x 2048 fp32. Prints `seconds S gflops G`.

THREADS is torch.set_num_threads (intra-op OpenMP threads). With Debian's
libopenblas0-pthread, OpenBLAS runs its own pool beside it: on these machines
one OpenMP thread with OpenBLAS's two threads is PyTorch's fastest setting for
the seed MLP (shared/notes/anchors.md); the comparison script tries both and
keeps the faster one for every workload.
"""
import gzip
import statistics
import sys
import time

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(prefix):
    x = read_idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    y = read_idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz", 8)
    return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))


def seed_mlp():
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    for p in model.parameters():
        torch.nn.init.normal_(p, 0, 0.01) if p.dim() == 2 else torch.nn.init.zeros_(p)
    return model


def seed_epoch(epochs):
    torch.manual_seed(42)
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    model = seed_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x_train.shape[0]
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n)
        for begin in range(0, n, 256):
            idx = order[begin:begin + 256]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"seconds {seconds:.6f} test_accuracy {accuracy:.4f}", flush=True)


def deep_step(steps, bf16=False):
    torch.manual_seed(42)
    layers = []
    for i in range(32):
        layers += [torch.nn.Linear(784 if i == 0 else 512, 512), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(512, 10))
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(4096, 784)
    y = torch.randint(0, 10, (4096,))
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        print(f"seconds {time.perf_counter() - start:.6f}", flush=True)


def infer(batch, calls):
    torch.manual_seed(42)
    x_test, _ = load("t10k")
    model = seed_mlp().eval()
    x = x_test[:batch].contiguous()
    times = []
    with torch.no_grad():
        for _ in range(calls):
            start = time.perf_counter()
            model(x).argmax(1)
            times.append(time.perf_counter() - start)
    print(f"seconds {statistics.median(times[calls // 10:]):.9f}", flush=True)


def gemm():
    a = torch.rand(2048, 2048)
    b = torch.rand(2048, 2048)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    print(f"seconds {best:.6f} gflops {2 * 2048 ** 3 / best / 1e9:.1f}", flush=True)


def main():
    mode, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    args = [int(a) for a in sys.argv[3:]]
    if mode == "seed_epoch":
        seed_epoch(args[0] if args else 2)
    elif mode == "deep_step":
        deep_step(args[0] if args else 3)
    elif mode == "deep_step_bf16":
        deep_step(args[0] if args else 3, bf16=True)
    elif mode == "infer":
        infer(args[0], args[1] if len(args) > 1 else 2000)
    elif mode == "gemm":
        gemm()
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
