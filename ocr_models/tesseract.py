"""TesseractEngine: script detection and recognition with Tesseract models loaded once per process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ocr_models import _tesserocr as tess
from ocr_models.errors import MissingDependencyError
from ocr_models.regions import LINE_MIN_IN, halves, ink_bands, lines_run_vertically
from ocr_models.scripts import BY_CODE, Script, letter_counts, script_for_osd_label
from ocr_models.types import BBox, OcrLine, OcrPage, PageImage, ScriptGuess

DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"
PSM_AUTO, PSM_SINGLE_BLOCK, PSM_SINGLE_LINE, PSM_SPARSE_TEXT, PSM_OSD_ONLY = 3, 6, 7, 11, 0
RECENT_SCRIPTS = 2
MIN_LETTER_SHARE = 0.6  # of a reading's visible characters, below which its trial score is scaled down
MISSED_LINE_MIN_CONFIDENCE = 50  # a line the page reading left out is kept when read at least this surely
TIE_MARGIN = 0.01  # trial scores this close are a tie, broken by reading more lines
TIE_LINES = 6
MISSED_LINE_SPLITS = 3  # times a left-out line that reads as nothing is halved again (at most 8 pieces)


class Reading(NamedTuple):
    """What detection made of a page turned one way: its script (None: no line found), the trial score, how
    the script was decided and the clockwise turn that makes the page upright."""

    script: Script | None
    score: float
    method: str
    rotation: int


class TesseractOptions(BaseModel):
    """Options of the Tesseract engine (and nothing else)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tesseract"] = "tesseract"
    tessdata_dir: str | None = Field(
        None, description="Folder of .traineddata models; default: $TESSDATA_PREFIX, else Debian's folder.")
    page_segmentation_mode: int = Field(PSM_AUTO, ge=0, le=13,
                                        description="Tesseract page segmentation mode for whole pages.")
    psm_by_script: dict[str, int] = Field(
        default_factory=lambda: {"Mymr": 11, "Khmr": 11, "Guru": 11},
        description="Page segmentation mode per ISO 15924 script where mode 3 splits or drops lines. "
                    "Measured CER on generated pages, mode 3 -> 11: Myanmar 0.79 -> 0.04, Khmer 0.33 -> 0.003, "
                    "Gurmukhi 0.07 -> 0.0.")
    models: dict[str, str] = Field(
        default_factory=dict,
        description="Model to use per script instead of the table's default, e.g. {Deva: hin}.")
    reread_below_confidence: float = Field(
        0.9, ge=0, le=1, description="Re-read a page as one block of text (mode 6) when the first reading's "
                                     "mean character confidence is below this, and keep the better reading.")
    timeout_s: float = Field(120.0, gt=0, description="Longest time Tesseract may spend on one page.")
    osd_min_confidence: float = Field(
        10.0, ge=0, description="Trust Tesseract OSD's script when its confidence reaches this; below, "
                                "the script is decided by trial recognition of a few lines.")
    rotate_min_confidence: float = Field(
        0.0, ge=0, description="Consider OSD's proposed turn of a page when its orientation confidence reaches "
                               "this; the page is turned only if its script's model reads it better turned.")
    trial_lines: int = Field(2, ge=1, le=10, description="Text lines read per candidate script in trials.")
    trial_accept_score: float = Field(
        0.99, gt=0, description="Calibrated trial score at which a proposed script (the last page's, then "
                                "OSD's guess) is accepted without trying the other candidates.")

    def resolved_tessdata_dir(self) -> str:
        return self.tessdata_dir or os.environ.get("TESSDATA_PREFIX") or DEBIAN_TESSDATA

    def model_for(self, script: Script, languages: Sequence[str] = ()) -> str:
        return "+".join(languages) if languages else self.models.get(script.code, script.model)


