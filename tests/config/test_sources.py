"""record.sources and train.snapshot_steps in params: list entries validated with one line naming the bad entry, the
simple case's flags, and the lists as YAML on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.config.params import load_params, params_to_dict
from stages.cli import app
from tests.helpers import tiny_params

SOURCES = [
    {"name": "random", "policy": "random", "share": 25},
    {"name": "early", "policy": "snapshot", "step": 100, "share": 25},
    {"name": "best", "policy": "best", "temperature": 0.5, "share": 50},
]


def params_file(folder: Path, sources: list, **record) -> Path:
    raw = params_to_dict(tiny_params())
    raw["record"].update(sources=sources, **record)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_sources_load_with_their_keys_and_round_trip_as_plain_lists(tmp_path):
    params = load_params(params_file(tmp_path, SOURCES))
    best = params.record.sources[2]
    assert (best.name, best.policy, best.temperature, best.epsilon, best.share) == ("best", "best", 0.5, None, 50.0)
    assert params.record.sources[1].step == 100
    written = params_to_dict(params)
    assert isinstance(written["record"]["sources"], list) and written["train"]["snapshot_steps"] == [100, 200]
    assert load_params(params_file(tmp_path, written["record"]["sources"])) == params  # YAML round trip


# (the sources, what the one-line error must say)
BAD = {
    "missing policy": ([{"name": "a", "share": 100}], "record.sources[0]: missing key 'policy'"),
    "misspelled key": ([{"name": "a", "polcy": "random", "share": 100}], "record.sources[0].polcy"),
    "unknown policy": (
        [{"name": "a", "policy": "bets", "share": 100}],
        "record.sources[0].policy = 'bets': must be random, best, final, snapshot or the path of a .pt checkpoint",
    ),
    "bad name": ([{"name": "a b", "policy": "random", "share": 100}], "record.sources[0].name = 'a b'"),
    "same name twice": (
        [{"name": "a", "policy": "random", "share": 50}, {"name": "a", "policy": "best", "share": 50}],
        "record.sources[1].name = 'a': another source has that name",
    ),
    "snapshot not kept": (
        [{"name": "a", "policy": "snapshot", "step": 150, "share": 100}],
        "record.sources[0] (a): policy snapshot with step 150; step must be one of train.snapshot_steps (100, 200)",
    ),
    "step without snapshot": ([{"name": "a", "policy": "best", "step": 100, "share": 100}], "only policy snapshot"),
    "epsilon and temperature": (
        [{"name": "a", "policy": "best", "epsilon": 0.1, "temperature": 1.0, "share": 100}],
        "record.sources[0] (a): give epsilon or temperature, not both",
    ),
    "random with epsilon": ([{"name": "a", "policy": "random", "epsilon": 0.5, "share": 100}], "takes no epsilon"),
    "epsilon above 1": (
        [{"name": "a", "policy": "best", "epsilon": 1.5, "share": 100}],
        "record.sources[0].epsilon = 1.5: must be a number >= 0.0 and <= 1.0, or left out",
    ),
    "no count": ([{"name": "a", "policy": "best"}], "record.sources[0] (a): give exactly one of episodes or share"),
    "shares not 100": (
        [{"name": "a", "policy": "best", "share": 60}, {"name": "b", "policy": "random", "share": 30}],
        "record.sources: the shares add up to 90; they must add up to 100",
    ),
    "episodes not the total": (
        [{"name": "a", "policy": "best", "episodes": 2}],
        "record.episodes = 3: the sources' episodes add up to 2; make them equal, or give shares",
    ),
    "episodes beyond the total": (
        [{"name": "a", "policy": "best", "episodes": 5}, {"name": "b", "policy": "random", "share": 100}],
        "record.episodes = 3: the sources' episodes add up to 5, more than that",
    ),
    "not a list": ("random", "record.sources = 'random': must be a list of mappings with the keys name, policy"),
    "entry not a mapping": (["random"], "record.sources[0] = 'random': must be a list of mappings"),
}


@pytest.mark.parametrize("sources, says", BAD.values(), ids=BAD.keys())
def test_bad_sources_stop_record_with_one_line_and_write_nothing(tmp_path, sources, says):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["record", "--params", str(params_file(tmp_path, sources)), "--out-dir", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert not out.exists() and not (tmp_path / "metrics").exists()


def test_a_simple_case_flag_on_the_command_line_asks_for_the_simple_case(tmp_path):
    path = params_file(tmp_path, SOURCES)
    assert load_params(path, {"record": {"episodes": 4}}).record.sources  # the file's sources, on 4 episodes
    simple = load_params(path, {"record": {"percent_random": 30.0}})
    assert simple.record.sources == () and simple.record.percent_random == 30.0


def test_lists_on_the_command_line_are_yaml(tmp_path):
    path = params_file(tmp_path, [])
    given = load_params(path, {"record": {"sources": "[{name: r, policy: random, episodes: 3}]"}})
    assert [s.name for s in given.record.sources] == ["r"]
    assert load_params(path, {"train": {"snapshot_steps": "[50, 250]"}}).train.snapshot_steps == (50, 250)
    assert load_params(path, {"train": {"snapshot_steps": "4"}}).train.snapshot_steps == 4


@pytest.mark.parametrize(
    "steps, says",
    [
        ([200, 100], "train.snapshot_steps = [200, 100]: the steps must increase"),
        ([100, 400], "train.snapshot_steps = [100, 400]: each step must be <= train.steps (300)"),
        (301, "train.snapshot_steps = 301: a count must be <= train.steps (300)"),
        (0, "train.snapshot_steps = 0: must be an integer > 0, or a list of integers > 0"),
        ("[1, x", "train.snapshot_steps = '[1, x': not valid YAML"),
    ],
)
def test_bad_snapshot_steps_stop_train_with_one_line(tmp_path, steps, says):
    flag = steps if isinstance(steps, str) else yaml.safe_dump(steps, default_flow_style=True).strip()
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--params",
            str(params_file(tmp_path, [])),
            "--out-dir",
            str(tmp_path / "m"),
            "--snapshot-steps",
            flag,
        ],
    )
    assert result.exit_code == 2, result.output
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "m").exists()


def test_a_checkpoint_flag_with_sources_is_refused(tmp_path):
    path = params_file(tmp_path, SOURCES)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["record", "--params", str(path), "--checkpoint", "x.pt", "--out-dir", str(out)])
    assert result.exit_code == 2 and "--checkpoint x.pt: it names the trained agent without record.sources" in (
        result.stderr
    ), result.output
    assert not out.exists()
