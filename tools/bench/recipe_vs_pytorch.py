"""A training recipe trained by mnemo and by PyTorch side by side, in one run.

Called by recipe_vs_pytorch.sh:
  recipe_vs_pytorch.py TRAIN --config=CONFIG [--seeds=1,2,3]
  recipe_vs_pytorch.py --torch CONFIG SEED THREADS   (one PyTorch run; internal)
  recipe_vs_pytorch.py --check CONFIG   (reads CONFIG as the PyTorch side would, no training)

For every seed, one after the other (interleaved, so both see the same
machine): tools/train trains CONFIG with --seed, then PyTorch trains the same
recipe, read from the same CONFIG: the same layers and widths, initialisation
scheme, optimizer, schedule, clipping, label smoothing, batch size, epochs,
validation fraction, augmentation and model choice (the epoch with the best
validation figure, as trainer.early_stopping keeps it). A field of the config
that the PyTorch side does not mirror is refused rather than ignored.

Times are the training passes alone (what metrics.csv's train_seconds sums for
mnemo; the same loop for PyTorch), not loading or evaluation. PyTorch runs
with the faster of 1 and 2 intra-op threads, chosen by a short probe; mnemo
with one thread per core (the config's model.threads 0).

Prints each seed's accuracies and times, then min / median / max of both, and
exits 1 when mnemo's median test accuracy is more than 0.3 points below
PyTorch's or its median time is not shorter.
"""
import csv
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

# --- the config, as far as this script reads it -------------------------------

def parse_pbtxt(text):
    """A protobuf text file as nested dicts; every field a list of values."""
    tokens = re.findall(r'#[^\n]*|"(?:[^"\\]|\\.)*"|[{}:]|[^\s{}:#"]+', text)
    tokens = [t for t in tokens if not t.startswith("#")]
    pos = 0

    def message(end):
        nonlocal pos
        out = {}
        while pos < len(tokens) and tokens[pos] != end:
            name = tokens[pos]
            pos += 1
            if tokens[pos] == ":":
                pos += 1
            if tokens[pos] == "{":
                pos += 1
                value = message("}")
                pos += 1
            else:
                raw = tokens[pos]
                pos += 1
                value = raw[1:-1] if raw.startswith('"') else raw
            out.setdefault(name, []).append(value)
        return out

    return message(None)


class Fields:
    """A message's fields by name, refusing the ones nobody asked for."""

    def __init__(self, message, path):
        self.message = message
        self.path = path
        self.read = set()

    def get(self, name, default=None, kind=float):
        self.read.add(name)
        values = self.message.get(name)
        if not values:
            return default
        return values[0] if kind is None else kind(values[0])

    def sub(self, name):
        self.read.add(name)
        return Fields((self.message.get(name) or [{}])[0], f"{self.path}.{name}")

    def repeated(self, name):
        self.read.add(name)
        return [Fields(m, f"{self.path}.{name}[{i}]")
                for i, m in enumerate(self.message.get(name, []))]

    def done(self, ignored=()):
        unknown = set(self.message) - self.read - set(ignored)
        if unknown:
            sys.exit(f"recipe_vs_pytorch: the PyTorch side does not mirror "
                     f"{', '.join(f'{self.path}.{u}' for u in sorted(unknown))}")


# --- data ---------------------------------------------------------------------

