"""What every stage command shares: params flags generated from the params dataclasses, and error handling.

A stage declares which params sections it reads; each key of those sections becomes a flag
(`--batch-size` for train.batch_size) that overrides params.yaml, with the key's help text, so the
CLI can never drift from the params schema.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from pipeline.config.errors import InputError
from pipeline.config.layout import TrainLayout
from pipeline.config.params import SECTIONS, field_docs, is_scalar, load_params
from pipeline.core.signals import Interrupted

console = Console(stderr=True)
PARAMS_FILE = Path("params.yaml")


def chosen_model(checkpoint: Path | None, model: str) -> tuple[Path, str]:
    """The checkpoint a stage plays and the name it goes by: the file given with --checkpoint (by its file name), or
    the training run's best.pt or dqn.pt as the stage's `model` param says."""
    if checkpoint is not None:
        return checkpoint, checkpoint.name
    layout = TrainLayout()
    return (layout.best if model == "best" else layout.model), model


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Bad input becomes one red line and exit code 2; a loop stopped by a signal, its message and 128 + signal."""
    try:
        yield
    except InputError as err:
        console.print(f"[bold red]Error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)  # '[zstd]' is text
        raise typer.Exit(2) from None
    except Interrupted as stop:
        console.print(f"[yellow]{stop}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(stop.exit_code) from None


def with_params(*sections: str) -> Callable:
    """Decorate a stage function taking `params: Params`: it gains `--params FILE`, `--seed` and one flag per key
    of `sections`, and its InputErrors become one-line errors with exit code 2."""

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
