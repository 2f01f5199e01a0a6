"""A small world of every stage's inputs and outputs, built fast from the real writers: a params file, a trained-model
folder with real (untrained) policy checkpoints and curves, a recorded dataset with its split index, earlier
evaluation outputs. The bad-input table and the fault tests run in copies of it."""

from __future__ import annotations

from pathlib import Path

from pipeline.config.params import params_to_dict
from pipeline.data.splits import split_dataset
from pipeline.rl.checkpoint import save_checkpoint
from pipeline.rl.networks import QNetwork
from tests.data.synthetic import write_dataset
from tests.helpers import tiny_params, write_params

MEANINGS = ["NOOP", "FIRE", "RIGHT", "LEFT"]  # Breakout's, the game of tiny_params
PARAMS = tiny_params(train={"network": "der"})  # a small network keeps the world's checkpoints small


def policy_payload(params=PARAMS) -> dict:
    """What a policy checkpoint holds (as Trainer.policy_state writes it), with a freshly initialised network."""
    e, t = params.env, params.train
    network = QNetwork(e.frame_stack, len(MEANINGS), e.screen_size, t.dueling, t.network)
    return {
        "step": 100,
        "params": params_to_dict(params),
        "env_id": f"ALE/{e.game}-v5",
        "action_meanings": MEANINGS,
        "agent": {"online": network.state_dict()},
    }


def build_world(w: Path) -> Path:
    """Write the world into the empty folder `w`."""
    write_params(w / "params.yaml", PARAMS)
    for name in ("models/dqn.pt", "models/best.pt", "models/state/0123456789abcdef/step_0000000100.pt"):
        save_checkpoint(w / name, policy_payload())
    curve = w / "models/training/plots/metrics/episode/return.tsv"
    curve.parent.mkdir(parents=True)
    curve.write_text("timestamp\tstep\treturn\n1\t10\t2.0\n2\t20\t3.0\n")
    (w / "data").mkdir()
    write_dataset(w / "data/gameplay.h5")
    split_dataset(w / "data/gameplay.h5", w / "data/splits.json", 0.34, 0)
    (w / "data/videos").mkdir()
    (w / "data/videos/random_agent_0.mp4").write_bytes(b"an earlier video")
    for name in ("metrics/eval.json", "metrics/eval_episodes.csv", "plots/eval_scores.png"):
        (w / name).parent.mkdir(exist_ok=True)
        (w / name).write_text("an earlier result")
    return w


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (hidden ones too) with its bytes, and every folder, under `folder`."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}
