#!/usr/bin/python3
"""Regenerates the Unigram tokenizer.json fixtures in tests/fixtures/tokenizer/ (see tools/README.md).

    /usr/bin/python3 tools/make_unigram_fixtures.py [--out DIR]

Trains two small SentencePiece unigram models with Debian's python3-sentencepiece (one thread,
no sampling, so reruns give the same pieces) and converts each to a tokenizer.json the way
transformers' convert_slow_tokenizer.py SpmConverter / T5Converter lays it out:

  unigram_nfkc/           the default nmt_nfkc rule, so the Precompiled normalizer carries a real
                          precompiled_charsmap (~240 KB of the ~250 KB file)
  unigram_byte_fallback/  the identity rule and byte_fallback: characters outside the vocabulary
                          become <0xNN> pieces

  model          {"type": "Unigram", "unk_id", "vocab": [[piece, score], ...], "byte_fallback"}
  normalizer     Sequence [Precompiled (when the model has a charsmap), Strip (right),
                 Replace (Regex " {2,}" -> "▁")]
  pre_tokenizer  Metaspace ("▁", prepend_scheme "always", split)
  post_processor TemplateProcessing "$A </s>" (T5)
  decoder        Metaspace; with byte fallback Replace ▁ -> " ", ByteFallback, Fuse, Strip
  added_tokens   the control and unknown pieces, special, not normalized

and writes the hand-written WordLevel fixture word_level/tokenizer.json (WordLevel + Whitespace).

Fuzz seeds (tests/fuzz/corpus/): for fuzz_tokenizer_files, a Unigram tokenizer.json whose
Precompiled charsmap comes from a third model trained with a few custom rules (RULES_TSV; 1 KB
instead of nmt_nfkc's 240 KB) and the WordLevel file; for fuzz_precompiled_charsmap, that
charsmap's raw bytes. Named by their SHA-1, as libFuzzer names corpus files.

The .model files are not kept (the charsmap would be stored twice). Instead the ids the
sentencepiece library itself gives for CASE_TEXTS (+ </s>) are written to
<name>_spm_expected.json: the outside reference the C++ tests compare with. transformers.js's ids
for the same texts come from tools/tokenizer_reference/make_unigram_expected.mjs, which reads
the case texts from these files.

The texts avoid literal "<unk>", "<pad>" and "</s>": the tokenizers library splits added tokens
out of the text first, sentencepiece does not, so such texts would differ by design.
"""
import argparse
import base64
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import sentencepiece

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import fixture_text  # noqa: E402
from reference.tokenizers import SPM_CONTROL, SPM_UNKNOWN, _proto_fields  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "tokenizer"
FUZZ_CORPUS = ROOT / "tests" / "fuzz" / "corpus"
EOS = "</s>"
# T5's ids: pad 0, eos 1, unk 2, no bos.
SPM_FLAGS = dict(model_type="unigram", character_coverage=1.0, num_threads=1, input_sentence_size=0,
                 shuffle_input_sentence=False, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                 hard_vocab_limit=False, minloglevel=2)
MODELS = {
    # name: (vocab size, trainer options)
    "unigram_nfkc": (320, dict(normalization_rule_name="nmt_nfkc")),
    "unigram_byte_fallback": (560, dict(normalization_rule_name="identity", byte_fallback=True)),
}

# Training text: fixture_text's English plus accented words, digits and punctuation, so those
# are in the vocabulary; CJK, emoji and most symbols are not (unknown characters).
CORPUS = [" ".join(fixture_text.WORDS[i:i + 12]) for i in range(0, len(fixture_text.WORDS), 12)]
CORPUS += fixture_text.BPE_CORPUS.splitlines()
CORPUS += ["café crème brûlée naïve résumé façade déjà vu", "Ünïcödé ÀÉÎÕÜ ñ ç ø å æ œ ß Straße",
           "The year 2024 had 365 days, 12 months and 52 weeks: 0 1 2 3 4 5 6 7 8 9.",
           "Hello, world! (parens) [brackets] {braces} - dashes; colons: 'quotes' \"double\" ?"] * 3

