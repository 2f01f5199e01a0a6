"""The sum tree: totals, updates, and the value -> leaf mapping that prioritized sampling rests on."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.replay.sumtree import SumTree

# (capacity, fanout, top): no descent, one, several, and fan-outs that do not divide the capacity
SHAPES = [(1000, 32, 1024), (40_000, 32, 1024), (3_000, 3, 5), (5_000, 4, 16), (1, 32, 1024)]


def dyadic_priorities(capacity: int, rng: np.random.Generator) -> np.ndarray:
    """Multiples of 1/4, a third of them zero: every sum is exact, so interval ends are exact too."""
    priorities = rng.integers(0, 12, capacity) / 4
    priorities[rng.random(capacity) < 0.33] = 0.0
    priorities[0] = 1.0
    return priorities


@pytest.mark.parametrize("capacity, fanout, top", SHAPES)
def test_total_follows_every_update(capacity, fanout, top):
    rng = np.random.default_rng(0)
    tree = SumTree(capacity, fanout=fanout, top=top)
    expected = np.zeros(capacity)
    for _ in range(20):
        rows = rng.integers(0, capacity, size=min(capacity, 64))
        values = rng.random(len(rows))
        tree.update(rows, values)
        expected[rows] = values  # repeated rows: the last value, as NumPy assigns
        assert tree.total == pytest.approx(expected.sum(), rel=1e-12)
    np.testing.assert_array_equal(tree[np.arange(capacity)], expected)


def test_repeated_indices_keep_the_last_value_and_count_once():
    tree = SumTree(100, fanout=4, top=2)
    tree.update(np.array([7, 7, 7, 3]), np.array([1.0, 2.0, 5.0, 0.5]))
    assert tree[7] == 5.0
    assert tree.total == 5.5
    tree.update(np.array([7]), np.array([0.0]))
    assert tree.total == 0.5


def test_negative_priorities_are_refused():
    tree = SumTree(10)
    with pytest.raises(ValueError, match="non-negative"):
        tree.update(np.array([1]), np.array([-0.1]))


def test_an_empty_tree_cannot_be_sampled():
    with pytest.raises(ValueError, match="all zero"):
        SumTree(10).sample_stratified(4, np.random.default_rng(0))


@pytest.mark.parametrize("capacity, fanout, top", SHAPES)
def test_each_leaf_owns_an_interval_as_long_as_its_priority(capacity, fanout, top):
    """A fine grid of values over [0, total) lands on each leaf exactly priority / total of the time:
    find() is an exact inverse of the cumulative priority mass, zero-priority leaves get nothing.
    The grid is larger than one BLAS slice of rows, so the sliced path is covered too."""
    rng = np.random.default_rng(1)
    tree = SumTree(capacity, fanout=fanout, top=top)
    priorities = dyadic_priorities(capacity, rng)
    tree.update(np.arange(capacity), priorities)
    per_unit = 16  # grid points per unit of priority: every interval is a whole number of points
    points = int(tree.total * per_unit)
    grid = (np.arange(points) + 0.5) / per_unit
    hits = np.bincount(tree.find(grid), minlength=capacity)
    np.testing.assert_array_equal(hits, priorities * per_unit)


@pytest.mark.parametrize("capacity, fanout, top", SHAPES[:4])
def test_zero_priority_leaves_are_never_sampled(capacity, fanout, top):
    rng = np.random.default_rng(2)
    tree = SumTree(capacity, fanout=fanout, top=top)
    priorities = rng.random(capacity)
    priorities[rng.random(capacity) < 0.5] = 0.0
    tree.update(np.arange(capacity), priorities)
    for _ in range(200):
        leaves = tree.sample_stratified(64, rng)
        assert (leaves < capacity).all()
        assert (priorities[leaves] > 0).all()


def test_stratified_sampling_takes_one_leaf_from_each_slice():
    """With equal priorities and as many slices as leaves, each leaf is its own slice: all come back once."""
    tree = SumTree(64, fanout=4, top=2)
    tree.update(np.arange(64), np.ones(64))
    leaves = tree.sample_stratified(64, np.random.default_rng(3))
    np.testing.assert_array_equal(np.sort(leaves), np.arange(64))
