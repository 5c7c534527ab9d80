"""Execute the tutorial notebooks headless (used by the tests and by hand).

    KERAS_BACKEND=jax python tests/docs/notebooks.py --size small --save

runs every notebook in `tutorials/` at the "small" size and writes the executed
notebooks (with their outputs) back in place.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TUTORIALS = os.path.join(ROOT, "tutorials")


def notebooks() -> list[str]:
    """Paths of the tutorial notebooks, in order."""
    return sorted(
        os.path.join(TUTORIALS, n) for n in os.listdir(TUTORIALS) if n.endswith(".ipynb")
    )


def execute(path: str, backend: str, size: str, timeout: int = 900, cwd: str | None = None):
    """Run a notebook in a fresh kernel with KERAS_BACKEND and the tutorial size set.

    Returns:
        (notebook, seconds): the executed notebook and the wall time.
    """
    nb = nbformat.read(path, as_version=4)
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        KERAS_GRAFT_TUTORIAL_SIZE=size,
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    # The kernel draws figures inline: matplotlib must not be forced to Agg.
    env.pop("MPLBACKEND", None)
    # The repository's keras_graft wins over any other installed copy.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": cwd or TUTORIALS}},
        env=env,
    )
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


# Log lines TensorFlow prints on import whatever TF_CPP_MIN_LOG_LEVEL says.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\).*|[IWE]0000 .*"
    r"|To enable the following instructions:.*|\[IPKernelApp\].*)$"
)


def strip_log_noise(nb):
    """Drop TensorFlow's import-time log lines from the stream outputs."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                lines = [
                    line for line in out["text"].splitlines(True)
                    if not _NOISE.match(line.rstrip("\n"))
                ]
                if not "".join(lines).strip():
                    continue
                out["text"] = "".join(lines)
            kept.append(out)
        cell["outputs"] = kept
    return nb


def error_outputs(nb) -> list[str]:
    """Text of every error output of an executed notebook."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{out.get('ename')}: {out.get('evalue')}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["ci", "small", "full"])
    parser.add_argument("--save", action="store_true", help="write outputs back")
    parser.add_argument("names", nargs="*", help="notebooks (default: all)")
    args = parser.parse_args()
    backend = os.environ.get("KERAS_BACKEND", "jax")
    paths = [p for p in notebooks() if not args.names or any(n in p for n in args.names)]
    for path in paths:
        nb, seconds = execute(path, backend, args.size)
        errors = error_outputs(nb)
        print(f"{os.path.basename(path)}: {seconds:.1f} s, {len(errors)} errors", flush=True)
        if args.save:
            nbformat.write(strip_log_noise(nb), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
