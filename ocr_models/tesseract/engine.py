"""TesseractEngine: script detection and recognition with Tesseract models loaded once per process."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ocr_models.geometry.boxes import crop, rotate
from ocr_models.geometry.ink import LINE_MIN_IN, halves, ink_bands, lines_run_vertically
from ocr_models.language_id import language_id
from ocr_models.lontar_errors import MissingDependencyError
from ocr_models.scripts import BY_CODE, Script, script_for_osd_label
from ocr_models.steps import FIND_LINES, FOREIGN, MISSED_LINES, OSD, READ, REREAD, TRIAL, Steps
from ocr_models.tesseract import tesserocr_api as tess
from ocr_models.tesseract.evidence import estimated_accuracy, evidence_level, purity, purity_weighted
from ocr_models.types import BBox, OcrLine, OcrPage, PageImage, ScriptGuess

DEBIAN_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"
PSM_AUTO, PSM_SINGLE_BLOCK, PSM_SINGLE_LINE, PSM_SPARSE_TEXT, PSM_OSD_ONLY = 3, 6, 7, 11, 0
TIE_MARGIN = 0.01  # trial scores this close are a tie, broken by reading more lines
TIE_LINES = 6
WORDS_INFORMATIVE = 30  # points between a model's word floor and its typical level for its words to rule it out
MISSED_LINE_SPLITS = 3  # times a left-out line that reads as nothing is halved again (at most 8 pieces)
MISSED_LINE_READS = 8  # line readings a page may spend on lines left out: the work stays bounded


class TesseractRouteOptions(BaseModel):
    """Read the route's scripts with Tesseract (the default); its options are the `tesseract` section's."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["tesseract"] = "tesseract"


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
    try_first: dict[str, str] = Field(
        default_factory=lambda: {"Latn": "eng"},
        description="Model a script's page (or region) is read with first, when no --langs hint and no `models` "
                    "entry names the script's model: the reading is kept when it proves the script and language "
                    "identification names its text as that model's language (`try_first_confidence`), else it "
                    "is read again with the script's model. Real English receipts: `eng` reads them at CER "
                    "0.280 in 8.9 s, eng+vie at 0.288 in 14.2 s; Vietnamese read with `eng` is named Vietnamese "
                    "and read again (docs/accuracy.md, \"Real scans\").")
    try_first_confidence: float = Field(
        0.0, ge=0, le=1, description="Language confidence from which a `try_first` reading is kept; 0: whenever "
                                     "its model's language is the likeliest. Receipts read with `eng` are named "
                                     "English at 0.39-0.84: at 0.5, two of 14 real ones were read twice for "
                                     "nothing (docs/accuracy.md).")
    reread_below_confidence: float = Field(
        0.5, ge=0, le=1, description="Re-read a page as one block of text (mode 6) when the first reading's "
                                     "confidence (estimated share of characters right) is below this, and keep "
                                     "the better reading.")
    timeout_s: float = Field(120.0, gt=0, description="Longest time Tesseract may spend on one page.")
    osd_min_confidence: float = Field(
        0.0, ge=0, description="OSD's script confidence from which its script is proposed (the page's reading "
                               "must prove a proposal, so any is worth trying: OSD named real Latin receipts "
                               "right at 0.2-5); trials can overturn it only by `osd_margin`.")
    osd_characters: int = Field(
        20, ge=1, description="Characters OSD classifies before it may stop (Tesseract's `min_characters_to_try`; "
                              "it stops by 5 x this): its own default, 50, costs twice the CPU (17.7 against "
                              "9.9 s on the 51 real scans) for one more page named right by OSD alone; the "
                              "reading proves or overturns OSD, and names all 51 either way (docs/accuracy.md).")
    osd_margin: float = Field(
        0.02, ge=0, description="Calibrated trial score by which another script (or another orientation) must "
                               "beat OSD's proposal (or the page as scanned) to be chosen instead.")
    rotate_min_confidence: float = Field(
        0.0, ge=0, description="Consider OSD's proposed turn of a page when its orientation confidence reaches "
                               "this; the page is turned only if its script's model reads it better turned.")
    trial_accept_score: float = Field(
        0.99, gt=0, description="Calibrated trial score at which letters alone are sure: a turn is taken on it "
                                "(as on words that prove the script), and a page whose best trial is below it "
                                "gets one more round of trials upside down.")
    trial_lines: int = Field(2, ge=1, le=10, description="Text lines read per candidate script in trials.")
    proof_margin: float = Field(
        10.0, ge=0, description="Word evidence (purity x mean word confidence, 0-100) above the floor of the "
                                "proposed script's model (`Script.words`) at which a whole-page reading proves "
                                "the script, and no trials run.")

    def resolved_tessdata_dir(self) -> str:
        return self.tessdata_dir or os.environ.get("TESSDATA_PREFIX") or DEBIAN_TESSDATA

    def model_for(self, script: Script, languages: Sequence[str] = ()) -> str:
        return "+".join(languages) if languages else self.models.get(script.code, script.model)

    def psm_for(self, script: Script) -> int:
        """The page segmentation mode for whole pages (and regions) of `script`."""
        return self.psm_by_script.get(script.code, self.page_segmentation_mode)

    def first_model(self, script: Script, languages: Sequence[str] = ()) -> str | None:
        """The model to try before the script's own (`try_first`), if any."""
        if languages or script.code in self.models:
            return None
        first = self.try_first.get(script.code)
        return first if first != script.model else None


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
        self.steps = Steps()  # what the engine did since the stage last took them: calls and CPU seconds
        if self.options.try_first:  # the models that judge a try_first reading load with the engine (~2 s),
            _ = language_id().naive_bayes  # a fixed cost of the worker, not of its first Latin page

    def version(self) -> str:
        return tess.version()

    def close(self) -> None:
        self._apis.close()

    # --- recognition ------------------------------------------------------------------------------------
    def recognize(self, image: PageImage, script: Script, languages: Sequence[str] = (),
                  areas: Sequence[BBox] | None = None) -> OcrPage:
        """The image read whole with `script`'s model, Tesseract's own page segmentation deciding blocks, columns
        and line order (as the CLI does), and lines of ink it left out read on their own (looked for within
        each of `areas`, the text regions, or the whole image). The page's and each line's `confidence`
        estimate the share of characters read right (`estimated_accuracy`); `evidence` says how surely the
        text is in `script`."""
        model = self.options.model_for(script, languages)
        psm = self.options.psm_for(script)
        first = self.options.first_model(script, languages)
        with self.steps.timed(READ):
            page = self._read(image, first or model, psm, script)
        # kept only when it also proves the script: a receipt read by `eng` that proves nothing sent the page to
        # trials, which named it Myanmar; `eng+vie` reads it as Latin that proves it
        if first and not (self.proves(page, script) and self._named_as(page, first, script)):
            with self.steps.timed(READ):
                page = self._read(image, model, psm, script)
        model = page.model
        if page.confidence < self.options.reread_below_confidence and psm != PSM_SINGLE_BLOCK:
            # Tesseract's page layout sometimes calls a legible page empty, or splits its lines into
            # fragments; read as one uniform block of text too, and keep the more confident reading.
            with self.steps.timed(REREAD):
                again = self._read(image, model, PSM_SINGLE_BLOCK, script)
            if again.confidence > page.confidence:
                page = again
        bands = [(b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0) for x0, y0, x1, y1 in areas or [(0, 0, image.width,
                 image.height)] for b in ink_bands(crop(image, (x0, y0, x1, y1)))]
        missed = [gap for band in bands for gap in _uncovered(band, [ln.bbox for ln in page.lines])]
        if missed:
            with self.steps.timed(MISSED_LINES):
                found = self._read_missed(image, model, missed, script)
            if found:
                lines = _placed(page.lines, found)
                page = OcrPage("\n".join(line.text for line in lines), page.confidence, model, lines, page.evidence)
        return page

    def read_once(self, image: PageImage, script: Script, languages: Sequence[str] = ()) -> OcrPage:
        """One reading of `image` with `script`'s first model (`try_first`), else its own (or `languages`'):
        a region of a page in another script tried in `script`. A first model's reading that proves `script`
        but is not named in that model's language is read again with the script's own (an English model's
        guess at a Vietnamese caption); nothing else: no block re-reading, no left-out lines (a region in
        another script would pay each of them: 3 readings of a Sanskrit page's body tried in Latin)."""
        psm = self.options.psm_for(script)
        first, model = self.options.first_model(script, languages), self.options.model_for(script, languages)
        with self.steps.timed(FOREIGN):
            page = self._read(image, first or model, psm, script)
        if first and self.proves(page, script) and not self._named_as(page, first, script):
            with self.steps.timed(FOREIGN):
                page = self._read(image, model, psm, script)
        return page

    def read_line(self, image: PageImage, script: Script) -> str:
        """The image read as one line of text with `script`'s model (a quick trial, nothing more)."""
        api = self._apis.api(self.options.model_for(script), PSM_SINGLE_LINE)
        tess.set_image(api, image)
        return tess.read_region(api, (0, 0, image.width, image.height), self.options.timeout_s).text.strip()

    def model_for(self, script: Script, languages: Sequence[str] = ()) -> str:
        return self.options.model_for(script, languages)

    def orders_lines(self, script: Script) -> bool:
        """Sparse-text mode (Myanmar, Khmer, Gurmukhi) has no reading order of its own."""
        return self.options.psm_for(script) != PSM_SPARSE_TEXT

    def certainty(self, page: OcrPage, script: Script) -> float:
        """The reading's evidence placed between the script's model's floor and typical level, 0-1."""
        return round(min(1.0, max(0.0, evidence_level(page.evidence, script))), 4)

    def proves(self, page: OcrPage, script: Script) -> bool:
        """Whether a reading shows that the page is in `script`: its evidence clears the floor under which the
        script's model reads other scripts (`Script.words`) by `proof_margin`."""
        return page.evidence >= script.words[0] + self.options.proof_margin

    def _read_missed(self, image: PageImage, model: str, bands: list[BBox], script: Script) -> list[OcrLine]:
        """Lines of ink the reading left out, read one by one. Tesseract drops some lines whole (a Bengali
        line it reads in two halves but not at once; Gurmukhi lines it reads as nothing): a line that reads
        as nothing is read again in halves, split at the blank nearest the middle, and so on twice more; at
        most MISSED_LINE_READS readings a page in all."""
        api = self._apis.api(model, PSM_SINGLE_LINE)
        tess.set_image(api, image)
        found, budget = [], [MISSED_LINE_READS]

        def read(box: BBox, splits: int) -> list[tess.LineText]:
            budget[0] -= 1
            line = tess.read_region(api, box, self.options.timeout_s, with_words=True)
            if line.text.strip() or not splits or box[2] - box[0] < 2 * (box[3] - box[1]) or budget[0] < 2:
                return [line]  # read, or too short to halve: a piece narrower than the line is tall
            return [part for half in halves(image, box) for part in read(half, splits - 1)]

        for band in bands:
            if budget[0] <= 0:
                break
            # kept only when its words prove the script, as a page's must: on real pages, ink left out is
            # mostly page edges, rules and pictures, which models read as confident letters
            proof = script.words[0] + self.options.proof_margin
            kept = [r for r in read(band, MISSED_LINE_SPLITS)
                    if r.text.strip() and r.words * purity(r.text, script) >= proof]
            if kept:
                text = " ".join(r.text.strip() for r in kept)
                words = min(r.words * purity(r.text, script) for r in kept)
                found.append(OcrLine(text, band, estimated_accuracy(words, script),
                                     tuple(word for r in kept for word in r.word_boxes)))
        return found

    def _named_as(self, page: OcrPage, model: str, script: Script) -> bool:
        """Whether language identification names the reading's text as one of `model`'s languages."""
        guess = language_id().identify(page.text, script.code)
        return guess.language in model.split("+") and (guess.confidence or 0.0) >= self.options.try_first_confidence

    def _read(self, image: PageImage, model: str, psm: int, script: Script) -> OcrPage:
        api = self._apis.api(model, psm)
        tess.set_image(api, image)
        text, lines, words = tess.recognize(api, self.options.timeout_s)
        evidence = words * 100 * purity(text, script)
        lines = [replace(ln, confidence=estimated_accuracy(ln.confidence * 100 * purity(ln.text, script), script))
                 for ln in lines]
        return OcrPage(text.strip(), estimated_accuracy(evidence, script), model, lines, round(evidence, 2))

    # --- script detection -------------------------------------------------------------------------------
    def propose(self, image: PageImage, candidates: Sequence[Script]) -> ScriptGuess:
        """OSD's script for the page (None when it names none of `candidates` with `osd_min_confidence`) and
        the clockwise turn that makes the page upright. One OSD call; a page whose ink runs in columns of lines
        (fed sideways) is turned a quarter first; a turn OSD proposes is taken only when the proposed script's
        model reads the widest lines turned better than as scanned."""
        if len(candidates) == 1:
            return ScriptGuess(candidates[0].code, 1.0, "hint")
        turn = 90 if lines_run_vertically(image) else 0
        turned = rotate(image, turn)
        osd = self._osd(turned)
        if osd is None:
            return ScriptGuess(None, 0.0, "osd", turn)
        label, confidence, degrees, orient_conf = osd
        script = script_for_osd_label(label)
        proposal = script if script in candidates and confidence >= self.options.osd_min_confidence else None
        # OSD's orientation confidence says little (2-8 on Indic pages it turns right, 0.5-1.6 on upright
        # receipts it calls upside down): the script's model reading both ways decides.
        judge = script if script in candidates else candidates[0]
        if turn:  # sideways: a quarter turn one way, or the other
            turn = (turn + self._better_orientation(turned, degrees or 180, judge)) % 360
        elif degrees and orient_conf >= self.options.rotate_min_confidence:
            turn = self._better_orientation(turned, degrees, judge)
        return ScriptGuess(proposal.code if proposal else None, round(min(1.0, confidence / 100), 4), "osd", turn)

    def detect_script(self, image: PageImage, candidates: Sequence[Script], proposal: Script | None = None
                      ) -> ScriptGuess:
        """The script of an upright image by one round of trials: every candidate's model reads the same widest
        lines (`trial_lines`) and the best calibrated score wins, except that `proposal` (OSD's script) stands
        unless another beats it by `osd_margin`, and a confusable rival (Thai and Lao) is decided by reading
        more lines once. Symbol confidences rank the candidates (Lao's and Khmer's models give low word
        confidences even on their own script); on real pages, OSD's proposal held where trial scores alone
        called a receipt Thai (0.943 against Latin 0.939). A model whose words stay under its floor
        (`Script.words`) on the lines cannot win, unless its words are uninformative (WORDS_INFORMATIVE) or it
        is the confusable rival of one that can. A page
        whose best score is poor (`trial_accept_score`) has one more round of trials upside down (OSD is silent
        on many turned Indic pages), which turns it only when its letters read better and its winner is sure.
        Two rounds at most."""
        if len(candidates) == 1:
            return ScriptGuess(candidates[0].code, 1.0, "hint")
        best, score, _, method = self._trial_round(image, candidates, proposal)
        rotation = 0
        if best is not None and score < self.options.trial_accept_score:
            turned = self._trial_round(rotate(image, 180), candidates, None)
            if turned[0] is not None and turned[1] > score + self.options.osd_margin and self._sure(*turned[:3]):
                (best, score, _, method), rotation = turned, 180
        if best is None:
            return ScriptGuess(None, 0.0, "trial")
        return ScriptGuess(best.code, round(min(1.0, score), 4), method, rotation)

    def _trial_round(self, image: PageImage, candidates: Sequence[Script], proposal: Script | None
                     ) -> tuple[Script | None, float, float, str]:
        """(script, letters score, words score, method) from one reading of the widest lines by every
        candidate's model."""
        lines = self._widest_lines(image, (proposal or candidates[0]).model)
        if not lines:
            return None, 0.0, 0.0, "trial"
        trials = {script.code: self._trial(image, lines, script) for script in candidates}
        scores = {code: trial[0] for code, trial in trials.items()}
        # a model whose words on the lines stay under its floor reads garbage, however sure its letters; that
        # says something only of models whose own script reads well above their floor (Khmer's reads its own
        # lines at 15-58 against a floor of 36, Lao's at 18-36 against 33)
        eligible = [s for s in candidates if trials[s.code][1] >= s.words[0]
                    or s.words[1] - s.words[0] < WORDS_INFORMATIVE] or list(candidates)
        best = max(eligible, key=lambda s: scores[s.code])
        rivals = [best, *_rivals(best, candidates)]  # confusable scripts: decided by reading more lines
        method = "trial"
        if proposal is not None and proposal not in rivals \
                and scores[best.code] - scores[proposal.code] < self.options.osd_margin:
            best, method = proposal, "osd"
            rivals = [best, *_rivals(best, candidates)]
        if len(rivals) > 1:
            chosen = self._closer_look(image, rivals, scores)
            if chosen is not best:
                best, method = chosen, "trial"
        return best, scores[best.code], trials[best.code][1], method if best is not proposal else "osd"

    def _closer_look(self, image: PageImage, rivals: list[Script], scores: dict[str, float]) -> Script:
        """The best of `rivals` by their scores; when the best two are within TIE_MARGIN (Thai and Lao on a
        skewed page: 0.989 and 0.988), both read more lines once and the new scores decide."""
        ranked = sorted(rivals, key=lambda s: scores[s.code], reverse=True)
        if len(ranked) < 2 or scores[ranked[0].code] - scores[ranked[1].code] >= TIE_MARGIN:
            return ranked[0]
        more = self._widest_lines(image, ranked[0].model, TIE_LINES)
        for script in ranked[:2]:
            scores[script.code] = self._trial(image, more, script)[0]
        return max(ranked[:2], key=lambda s: scores[s.code])

    def _better_orientation(self, image: PageImage, degrees: int, script: Script) -> int:
        """`degrees` when `script`'s model reads the page's widest lines turned by it better than as scanned,
        letters surer by `osd_margin` and words surer too, and the turned words prove the script (above its
        floor by `proof_margin`) or its letters are sure (`trial_accept_score`); else 0. Models read text
        upside down with confident letters (Malayalam 0.94, Thai 0.98 against 1.0 turned right; an upright
        receipt's widest lines 0.87, upside down 0.97), and OSD
        proposes turns of upright pages with a wrong script (Myanmar as Arabic, upside down, at 11-14), whose
        model reads garbage either way: only a reading that proves the script turns a page."""
        trials = []
        for turn in (0, degrees):
            turned = rotate(image, turn)
            lines = self._widest_lines(turned, script.model)
            trials.append(self._trial(turned, lines, script) if lines else (0.0, 0.0))
        (letters, words), (letters_turned, words_turned) = trials
        better = letters_turned > letters + self.options.osd_margin and words_turned > words
        return degrees if better and self._sure(script, letters_turned, words_turned) else 0

    def _sure(self, script: Script, letters: float, words: float) -> bool:
        """Whether a trial shows the lines are in `script`: their words prove it (above its floor by
        `proof_margin`) or its letters are sure (`trial_accept_score`: Lao's words prove nothing, its letters
        do). Garbage fails both: an upright receipt read upside down scores 0.97 in letters, its words none."""
        return words >= script.words[0] + self.options.proof_margin or letters >= self.options.trial_accept_score

    def _osd(self, image: PageImage) -> tuple[str, float, int, float] | None:
        with self.steps.timed(OSD):
            api = self._apis.api("osd", PSM_OSD_ONLY)
            api.SetVariable("min_characters_to_try", str(self.options.osd_characters))
            tess.set_image(api, image)
            return tess.detect_orientation_script(api)

    def _trial(self, image: PageImage, lines: list, script: Script) -> tuple[float, float]:
        """How well `script`'s model reads `lines`: (symbol confidence x script purity / typical confidence,
        mean word confidence x purity, 0-100). Letters rank scripts finely (Lao's and Khmer's models give
        low word confidences even on their own lines); words tell garbage, which letters do not."""
        with self.steps.timed(TRIAL):
            api = self._apis.api(self.options.model_for(script), PSM_SINGLE_LINE)
            tess.set_image(api, image)
            reads = [tess.read_region(api, box, self.options.timeout_s) for box in lines]
        # A line read as nothing is no evidence either way (the Gurmukhi model returns nothing for some
        # Gurmukhi lines; wrong models return garbage, not silence): score the lines that were read.
        read = [r for r in reads if r.text.strip()]
        if not read:
            return 0.0, 0.0
        letters = sum(purity_weighted(r, script) for r in read) / len(read) / script.typical_confidence
        return letters, sum(r.words * purity(r.text, script) for r in read) / len(read)

    def line_boxes(self, image: PageImage) -> list[BBox]:
        """Boxes of the text lines Tesseract's layout analysis finds (sparse-text mode; nothing is read)."""
        with self.steps.timed(FIND_LINES):
            api = self._apis.api("osd", PSM_SPARSE_TEXT)
            tess.set_image(api, image)
            return tess.text_lines(api)

    def _widest_lines(self, image: PageImage, model: str, count: int | None = None) -> list:
        # sparse-text mode: mode 3 cuts Myanmar and Khmer lines into fragments
        for psm in (PSM_SPARSE_TEXT, PSM_SINGLE_BLOCK):
            with self.steps.timed(FIND_LINES):
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