# SentencePiece normalization_rule_tsv lines (source code points -> target code points) for the
# fuzz seeds' small charsmap: a ligature, a full-width letter, an ideographic space, e + U+0301.
RULES_TSV = "FB01\t66 69\nFF21\t41\n3000\t20\n65 301\tE9\n"

# The WordLevel fixture: a small vocabulary, the Whitespace pre-tokenizer (\w+|[^\w\s]+).
WORDS = ["[UNK]", "[PAD]", "the", "cat", "sat", "on", "mat", ".", "a", "dog", ",", "and", "bird", "!",
         "unknown", "words", "like", "map", "to", "unk", "spaces", "between", "don", "'", "t", "stop", "42", "The"]

# Texts the tests encode: accents (precomposed and combining), full-width letters and ligatures
# that NFKC rewrites, emoji, characters outside the vocabulary, runs of spaces, empty text,
# leading and trailing spaces, tabs and newlines, digits.
CASE_TEXTS = [
    "Hello world",
    "the quick brown fox jumps over the lazy dog",
    "café crème brûlée naïve",
    "combining e\u0301 vs precomposed é",
    "Ｆｕｌｌｗｉｄｔｈ letters and ﬁ ﬂ ligatures",
    "① ㎏ ½ ² ™ and ｶﾀｶﾅ",
    "Emoji 😀👍🏽 and 🇫🇷 ❤️",
    "中文字符 and 日本語",
    "unknown ⊗ ∰ ☃ characters",
    "many     spaces   here",
    "",
    " ",
    "   ",
    "   leading and trailing   ",
    "\ttabs\tand\nnew lines\r\n",
    "Numbers 3.14159, 1,000,000 and 2024-01-01",
    "1234567890",
    "non\u00a0breaking\u3000ideographic space",
    "zero\u200bwidth",
    "▁ the lower block ▁▁ twice",
    "HELLO World MiXeD CaSe",
    "Straße Ünïcödé ÀÉÎÕÜ",
    "x" * 40 + " " + "ab" * 20,
]


def spm_proto(model_bytes):
    """(pieces [(piece, score, type)], unk_id, byte_fallback, precompiled_charsmap bytes)."""
    pieces, unk_id, byte_fallback, charsmap = [], 0, False, b""
    for number, value in _proto_fields(model_bytes):
        if number == 1:  # SentencePiece: piece 1, score 2 (float), type 3
            piece, score, kind = "", 0.0, 1
            for n, v in _proto_fields(value):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = float(memoryview(v).cast("f")[0])
                elif n == 3:
                    kind = v
            pieces.append((piece, score, kind))
        elif number == 2:  # TrainerSpec: unk_id 40, byte_fallback 35
            for n, v in _proto_fields(value):
                if n == 40:
                    unk_id = v
                elif n == 35:
                    byte_fallback = bool(v)
        elif number == 3:  # NormalizerSpec: precompiled_charsmap 2
            for n, v in _proto_fields(value):
                if n == 2:
                    charsmap = bytes(v)
    return pieces, unk_id, byte_fallback, charsmap


def tokenizer_json(pieces, unk_id, byte_fallback, charsmap):
    """The tokenizer.json transformers' T5Converter (an SpmConverter) writes for these pieces."""
    vocab = [[p, s] for p, s, _ in pieces]
    added = [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, (p, _, kind) in enumerate(pieces) if kind in (SPM_CONTROL, SPM_UNKNOWN)]
    eos_id = next(i for i, (p, _, _) in enumerate(pieces) if p == EOS)
    normalizers = [{"type": "Strip", "strip_left": False, "strip_right": True},
                   {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}]
    if charsmap:
        normalizers.insert(0, {"type": "Precompiled",
                               "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")})
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    decoder = metaspace
    if byte_fallback:  # LlamaConverter's decoder for byte pieces
        decoder = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    sequence = {"Sequence": {"id": "A", "type_id": 0}}
    eos = {"SpecialToken": {"id": EOS, "type_id": 0}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [sequence, eos],
            "pair": [sequence, eos, {"Sequence": {"id": "B", "type_id": 1}}, dict(eos, SpecialToken={"id": EOS, "type_id": 1})],
            "special_tokens": {EOS: {"id": EOS, "ids": [eos_id], "tokens": [EOS]}},
        },
        "decoder": decoder,
        "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": byte_fallback},
    }


