"""The action ALE's sticky actions would repeat: part of an environment's state that ALE does not save.

With `repeat_action_probability` p > 0, ALE applies on each frame the new action with probability 1 - p, else the
one it applied on the frame before. That previous action lives in the emulator's environment, outside the ALEState
that `cloneState(include_rng=True)` saves, so an emulator restored from a saved state repeats whatever it last
applied itself (NOOP after a reset): the restored game then differs from the original on about one step in four.

`repeated_action` finds it by experiment, and `hold_action` puts it back. Both leave the emulator exactly where it
was (state and RNG), so reading the state does not change the run that reads it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ale_py import Action

# Frames compared when telling candidates apart: the previous action matters only until a frame draws a new one
# (probability 1 - p per frame), so after 32 frames it has stopped mattering but for a chance of p ** 32.
PROBE_FRAMES = 32
# Frames acted to make the emulator hold an action: it fails to take it only if every frame repeats (p ** 24).
HOLD_FRAMES = 24


def repeated_action(ale, candidates: Iterable) -> object:
    """The action (an ale_py.Action among `candidates`, likeliest first) that the emulator would repeat on its next
    frame, or one that leads to the very same emulator states on every frame whatever is acted."""
    start = ale.cloneState(include_rng=True)
    truth = _trace(ale)  # the emulator's own continuation, with the action it really holds
    for action in candidates:
        _restore_holding(ale, start, action)
        if _trace(ale) == truth:
            _restore_holding(ale, start, action)
            return action
    raise RuntimeError("no legal action reproduces the emulator's continuation")


def hold_action(ale, action) -> None:
    """Make the emulator, at its current state, hold `action` as the one to repeat; its state and RNG are kept."""
    _restore_holding(ale, ale.cloneState(include_rng=True), action)


def _restore_holding(ale, start, action) -> None:
    ale.restoreState(start)
    for _ in range(HOLD_FRAMES):
        ale.act(action)
    ale.restoreState(start)  # emulator and RNG as they were; the held action is not part of the state


def _trace(ale) -> list[bytes]:
    """The emulator's state after each of PROBE_FRAMES frames of NOOP (a repeated action shows in these)."""
    trace = []
    for _ in range(PROBE_FRAMES):
        ale.act(Action.NOOP)
        trace.append(ale.cloneState().serialize())
    return trace
