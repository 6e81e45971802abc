"""Aligned text-image pairs from a read page: figures and tables with their printed captions, and text lines.

Captions are matched by position (the nearest caption in the same column, above or below, with nothing in
between) and by what they say (caption words such as "Figure", "चित्र", "படம்", "รูปที่"), and each caption is
given to one figure or table at most.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import reduce

from PIL import Image

from actors.reading.page_image import ASSUMED_DPI
from actors.store.records import Row
from configs.model import PairOptions
from ocr_models.geometry.boxes import intersection, pad, union
from ocr_models.types import CAPTION_KINDS, PICTURE_KINDS, BBox, OcrLine, OcrWord, Region

# Words that open a caption, by what it captions; compared case-folded at the start of a region's text.
CAPTION_CUES: dict[str, tuple[str, ...]] = {
    "figure": ("figure", "fig", "plate", "illustration", "photo", "चित्र", "आकृति", "চিত্র", "ছবি", "படம்",
               "చిత్రం", "ಚಿತ್ರ", "ചിത്രം", "આકૃતિ", "ચિત્ર", "ਚਿੱਤਰ", "ଚିତ୍ର", "රූපය", "รูปที่", "ภาพที่", "ຮູບທີ",
               "រូបភាព", "ပုံ", "hình", "gambar", "rajah", "larawan", "شکل"),
    "table": ("table", "tab", "तालिका", "सारणी", "সারণি", "সারণী", "টেবিল", "அட்டவணை", "పట్టిక", "ಕೋಷ್ಟಕ",
              "പട്ടിക", "કોષ્ટક", "ਸਾਰਣੀ", "ସାରଣୀ", "වගුව", "ตารางที่", "ตาราง", "ຕາຕະລາງ", "តារាង", "ဇယား", "bảng",
              "tabel", "jadual", "talahanayan", "جدول"),
}
MAX_CAPTION_CHARS = 400  # a region longer than this is body text, whatever it starts with
# A label's shape, in any script's digits: "Figure 3:", "चित्र ३.", or garbled, "70012 1:", "[10616 1;".
# Without it a line beside a figure is not read again (on the real scans, Sanskrit and Kannada lines beside
# pictures were: 2.6 s more OCR on 4 pages of 51, for no change)
LABELLED = re.compile(r"\s*\S{1,12}\s+\d{1,3}\s*[:;,.।\-–—]")  # a colon is read as a semicolon too
CAPTION_MAX_LINES = 2  # a region of more lines beside a figure is a paragraph, not a caption whose label was lost
# zlib level of PNG crops, not PIL's 6: 2.4 instead of 5.7 ms a real line crop, 10 % more bytes (24.6 kB)
PNG_LEVEL = 3

REGION_PAD_IN = 0.08  # tight crops mangle vowel signs above and below the line: read regions with a margin


@dataclass
class ReadRegion:
    """A region of the page and what was read in it (text regions only)."""

    region: Region
    order: int | None = None  # place in reading order; None for regions not read (figures)
    text: str | None = None
    script: str | None = None
    lang: str | None = None
    confidence: float | None = None
    lines: list[OcrLine] = field(default_factory=list)
    engine: str | None = None  # what read its text: `tesseract`, `transformers`
    model: str | None = None  # the model that read it (Tesseract's, or a transformers id@revision)
    guard: str | None = None  # why a routed model's reading was refused (Tesseract's kept); None when not


@dataclass(frozen=True)
class CaptionMatch:
    caption: int  # index of the caption region
    method: str
    score: float


def cue_kind(text: str | None) -> str | None:
    """`figure` or `table` when `text` opens with a caption word, else None. Compared without case and
    without non-spacing marks, so that a dropped tone mark or vowel sign ("รูปที" for "รูปที่") still counts."""
    if not text or len(text) > MAX_CAPTION_CHARS:
        return None
    head = _skeleton(text.strip()[:40])
    for kind, cues in _CUE_SKELETONS.items():
        for cue in cues:
            if head.startswith(cue):
                rest = head[len(cue):len(cue) + 1]
                if not rest or unicodedata.category(rest)[0] not in "LM":  # a whole word, not "fight"
                    return kind
    return None


def _skeleton(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.casefold()) if unicodedata.category(c) != "Mn")


_CUE_SKELETONS = {kind: tuple(_skeleton(cue) for cue in cues) for kind, cues in CAPTION_CUES.items()}


def match_captions(regions: list[ReadRegion], dpi: int, max_gap_in: float) -> dict[int, CaptionMatch]:
    """Figure/table index -> its caption, each caption used once, best-scoring matches first."""
    max_gap = max_gap_in * dpi
    candidates = []
    for p, picture in enumerate(regions):
        if picture.region.kind not in PICTURE_KINDS:
            continue
        for c, caption in enumerate(regions):
            scored = _caption_score(picture, caption, max_gap)
            if scored and not _anything_between(regions, p, c):
                candidates.append((scored[1], p, c, scored[0]))
    matches: dict[int, CaptionMatch] = {}
    used: set[int] = set()
    for score, p, c, method in sorted(candidates, key=lambda m: (-m[0], m[1], m[2])):
        if p not in matches and c not in used:
            matches[p] = CaptionMatch(c, method, round(score, 4))
            used.add(c)
    return matches


def uncued_captions(regions: list[ReadRegion], dpi: int, max_gap_in: float) -> list[int]:
    """Regions placed as a caption of a figure or table (beside it in its column, nothing between, at most
    CAPTION_MAX_LINES lines) that open as a caption does, a word, a number and a stop (LABELLED), but with no
    caption word: a caption whose label its script's model garbled ("70012 1: একটি ..." for "Figure 1: ...")."""
    max_gap = max_gap_in * dpi
    found = []
    for c, caption in enumerate(regions):
        if caption.region.kind in PICTURE_KINDS or not caption.text or not LABELLED.match(caption.text) \
                or not 0 < len(caption.lines) <= CAPTION_MAX_LINES or cue_kind(caption.text):
            continue
        if any(p.region.kind in PICTURE_KINDS and _gap(p.region.bbox, caption.region.bbox, max_gap) is not None
               and not _anything_between(regions, i, c) for i, p in enumerate(regions)):
            found.append(c)
    return found


