"""mnemo's oneDNN backend against PyTorch on this machine, interleaved, in one run.

Called by compare_pytorch.sh (which installs PyTorch if it is missing):
  compare_pytorch.py BENCH TRAIN QUANTIZE EVAL CONFIG_EIGEN CONFIG_ONEDNN CONFIG_BF16
      TORCH_SCRIPT [ROUNDS]

Every round runs each workload once with mnemo (//tools/bench:backend_benchmark)
and once with PyTorch (pytorch_workloads.py), one after the other, so that both
see the same machine state; the ratios are PyTorch time / mnemo time (> 1: mnemo
is faster), with min, median and max over the rounds. PyTorch runs at its
fastest thread setting, chosen per workload at the start from 1 and 2 intra-op
threads. The fp32 GEMM roof is measured here too (the faster of oneDNN's sgemm
and torch.matmul at 2048^3), and the training workloads' GFLOP/s are given as a
share of it. Last, both systems train the seed MLP for 10 epochs and the test
accuracies are compared. Low precision (model.precision BF16, int8 models
written by tools/quantize) is timed in the same rounds, against PyTorch and
against mnemo's own fp32, and its accuracy after the same 10 epochs too.
"""
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_output  # noqa: E402

# Floating-point operations of one unit of each training workload, counted as
# GEMMs: forward, weight gradient, and input gradient except for the first
# layer (no one needs dLoss/dInput there).
SEED_SAMPLES = 60000
SEED_FLOP = SEED_SAMPLES * 2 * (2 * (784 * 256 + 256 * 10) + 256 * 10)
DEEP_BATCH = 4096
DEEP_DENSE = [(784, 512)] + [(512, 512)] * 31 + [(512, 10)]
DEEP_FLOP = DEEP_BATCH * 2 * (
    2 * sum(i * o for i, o in DEEP_DENSE) + sum(i * o for i, o in DEEP_DENSE[1:]))

# name, our benchmark, PyTorch arguments after the thread count, target ratio.
WORKLOADS = [
    ("seed MLP epoch", "BM_SeedEpoch/onednn", ["seed_epoch", "2"], 1.2, SEED_FLOP),
    ("deep MLP step", "BM_DeepStep/onednn", ["deep_step", "3"], 0.95, DEEP_FLOP),
    ("inference batch 1", "BM_Infer/onednn/1", ["infer", "1", "3000"], 10.0, None),
    ("inference batch 256", "BM_Infer/onednn/256", ["infer", "256", "400"], 1.2, None),
    # Low precision: mnemo's BF16 step against PyTorch's bf16 autocast, and
    # int8 inference against PyTorch's fp32 (it has no int8 Linear on CPU
    # without a quantization workflow of its own).
    ("deep MLP step, bf16", "BM_DeepStep/bf16", ["deep_step_bf16", "3"], None, DEEP_FLOP),
    ("inference batch 1, int8", "BM_Infer/int8/1", ["infer", "1", "3000"], 8.0, None),
    ("inference batch 256, int8", "BM_Infer/int8/256", ["infer", "256", "400"], None, None),
]

# Low precision against mnemo's own fp32, in the same rounds: name, the
# low-precision workload, the fp32 one, target ratio (fp32 time / its time).
AGAINST_FP32 = [
    ("deep MLP step: bf16 / fp32", "deep MLP step, bf16", "deep MLP step", 1.6),
    ("inference batch 1: int8 / fp32", "inference batch 1, int8", "inference batch 1", 2.0),
    ("inference batch 256: int8 / fp32", "inference batch 256, int8", "inference batch 256", 1.5),
]


