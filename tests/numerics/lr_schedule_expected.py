#!/usr/bin/env python3
# Prints the rates tests/numerics/lr_schedule_test.cc expects, from PyTorch's
# own schedulers (written with torch 1.13), stepped as a training loop steps
# them: the rate an optimizer step sees, then scheduler.step(). The config's
# values are floats, so each is rounded to float32 first (0.1 ->
# 0.10000000149011612), as mnemo reads it. Not run by the tests (PyTorch is
# not a dependency of the build); run it by hand to check or extend them:
#   /usr/bin/python3 tests/numerics/lr_schedule_expected.py
import warnings, math
import numpy as np
import torch
from torch.optim import SGD
from torch.optim.lr_scheduler import (LinearLR, StepLR, ExponentialLR, CosineAnnealingLR,
    SequentialLR, ChainedScheduler, OneCycleLR, ReduceLROnPlateau)
warnings.filterwarnings("ignore")
f32 = lambda x: float(np.float32(x))

def opt(lr):
    return SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)

def run(o, sched, steps):
    out = []
    for _ in range(steps):
        out.append(o.param_groups[0]['lr'])
        o.step()
        sched.step()
    return out

def show(name, xs):
    print(name, "{" + ", ".join(repr(x) for x in xs) + "}")

# constant, W = 2 of S=4, 3 epochs
lr = f32(0.1); o = opt(lr)
show("constant_warmup", run(o, LinearLR(o, 1/2, 1.0, total_iters=1), 12))
# step: S=3, 5 epochs, step_epochs 2, gamma 0.5, warmup 1 epoch (W=3)
o = opt(lr)
s = ChainedScheduler([LinearLR(o, 1/3, 1.0, total_iters=2), StepLR(o, step_size=2*3, gamma=f32(0.5))])
show("step_warmup", run(o, s, 15))
# step, default gamma 0.1, step_epochs 1, S=2, 3 epochs, StepLR stepped per epoch
# (a default is PyTorch's own, a Python float: 0.1, not float32's)
o = opt(lr); s = StepLR(o, step_size=1, gamma=0.1); r = []
for e in range(3):
    for b in range(2): r.append(o.param_groups[0]['lr']); o.step()
    s.step()
show("step_default", r)
# exponential gamma 0.9, S=2, 4 epochs, ExponentialLR per epoch
o = opt(lr); s = ExponentialLR(o, gamma=f32(0.9)); r = []
for e in range(4):
    for b in range(2): r.append(o.param_groups[0]['lr']); o.step()
    s.step()
show("exponential", r)
# cosine: S=5, 4 epochs, warmup 1 epoch (W=5), min 0.001
o = opt(lr)
s = SequentialLR(o, [LinearLR(o, 1/5, 1.0, total_iters=4),
                     CosineAnnealingLR(o, T_max=15, eta_min=f32(0.001))], milestones=[5])
show("cosine_warmup", run(o, s, 20))
# CosineAnnealingLR's closed form, which mnemo computes (the scheduler above
# steps a recursive one): equal to the last bits.
W=5; T=20
cf = [ (f32(0.001) + (lr - f32(0.001))*(1+math.cos(math.pi*(t-W)/(T-W)))/2) if t>=W else lr*(t+1)/W for t in range(T)]
show("cosine_closed", cf)
# cosine no warmup, no min: S=3 epochs 2
o = opt(lr); show("cosine_plain", run(o, CosineAnnealingLR(o, T_max=6), 6))
# one_cycle defaults: T=20
o = opt(lr); show("one_cycle_default", run(o, OneCycleLR(o, max_lr=lr, total_steps=20, cycle_momentum=False), 20))
o = opt(lr); show("one_cycle_custom", run(o, OneCycleLR(o, max_lr=lr, total_steps=12, pct_start=f32(0.25), div_factor=f32(10), final_div_factor=f32(100), cycle_momentum=False), 12))
# plateau min: factor 0.5, patience 2, cooldown 1, min_delta 0.01, min_lr 0.01
losses = [1.0, 0.9, 0.895, 0.893, 0.9, 0.85, 0.86, 0.87, 0.88, 0.84, 0.845, 0.846, 0.847, 0.848, 0.849, 0.85, 0.86, 0.86, 0.86, 0.86, 0.86]
o = opt(lr); s = ReduceLROnPlateau(o, mode='min', factor=f32(0.5), patience=2, threshold=f32(0.01), threshold_mode='abs', cooldown=1, min_lr=f32(0.01))
r = []
for v in losses:
    r.append(o.param_groups[0]['lr']); s.step(v)
r.append(o.param_groups[0]['lr'])
show("plateau_min", r)
# plateau max (accuracy): the default factor 0.1 (a Python float), patience 1
acc = [0.5, 0.6, 0.6, 0.55, 0.61, 0.7, 0.69, 0.68, 0.7]
o = opt(lr); s = ReduceLROnPlateau(o, mode='max', factor=0.1, patience=1, threshold=0.0, threshold_mode='abs')
r = []
for v in acc:
    r.append(o.param_groups[0]['lr']); s.step(v)
r.append(o.param_groups[0]['lr'])
show("plateau_max", r)
