"""Conv VAE on procedural dSprites: images per second, rendering and training.

Reports, per device (the CPU always; CUDA when present, else says so) and per CPU thread count:

* rendering: dSprites images rendered per second (:func:`neural.datasets.render`);
* training: images per second of one β-VAE step (render a batch, forward, backward, Adam step),
  and of one FactorVAE step (two batches, the 6×1000 discriminator's step as well), counted
  as the batch's images (one FactorVAE step draws two batches of ``--batch`` images);
* evaluation: seconds for :func:`neural.image_training.evaluate` on ``--heldout`` images
  (encoding, TC, MIG, SAP, DCI, FactorVAE score);
* the predicted wall time of a 7-weight β-VAE sweep at the ``cpu`` preset with ``--procs``
  processes of one thread: ``ceil(7 × seeds / procs) × (steps × batch / rate + eval)``.

    .venv/bin/python benchmarks/bench_images.py                 # small defaults
    .venv/bin/python benchmarks/bench_images.py --steps 50 --threads 1,2 --device cuda
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import torch

from neural.conv import ConvVAE
from neural.datasets import DSprites, render
from neural.device import device_description, resolve_device
from neural.discriminator import Discriminator, discriminator_loss, permute_dims
from neural.image_spec import PRESETS
from neural.image_training import evaluate
from neural.objectives import objective_loss


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def rate_render(dev, batch, reps):
    ds = DSprites(0, dev, n_heldout=64)
    idx = ds.sample_indices(batch)
    from neural.datasets import indices_to_classes

    c = indices_to_classes(idx)
    render(c, dev)
    _sync(dev)
    t = time.perf_counter()
    for _ in range(reps):
        render(c, dev)
    _sync(dev)
    return reps * batch / (time.perf_counter() - t)


def rate_train(dev, objective, batch, steps, warmup=3, compile_=False):
    torch.manual_seed(0)
    ds = DSprites(0, dev, n_heldout=64)
    vae = ConvVAE().to(dev)
    fwd = torch.compile(vae) if compile_ else vae
    opt = torch.optim.Adam(vae.parameters(), 5e-4)
    disc = Discriminator(10).to(dev) if objective == "factor-vae" else None
    d_opt = torch.optim.Adam(disc.parameters(), 1e-4, betas=(0.5, 0.9)) if disc else None
    weights = {"gamma": 10.0} if disc else {"beta": 4.0}
    g = torch.Generator(device=dev).manual_seed(0)
    n_pool = len(ds.train_indices)
    t = None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(dev)
            t = time.perf_counter()
        x, _, _ = ds.sample(batch)
        nll, mu, logvar, z = fwd(x, generator=g)
        loss, _ = objective_loss(
            objective,
            weights,
            nll=nll,
            mu=mu,
            z=z,
            var=logvar.exp(),
            dataset_size=n_pool,
            discriminator=disc,
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if disc is not None:
            x2, _, _ = ds.sample(batch)
            with torch.no_grad():
                z2 = fwd(x2, generator=g)[3]
            d_opt.zero_grad()
            discriminator_loss(disc, z.detach(), permute_dims(z2)).backward()
            d_opt.step()
    _sync(dev)
    return steps * batch / (time.perf_counter() - t)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="auto", help="'auto' measures the CPU and CUDA if present")
    p.add_argument("--threads", default="1,2", help="CPU thread counts to measure")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--heldout", type=int, default=PRESETS["cpu"]["n_heldout"])
    p.add_argument("--procs", type=int, default=2, help="parallel runs for the sweep estimate")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = p.parse_args(argv)

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}"
    )
    devices = [torch.device("cpu")]
    if args.device == "auto":
        if torch.cuda.is_available():
            devices.append(resolve_device("cuda"))
        else:
            print("CUDA: not available on this machine (no GPU numbers)")
    elif resolve_device(args.device).type != "cpu":
        devices = [resolve_device(args.device)]
    threads = [int(t) for t in args.threads.split(",")]
    prev = torch.get_num_threads()
    cpu_rate_1 = None
    eval_s = None
    for dev in devices:
        for th in threads if dev.type == "cpu" else [prev]:
            torch.set_num_threads(th)
            desc = device_description(dev)
            r_render = rate_render(dev, 1024, 5)
            r_beta = rate_train(dev, "beta-vae", args.batch, args.steps)
            r_fvae = rate_train(dev, "factor-vae", args.batch, max(2, args.steps // 2))
            line = (
                f"{desc:32s} render {r_render:9.0f} img/s | train beta-vae "
                f"{r_beta:8.1f} img/s | factor-vae {r_fvae:8.1f} img/s (VAE batches)"
            )
            if args.compile:
                r_comp = rate_train(dev, "beta-vae", args.batch, args.steps, 3, True)
                line += f" | compiled {r_comp:8.1f}"
            print(line, flush=True)
            if dev.type == "cpu" and th == 1:
                cpu_rate_1 = r_beta
                torch.manual_seed(0)
                ds = DSprites(0, dev, n_heldout=args.heldout)
                t = time.perf_counter()
                evaluate(
                    ConvVAE().to(dev),
                    ds,
                    eval_batch=PRESETS["cpu"]["eval_batch"],
                    fvae_votes=PRESETS["cpu"]["fvae_votes"],
                )
                eval_s = time.perf_counter() - t
                print(f"{'':32s} evaluate {args.heldout} held-out images: {eval_s:.1f} s")
    torch.set_num_threads(prev)
    if cpu_rate_1:
        cpu = PRESETS["cpu"]
        run_s = cpu["steps"] * cpu["batch_size"] / cpu_rate_1 + (eval_s or 0.0)
        rounds = math.ceil(7 * args.seeds / args.procs)
        print(
            f"cpu preset ({cpu['steps']} steps x {cpu['batch_size']}): ~{run_s:.0f} s per run "
            f"with one thread; 7 weights x {args.seeds} seed(s) on {args.procs} processes: "
            f"{rounds} rounds, ~{rounds * run_s / 60:.1f} min (if the {args.procs} processes "
            f"each get a core)"
        )


if __name__ == "__main__":
    main()