def word_level_json():
    added = [{"id": i, "content": w, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, w in enumerate(WORDS) if w.startswith("[")]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None,
            "model": {"type": "WordLevel", "vocab": {w: i for i, w in enumerate(WORDS)}, "unk_token": "[UNK]"}}


def train(vocab_size, **options):
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS), model_writer=model,
                                             vocab_size=vocab_size, **SPM_FLAGS, **options)
    return model.getvalue()


def write_seed(target, data):
    folder = FUZZ_CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def write_fuzz_seeds():
    with tempfile.NamedTemporaryFile("w", suffix=".tsv") as rules:
        rules.write(RULES_TSV)
        rules.flush()
        pieces, unk_id, byte_fallback, charsmap = spm_proto(train(120, normalization_rule_tsv=rules.name))
    assert 0 < len(charsmap) < 4096
    doc = tokenizer_json(pieces, unk_id, byte_fallback, charsmap)
    # fuzz_tokenizer_files: a first byte that is 0 mod 5 means "the rest is tokenizer.json".
    write_seed("fuzz_tokenizer_files", b"\0" + json.dumps(doc, ensure_ascii=False).encode())
    write_seed("fuzz_tokenizer_files", b"\0" + json.dumps(word_level_json(), ensure_ascii=False).encode())
    write_seed("fuzz_precompiled_charsmap", charsmap)


def write_expected(path, name, spm, eos_id):
    cases = []
    for text in CASE_TEXTS:
        ids = spm.encode(text) + [eos_id]
        cases.append({"text": text, "ids": ids, "tokens": [spm.id_to_piece(i) for i in ids]})
    head = {"generated_by": "tools/make_unigram_fixtures.py (do not edit by hand)",
            "reference": f"python3-sentencepiece {sentencepiece.__version__} SentencePieceProcessor.encode(text) "
                         f"+ [</s>], on the model {name}/tokenizer.json was converted from",
            "files": f"{name}/tokenizer.json"}
    body = ",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in cases)
    text = json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ',\n  "cases": [\n' + body + "\n  ]\n}\n"
    json.loads(text)
    path.write_text(text, encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    ok = True
    for name, (vocab_size, options) in MODELS.items():
        model_bytes = train(vocab_size, **options)
        pieces, unk_id, byte_fallback, charsmap = spm_proto(model_bytes)
        spm = sentencepiece.SentencePieceProcessor(model_proto=model_bytes)
        assert unk_id == spm.unk_id() and pieces[unk_id][2] == SPM_UNKNOWN
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        doc = tokenizer_json(pieces, unk_id, byte_fallback, charsmap)
        with open(folder / "tokenizer.json", "w", encoding="utf-8") as f:  # compact, as tokenizers writes
            json.dump(doc, f, ensure_ascii=False)
        write_expected(args.out / f"{name}_spm_expected.json", name, spm, spm.eos_id())
        size = (folder / "tokenizer.json").stat().st_size
        print(f"{name}: {len(pieces)} pieces, charsmap {len(charsmap)} bytes, tokenizer.json {size} bytes")
        ok &= size < 400_000 and len(pieces) > 200  # nmt_nfkc: its charsmap alone is ~320 KB in base64
    (args.out / "word_level").mkdir(parents=True, exist_ok=True)
    (args.out / "word_level" / "tokenizer.json").write_text(json.dumps(word_level_json(), indent=1) + "\n")
    write_fuzz_seeds()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
