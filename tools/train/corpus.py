#!/usr/bin/python3
"""Builds the English training corpus for AttnScope's demo models from Debian packages.

    /usr/bin/python3 tools/train/corpus.py [--out DIR]

Sources (both installed as Debian packages, licences in resources/models/README.md):
  wordnet-base  /usr/share/wordnet/data.{noun,verb,adj,adv}: one document per synset that
                 has a usable gloss: the gloss turned into a sentence ("A fold is the act of
                 folding.", "To retrain is to teach new skills.", "Accurate means ...") followed
                 by the synset's example sentences of four words or more (the double-quoted parts of the
                 gloss). Taxonomic glosses (genus, species) are left out.
  fortunes, fortunes-min  /usr/share/games/fortunes/*: entries separated by "%" lines,
                 attribution lines ("-- Author") removed, lines joined. Files that are not
                 plain prose (ascii-art, perl, translate-me, zippy) or are jokes about groups of
                 people (ethnic, men-women) are skipped; so is the offensive off/ folder.
                 Entries that look like code, chat logs, tables or shouting are dropped.
Whitespace is normalised (one space, no newlines inside a document), exact duplicates removed.
A seeded shuffle holds out a fixed 2% of the documents as validation text.

build() is deterministic; the training scripts call it directly (it takes a few seconds), so
no generated file needs to live in the repository. --out writes train.txt / valid.txt (one
document per line) for inspection.
"""
import argparse
import random
import re
import sys
from pathlib import Path

WORDNET_DIR = Path("/usr/share/wordnet")
FORTUNE_DIR = Path("/usr/share/games/fortunes")
SEED = 20240601
VALID_FRACTION = 0.02

# Not prose, not English, or jokes aimed at groups of people.
SKIPPED_FORTUNE_FILES = {"ascii-art", "perl", "translate-me", "zippy", "ethnic", "men-women"}
# Taxonomic synsets ("genus Felis") read as Latin lists, not English.
TAXON_PREFIXES = ("genus ", "family ", "order ", "class ", "phylum ", "subfamily ", "suborder ",
                  "superfamily ", "subclass ", "subphylum ", "division ", "subgenus ", "tribe ",
                  "superorder ", "infraorder ", "kingdom ", "subkingdom ", "superclass ")
CODE_CHARS = set("{}<>|\\_=#@$^~`[]*+")
SENTENCE_END = re.compile(r'[.!?]["\')]?$')
SENTENCE_SPLIT = re.compile(r'(?<=[.!?])["\')]?\s+(?=["\'(]?[A-Z0-9])')


