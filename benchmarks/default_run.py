"""The default experiment's figures for the README: `dvc repro` on the default params with several seeds, each in a
clean clone of this repository's HEAD, and a table of what each seed's trained agent scored against the random one.

    python -m benchmarks.default_run                         # seeds 0 1 2, one after another
    python -m benchmarks.default_run --seeds 0 1 2 --parallel 2 --out /tmp/default_run

Each seed runs `dvc repro` stage by stage (train, evaluate, record, split) in its own clone with params.yaml's seed
set, and the wall time of each stage is taken. The learning results do not depend on --parallel (training and
playing run torch on one thread, so they are the same on a busy machine), but the times do: take times from a
run with --parallel 1 on a quiet machine. The table reads each clone's metrics/eval.json (evaluate.episodes
episodes per agent on the same seeds, the model evaluate.model names) and models/best.pt.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("train", "evaluate", "record", "split")


def commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def run_seed(seed: int, out: Path) -> dict:
    """Clone HEAD, set the seed, run the four stages with dvc repro; return the times and the scores."""
    clone = out / f"seed_{seed}"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    params_file = clone / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["seed"] = seed
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(clone), "DVC_NO_ANALYTICS": "1"}  # the clone's code, not this checkout's
    times = {}
    with open(clone / "repro.log", "w") as log:
        for stage in STAGES:
            start = time.perf_counter()
            subprocess.run(
                ["dvc", "repro", "--single-item", stage],
                cwd=clone,
                env=env,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            times[stage] = time.perf_counter() - start
    metrics = json.loads((clone / "metrics" / "eval.json").read_text())
    best = torch.load(clone / "models" / "best.pt", weights_only=True)["evaluation"]
    return {"seed": seed, "times": times, "metrics": metrics, "best": best}


def table(results: list[dict], title: str) -> Table:
    out = Table(title=title)
    for name in (
        "seed",
        "trained (mean ± std)",
        "random (mean ± std)",
        "x random",
        "model",
        "chosen at step",
        "its eval in training",
        "train",
        "evaluate",
        "record",
        "split",
        "dvc repro",
    ):
        out.add_column(name, justify="right")
    for r in results:
        m, t = r["metrics"], r["times"]
        minutes = {stage: f"{t[stage] / 60:.1f} min" for stage in STAGES}
        out.add_row(
            str(r["seed"]),
            f"{m['trained']['return_mean']:,.0f} ± {m['trained']['return_std']:,.0f}",
            f"{m['random']['return_mean']:,.0f} ± {m['random']['return_std']:,.0f}",
            f"{m['trained']['return_mean'] / m['random']['return_mean']:.2f}x",
            m["model"],
            f"{m['checkpoint_step']:,}",
            f"{r['best']['return_mean']:,.0f} ± {r['best']['return_std']:,.0f}",
            *minutes.values(),
            f"{sum(t.values()) / 60:.1f} min",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--parallel", type=int, default=1, help="seeds run at once (times are then under load)")
    parser.add_argument("--out", type=Path, help="folder for the clones (default: a temporary one, kept)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="default_run_"))
    out.mkdir(parents=True, exist_ok=True)
    console = Console(width=None if sys.stdout.isatty() else 200)
    measured = commit()  # the clones are of this commit, whatever HEAD is when they finish
    console.print(f"commit {measured}, seeds {args.seeds}, {args.parallel} at once, clones in {out}", highlight=False)
    with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(lambda s: run_seed(s, out), args.seeds))
    load = f"{args.parallel} seeds at once" if args.parallel > 1 else "one seed at a time"
    console.print(table(results, f"dvc repro on the default params, commit {measured}, {os.cpu_count()} cores, {load}"))
    if args.json:
        args.json.write_text(json.dumps({"commit": measured, "parallel": args.parallel, "results": results}, indent=2))


if __name__ == "__main__":
    main()
