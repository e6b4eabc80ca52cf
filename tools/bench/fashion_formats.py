"""Fashion-MNIST from IDX, CSV and .npy: the same model, the same results.

Called by fashion_formats.sh:
  fashion_formats.py TRAIN CONFIG [--epochs=N] [--seed=S] [--data_dir=DIR]
                     [--dir=DIR] [--keep]

Reads Debian's Fashion-MNIST (the gzip IDX files in --data_dir) with numpy and
writes it out twice into --dir (default: a new directory under /tmp, removed at
the end unless --keep):
  * as CSV tables with a header row: the 784 pixel columns p0 .. p783 holding
    the features as mnemo's IDX reader computes them, float32(pixel) /
    float32(255) (tools/data/idx.cc), each written as the shortest decimal that
    reads back as that float32 exactly, and a "label" column (0-9);
  * as .npy: float32 features (n, 784) with the same values, int64 labels (n,).
Then trains CONFIG (configs/fashion_mlp.pbtxt: its model and trainer, its
seed) three times with tools/train, --epochs epochs each: from the IDX files
(CONFIG itself), from the CSV tables and from the .npy arrays (CONFIG with only
its data section replaced). Since the values, the sample order and the seed are
the same, the three runs should agree bit for bit: it prints the three test
accuracies, compares the per-epoch figures of metrics.csv (all but the timing
columns) and the tensors of the three model.safetensors byte for byte (the
files' metadata differs by design: it holds the config's text, whose data
section differs, and the CSV's column names), and exits 1 if anything differs.
"""
import argparse
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TIMING_COLUMNS = {"train_seconds", "samples_per_second"}


def user_path(path):
    """A path the user typed, against where they ran `bazel run`."""
    if os.path.isabs(path):
        return path
    return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()), path)


def open_idx(data_dir, base):
    """The IDX file `base` in `data_dir`, gzip first (as Debian ships it)."""
    for name, opener in ((base + ".gz", gzip.open), (base, open)):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            with opener(path, "rb") as f:
                return path, f.read()
    sys.exit(f"fashion_formats: neither {base}.gz nor {base} in {data_dir}")


def read_idx(data_dir, base, rank):
    path, data = open_idx(data_dir, base)
    magic, = struct.unpack(">I", data[:4])
    if magic != 0x800 + rank:
        sys.exit(f"fashion_formats: {path}: magic number {magic:#x}, expected {0x800 + rank:#x}")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    offset = 4 + 4 * rank
    values = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if values.size != int(np.prod(dims)):
        sys.exit(f"fashion_formats: {path}: {values.size} values for the shape {dims}")
    return values.reshape(dims[0], -1) if rank > 1 else values


def read_set(data_dir, name):
    images_base, labels_base = IDX_FILES[name]
    pixels = read_idx(data_dir, images_base, 3)
    labels = read_idx(data_dir, labels_base, 1)
    if len(pixels) != len(labels):
        sys.exit(f"fashion_formats: {len(pixels)} {name} images but {len(labels)} labels")
    return pixels, labels


def pixel_table():
    """float32(i) / float32(255) for each byte, as mnemo's IDX reader has it,
    and the shortest decimal of each that reads back as that float32."""
    values = np.arange(256, dtype=np.float32) / np.float32(255)
    texts = [np.format_float_positional(v, unique=True, trim="-") for v in values]
    for v, text in zip(values, texts):
        # Exactly the float32, whether read as float32 or through a double.
        assert np.float32(text) == v and np.float32(float(text)) == v, (v, text)
    return values, texts


def write_csv(path, pixels, labels, texts):
    cells = np.array(texts, dtype=object)
    header = ",".join([f"p{i}" for i in range(pixels.shape[1])] + ["label"])
    with open(path, "w", newline="") as f:
        f.write(header + "\n")
        for row, label in zip(pixels, labels):
            f.write(",".join(cells[row]))
            f.write(f",{int(label)}\n")


def write_npy(features_path, labels_path, pixels, labels, values):
    np.save(features_path, values[pixels])  # float32 (n, 784)
    np.save(labels_path, labels.astype(np.int64))


