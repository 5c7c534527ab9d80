"""The code on docs/players.md runs as written and prints what the page says.

Collected in the JAX process only (see conftest.py): the page's GAN code is
tested on every backend in tests/gan (test_players.py, test_conditional.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "players.md")


def _blocks() -> list[str]:
    with open(PAGE, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


@pytest.mark.backend("jax")
def test_players_page_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = _blocks()
    assert len(blocks) == 4
    namespace: dict = {"__name__": "players_page"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, PAGE, "exec"), namespace)
    text = out.getvalue()
    assert "val_d_loss" in text and "pace_ratio" in text
    assert "pass latent_dim" in text
    share = int(re.search(r"reads the asked digit in (\d+)%", text).group(1))
    # The page says 93-100% after 600 steps; a broken conditioning gives ~10%.
    assert share >= 80, text
    assert len(os.listdir(tmp_path / "cgan_samples")) == 5  # one grid per epoch
