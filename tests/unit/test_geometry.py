"""Page geometry: overlapping detections cleaned up, missed ink found, regions put in reading order."""

from __future__ import annotations

import numpy as np
import pytest

from ocr_models.geometry.boxes import rotate, turn
from ocr_models.geometry.cleanup import absorb, page_regions, separate_text, split_columns, tidy, uncovered_ink
from ocr_models.geometry.reading_order import reading_order
from ocr_models.types import PageImage, Region


def test_same_kind_overlaps_merge_and_covered_regions_drop():
    regions = [Region("text", (100, 100, 900, 400), 0.9), Region("text", (100, 300, 900, 600), 0.8),
               Region("figure", (100, 700, 900, 1200), 0.9), Region("text", (150, 750, 850, 1150), 0.6)]
    kept = tidy(regions, 1000, 1400)
    assert sorted((r.kind, r.bbox) for r in kept) == [("figure", (100, 700, 900, 1200)),
                                                      ("text", (100, 100, 900, 600))]


def test_regions_are_clipped_to_the_page_and_empty_ones_dropped():
    kept = tidy([Region("title", (-20, -5, 500, 60), 0.7), Region("text", (300, 300, 300, 500), 0.9)], 400, 400)
    assert [r.bbox for r in kept] == [(0, 0, 400, 60)]


def test_two_columns_read_column_by_column_between_full_width_regions():
    title = Region("title", (100, 50, 1900, 150))
    left = [Region("text", (100, 200 + 300 * i, 950, 450 + 300 * i)) for i in range(3)]
    right = [Region("text", (1050, 200 + 300 * i, 1900, 450 + 300 * i)) for i in range(3)]
    table = Region("table", (100, 1200, 1900, 1600))
    after = [Region("text", (100, 1700, 950, 1900)), Region("text", (1050, 1700, 1900, 1900))]
    regions = [right[1], table, left[2], after[1], title, left[0], right[0], after[0], right[2], left[1]]
    order = [regions[i] for i in reading_order(regions)]
    assert order == [title, *left, *right, table, *after]


def test_a_single_column_reads_top_to_bottom():
    regions = [Region("text", (100, 500, 900, 700)), Region("figure", (300, 100, 700, 450)),
               Region("figure_caption", (350, 460, 650, 490))]
    assert reading_order(regions) == [1, 2, 0]


def test_ink_no_region_covers_is_found_as_blocks():
    page = np.full((1000, 800), 255, np.uint8)
    page[100:140, 100:700] = 0  # a line the detector found
    page[600:640, 100:500] = 0  # a line it missed
    page[900:902, 400:402] = 0  # a speck
    blocks = [r.bbox for r in uncovered_ink(page, [Region("text", (90, 90, 710, 150))], dpi=100)]
    assert len(blocks) == 1
    x0, y0, x1, y1 = blocks[0]
    assert abs(x0 - 100) <= 2 and abs(y0 - 600) <= 2 and abs(x1 - 500) <= 2 and abs(y1 - 640) <= 2


def test_a_clipped_caption_grows_over_its_missing_word():
    caption = Region("figure_caption", (300, 500, 700, 540), 0.7)
    figure = Region("figure", (100, 100, 900, 480), 0.9)
    regions, left = absorb([figure, caption], [(220, 502, 290, 538), (100, 900, 400, 940)], dpi=300)
    assert regions[1].bbox == (220, 500, 700, 540) and regions[0] == figure
    assert left == [(100, 900, 400, 940)]


def test_a_paragraph_overlapping_a_caption_is_cut_back_so_no_line_is_read_twice():
    kept = tidy([Region("text", (100, 100, 900, 560), 0.9), Region("figure_caption", (200, 500, 800, 560), 0.7)],
                1000, 1000)
    assert sorted((r.kind, r.bbox) for r in kept) == [("figure_caption", (200, 500, 800, 560)),
                                                      ("text", (100, 100, 900, 500))]


def test_a_figure_drawn_around_two_figures_their_captions_and_a_paragraph_is_taken_apart():
    page = np.full((1000, 1000), 255, np.uint8)
    page[100:400, 100:450] = 90  # figure 1
    page[100:400, 550:900] = 90  # figure 2
    lines = [(150, 420, 400, 440), (600, 420, 850, 440), (100, 600, 900, 620), (100, 630, 900, 650)]
    for x0, y0, x1, y1 in lines:  # two captions, two lines of a paragraph
        page[y0:y1, x0:x1] = 0
    figure = Region("figure", (90, 90, 910, 670), 0.8)

    def find_lines(image: PageImage) -> list:  # what Tesseract's line finder reports, in the crop
        return [(x0 - 90, y0 - 90, x1 - 90, y1 - 90) for x0, y0, x1, y1 in lines]

    parts = separate_text(PageImage(page, 100), figure, find_lines)
    assert sorted((r.kind, r.bbox) for r in parts) == [
        ("figure", (100, 100, 450, 400)), ("figure", (550, 100, 900, 400)),
        ("text", (100, 600, 900, 650)), ("text", (150, 420, 400, 440)), ("text", (600, 420, 850, 440))]
    assert separate_text(PageImage(page, 100), figure, lambda image: []) == [figure]  # no text: as drawn


def test_uncovered_ink_is_a_figure_when_solid_and_text_when_lines():
    page = np.full((1000, 1000), 255, np.uint8)
    page[100:400, 100:500] = 80  # a picture the detector missed
    page[420:440, 150:450] = 0  # its caption
    page[100:900, 950:960] = 0  # a scanner's edge shadow
    kinds = sorted((r.kind, r.bbox) for r in uncovered_ink(page, [], dpi=100))
    assert kinds == [("figure", (100, 100, 500, 400)), ("text", (150, 420, 450, 440)), ("text", (950, 100, 960, 900))]


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_a_region_turns_with_its_page(degrees):
    page = np.full((300, 500), 255, np.uint8)
    page[50:100, 200:400] = 0  # a block of ink at (200, 50, 400, 100)
    turned = rotate(PageImage(page, 300), degrees).pixels
    ys, xs = np.nonzero(turned == 0)
    assert turn((200, 50, 400, 100), degrees, 500, 300) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_a_text_region_across_two_columns_is_split_at_the_gutter():
    page = np.full((400, 1000), 255, np.uint8)
    for y in (50, 150, 250):
        page[y:y + 40, 60:440] = 0   # the left column's lines
        page[y:y + 40, 560:940] = 0  # the right column's, 0.4 in away at 300 dpi
    grey = PageImage(page, 300)
    left, right = split_columns(grey, Region("equation", (40, 30, 960, 320), 0.7))
    assert left.bbox[0] == 40 and right.bbox[2] == 960 and 440 <= left.bbox[2] == right.bbox[0] <= 560
    assert left.kind == right.kind == "equation" and left.score == 0.7
    assert split_columns(grey, Region("table", (40, 30, 960, 320), 0.9)) == [Region("table", (40, 30, 960, 320), 0.9)]
    one = Region("text", (40, 30, 460, 320), 0.8)
    assert split_columns(grey, one) == [one]
    # no layout at all: the whole page, split the same way
    assert len(page_regions(grey, [], lambda image: [])) == 2
