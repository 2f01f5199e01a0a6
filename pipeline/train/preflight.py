"""What `pipeline train` checks before a fresh start clears earlier results: the device exists, the network can take
the screen size, the outputs can be written and there is room for the checkpoints. A failure is one line and the
earlier results are untouched."""

from __future__ import annotations

import torch

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import Params
from pipeline.core.outputs import check_free_space, check_output
from pipeline.rl.device import check_device
from pipeline.rl.networks import MIN_SCREEN, QNetwork

MAX_ACTIONS = 18  # the full ALE action set: an upper bound on any game's
# float32 copies of the Q-network in a periodic checkpoint: online, target, Adam's two moments, the best evaluated
# network and one sent for evaluation; RND's exploration agent and networks about double it
COPIES, RND_COPIES = 6, 12
SLACK = 4 * 2**20  # curves, snapshots and the diagnostics figure


def check_can_train(params: Params, layout: TrainLayout) -> None:
    e, t = params.env, params.train
    check_device(t.device)
    torsos = {t.network, "nature"} if t.exploration == "rnd" else {t.network}  # RND's networks use the Nature torso
    for torso in sorted(torsos):
        if e.screen_size < MIN_SCREEN[torso]:
            raise InputError(
                f"env.screen_size = {e.screen_size}: the {torso} network"
                + (" (RND's)" if torso != t.network else "")
                + f" needs inputs of at least {MIN_SCREEN[torso]}x{MIN_SCREEN[torso]} pixels"
            )
    check_output(layout.root, "output folder", folder=True)
    for path, what in ((layout.model, "final model"), (layout.best, "best model")):
        check_output(path, what)
    for path, what in ((layout.states, "resumable state folder"), (layout.live, "training log folder")):
        check_output(path, what, folder=True)
    check_free_space(layout.root, checkpoint_bytes(params) * (t.keep_checkpoints + 2) + SLACK, "training")


def checkpoint_bytes(params: Params) -> int:
    """About how large one checkpoint of this run will be (an upper bound for the action count)."""
    t = params.train
    with torch.device("meta"):  # shapes only: no memory, no draw from the random number generator
        network = QNetwork(params.env.frame_stack, MAX_ACTIONS, params.env.screen_size, t.dueling, t.network)
    weights = sum(p.numel() for p in network.parameters()) * 4
    return weights * (RND_COPIES if t.exploration == "rnd" else COPIES)
