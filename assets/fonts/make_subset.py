#!/usr/bin/env python3
"""Makes DejaVuSans-Subset.ttf from Debian's DejaVu Sans (see README.md). Needs fontTools.

Usage: make_subset.py [SOURCE_TTF [OUTPUT_TTF]]
"""

import sys

from fontTools import subset
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

SOURCE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OUTPUT = "DejaVuSans-Subset.ttf"

# Basic Latin, Latin-1, Latin Extended-A/B, Greek, Cyrillic, general punctuation, arrows, a few
# maths signs (minus, plus-minus, infinity, comparisons) and the replacement character.
UNICODES = (
    "U+0020-007E,U+00A0-024F,U+0370-03FF,U+0400-04FF,U+2010-2027,U+2030-205E,"
    "U+2190-2199,U+2212,U+2215,U+221E,U+2248,U+2260,U+2264,U+2265,U+25A0-25A1,U+FFFD"
)


def anchor_left_side_bearings(font):
    """Adds an invisible one-point contour at x = 0 to every glyph whose ink starts right of it.

    plotters 0.3.7 draws ab_glyph glyphs from the left edge of their ink bounds, ignoring the left
    side bearing, so letters with a wide bearing (l, i, n, r) drift left and words look unevenly
    spaced. With a point at x = 0 the bounds start at the pen position and glyphs land where the
    font means them to. The point encloses no area, so no renderer draws it.
    """
    glyf = font["glyf"]
    hmtx = font["hmtx"]
    glyph_set = font.getGlyphSet()
    for name in font.getGlyphOrder():
        glyph = glyf[name]
        if glyph.numberOfContours == 0:
            continue
        glyph.recalcBounds(glyf)
        if glyph.xMin <= 0:
            continue
        y = glyph.yMin
        recording = DecomposingRecordingPen(glyph_set)
        glyph_set[name].draw(recording)
        pen = TTGlyphPen(None)
        recording.replay(pen)
        # Two points: fontTools drops one-point contours (anchors). The segment has no area.
        pen.moveTo((0, y))
        pen.lineTo((1, y))
        pen.closePath()
        new = pen.glyph()
        glyf[name] = new
    # Keep every left side bearing equal to the ink's left edge, as TrueType expects.
    for name in font.getGlyphOrder():
        glyph = glyf[name]
        if glyph.numberOfContours != 0:
            glyph.recalcBounds(glyf)
            advance, _ = hmtx[name]
            hmtx[name] = (advance, glyph.xMin)


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else SOURCE
    output = sys.argv[2] if len(sys.argv) > 2 else OUTPUT
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["MATH", "GSUB", "GPOS", "GDEF", "FFTM"]
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
    subsetter.subset(font)
    anchor_left_side_bearings(font)
    font.save(output, reorderTables=True)


if __name__ == "__main__":
    main()