class TesseractEngine:
    """`OcrEngine` over Tesseract 5 through tesserocr; one instance per worker process."""

    name = "tesseract"

    def __init__(self, options: TesseractOptions | None = None) -> None:
        self.options = options or TesseractOptions()
        tessdata = self.options.resolved_tessdata_dir()
        if not Path(tessdata).is_dir():
            raise MissingDependencyError(f"Tesseract model folder {tessdata} does not exist "
                                         "(apt-get install tesseract-ocr, or set tesseract.tessdata_dir)")
        self._apis = tess.TesseractApis(tessdata)
        self._recent: list[Script] = []  # scripts of the last pages read, most recent first

    def version(self) -> str:
        return tess.version()

    def close(self) -> None:
        self._apis.close()

    # --- recognition ------------------------------------------------------------------------------------
    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = ()) -> OcrPage:
        model = self.options.model_for(script, languages)
        psm = self.options.psm_by_script.get(script.code, self.options.page_segmentation_mode)
        text, lines, confidence = self._read(image, model, psm)
        if confidence < self.options.reread_below_confidence and psm != PSM_SINGLE_BLOCK:
            # Tesseract's page layout sometimes calls a legible page empty, or splits its lines into
            # fragments; read as one uniform block of text too, and keep the more confident reading.
            again = self._read(image, model, PSM_SINGLE_BLOCK)
            if again[2] > confidence:
                text, lines, confidence = again
        missed = [band for band in ink_bands(image) if not any(_shares_rows(band, line.bbox) for line in lines)]
        if missed:
            found = self._read_missed(image, model, missed)
            if found:
                lines = sorted([*lines, *found], key=lambda line: line.bbox[1])
                text = "\n".join(line.text for line in lines)
        return OcrPage(text=text.strip(), confidence=round(confidence, 4), model=model, lines=lines)

    def _read_missed(self, image: PageImage, model: str, bands: list[BBox]) -> list[OcrLine]:
        """Lines of ink the reading left out, read one by one. Tesseract drops some lines whole (a Bengali
        line it reads in two halves but not at once; Gurmukhi lines it reads as nothing): a line that reads
        as nothing is read again in halves, split at the blank nearest the middle, and so on twice more."""
        api = self._apis.api(model, PSM_SINGLE_LINE)
        tess.set_image(api, image)
        found = []
        def read(box: BBox, splits: int) -> list[tess.LineText]:
            line = tess.read_region(api, box, self.options.timeout_s)
            if line.text.strip() or not splits or box[2] - box[0] < 2 * (box[3] - box[1]):
                return [line]  # read, or too short to halve: a piece narrower than the line is tall
            return [part for half in halves(image, box) for part in read(half, splits - 1)]

        for band in bands:
            kept = [r for r in read(band, MISSED_LINE_SPLITS) if r.text.strip()
                    and r.confidence >= MISSED_LINE_MIN_CONFIDENCE and letter_counts(r.text)]
            if kept:
                found.append(OcrLine(" ".join(r.text.strip() for r in kept), band,
                                     round(min(r.confidence for r in kept) / 100, 4)))
        return found

    def reading_score(self, page: OcrPage, script: Script) -> float:
        """How well a reading fits `script`, calibrated like trial scores: about 1 for a good reading."""
        return _purity_weighted(tess.LineText(page.text, page.confidence * 100), script) / script.typical_confidence

    def _read(self, image: PageImage, model: str, psm: int) -> tuple[str, list, float]:
        api = self._apis.api(model, psm)
        tess.set_image(api, image)
        return tess.recognize(api, self.options.timeout_s)

    # --- script detection -------------------------------------------------------------------------------
    def recent_script(self, candidates: Sequence[Script]) -> Script | None:
        """The script this engine decided last among `candidates` (None before the first page)."""
        return next((s for s in self._recent if s in candidates), None)

    def read_as(self, image: PageImage, script: Script, candidates: Sequence[Script],
                languages: Sequence[str] = ()) -> tuple[ScriptGuess, OcrPage] | None:
        """`image` read with `script`'s model, when that reading proves the script: its calibrated score reaches
        `trial_accept_score` and no confusable rival among `candidates` reads the widest lines better. None
        otherwise, and the caller detects the script as usual.

        Detection's first trial reads two lines with the last page's script, and then the region is read whole
        with that script anyway: reading it whole first, and judging that reading by the same score, spares
        the trial on every page and region of a run in one script (about a fifth of the OCR stage's time)."""
        page = self.recognize(image, script, languages)
        score = self.reading_score(page, script)
        if score < self.options.trial_accept_score:
            return None
        rivals = _rivals(script, candidates)
        if rivals:
            lines = self._widest_lines(image, script.model)
            scores = {s.code: self._trial_score(image, lines, s) for s in (script, *rivals)}
            if self._closer_look(image, [script, *rivals], scores) is not script:
                return None
        return self._decided(script, score, "recent", 0), page

    def detect_script(self, image: PageImage, candidates: Sequence[Script], page: bool = True) -> ScriptGuess:
        """The script of the last pages is tried first; OSD and trial recognition decide when it fails.

        Archives run in one script for pages on end, so the script this engine read last is tried on the
        widest lines before anything else: a calibrated score of at least `trial_accept_score` (its confusable
        rivals scoring less) is the answer, and OSD, a third of detection's time, is not run. A page in
        another script, or turned (its lines read as garbage), fails that trial and goes on to OSD, which
        finds the orientation and proposes a script. OSD is fast but silent or wrong on many Indic and
        South-East Asian scripts (it calls Oriya "Latin" and Myanmar "Arabic"), so its guess is only tried
        first; when no proposal is accepted, every candidate's model reads the lines and the best score wins.

        Orientation: a page whose ink runs in columns of lines (fed sideways) is read turned both quarter
        ways, and the better reading wins; a page no script reads well enough to accept, that OSD did not
        turn, is read upside down too (OSD is silent on many turned Indic pages). Only a `page` (or its main
        text) is checked for being turned: a region of a page is upright when its page is.
        """
        if len(candidates) == 1:
            return ScriptGuess(candidates[0].code, 1.0, "hint")
        last, tried, lines = self.recent_script(candidates), None, []
        if last is not None and (lines := self._widest_lines(image, last.model)):
            found = self._accepted(image, lines, last, "recent", candidates, {})
            if found is not None:
                return self._decided(*found, 0)
            tried = last
        if page and lines_run_vertically(image):
            tries = [self._detect_turned(image, turn, candidates, None, [], page) for turn in (90, 270)]
        else:
            tries = [self._detect_turned(image, 0, candidates, tried, lines, page)]
            first = tries[0]
            if page and first.rotation == 0 and (first.script is None
                                                 or first.score < self.options.trial_accept_score):
                tries.append(self._detect_turned(image, 180, candidates, None, [], page))
        script, score, method, rotation = max(tries, key=lambda t: t.score)
        if script is None:
            return ScriptGuess(None, 0.0, "trial", rotation)
        return self._decided(script, score, method, rotation)

    def _detect_turned(self, image: PageImage, turn: int, candidates: Sequence[Script], tried: Script | None,
                       lines: list, page: bool) -> Reading:
        """OSD's proposal and the trials on the page turned `turn` degrees.
        `tried` failed its trial on `lines` of the page as scanned (turn 0)."""
        image = rotate(image, turn)
        rotation, osd_guess = 0, None
        osd = self._osd(image)
        if osd is not None:
            label, confidence, degrees, orient_conf = osd
            script = script_for_osd_label(label)
            if script in candidates and confidence >= self.options.osd_min_confidence:
                osd_guess = script
            if page and degrees and orient_conf >= self.options.rotate_min_confidence:
                # OSD's orientation confidence says little: 2-8 on Indic pages it turns right, 11-14 on upright
                # Myanmar pages it calls Arabic and upside down. The script's model reading both ways decides.
                # OSD's label serves here even when too unsure to propose the script (Devanagari at 2)
                judge = script if script in candidates else tried or candidates[0]
                rotation = self._better_orientation(image, degrees, judge)
        upright = rotate(image, rotation)
        total = (turn + rotation) % 360
        proposals = [(osd_guess, "osd")] if osd_guess else []
        failed = tried if rotation == 0 else None  # failed its trial above, on these very pixels
        proposals += [(s, "recent") for s in self._recent if s in candidates and s not in (osd_guess, failed)]
        if rotation or not tried:  # the lines found above serve again (finding them does not depend on the model)
            lines = self._widest_lines(upright, (proposals[0][0] if proposals else candidates[0]).model)
        if not lines:
            return Reading(None, 0.0, "trial", total)
        scores: dict[str, float] = {}
        for script, method in proposals:
            found = self._accepted(upright, lines, script, method, candidates, scores)
            if found is not None:
                return Reading(*found, total)
        for script in candidates:
            if script.code not in scores:
                scores[script.code] = self._trial_score(upright, lines, script)
        best = self._closer_look(upright, [BY_CODE[code] for code in scores], scores)
        return Reading(best, scores[best.code], "trial", total)

    def _accepted(self, image: PageImage, lines: list, script: Script, method: str,
                  candidates: Sequence[Script], scores: dict[str, float]) -> tuple[Script, float, str] | None:
        """`script` (or a confusable rival that reads the lines better) with its score and method when its
        trial reaches `trial_accept_score`; None otherwise. Trial scores are kept in `scores`."""
        if script.code not in scores:
            scores[script.code] = self._trial_score(image, lines, script)
        if scores[script.code] < self.options.trial_accept_score:
            return None
        rivals = _rivals(script, candidates)
        for rival in rivals:
            scores[rival.code] = self._trial_score(image, lines, rival)
        best = self._closer_look(image, [script, *rivals], scores)
        return best, scores[best.code], method if best is script else "trial"

    def _closer_look(self, image: PageImage, rivals: list[Script], scores: dict[str, float]) -> Script:
        """The best of `rivals` by their scores; when the best two are within TIE_MARGIN (Thai and Lao on a
        skewed page: 0.989 and 0.988), both read more lines and the new scores decide."""
        ranked = sorted(rivals, key=lambda s: scores[s.code], reverse=True)
        if len(ranked) < 2 or scores[ranked[0].code] - scores[ranked[1].code] >= TIE_MARGIN:
            return ranked[0]
        more = self._widest_lines(image, ranked[0].model, TIE_LINES)
        for script in ranked[:2]:
            scores[script.code] = self._trial_score(image, more, script)
        return max(ranked[:2], key=lambda s: scores[s.code])

    def _decided(self, script: Script, score: float, method: str, rotation: int) -> ScriptGuess:
        self._recent = [script, *[s for s in self._recent if s is not script][:RECENT_SCRIPTS - 1]]
        return ScriptGuess(script.code, round(min(1.0, score), 4), method, rotation)

    def _better_orientation(self, image: PageImage, degrees: int, script: Script) -> int:
        """`degrees` when `script`'s model reads the page's widest lines turned by it well enough to accept the
        script (`trial_accept_score`) and better than as scanned; else 0. Models read text upside down with
        high confidence too (Malayalam 0.94, Thai 0.98 against 1.0 turned right), so only an accepted reading
        turns a page: a wrong script (OSD calls Myanmar Arabic, and upside down) reads neither way that well."""
        scores = []
        for turn in (0, degrees):
            turned = rotate(image, turn)
            lines = self._widest_lines(turned, script.model)
            scores.append(self._trial_score(turned, lines, script) if lines else 0.0)
        return degrees if scores[1] > scores[0] and scores[1] >= self.options.trial_accept_score else 0

    def _osd(self, image: PageImage) -> tuple[str, float, int, float] | None:
        api = self._apis.api("osd", PSM_OSD_ONLY)
        tess.set_image(api, image)
        return tess.detect_orientation_script(api)

    def _trial_score(self, image: PageImage, lines: list, script: Script) -> float:
        """How well `script`'s model reads `lines`: symbol confidence x script purity / typical confidence."""
        api = self._apis.api(self.options.model_for(script), PSM_SINGLE_LINE)
        tess.set_image(api, image)
        reads = [tess.read_region(api, box, self.options.timeout_s) for box in lines]
        # A line read as nothing is no evidence either way (the Gurmukhi model returns nothing for some
        # Gurmukhi lines; wrong models return garbage, not silence): score the lines that were read.
        per_line = [_purity_weighted(read, script) for read in reads if read.text.strip()]
        return sum(per_line) / len(per_line) / script.typical_confidence if per_line else 0.0

    def line_boxes(self, image: PageImage) -> list:
        """Boxes of the text lines Tesseract's layout analysis finds (sparse-text mode; nothing is read)."""
        api = self._apis.api("osd", PSM_SPARSE_TEXT)
        tess.set_image(api, image)
        return tess.text_lines(api)

    def _widest_lines(self, image: PageImage, model: str, count: int | None = None) -> list:
        # sparse-text mode: mode 3 cuts Myanmar and Khmer lines into fragments
        for psm in (PSM_SPARSE_TEXT, PSM_SINGLE_BLOCK):
            layout = self._apis.api(model, psm)
            tess.set_image(layout, image)
            found = tess.text_lines(layout)
            # a sliver of a line cut by the crop's edge, or a speck, reads as garbage: no fair trial either
            whole = [b for b in found if b[1] > 0 and b[3] < image.height and b[3] - b[1] >= LINE_MIN_IN * image.dpi]
            lines = whole or found
            if lines:
                # a "line" much taller than the others is lines run together (or a picture): no fair trial
                usual = sorted(b[3] - b[1] for b in lines)[len(lines) // 2]
                single = [b for b in lines if b[3] - b[1] <= 2.5 * usual]
                return sorted(single, key=lambda b: b[0] - b[2])[: count or self.options.trial_lines]
        return []


def _rivals(script: Script, candidates: Sequence[Script]) -> list[Script]:
    """The candidates `script` is known to be confused with: a proposal must read better than these."""
    return [BY_CODE[c] for c in script.confusable if BY_CODE[c] in candidates]


def _purity_weighted(line: tess.LineText, script: Script) -> float:
    """Confidence x the share of letters in `script`, scaled down when letters are not most of the reading.

    A wrong model often reads digits and brackets (Myanmar reads Tamil as Myanmar digits): a few letters, all
    of its script, would give perfect purity. Real text is mostly letters.
    """
    counts = letter_counts(line.text)
    letters = sum(counts.values())
    if not letters:
        return 0.0
    visible = sum(1 for char in line.text if not char.isspace())
    letter_share = min(1.0, letters / visible / MIN_LETTER_SHARE)
    return line.confidence * counts[script.code] / letters * letter_share


def _shares_rows(band: BBox, line: BBox) -> bool:
    """Whether a line read covers at least half the rows of a band of ink."""
    return min(band[3], line[3]) - max(band[1], line[1]) >= 0.5 * (band[3] - band[1])


def rotate(image: PageImage, degrees: int) -> PageImage:
    """Turn the page `degrees` clockwise (OSD reports the clockwise rotation that makes it upright)."""
    if degrees % 360 == 0:
        return image
    turns = (degrees // 90) % 4
    return PageImage(np.ascontiguousarray(np.rot90(image.pixels, k=-turns)), image.dpi)