def _placed(lines: list[OcrLine], found: list[OcrLine]) -> list[OcrLine]:
    """`found` lines put among `lines` (in reading order) after the nearest line above them in the same
    column, or before the first line below them there, or at the end: a left-out line stays in its column."""
    placed = list(lines)
    for line in sorted(found, key=lambda ln: ln.bbox[1]):
        column = [i for i, other in enumerate(placed) if min(line.bbox[2], other.bbox[2]) > max(line.bbox[0],
                                                                                                 other.bbox[0])]
        above = [i for i in column if placed[i].bbox[1] < line.bbox[1]]
        below = [i for i in column if placed[i].bbox[1] >= line.bbox[1]]
        if above:
            at = max(above, key=lambda i: placed[i].bbox[1]) + 1
        elif below:
            at = min(below, key=lambda i: placed[i].bbox[1])
        else:
            at = len(placed)
        placed.insert(at, line)
    return placed


def _uncovered(band: BBox, lines: list[BBox]) -> list[BBox]:
    """The stretches of a band of ink that no line read covers, at least four line-heights wide: a line
    dropped in one column hides behind the next column's line in a band taken across both."""
    x0, y0, x1, y1 = band
    covering = sorted((ln[0], ln[2]) for ln in lines if _shares_rows(band, ln) and ln[2] > x0 and ln[0] < x1)
    gaps, start = [], x0
    for left, right in [*covering, (x1, x1)]:
        if left - start >= 4 * (y1 - y0):
            gaps.append((start, y0, left, y1))
        start = max(start, right)
    return gaps


def _shares_rows(band: BBox, line: BBox) -> bool:
    """Whether a line read covers at least half the rows of a band of ink."""
    return min(band[3], line[3]) - max(band[1], line[1]) >= 0.5 * (band[3] - band[1])