def normalise(text):
    """One space between words; straight quotes; no control characters."""
    text = text.replace("\u2018", "'").replace("\u2019", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def as_sentence(text):
    """Capitalises the first letter and adds a full stop unless the text already ends one."""
    text = normalise(text)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if not SENTENCE_END.search(text):
        text = text.rstrip(",;:") + "."
    return text


def split_sentences(text):
    """Rough sentence split on . ! ? followed by a capital (good enough for sentence pairs)."""
    pieces, start = [], 0
    for m in SENTENCE_SPLIT.finditer(text):
        pieces.append(text[start:m.end()].strip())
        start = m.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


# ---------------------------------------------------------------- WordNet

def _article(word):
    return "An" if word[0].lower() in "aeiou" else "A"


def _definition_sentence(pos, lemma, definition):
    """A sentence stating the gloss, or None if it would not read as English."""
    if not definition or not definition[0].islower() or lemma.startswith(TAXON_PREFIXES):
        return None
    if re.search(r"\b(genus|species)\b", definition):
        return None  # taxonomy
    if pos == "n":
        subject = lemma if lemma[0].isupper() else f"{_article(lemma)} {lemma}"
        return as_sentence(f"{subject} is {definition}")
    if pos == "v":
        return as_sentence(f"To {lemma} is to {definition}")
    return as_sentence(f"{lemma} means {definition}")  # adjectives, adverbs


def parse_wordnet_line(line):
    """(pos, first lemma, definition, [examples]) of one data.* line, or None."""
    if line.startswith("  ") or " | " not in line:
        return None  # licence header
    head, gloss = line.split(" | ", 1)
    fields = head.split()
    pos = "a" if fields[2] == "s" else fields[2]
    lemma = re.sub(r"\([a-z]+\)$", "", fields[4]).replace("_", " ")
    examples = [normalise(e) for e in re.findall(r'"([^"]+)"', gloss)]
    definition = normalise(gloss.split('"', 1)[0]).rstrip(" ;:,")
    return pos, lemma, definition, examples


def wordnet_documents():
    docs = []
    for name in ("noun", "verb", "adj", "adv"):
        with open(WORDNET_DIR / f"data.{name}", encoding="utf-8") as f:
            for line in f:
                parsed = parse_wordnet_line(line)
                if parsed is None:
                    continue
                pos, lemma, definition, examples = parsed
                sentences = [_definition_sentence(pos, lemma, definition)]
                sentences += [as_sentence(e) for e in examples if len(e.split()) >= 4]
                sentences = [s for s in sentences if s]
                if sentences:
                    docs.append(" ".join(sentences))
    return docs


# ---------------------------------------------------------------- fortunes

ATTRIBUTION = re.compile(r"^\s*--\s*\S")


def _strip_attribution(lines):
    """Drops a trailing "-- Author" block (it starts within the last three lines)."""
    for i in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
        if ATTRIBUTION.match(lines[i]):
            return lines[:i]
    return lines


def _is_prose(text):
    chars = text.replace(" ", "")
    letters = sum(c.isalpha() for c in chars)
    if len(text.split()) < 4 or len(text) > 4000 or letters < 0.78 * len(chars):
        return False
    if sum(c.isupper() for c in chars) > 0.2 * letters:
        return False  # shouting, acronyms, headlines
    if sum(c in CODE_CHARS for c in chars) > 2:
        return False  # code, chat logs, markup
    if not all(c.isascii() or c.isalpha() or c in "\u2018\u2019\u201c\u201d" for c in text):
        return False  # box drawing, symbols
    return True


def fortune_entries(path):
    raw = path.read_bytes().decode("utf-8", errors="replace")
    raw = re.sub(r".\x08", "", raw)  # overstriking ("_\bx" underlines, "x\bx" bold)
    for entry in re.split(r"^%\n", raw, flags=re.M):
        lines = _strip_attribution(entry.rstrip("\n").split("\n"))
        text = normalise(" ".join(lines))
        if "\ufffd" not in text and _is_prose(text):
            yield text


def fortune_files():
    return sorted(p for p in FORTUNE_DIR.iterdir()
                  if p.is_file() and "." not in p.name and p.name not in SKIPPED_FORTUNE_FILES)


def fortune_documents():
    return [text for path in fortune_files() for text in fortune_entries(path)]


# ---------------------------------------------------------------- corpus

def build(seed=SEED):
    """Returns (train_docs, valid_docs): deduplicated documents, a seeded 2% held out."""
    docs = list(dict.fromkeys(wordnet_documents() + fortune_documents()))
    rng = random.Random(seed)
    rng.shuffle(docs)
    n_valid = round(VALID_FRACTION * len(docs))
    return docs[n_valid:], docs[:n_valid]


def describe(name, docs):
    chars = sum(len(d) for d in docs)
    words = sum(len(d.split()) for d in docs)
    return f"{name}: {len(docs):7d} documents {words:9d} words {chars / 1e6:6.2f} MB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write train.txt and valid.txt here")
    args = parser.parse_args()
    wn, fo = wordnet_documents(), fortune_documents()
    print(describe("wordnet ", wn))
    print(describe("fortunes", fo))
    train, valid = build()
    print(describe("train   ", train))
    print(describe("valid   ", valid))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, docs in (("train", train), ("valid", valid)):
            (args.out / f"{name}.txt").write_text("".join(d + "\n" for d in docs), encoding="utf-8")
        print(f"wrote {args.out}/train.txt, {args.out}/valid.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