def load(prefix):
    """Fashion-MNIST as //tools/bench:compare_pytorch's PyTorch side reads it."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import pytorch_workloads
    return pytorch_workloads.load(prefix)


def stratified_split(y, fraction, generator):
    """Indices of the training and validation parts, class by class."""
    import torch
    train, val = [], []
    for c in range(int(y.max()) + 1):
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        k = round(len(idx) * fraction)
        val.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train), torch.cat(val)


class Augment:
    """data.augmentation's shifts, crops and flips on a batch of 28x28 images
    (torch ops; rotation is not mirrored)."""

    def __init__(self, fields):
        self.shift = fields.get("max_shift", 0, int)
        self.padding = fields.get("crop_padding", 0, int)
        self.flip = fields.get("horizontal_flip", "false", None) == "true"
        self.fill = fields.get("fill", 0.0)
        fields.get("height", 28, int)
        fields.get("width", 28, int)
        fields.get("channels", 1, int)
        if fields.get("max_rotation_degrees", 0.0) != 0:
            sys.exit("recipe_vs_pytorch: rotation is not mirrored on the PyTorch side")
        fields.done()

    def translate(self, images, low, high, generator):
        import torch
        import torch.nn.functional as F
        if high == 0:
            return images
        n = images.shape[0]
        pad = high
        padded = F.pad(images, (pad, pad, pad, pad), value=self.fill)
        dy = torch.randint(low, high + 1, (n,), generator=generator)
        dx = torch.randint(low, high + 1, (n,), generator=generator)
        rows = (torch.arange(28).view(1, 28) + pad - dy.view(n, 1))  # n x 28
        cols = (torch.arange(28).view(1, 28) + pad - dx.view(n, 1))
        batch = torch.arange(n).view(n, 1, 1)
        return padded[batch, rows.view(n, 28, 1), cols.view(n, 1, 28)]

    def __call__(self, x, generator):
        import torch
        images = x.view(-1, 28, 28)
        if self.flip:
            flip = torch.rand(images.shape[0], generator=generator) < 0.5
            images = torch.where(flip.view(-1, 1, 1), images.flip(2), images)
        images = self.translate(images, -self.shift, self.shift, generator)
        images = self.translate(images, -self.padding, self.padding, generator)
        return images.reshape(-1, 784)


# --- one PyTorch run ----------------------------------------------------------

def build_model(model, torch):
    nn = torch.nn
    init = model.sub("init")
    scheme = init.get("scheme", "NORMAL", None)
    std = init.get("std", 0.01)
    init.done()
    layers, width = [], model.get("input_size", kind=int)
    for i, layer in enumerate(model.repeated("layer")):
        kind = layer.get("type", kind=None)
        if kind == "Dense":
            units = layer.get("units", kind=int)
            linear = nn.Linear(width, units)
            nn.init.zeros_(linear.bias)
            w = linear.weight
            {
                "NORMAL": lambda: nn.init.normal_(w, 0, std),
                "XAVIER_UNIFORM": lambda: nn.init.xavier_uniform_(w),
                "XAVIER_NORMAL": lambda: nn.init.xavier_normal_(w),
                "HE_UNIFORM": lambda: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
                "HE_NORMAL": lambda: nn.init.kaiming_normal_(w, nonlinearity="relu"),
            }[scheme]()
            layers.append(linear)
            width = units
        elif kind == "BatchNorm":
            layers.append(nn.BatchNorm1d(width, eps=layer.get("epsilon", 1e-5),
                                         momentum=layer.get("momentum", 0.1)))
        elif kind == "LayerNorm":
            layers.append(nn.LayerNorm(width, eps=layer.get("epsilon", 1e-5)))
        elif kind == "Dropout":
            layers.append(nn.Dropout(layer.get("rate", 0.0)))
        elif kind == "ReLU":
            layers.append(nn.ReLU())
        else:
            sys.exit(f"recipe_vs_pytorch: layer type {kind} is not mirrored")
        activation = layer.get("activation", kind=None)
        if activation == "ReLU":
            layers.append(nn.ReLU())
        elif activation is not None:
            sys.exit(f"recipe_vs_pytorch: activation {activation} is not mirrored")
        layer.done(ignored=("name",))
    model.done(ignored=("backend", "threads", "loss"))
    return nn.Sequential(*layers)


class Recipe:
    """What the PyTorch side reads from a config; refuses what it cannot mirror."""

    def __init__(self, config_path, torch):
        root = Fields(parse_pbtxt(open(config_path).read()), "config")
        root.repeated("plugin")
        model_fields = root.sub("model")
        self.smoothing = model_fields.get("label_smoothing", 0.0)
        self.model = build_model(model_fields, torch)

        data = root.sub("data")
        self.fraction = data.get("validation_fraction", 0.0)
        augmentation = data.sub("augmentation")
        self.augment = Augment(augmentation) if augmentation.message else None
        data.done(ignored=("format", "dir"))

        trainer = root.sub("trainer")
        self.batch = trainer.get("batch_size", kind=int)
        self.epochs = trainer.get("epochs", kind=int)
        trainer.get("seed")
        stopping = trainer.sub("early_stopping")
        # Without early stopping (or a validation set to drive it) tools/train
        # keeps the last epoch.
        self.choose_best = bool(stopping.message) and self.fraction > 0
        self.metric = stopping.get("metric", "loss", None)
        if self.metric not in ("loss", "accuracy"):
            sys.exit(f"recipe_vs_pytorch: {stopping.path}.metric {self.metric} is not mirrored "
                     f"(loss, accuracy)")
        stopping.get("patience")
        stopping.done()
        opt = trainer.sub("optimizer")
        self.kind = opt.get("type", kind=None)
        if self.kind not in ("adamw", "adam"):
            sys.exit(f"recipe_vs_pytorch: {opt.path}.type {self.kind} is not mirrored "
                     f"(adam, adamw)")
        self.lr = opt.get("learning_rate")
        self.decay = opt.get("weight_decay", 0.01 if self.kind == "adamw" else 0.0)
        self.betas = (opt.get("beta1", 0.9), opt.get("beta2", 0.999))
        self.eps = opt.get("epsilon", 1e-8)
        self.clip_value = opt.get("clip_value", 0.0)
        self.clip_norm = opt.get("clip_global_norm", 0.0)
        schedule = opt.sub("schedule")
        self.schedule = schedule.get("type", "constant", None)
        if self.schedule not in ("constant", "one_cycle"):
            sys.exit(f"recipe_vs_pytorch: {schedule.path}.type {self.schedule} is not mirrored "
                     f"(constant, one_cycle)")
        self.pct_start = schedule.get("pct_start", 0.3)
        self.div_factor = schedule.get("div_factor", 25.0)
        self.final_div_factor = schedule.get("final_div_factor", 1e4)
        schedule.done()
        opt.done()
        trainer.done()
        root.done(ignored=("output",))


def torch_run(config_path, seed, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    recipe = Recipe(config_path, torch)
    model, augment, batch, epochs = recipe.model, recipe.augment, recipe.batch, recipe.epochs

    x_all, y_all = load("train")
    x_test, y_test = load("t10k")
    train_idx, val_idx = stratified_split(y_all, recipe.fraction, generator)
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    x_val, y_val = x_all[val_idx], y_all[val_idx]
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / batch)

    optimizers = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}
    optimizer = optimizers[recipe.kind](model.parameters(), lr=recipe.lr, betas=recipe.betas,
                                        eps=recipe.eps, weight_decay=recipe.decay)
    scheduler = None
    if recipe.schedule == "one_cycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=recipe.lr, total_steps=epochs * steps_per_epoch,
            pct_start=recipe.pct_start, div_factor=recipe.div_factor,
            final_div_factor=recipe.final_div_factor, anneal_strategy="cos",
            cycle_momentum=False)
    smoothing, metric = recipe.smoothing, recipe.metric
    clip_value, clip_norm = recipe.clip_value, recipe.clip_norm
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)

    def evaluate(x, y):
        model.eval()
        with torch.no_grad():
            logits = model(x)
            return (torch.nn.functional.cross_entropy(logits, y, label_smoothing=smoothing).item(),
                    (logits.argmax(1) == y).float().mean().item())

    seconds = 0.0
    best = None
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, batch):
            idx = order[begin:begin + batch]
            xb = x_train[idx]
            if augment is not None:
                xb = augment(xb, generator)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), y_train[idx])
            loss.backward()
            if clip_value > 0:
                torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
            if clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        seconds += time.perf_counter() - start
        _, test_acc = evaluate(x_test, y_test)
        if recipe.choose_best:
            val_loss, val_acc = evaluate(x_val, y_val)
            value = {"loss": -val_loss, "accuracy": val_acc}[metric]
        else:
            val_acc, value = float("nan"), epoch  # the last epoch is kept
        if best is None or value > best[0]:
            best = (value, epoch + 1, test_acc)
        print(f"torch epoch {epoch + 1} val_acc {val_acc:.4f} test_acc {test_acc:.4f} "
              f"seconds {seconds:.1f}", file=sys.stderr, flush=True)
    print(f"accuracy {best[2]:.4f} epoch {best[1]} seconds {seconds:.3f}")


def torch_threads_probe():
    """The faster of 1 and 2 intra-op threads on a few steps of a 1024-wide MLP."""
    import torch
    timed = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(),
                                    torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
                                    torch.nn.Linear(1024, 10))
        opt = torch.optim.AdamW(model.parameters())
        x, y = torch.rand(256, 784), torch.randint(0, 10, (256,))
        start = time.perf_counter()
        for _ in range(30):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        timed[threads] = time.perf_counter() - start
    return min(timed, key=timed.get)


# --- the side-by-side run -----------------------------------------------------

def run(args):
    """A run's standard output; its progress (standard error) shows as it goes."""
    result = subprocess.run(args, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"recipe_vs_pytorch: {' '.join(args)} failed (exit status "
                 f"{result.returncode}; its messages are above)")
    return result.stdout