def run(args, env=None):
    result = subprocess.run(args, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"compare_pytorch: {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def ours(bench, name):
    """Seconds per iteration of one Google Benchmark, and its counters."""
    out = run([bench, f"--benchmark_filter=^{name}$", "--benchmark_format=csv"])
    rows = list(csv.DictReader(io.StringIO(out[out.index("name,"):])))
    row = next(r for r in rows if r["name"] == name)
    if row.get("error_occurred") == "true":
        sys.exit(f"compare_pytorch: {name}: {row.get('error_message')}")
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[row["time_unit"]]
    return float(row["real_time"]) * scale, row


def theirs(script, threads, args):
    """PyTorch's seconds: the fastest line after the first (a warm-up)."""
    out = run(["/usr/bin/python3", script, args[0], str(threads)] + args[1:])
    times = [float(line.split()[1]) for line in out.splitlines() if line.startswith("seconds")]
    return min(times[1:] if len(times) > 1 else times)


def stats(values):
    return min(values), statistics.median(values), max(values)


def main():
    bench, train, quantize, eval_tool, config_eigen, config_onednn, config_bf16, script = \
        sys.argv[1:9]
    rounds = int(sys.argv[9]) if len(sys.argv) > 9 else 5

    _, row = ours(bench, "BM_GemmRoof")
    ours_roof = float(row["gflops"])
    torch_roof = float(run(["/usr/bin/python3", script, "gemm", "1"]).split()[3])
    roof = max(ours_roof, torch_roof)
    print(f"fp32 GEMM roof 2048^3: oneDNN sgemm {ours_roof:.1f} GFLOP/s, torch.matmul "
          f"{torch_roof:.1f} GFLOP/s; roof = {roof:.1f} GFLOP/s on {os.cpu_count()} cores")

    threads = {}
    for name, _, args, _, _ in WORKLOADS:
        timed = {t: theirs(script, t, args) for t in (1, 2)}
        threads[name] = min(timed, key=timed.get)
        print(f"PyTorch {name}: {timed[1]:.6f} s with 1 thread, {timed[2]:.6f} s with 2; "
              f"using {threads[name]}")

    ratios = {name: [] for name, *_ in WORKLOADS}
    seconds = {name: ([], []) for name, *_ in WORKLOADS}
    for r in range(1, rounds + 1):
        parts = []
        for name, bm, args, _, _ in WORKLOADS:
            mine, _ = ours(bench, bm)
            other = theirs(script, threads[name], args)
            ratios[name].append(other / mine)
            seconds[name][0].append(mine)
            seconds[name][1].append(other)
            parts.append(f"{name} {other / mine:.2f}")
        print(f"round {r}/{rounds}: " + ", ".join(parts), flush=True)

    print()
    print(f"| workload | mnemo (median) | PyTorch (median) | ratio min / median / max "
          f"| target | GFLOP/s (share of roof) |")
    print("| --- | --- | --- | --- | --- | --- |")
    failed = []
    for name, _, _, target, flop in WORKLOADS:
        low, mid, high = stats(ratios[name])
        mine = statistics.median(seconds[name][0])
        other = statistics.median(seconds[name][1])
        rate = "-"
        if flop:
            gflops = flop / mine / 1e9
            rate = f"{gflops:.1f} ({100 * gflops / roof:.0f}%)"
        unit = (lambda s: f"{s * 1e6:.1f} us") if mine < 1e-3 else (lambda s: f"{s * 1e3:.1f} ms")
        ok = target is None or mid >= target
        if not ok:
            failed.append(name)
        verdict = "-" if target is None else f">= {target} {'met' if ok else 'NOT met'}"
        print(f"| {name} | {unit(mine)} | {unit(other)} | {low:.2f} / {mid:.2f} / {high:.2f} "
              f"| {verdict} | {rate} |")

    print()
    print("| low precision against mnemo fp32 | ratio min / median / max | target |")
    print("| --- | --- | --- |")
    for name, low_precision, fp32, target in AGAINST_FP32:
        # Round by round: both ran in the same round, one after the other.
        low, mid, high = stats([f / l for f, l in zip(seconds[fp32][0], seconds[low_precision][0])])
        ok = mid >= target
        if not ok:
            failed.append(name)
        print(f"| {name} | {low:.2f} / {mid:.2f} / {high:.2f} | >= {target} "
              f"{'met' if ok else 'NOT met'} |")

    print()
    print("seed MLP, 10 epochs, test accuracy:")
    with tempfile.TemporaryDirectory() as out:  # not the user's out/
        eigen, onednn, bf16 = (train_output.test_accuracy(
            run([train, f"--config={config}", "--epochs=10", f"--out={out}/{name}"]),
            "compare_pytorch")
                               for name, config in (("eigen", config_eigen),
                                                    ("onednn", config_onednn),
                                                    ("bf16", config_bf16)))
        # The fp32 model quantized, as a user does it, and evaluated.
        int8 = {}
        for activations in ("dynamic", "static"):
            path = f"{out}/int8_{activations}.safetensors"
            run([quantize, f"--model={out}/onednn/model.safetensors", f"--out={path}",
                 f"--activations={activations}"])
            int8[activations] = float(next(
                line.split()[2] for line in run([eval_tool, f"--model={path}"]).splitlines()
                if line.startswith("test accuracy")))
    print(f"  mnemo bf16 {bf16:.4f} against fp32 {onednn:.4f} ({100 * (bf16 - onednn):+.2f} "
          f"points; within 0.3 asked)")
    for activations, accuracy in int8.items():
        print(f"  mnemo int8 ({activations} activations) {accuracy:.4f} against fp32 "
              f"{onednn:.4f} ({100 * (accuracy - onednn):+.2f} points; within 0.5 asked)")
        if abs(accuracy - onednn) > 0.005:
            failed.append(f"int8 {activations} accuracy")
    if abs(bf16 - onednn) > 0.003:
        failed.append("bf16 accuracy")
    torch_out = run(["/usr/bin/python3", script, "seed_epoch",
                     str(threads["seed MLP epoch"]), "10"])
    torch_acc = float(torch_out.splitlines()[-1].split()[3])
    print(f"  mnemo onednn {onednn:.4f}, mnemo eigen {eigen:.4f} (same seed: "
          f"{100 * abs(onednn - eigen):.2f} points apart), PyTorch {torch_acc:.4f} "
          f"(its own seed; {100 * (onednn - torch_acc):+.2f} points)")
    if abs(onednn - eigen) > 0.005:
        failed.append("accuracy")
    if failed:
        print(f"targets not met: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
