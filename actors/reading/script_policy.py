"""How the OCR stage decides a page's script: one module, the same for every engine.

The trained script identifier proposes the page's script when it is sure (`ocr.script_id.propose_above`), from
the page's widest lines in milliseconds; else OSD (the detector's `propose`) does, and turns a page fed
sideways or upside down. The proposed script reads the page first; when that reading proves the script
(`ScriptDetector.proves`; judged on the whole page: on real book pages the layout's body boxes are fragments,
and judging only the lines inside them sent 4 of 51 pages to wrong trials) nothing more is done. Otherwise one
round of trials on the body text's widest lines picks the script (turning the page upside down if it must),
and a different one reads the page again: two readings at most, and the answer depends on this page alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ocr_models.base import Recognizer, ScriptDetector, ScriptIdentifying
from ocr_models.geometry.boxes import area, crop, rotate
from ocr_models.scripts import BY_CODE, Script
from ocr_models.steps import SCRIPT_ID
from ocr_models.types import BBox, OcrPage, PageImage, ScriptEstimate, ScriptGuess

PROPOSAL_WINDOWS = 4  # windows of text a page's script is named from, at least (a heading alone is not enough)
DISPUTED_CONFIDENCE = 0.25  # the most `ocr_confidence` a page read in another script than the identifier's
UNSEEN_SHARE = 0.05  # a script the identifier gives less than this share of a page's windows it did not see there
FOREIGN_SCRIPT = "Latn"  # what captions, tables and running heads on other scripts' pages are mostly in


def propose(grey: PageImage, identifier: ScriptIdentifying | None, detector: ScriptDetector,
            candidates: Sequence[Script]) -> tuple[ScriptGuess, ScriptEstimate | None]:
    """The page's first guess: the identifier's script when it is sure of one of `candidates` on an upright
    page; else the detector's proposal (OSD, which also turns pages fed sideways or upside down). With it,
    what the identifier saw (None: no identifier, or one candidate)."""
    estimate = None
    if identifier is not None and len(candidates) > 1:
        with detector.steps.timed(SCRIPT_ID):
            estimate = identifier.page(grey)
        if sure(estimate, identifier) and estimate.script in {s.code for s in candidates}:
            return ScriptGuess(estimate.script, estimate.confidence, "classifier"), estimate
    return detector.propose(grey, candidates), estimate


def sure(estimate: ScriptEstimate, identifier: ScriptIdentifying) -> bool:
    """The identifier names a script from enough windows of an upright page, surely enough to propose it."""
    return estimate.script is not None and estimate.upright and estimate.windows >= PROPOSAL_WINDOWS \
        and estimate.confidence >= identifier.propose_above


def disputed(estimate: ScriptEstimate | None, identifier: ScriptIdentifying | None, decided: str | None) -> bool:
    """The identifier named one script from enough windows of an upright page and the page was read in another
    (the trials overturned its proposal, or it named a script outside `candidates`), while it was sure of its
    own or saw almost none of the other (a share under UNSEEN_SHARE: an English table that trials read as Lao):
    one of the two is wrong, so the reading's confidence is capped (DISPUTED_CONFIDENCE). Neighbours it mixes
    up (Tamil and Malayalam, each with a fair share) are left to the reading."""
    if estimate is None or identifier is None or decided is None or estimate.script in (None, decided) \
            or not estimate.upright or estimate.windows < PROPOSAL_WINDOWS:
        return False
    return sure(estimate, identifier) or estimate.shares.get(decided, 0.0) < UNSEEN_SHARE


def decide_script(grey: PageImage, detector: ScriptDetector, recognizer: Recognizer, proposal: ScriptGuess,
                  candidates: Sequence[Script], hints: Mapping[str, Sequence[str]], areas: list[BBox],
                  body: list[BBox]) -> tuple[ScriptGuess, OcrPage | None]:
    """The page's script and its reading by `recognizer` (None when no script could be decided).
    `proposal`: the detector's first guess; `hints`: languages per script code; `areas`: where to look for
    lines a reading left out; `body`: the body text's regions, where trials take their lines."""
    first = BY_CODE[proposal.script] if proposal.script else None
    page = recognizer.recognize(grey, first, hints.get(first.code, ()), areas) if first else None
    if first is not None and (proposal.method == "hint" or detector.proves(page, first)):
        return ScriptGuess(first.code, detector.certainty(page, first), proposal.method), page
    main = max(body, key=area, default=None)  # trial lines from the body text, not a caption or a table
    guess = detector.detect_script(crop(grey, main) if main else grey, candidates, first)
    if guess.script is None:
        return ScriptGuess(None, 0.0, guess.method), None
    chosen = BY_CODE[guess.script]
    if chosen is first and not guess.rotation:
        return ScriptGuess(first.code, detector.certainty(page, first), guess.method), page
    # the proposal's reading proved nothing; the trials' script reads the page (word confidences cannot
    # arbitrate between two scripts' readings: Lao's model reads its own script at 18-36, Thai's Lao at 86)
    other = recognizer.recognize(rotate(grey, guess.rotation), chosen, hints.get(chosen.code, ()),
                                 None if guess.rotation else areas)
    return ScriptGuess(chosen.code, detector.certainty(other, chosen), guess.method, guess.rotation), other


def region_scripts(grey: PageImage, lines: Sequence[BBox], identifier: ScriptIdentifying | None,
                   detector: ScriptDetector, page_script: Script, candidates: Sequence[Script]) -> list[Script]:
    """The scripts a caption, table or header that the page's model read poorly is tried in, in order: the
    identifier's on its `lines`, when that is another of `candidates` (a Devanagari caption under an English
    figure; however unsure, as a line or two gives it few windows: the reading must prove it); then Latin, on a
    page of another script (captions, tables and running heads mostly are)."""
    tried: list[Script] = []
    if identifier is not None and lines:
        with detector.steps.timed(SCRIPT_ID):
            estimate = identifier.page(grey, list(lines))
        if estimate.script != page_script.code and estimate.script in {s.code for s in candidates} \
                and estimate.upright:
            tried.append(BY_CODE[estimate.script])
    latin = BY_CODE[FOREIGN_SCRIPT]
    if page_script is not latin and latin in candidates and latin not in tried:
        tried.append(latin)
    return tried