def label_words(line: OcrLine) -> tuple[OcrWord, ...]:
    """The words of the label `line` opens with ("Figure", "1:"); none without a label or word boxes."""
    label = LABELLED.match(line.text)
    return line.words[:len(label.group().split())] if label is not None else ()


def relabelled(line: OcrLine, label: str) -> OcrLine:
    """`line` with its label's words as `label`, a reading of those words alone, when that is a caption's label
    of as many words ("Figure 1;" by Telugu's model with Latin's, "Figure 1:" by Latin's alone); else `line`."""
    words, old, new = label_words(line), LABELLED.match(line.text), LABELLED.match(label)
    if not words or old is None or new is None or len(new.group().split()) != len(words) or not cue_kind(label):
        return line
    kept = (*(replace(w, text=text) for w, text in zip(words, new.group().split(), strict=True)),
            *line.words[len(words):])
    # the words after the label keep the line's own spacing (Thai's words are not set apart by spaces)
    return OcrLine(new.group().strip() + line.text[old.end():], line.bbox, line.confidence, kept)


def label_spliced(labelled: OcrLine, line: OcrLine) -> tuple[OcrLine, BBox] | None:
    """`line` with its label's words taken from `labelled`, a reading of the same line that got the label right
    ("Figure 1: anjanainia" by Khmer's model with Latin's) and the words after it kept ("ជយ 1: សាស្ត្រាស្លឹករឹត"
    by Khmer's alone): "Figure 1: សាស្ត្រាស្លឹករឹត", and where the kept words lie. None when either reading
    has no word boxes, `labelled` no label, or nothing of `line` lies right of it. The line keeps its confidence."""
    words = label_words(labelled)
    if not words or not line.words:
        return None
    end = max(w.bbox[2] for w in words)
    rest = [w for w in line.words if (w.bbox[0] + w.bbox[2]) / 2 > end]
    if not rest:
        return None
    kept: tuple[OcrWord, ...] = (*words, *rest)  # the line's box grows over the label's words (OcrLine)
    return OcrLine(" ".join(w.text for w in kept), line.bbox, line.confidence, kept), \
        reduce(union, (w.bbox for w in rest))