def config_with_data(config_text, data_block):
    """The config's text with its top-level data section replaced."""
    pattern = re.compile(r"^data\s*\{.*?^\}[^\n]*\n", re.DOTALL | re.MULTILINE)
    if len(pattern.findall(config_text)) != 1:
        sys.exit("fashion_formats: the config has no single top-level `data { ... }` section")
    return pattern.sub(lambda _: data_block, config_text)


def train(train_bin, config, out, epochs, seed, extra):
    args = [train_bin, f"--config={config}", f"--out={out}", f"--epochs={epochs}"] + extra
    if seed is not None:
        args.append(f"--seed={seed}")
    start = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"fashion_formats: {' '.join(args)} failed ({result.returncode}):\n"
                 f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    match = re.search(r"^test accuracy ([0-9.]+)", result.stdout, re.MULTILINE)
    if not match:
        sys.exit(f"fashion_formats: no test accuracy in the output of {' '.join(args)}:\n"
                 f"{result.stdout[-3000:]}")
    epochs_lines = [l for l in result.stdout.splitlines() if l.startswith("epoch ")]
    return match.group(1), epochs_lines, seconds


def metrics_without_timing(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split(",") for line in f]
    keep = [i for i, name in enumerate(rows[0]) if name not in TIMING_COLUMNS]
    return [[row[i] for i in keep] for row in rows]


def read_safetensors(path):
    """The JSON header (tensors and __metadata__) and the data bytes."""
    with open(path, "rb") as f:
        blob = f.read()
    n, = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    return header, blob[8 + n:], blob


