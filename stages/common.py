"""What every stage command shares: params flags generated from the params dataclasses, and error handling.

A stage declares which params sections it reads; each key of those sections becomes a flag
(`--batch-size` for train.batch_size) that overrides params.yaml, with the key's help text, so the
CLI can never drift from the params schema.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from pathlib import Path
from typing import Callable, Iterator, NoReturn, Optional, Sequence

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from pipeline.config.errors import EnvironmentFault, InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import SECTIONS, field_docs, is_scalar, load_params
from pipeline.core.faults import os_failure
from pipeline.core.outputs import claimed
from pipeline.core.signals import Interrupted

console = Console(stderr=True)
PARAMS_FILE = Path("params.yaml")
# where evaluate and record play their episodes: a flag, not a param, as it changes no result
BACKEND = typer.Option(
    "local",
    "--backend",
    help="where episodes are played: local (env.num_envs worker processes here) or ray (a Ray cluster, one episode "
    "per CPU at a time; pip install '.[ray]'); the results are the same",
)
RAY_ADDRESS = typer.Option(
    None,
    "--ray-address",
    help="with --backend ray: the cluster to join ('auto' on a node of a cluster started with `ray start`, or "
    "ray://HEAD:10001); default: start a local Ray",
)


def chosen_model(checkpoint: Path | None, model: str) -> tuple[Path, str]:
    """The checkpoint a stage plays and the name it goes by: the file given with --checkpoint (by its file name), or
    the training run's best.pt or dqn.pt as the stage's `model` param says."""
    if checkpoint is not None:
        return checkpoint, checkpoint.name
    layout = TrainLayout()
    return (layout.best if model == "best" else layout.model), model


def print_error(message: object) -> None:
    """`message` as one red line on stderr, whatever line breaks or brackets it holds."""
    console.print(f"[bold red]Error:[/] {escape(' '.join(str(message).split()))}", highlight=False, soft_wrap=True)


def fail(message: object, code: int) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Every failure becomes one line: bad input exit code 2, a fault of the machine (full disk, dead worker) 1, a loop
    stopped by a signal its message and 128 + signal. Anything else is a bug, reported in one line as well
    (PIPELINE_TRACEBACK=1 shows its traceback)."""
    try:
        yield
    except InputError as err:
        fail(err, 2)
    except EnvironmentFault as err:
        fail(err, 1)
    except OSError as err:
        failure = os_failure(err)
        fail(failure, 2 if isinstance(failure, InputError) else 1)
    except MemoryError:
        fail("out of memory", 1)
    except Interrupted as stop:
        console.print(f"[yellow]{escape(str(stop))}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(stop.exit_code) from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    except Exception as err:
        if os.environ.get("PIPELINE_TRACEBACK"):
            raise
        fail(f"unexpected {type(err).__name__}: {err} (a bug; PIPELINE_TRACEBACK=1 shows where)", 1)


@contextlib.contextmanager
def writing(*folders: Path, inside: Sequence[Path] = ()) -> Iterator[None]:
    """Hold the folders a command writes for as long as it runs, sweeping what killed runs left in them and in the
    subfolders `inside` of the first (see pipeline.core.outputs.claimed)."""
    with contextlib.ExitStack() as stack:
        distinct: dict[Path, Path] = {}
        for folder in folders:  # metrics and ./metrics are one folder, held once
            distinct.setdefault(Path(folder).resolve(), Path(folder))
        for i, folder in enumerate(distinct.values()):
            stack.enter_context(claimed(folder, "output folder", inside if i == 0 else ()))
        yield


# Click's base exception, from the copy of Click that Typer raises (recent Typer versions carry their own)
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class OneLineErrors(TyperGroup):
    """Click's own usage errors (`--steps abc`, an unknown option or command) as one line and exit code 2, like
    every other error, instead of Typer's usage box: the command runs with Click's standalone mode off, which hands
    those errors to us (https://click.palletsprojects.com/en/stable/exceptions/)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as err:
            if type(err).__name__ != "NoArgsIsHelpError":  # `pipeline` alone: its help is already printed
                ctx = getattr(err, "ctx", None)
                hint = f" (`{ctx.command_path} --help` lists what is allowed)" if ctx is not None else ""
                print_error(err.format_message() + hint)
            code = err.exit_code
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def with_params(*sections: str) -> Callable:
    """Decorate a stage function taking `params: Params`: it gains `--params FILE`, `--seed` and one flag per key
    of `sections`, and its failures become one-line errors (reported_errors)."""

    def decorate(func: Callable) -> Callable:
        own = [p for p in inspect.signature(func).parameters.values() if p.name != "params"]
        generated, origin = [], {}
        generated.append(
            inspect.Parameter(
                "params_file",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Path,
                default=typer.Option(PARAMS_FILE, "--params", help="params file to read; flags override its keys"),
            )
        )
        generated.append(
            inspect.Parameter(
                "seed",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Optional[int],
                default=typer.Option(None, "--seed", help="global seed (params: seed)"),
            )
        )
        origin["seed"] = ("", "seed")
        for section in sections:
            for name, kind, _default, allowed, help_text in field_docs(SECTIONS[section]):
                if name in origin:  # the sections a stage reads must not share key names
                    raise TypeError(f"{section}.{name} and {'.'.join(origin[name])} would share the flag --{name}")
                flag = "--" + name.replace("_", "-")
                decls = [f"{flag}/--no-{flag[2:]}"] if kind is bool else [flag]
                as_yaml = "" if is_scalar(kind) else ", as YAML"  # a list: --snapshot-steps '[1000, 5000]'
                generated.append(
                    inspect.Parameter(
                        name,
                        inspect.Parameter.KEYWORD_ONLY,
                        annotation=Optional[kind if is_scalar(kind) else str],
                        default=typer.Option(
                            None,
                            *decls,
                            help=f"{help_text} ({allowed}{as_yaml}; params: {section}.{name})",
                            rich_help_panel=f"params: {section}",
                        ),
                    )
                )
                origin[name] = (section, name)

        @functools.wraps(func)
        def wrapper(**kwargs):
            overrides: dict[str, dict] = {}
            for arg, (section, name) in origin.items():
                value = kwargs.pop(arg)
                if value is not None:
                    overrides.setdefault(section, {})[name] = value
            params_file = kwargs.pop("params_file")
            with reported_errors():
                return func(params=load_params(params_file, overrides), **kwargs)

        del wrapper.__wrapped__  # Typer must read the generated signature, not the original one
        wrapper.__signature__ = inspect.Signature(own + generated)
        wrapper.__annotations__ = {p.name: p.annotation for p in own + generated}
        return wrapper

    return decorate