def _gap(picture: BBox, caption: BBox, max_gap: float) -> tuple[float, bool] | None:
    """How far `caption` is from `picture` and whether it is under it, when it is in the same column within
    `max_gap`; else None."""
    p, c = picture, caption
    overlap = min(p[2], c[2]) - max(p[0], c[0])
    if overlap < 0.5 * min(p[2] - p[0], c[2] - c[0]):
        return None  # not in the same column
    below, above = c[1] - p[3], p[1] - c[3]
    gap = below if below >= above else above
    return None if gap > max_gap or gap < -0.1 * max_gap else (gap, below >= above)


def _caption_score(picture: ReadRegion, caption: ReadRegion, max_gap: float) -> tuple[str, float] | None:
    kind = picture.region.kind
    if caption.text is None or not caption.text.strip() or caption.region.kind in PICTURE_KINDS:
        return None
    if (beside := _gap(picture.region.bbox, caption.region.bbox, max_gap)) is None:
        return None
    gap, under = beside
    by_kind = {f"{kind}_caption": 1.0, "caption": 0.8}.get(caption.region.kind,
                                                           0.4 if caption.region.kind in CAPTION_KINDS else 0.0)
    cue = cue_kind(caption.text)
    by_cue = 1.0 if cue == kind else 0.3 if cue else 0.0
    if not by_kind and not by_cue:
        return None
    usual_side = under == (kind == "figure")  # captions go under figures and over tables
    score = 0.45 * by_kind + 0.35 * by_cue + 0.15 * (1 - max(gap, 0) / max_gap) + 0.05 * usual_side
    method = "caption_region+cue" if by_kind and by_cue else "caption_region" if by_kind else "caption_cue"
    return method, score


def _anything_between(regions: list[ReadRegion], p: int, c: int) -> bool:
    """Whether a picture or a region with text lies between regions `p` and `c`. A text region in which
    nothing was read does not count: the layout model cuts slivers off a caption (a Hindi caption's top edge,
    14 px high, left its figure uncaptioned)."""
    a, b = regions[p].region.bbox, regions[c].region.bbox
    top, bottom = (a[3], b[1]) if b[1] >= a[3] else (b[3], a[1])
    left, right = max(a[0], b[0]), min(a[2], b[2])
    return any(intersection(r.region.bbox, (left, top, right, bottom)) > 0
               for i, r in enumerate(regions)
               if i not in (p, c) and (r.region.kind in PICTURE_KINDS or (r.text or "").strip()))


def pair_id(page_id: str, kind: str, box: BBox) -> str:
    return hashlib.sha256(f"{page_id}:{kind}:{','.join(map(str, box))}".encode()).hexdigest()[:32]


def encode(image: Image.Image, box: BBox, image_format: str) -> tuple[bytes, int, int]:
    crop = image.crop(box)
    # Pixels, resolution and colour profile only: a crop must not inherit the file's comment or EXIF, or the
    # same figure in a re-saved scan gets other bytes and is not recognised as a duplicate.
    crop.info = {}
    buffer = io.BytesIO()
    keep = {"dpi": image.info.get("dpi") or (300, 300), "icc_profile": image.info.get("icc_profile")}
    if image_format == "jpeg":
        crop.convert("RGB" if crop.mode not in ("L", "RGB") else crop.mode).save(buffer, "JPEG", quality=92, **keep)
    else:
        crop.save(buffer, "PNG", compress_level=PNG_LEVEL, **keep)
    return buffer.getvalue(), crop.width, crop.height