def compare_models(paths):
    """Lines describing how the models at `paths` (name -> path) compare, and
    whether their tensors are identical."""
    lines = []
    loaded = {name: read_safetensors(path) for name, path in paths.items()}
    names = list(loaded)
    reference = names[0]
    ref_header, ref_data, ref_blob = loaded[reference]
    ref_tensors = {k: v for k, v in ref_header.items() if k != "__metadata__"}
    identical = True
    for name in names[1:]:
        header, data, blob = loaded[name]
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        if tensors.keys() != ref_tensors.keys():
            identical = False
            lines.append(f"  {name}: other tensors than {reference}'s: "
                         f"{sorted(tensors)} vs {sorted(ref_tensors)}")
            continue
        differing = []
        for key, entry in sorted(tensors.items()):
            ref_entry = ref_tensors[key]
            a, b = ref_entry["data_offsets"], entry["data_offsets"]
            if (entry["dtype"] != ref_entry["dtype"] or entry["shape"] != ref_entry["shape"] or
                    ref_data[a[0]:a[1]] != data[b[0]:b[1]]):
                differing.append(key)
        if differing:
            identical = False
            lines.append(f"  {name} vs {reference}: tensors differ: {', '.join(differing)}")
        else:
            size = sum(v["data_offsets"][1] - v["data_offsets"][0] for v in ref_tensors.values())
            lines.append(f"  {name} vs {reference}: all {len(tensors)} tensors identical byte for "
                         f"byte ({size} bytes)")
        meta, ref_meta = header.get("__metadata__", {}), ref_header.get("__metadata__", {})
        keys = sorted(k for k in set(meta) | set(ref_meta) if meta.get(k) != ref_meta.get(k))
        whole = "identical" if blob == ref_blob else "different"
        lines.append(f"    whole files {whole}; metadata keys that differ: "
                     f"{', '.join(keys) if keys else 'none'}")
    return lines, identical


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train_bin")
    parser.add_argument("config")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="run seed (default: the config's)")
    parser.add_argument("--data_dir", default="/usr/share/datasets/fashion-mnist",
                        help="the IDX files (default Debian's Fashion-MNIST)")
    parser.add_argument("--dir", default=None,
                        help="where to write the CSV and .npy files and the runs "
                             "(default: a new directory under /tmp, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep --dir's files at the end")
    args = parser.parse_args()
    if args.epochs < 1:
        sys.exit("fashion_formats: --epochs must be >= 1")
    data_dir = user_path(args.data_dir)
    if args.dir:
        work = user_path(args.dir)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="mnemo_fashion_formats_", dir="/tmp")
    with open(args.config) as f:
        config_text = f.read()

    try:
        print(f"data    {data_dir} -> {work}")
        values, texts = pixel_table()
        sets = {name: read_set(data_dir, name) for name in IDX_FILES}
        for name, (pixels, labels) in sets.items():
            start = time.monotonic()
            csv_path = os.path.join(work, f"fashion_{name}.csv")
            write_csv(csv_path, pixels, labels, texts)
            write_npy(os.path.join(work, f"fashion_{name}_x.npy"),
                      os.path.join(work, f"fashion_{name}_y.npy"), pixels, labels, values)
            print(f"wrote   {name}: {len(labels)} samples as CSV "
                  f"({os.path.getsize(csv_path) / 2**20:.1f} MiB) and .npy "
                  f"({os.path.getsize(os.path.join(work, f'fashion_{name}_x.npy')) / 2**20:.1f} "
                  f"MiB) in {time.monotonic() - start:.1f} s")
            sys.stdout.flush()

        # The IDX run reads CONFIG itself; the others, copies beside their files.
        configs = {"idx": (args.config, [] if args.data_dir == parser.get_default("data_dir")
                           else [f"--data_dir={data_dir}"])}
        blocks = {
            "csv": ('data {\n  format: "csv"\n  train_file: "fashion_train.csv"\n'
                    '  test_file: "fashion_test.csv"\n  target: "label"\n}\n'),
            "npy": ('data {\n  format: "npy"\n  train_file: "fashion_train_x.npy"\n'
                    '  train_targets_file: "fashion_train_y.npy"\n'
                    '  test_file: "fashion_test_x.npy"\n'
                    '  test_targets_file: "fashion_test_y.npy"\n}\n'),
        }
        for fmt, block in blocks.items():
            path = os.path.join(work, f"fashion_{fmt}.pbtxt")
            with open(path, "w") as f:
                f.write(config_with_data(config_text, block))
            configs[fmt] = (path, [])

        results = {}
        for fmt, (config, extra) in configs.items():
            out = os.path.join(work, f"run_{fmt}")
            accuracy, epoch_lines, seconds = train(args.train_bin, config, out, args.epochs,
                                                   args.seed, extra)
            results[fmt] = (accuracy, out)
            shown = min(config, os.path.relpath(config), key=len)
            print(f"\n{fmt}: tools/train --config={shown} --epochs={args.epochs} "
                  f"({seconds:.1f} s, data loading included)")
            for line in epoch_lines:
                print(f"  {line}")
            sys.stdout.flush()

        print("\ntest accuracy after %d epoch%s:" % (args.epochs, "" if args.epochs == 1 else "s"))
        for fmt, (accuracy, _) in results.items():
            print(f"  {fmt:4s} {accuracy}")
        same_accuracy = len({accuracy for accuracy, _ in results.values()}) == 1
        print(f"  {'identical' if same_accuracy else 'DIFFERENT'}")

        metrics = {fmt: metrics_without_timing(os.path.join(out, "metrics.csv"))
                   for fmt, (_, out) in results.items()}
        same_metrics = all(m == metrics["idx"] for m in metrics.values())
        print(f"metrics.csv, every epoch's figures but the timing: "
              f"{'identical' if same_metrics else 'DIFFERENT'}")
        for fmt, m in metrics.items():
            if m != metrics["idx"]:
                print(f"  {fmt}: {m[1:]}\n  idx: {metrics['idx'][1:]}")

        lines, same_models = compare_models(
            {fmt: os.path.join(out, "model.safetensors") for fmt, (_, out) in results.items()})
        print("model.safetensors:")
        print("\n".join(lines))

        ok = same_accuracy and same_metrics and same_models
        print("PASS: IDX, CSV and .npy train to bit-identical models" if ok else
              "FAIL: the three formats do not train to the same model")
        return 0 if ok else 1
    finally:
        if args.keep or args.dir:
            print(f"kept    {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
