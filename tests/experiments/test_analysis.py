"""The learning-rate search's choice of rate and of where to look next."""

import math

import pytest

from keras_graft.experiments import analysis, presets
from keras_graft.experiments.presets import GANBenchmark, get_preset


def _runs(scores: dict[float, list[float]]) -> list[dict]:
    """Digit selection runs with FD `exp(score)` (nan: diverged) per rate and seed."""
    return [
        {
            "learning_rate": lr,
            "evals": [{"fd": math.exp(s)}],
            "diverged": math.isnan(s),
        }
        for lr, seeds in scores.items()
        for s in seeds
    ]


@pytest.mark.parametrize(
    "scores, best, edge",
    [
        # The optimum inside the range: nothing to add.
        ({1e-3: [3.0], 3e-3: [2.0], 9e-3: [2.5]}, 3e-3, None),
        # Best at the top: one x3 step further up.
        ({1e-3: [3.0], 3e-3: [2.0], 9e-3: [1.0]}, 9e-3, 2.7e-2),
        # Best at the bottom: one step down, with the ratio of the bottom step.
        ({1e-3: [1.0], 4e-3: [2.0], 9e-3: [3.0]}, 1e-3, 2.5e-4),
        # Means over seeds decide, and a diverged seed rules its rate out.
        ({1e-3: [3.0, 3.0], 3e-3: [1.0, 4.0], 9e-3: [0.5, math.nan]}, 3e-3, None),
        # Every rate diverged: look below the lowest.
        ({1e-3: [math.nan], 3e-3: [math.nan]}, 1e-3, 1e-3 / 3),
        # A single rate brackets nothing.
        ({1e-3: [1.0]}, 1e-3, None),
    ],
)
def test_edge_learning_rate(scores, best, edge):
    runs = _runs(scores)
    assert analysis.select_learning_rate(runs, "digits", 1) == best
    got = analysis.edge_learning_rate(runs, "digits", 1)
    assert got == (None if edge is None else pytest.approx(edge, rel=1e-12))


def test_extend_needs_a_search():
    config = get_preset("long").gans[0].config
    with pytest.raises(ValueError, match=r"`extend` must be 0 without a"):
        GANBenchmark(config, seeds=2, extend=1)
    with pytest.raises(ValueError, match=r"`extend` must be an int >= 0"):
        GANBenchmark(config, seeds=2, search=(1.0, 3.0), selection_seeds=1, extend=-1)


def test_long_and_paper_extend_every_search_alike():
    # The same search rule for every benchmark with a search.
    for name in ("long", "paper"):
        for b in get_preset(name).gans:
            assert b.search == (1 / 3, 1.0, 3.0)
            assert b.extend == presets._EXTEND == 2