def picture_pairs(page: Row, image: Image.Image, regions: list[ReadRegion], options: PairOptions,
                  cut: Cut | None = None) -> list[Row]:
    """One pair per figure and table, with its printed caption when one was matched."""
    matches = match_captions(regions, page.get("dpi") or ASSUMED_DPI, options.caption_max_gap_in)
    image_format = "jpeg" if page.get("image_format") == "jpeg" else "png"
    pairs = []
    for p, picture in enumerate(regions):
        if picture.region.kind not in PICTURE_KINDS:
            continue
        identity = pair_id(page["page_id"], picture.region.kind, picture.region.bbox)
        data, width, height = (cut or {}).get(identity) or encode(image, picture.region.bbox, image_format)
        pair = {"pair_id": identity,
                "kind": picture.region.kind, "bbox": list(picture.region.bbox), "image": data,
                "image_format": image_format, "width": width, "height": height,
                "alignment": {"method": "none", "score": None}}
        match = matches.get(p)
        source = regions[match.caption] if match else None
        if source is not None:
            pair.update(text=source.text, printed_caption=source.text,
                        alignment={"method": match.method, "score": match.score})
        elif picture.region.kind == "table" and picture.text:
            source = picture
            pair.update(text=picture.text, alignment={"method": "table_ocr", "score": picture.confidence})
        if source is not None:
            pair.update(script=source.script, lang=source.lang, ocr_confidence=source.confidence)
        pairs.append(pair)
    return pairs


Cut = dict[str, tuple[bytes, int, int]]  # pair_id -> its crop (encoded image, width, height), already made


def make_pairs(row: Row, picture: Image.Image, read: list[ReadRegion], options: PairOptions,
               cut: Cut | None = None) -> list[Row]:
    """The page's pairs, as `options` asks: figures and tables with their captions, then text lines. A pair
    whose crop is in `cut` (pairs made before, of the same page) takes it instead of encoding it again."""
    pairs = []
    if options.figures:
        pairs += picture_pairs(row, picture, read, options, cut or {})
    if options.lines:
        pairs += line_pairs(row, picture.convert("L"), read, options, cut or {})
    return pairs


def crops_of(pairs: list[Row] | None) -> Cut:
    """The crops of pairs already made, by pair id (for `make_pairs`)."""
    return {p["pair_id"]: (p["image"], p["width"], p["height"]) for p in pairs or () if p.get("image") is not None}


def line_crop(line: BBox, width: int, height: int) -> BBox:
    """A text line's crop: its box with a margin of 0.15 of its height (2 px at least), within the page."""
    return pad(line, max(2, round(0.15 * (line[3] - line[1]))), width, height)


def line_pairs(page: Row, grey: Image.Image, regions: list[ReadRegion], options: PairOptions,
               cut: Cut | None = None) -> list[Row]:
    """One pair per text line read with at least `line_min_confidence`: the line's crop and its text."""
    pairs = []
    for read in regions:
        for line in read.lines:
            if line.confidence < options.line_min_confidence or len(line.text.replace(" ", "")) < 2:
                continue
            box = line_crop(line.bbox, grey.width, grey.height)
            identity = pair_id(page["page_id"], "line", box)
            data, width, height = (cut or {}).get(identity) or encode(grey, box, "png")
            pairs.append({"pair_id": identity, "kind": "line", "bbox": list(box),
                          "image": data, "image_format": "png", "width": width, "height": height,
                          "text": line.text, "alignment": {"method": "ocr", "score": line.confidence},
                          "script": read.script, "lang": read.lang, "ocr_confidence": line.confidence})
    return pairs
