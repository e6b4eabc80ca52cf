"""The seed MLP trained by PyTorch, timed per epoch, for the side-by-side ratio.

Same work as //tools/bench:train_benchmark: 784-256-10, ReLU, softmax
cross-entropy, SGD lr 0.1, batch 256, N(0, 0.01) weights, a fresh shuffle and
batch gather every epoch, Fashion-MNIST from Debian's dataset-fashion-mnist.
PyTorch's fastest setting on these machines (shared/notes/anchors.md): one
intra-op thread, OpenBLAS with its own threads.

Prints one line per epoch: `pytorch_epoch_seconds S test_accuracy A`.
"""
import gzip
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


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    torch.set_num_threads(1)
    torch.manual_seed(42)
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    for p in model.parameters():
        torch.nn.init.normal_(p, 0, 0.01) if p.dim() == 2 else torch.nn.init.zeros_(p)
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
        print(f"pytorch_epoch_seconds {seconds:.4f} test_accuracy {accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
