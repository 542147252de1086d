"""Colour scales readable by colour-blind readers (WCAG 1.4.1, issue #17), checked by simulation.

Each colour is passed through the protanopia and deuteranopia matrices of Machado, Oliveira and
Fernandes (2009, severity 1) in linear RGB, then compared in CIELAB: a sequential scale must still
run from light to dark (or dark to light) in order, the two ends of the diverging gap scale must
stay apart, and the comparison colours of the brief (better, similar, worse) must stay distinct.
"""

from __future__ import annotations

import itertools
import math

import pytest
from plotly.colors import sample_colorscale

from dashboard.components import charts, needs_text

# Machado et al. 2009, severity 1.0, for linear RGB.
SIMULATIONS = {
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
}
NORMAL = ((1, 0, 0), (0, 1, 0), (0, 0, 1))


def parse(colour: str) -> tuple[float, float, float]:
    """'#0072B2' or 'rgb(12, 34, 56)' -> sRGB in [0, 1]."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    numbers = colour[colour.index("(") + 1 : colour.index(")")].split(",")
    return tuple(float(n) / 255 for n in numbers[:3])


def to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def simulate(colour: str, matrix) -> tuple[float, float, float]:
    """Linear RGB as seen with the deficiency (clipped to the gamut)."""
    linear = [to_linear(c) for c in parse(colour)]
    return tuple(
        min(1.0, max(0.0, sum(m * c for m, c in zip(row, linear, strict=True)))) for row in matrix
    )


def lab(linear: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = linear
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def distance(a, b) -> float:
    return math.dist(lab(a), lab(b))


VISIONS = {"normal": NORMAL, **SIMULATIONS}


@pytest.mark.parametrize("vision", list(VISIONS))
@pytest.mark.parametrize("scale", [charts.SEQUENTIAL, charts.COUNT_SCALE])
def test_sequential_scales_keep_their_order(scale, vision):
    """Maps and grids: lightness changes the same way from one end to the other, with or without
    a colour-vision deficiency, so that more stays more."""
    colours = sample_colorscale(scale, [i / 10 for i in range(11)])
    lightness = [lab(simulate(colour, VISIONS[vision]))[0] for colour in colours]
    steps = [b - a for a, b in itertools.pairwise(lightness)]
    assert all(step > 0 for step in steps) or all(step < 0 for step in steps), lightness


@pytest.mark.parametrize("vision", list(VISIONS))
def test_gap_scale_ends_stay_apart(vision):
    """The gap map (PuOr): under-served (orange) and over-served (purple) ends remain distinct."""
    low, middle, high = sample_colorscale("PuOr", [0.0, 0.5, 1.0])
    seen = [simulate(colour, VISIONS[vision]) for colour in (low, middle, high)]
    assert distance(seen[0], seen[2]) > 40
    assert distance(seen[0], seen[1]) > 40 and distance(seen[2], seen[1]) > 40


@pytest.mark.parametrize("vision", list(VISIONS))
def test_brief_comparison_colours_stay_distinct(vision):
    """Better, similar and worse (and higher, similar, lower) can be told apart without hue."""
    palette = needs_text.COMPARISON_COLOURS
    for group in (("mieux", "similaire", "moins_bien"), ("plus_eleve", "similaire", "plus_bas")):
        seen = [simulate(palette[code], VISIONS[vision]) for code in group]
        for a, b in itertools.combinations(seen, 2):
            assert distance(a, b) > 20, (group, vision)


@pytest.mark.parametrize("vision", list(VISIONS))
def test_line_colours_of_a_chart_stay_distinct(vision):
    """The first five Okabe-Ito colours (a chart's usual series) differ by ΔE > 10 in each vision;
    lines also differ by dash pattern beyond the palette."""
    seen = [simulate(colour, VISIONS[vision]) for colour in charts.OKABE_ITO[:5]]
    for a, b in itertools.combinations(seen, 2):
        assert distance(a, b) > 10