def mnemo_run(train, config, seed, out):
    stdout = run([train, f"--config={config}", f"--seed={seed}", f"--out={out}",
                  "--snapshot_every_seconds=0"])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import train_output
    accuracy = train_output.test_accuracy(stdout, "recipe_vs_pytorch")
    with open(f"{out}/metrics.csv") as f:
        seconds = sum(float(row["train_seconds"]) for row in csv.DictReader(f))
    return accuracy, seconds


def spread(values, fmt):
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def main():
    if sys.argv[1] == "--torch":
        torch_run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    if sys.argv[1] == "--check":
        import torch
        recipe = Recipe(sys.argv[2], torch)
        print(f"{sys.argv[2]}: every field mirrored ({len(recipe.model)} PyTorch modules, "
              f"{recipe.kind}, {recipe.schedule}, {recipe.epochs} epochs)")
        return
    train = sys.argv[1]
    config = None
    seeds = [1, 2, 3]
    for arg in sys.argv[2:]:
        if arg.startswith("--config="):
            config = arg[len("--config="):]
        elif arg.startswith("--seeds="):
            try:
                seeds = [int(s) for s in arg[len("--seeds="):].split(",")]
            except ValueError:
                sys.exit(f"recipe_vs_pytorch: --seeds takes integers separated by commas; "
                         f"got {arg}")
        else:
            sys.exit(f"recipe_vs_pytorch: unknown argument {arg}")
    if config is None or not os.path.isfile(config):
        sys.exit(f"recipe_vs_pytorch: --config names no file ({config})")
    threads = torch_threads_probe()
    print(f"{config}: seeds {seeds}; PyTorch with {threads} intra-op thread(s), mnemo with "
          f"one per core ({os.cpu_count()})", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            ours = mnemo_run(train, config, seed, f"{tmp}/seed{seed}")
            print(f"seed {seed}: mnemo test accuracy {ours[0]:.4f} in {ours[1]:.1f} s; "
                  f"PyTorch next", flush=True)
            out = run(["/usr/bin/python3", __file__, "--torch", config, str(seed), str(threads)])
            fields = out.split()
            theirs = (float(fields[1]), float(fields[5]))
            rows.append((ours, theirs))
            print(f"seed {seed}: mnemo test accuracy {ours[0]:.4f} in {ours[1]:.1f} s; "
                  f"PyTorch {theirs[0]:.4f} in {theirs[1]:.1f} s", flush=True)
    acc_ours = [r[0][0] for r in rows]
    acc_theirs = [r[1][0] for r in rows]
    t_ours = [r[0][1] for r in rows]
    t_theirs = [r[1][1] for r in rows]
    ratios = [t / o for (o, t) in zip(t_ours, t_theirs)]
    print()
    print("| | mnemo | PyTorch |")
    print("| --- | --- | --- |")
    print(f"| test accuracy min / median / max | {spread(acc_ours, '{:.4f}')} "
          f"| {spread(acc_theirs, '{:.4f}')} |")
    print(f"| training seconds min / median / max | {spread(t_ours, '{:.1f}')} "
          f"| {spread(t_theirs, '{:.1f}')} |")
    print(f"time ratio PyTorch / mnemo min / median / max: {spread(ratios, '{:.2f}')}")
    gap = statistics.median(acc_ours) - statistics.median(acc_theirs)
    faster = statistics.median(t_ours) < statistics.median(t_theirs)
    print(f"median accuracy mnemo - PyTorch: {100 * gap:+.2f} points "
          f"({'within 0.3 or better' if gap >= -0.003 else 'MORE than 0.3 below'}); "
          f"mnemo {'faster' if faster else 'NOT faster'}")
    if gap < -0.003 or not faster:
        sys.exit(1)


if __name__ == "__main__":
    main()
