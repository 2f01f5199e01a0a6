"""A vectorised sum tree over priorities, for prioritized experience replay.

NumPy costs microseconds per call on small arrays, so the tree is shaped to need few calls per
batch rather than few operations. It is wide (fan-out 32) and shallow: levels are summed only up
to the first one of at most `top` nodes, and a search starts there with one cumulative sum and
one `searchsorted` over that level instead of descending through the levels above it; a million
leaves then take two descents. A descent step is a block gather, a matrix product with a 0/1
triangle that yields each block's running sums for the whole batch, a comparison and an argmax.
Within a block the running sums are taken from the back (the last child's interval comes first):
the empty sum after the last child is then a zero column that every value passes, so the argmax
always has a child to stop at, with no extra call to guarantee one.
Every node sum is recomputed from its children on update (never adjusted by deltas), so
floating-point error cannot accumulate.

The running sums come from NumPy's BLAS. OpenBLAS keeps a matrix product on one thread below 2^19
multiply-adds and spreads larger ones over threads, which on a busy machine made one call 30 times
slower (batch 512 at fan-out 32); batches are therefore multiplied in slices of rows under that.
"""

from __future__ import annotations

import numpy as np

SINGLE_THREAD_PRODUCT = 2**19  # multiply-adds from which OpenBLAS spreads a matrix product over threads


class SumTree:
    def __init__(self, capacity: int, fanout: int = 32, top: int = 1024):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        if fanout < 2 or top < 1:
            raise ValueError("fanout must be at least 2 and top at least 1")
        self.capacity, self.fanout = capacity, fanout
        self.depth = 0  # levels descended below the top one
        while -(-capacity // fanout**self.depth) > top:
            self.depth += 1
        width = -(-capacity // fanout**self.depth)
        # levels[d]: node sums at height d (levels[0]: the priorities, zero-padded; levels[-1]: the top)
        self.levels = [np.zeros(width * fanout ** (self.depth - d), np.float64) for d in range(self.depth + 1)]
        self.blocks = [level.reshape(-1, fanout) for level in self.levels[:-1]]  # sibling groups, one per row
        self.ones = np.ones(fanout)
        self.after = np.tril(np.ones((fanout, fanout)), -1)  # (block @ after)[j]: sum of the children after child j
        self.top_sums = np.zeros(width + 1)  # [0, running sums of the top level], refreshed lazily
        self.stale = False
        self.rows_per_product = max(1, (SINGLE_THREAD_PRODUCT - 1) // fanout**2)
        self._row_starts: dict[int, np.ndarray] = {}

    def _sums_after(self, blocks: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """For each node, the sums of its children after each child, in slices of rows that BLAS runs on one thread."""
        if len(nodes) <= self.rows_per_product:
            return blocks.take(nodes, axis=0) @ self.after
        return np.concatenate(
            [
                blocks.take(nodes[start : start + self.rows_per_product], axis=0) @ self.after
                for start in range(0, len(nodes), self.rows_per_product)
            ]
        )

    def _top(self) -> np.ndarray:
        if self.stale:
            np.cumsum(self.levels[-1], out=self.top_sums[1:])
            self.stale = False
        return self.top_sums

    def state(self) -> list[np.ndarray]:
        """Every level's node sums (the leaves first): restoring them restores the tree exactly."""
        return self.levels

    def load_state(self, levels: list[np.ndarray]) -> None:
        if [len(level) for level in levels] != [len(level) for level in self.levels]:
            raise ValueError("the saved sum tree has another shape")
        for level, saved in zip(self.levels, levels):
            level[...] = saved
        self.stale = True

    @property
    def total(self) -> float:
        return float(self._top()[-1])

    def __getitem__(self, indices) -> np.ndarray:
        return self.levels[0][indices]

    def update(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        """Set leaf priorities (non-negative) and recompute their ancestors; with repeated indices the last one wins."""
        nodes = np.asarray(indices, np.int64)
        priorities = np.asarray(priorities, np.float64)
        if priorities.size and priorities.min() < 0:
            raise ValueError("priorities must be non-negative")
        self.levels[0][nodes] = priorities
        for depth, blocks in enumerate(self.blocks):
            nodes = nodes // self.fanout
            self.levels[depth + 1][nodes] = blocks.take(nodes, axis=0) @ self.ones
        self.stale = True

    def find(self, values: np.ndarray) -> np.ndarray:
        """Leaf index for each value in [0, total): the leaf whose interval holds it, where each leaf has an
        interval as long as its priority, laid out in the tree's order (top nodes first to last, the
        children of a lower node last to first)."""
        values = np.array(values, np.float64)
        top = self._top()
        # the first top node whose running sum passes the value; the total is left out of the search,
        # so a value rounded up to it gets the last node
        nodes = top[1:-1].searchsorted(values, side="right")
        values -= top[nodes]
        row_starts = self._row_starts.get(len(values))
        if row_starts is None:
            row_starts = self._row_starts[len(values)] = np.arange(len(values)) * self.fanout
        for blocks in reversed(self.blocks):
            after = self._sums_after(blocks, nodes)
            # the first child whose interval starts at or below the value (its start: the sum after it);
            # the last child's start is 0, so every row has one
            pick = (after <= values[:, None]).argmax(axis=1)
            values -= after.take(row_starts + pick)
            nodes *= self.fanout
            nodes += pick
        return nodes

    def sample_stratified(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """One leaf from each of `batch_size` equal slices of the total priority mass."""
        total = self.total
        if total <= 0:
            raise ValueError("cannot sample from a sum tree whose priorities are all zero")
        leaves = self.find((np.arange(batch_size) + rng.random(batch_size)) * (total / batch_size))
        # rounding can land on a zero-priority leaf at an interval's edge: draw those again
        while self.levels[0].take(leaves).min() <= 0:
            zero = self.levels[0][leaves] <= 0
            leaves[zero] = self.find(rng.random(int(zero.sum())) * total)
        return leaves
