#!/usr/bin/env bash
# The project's two entry points, on a fresh machine with only Python 3.10+ and git:
#   ./dev.sh repro   create .venv, install everything, run the whole pipeline (dvc repro)
#   ./dev.sh test    create .venv if needed, install everything, lint (ruff) and run the test suite;
#                    pytest options pass through: ./dev.sh test -m "not slow" is the fast tier (under a minute)
# Installing is skipped when nothing it depends on changed, so running either twice is harmless.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build where a CPU one will do.
# Override for a GPU machine, e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
export DVC_NO_ANALYTICS=1
export PATH="$PWD/.venv/bin:$PATH"  # dvc runs the stage commands (`pipeline ...`) from the venv

ensure_env() {
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    local stamp=".venv/.installed-$(cat pyproject.toml dev.sh | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip
        # shellcheck disable=SC2086
        .venv/bin/python -m pip install --quiet $TORCH_SPEC
        .venv/bin/python -m pip install --quiet -e ".[test,zstd,minari,ray]"  # the extras too, so their tests run
        rm -f .venv/.installed-*
        touch "$stamp"
    fi
}

case "${1:-}" in
    repro)
        ensure_env
        shift
        dvc repro "$@"
        ;;
    test)
        ensure_env
        shift
        ruff check . && ruff format --check .
        python -m pytest "$@"
        ;;
    *)
        echo "usage: ./dev.sh repro [dvc repro options] | ./dev.sh test [pytest options]" >&2
        exit 2
        ;;
esac
