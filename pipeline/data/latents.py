"""`pipeline latents`: the playing networks' penultimate features (recorded with record.agent_outputs) projected to
two dimensions by PCA (NumPy's SVD of the centred features), coloured by source and by the episode's return: do the
skill levels see the game differently, and does the representation order states by how well the episode went?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from pipeline.config.errors import InputError
from pipeline.core.atomic import atomic_path
from pipeline.core.outputs import check_output
from pipeline.data.reader import damage_reported, open_gameplay, read_episodes

BLOCK = 65_536  # rows read at a time


@dataclass(frozen=True)
class Projection:
    points: np.ndarray  # (n, 2): the first two principal components
    explained: np.ndarray  # (2,): the share of the variance each explains
    sources: np.ndarray  # (n,) the source of each point's episode
    returns: np.ndarray  # (n,) that episode's return


def sample_rows(rows: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    if len(rows) <= max_points:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size=max_points, replace=False))


def project(path: Path, max_points: int = 5000, seed: int = 0) -> Projection:
    """PCA of up to `max_points` rows (a uniform sample, fixed by `seed`) of the rows a network played from."""
    if max_points < 2:
        raise InputError(f"--max-points {max_points}: must be an integer >= 2")
    with open_gameplay(path) as f:
        if "features" not in f:
            raise InputError(f"'{path}' has no agent features: record it with record.agent_outputs: true")
        with damage_reported(path):
            table = read_episodes(f)
            owner = np.repeat(np.arange(len(table)), table["length"] + 1)
            played = (f["actions"][:] >= 0) & (table["agent"][owner] == "trained")
            rows = sample_rows(np.flatnonzero(played), max_points, seed)
            features = np.concatenate(
                [f["features"][start : start + BLOCK][rows[(rows >= start) & (rows < start + BLOCK)] - start]
                 for start in range(0, len(owner), BLOCK)]
            ).astype(np.float64)  # fmt: skip
    if len(rows) < 2:
        raise InputError(f"'{path}': fewer than 2 rows were played by a network; nothing to project")
    centred = features - features.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    explained = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    points = centred @ components[:2].T
    return Projection(points, explained, table["source"][owner[rows]], table["return"][owner[rows]])


def latents_figure(projection: Projection, title: str) -> Figure:
    fig = Figure(figsize=(13, 5.8), layout="constrained")
    by_source, by_return = fig.subplots(1, 2)
    p, (ex, ey) = projection.points, projection.explained
    for name in dict.fromkeys(projection.sources):
        mine = projection.sources == name
        by_source.scatter(p[mine, 0], p[mine, 1], s=6, alpha=0.6, label=f"{name} ({mine.sum():,})")
    by_source.legend(markerscale=3, title="source (points)")
    by_source.set_title("coloured by source")
    shown = by_return.scatter(p[:, 0], p[:, 1], s=6, alpha=0.6, c=projection.returns, cmap="viridis")
    fig.colorbar(shown, ax=by_return, label="episode return")
    by_return.set_title("coloured by the episode's return")
    for ax in (by_source, by_return):
        ax.set_xlabel(f"PC 1 ({ex:.0%} of the variance)")
        ax.set_ylabel(f"PC 2 ({ey:.0%})")
    fig.suptitle(title)
    return fig


def write_latents(path: Path, out: Path, max_points: int = 5000, seed: int = 0) -> Projection:
    check_output(Path(out), "latents figure")  # before the features are read
    projection = project(path, max_points, seed)
    title = f"{Path(path).name}: penultimate features of {len(projection.points):,} rows, PCA to 2-D"
    with atomic_path(Path(out)) as tmp:
        latents_figure(projection, title).savefig(tmp, format="png", dpi=100)
    return projection
