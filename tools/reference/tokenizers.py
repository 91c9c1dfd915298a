"""Plain-Python tokenizers: BERT WordPiece, GPT-2 byte-level BPE (and a tiny BPE trainer), and
SentencePiece unigram models as T5 and Marian use them.

WordPiece follows Hugging Face's original tokenization_bert.py (BasicTokenizer:
clean text, CJK splitting, whitespace split, lower-casing + accent stripping (NFD, drop Mn),
punctuation splitting; then greedy longest-match-first WordPiece with "##" continuations).
BPE follows OpenAI's gpt-2 encoder.py (bytes_to_unicode, the \\p{L}/\\p{N} regex, merge by rank).
The unigram part reads a SentencePiece .model file itself (a protobuf: only the pieces and the
normaliser settings) and segments by Viterbi, as sentencepiece's unigram_model.cc and the
tokenizers library's Unigram model do; MarianTokenizer and T5Tokenizer add their id rules.
Needs the `regex` module (Debian: python3-regex); not the sentencepiece package.
"""
import json
import math
import struct
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Tuple

import regex

# ---------------------------------------------------------------- BERT / WordPiece

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_chinese_char(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _clean_text(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        out.append(" " if _is_whitespace(ch) else ch)
    return "".join(out)


def _strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _split_on_punc(token):
    pieces, start_new = [], True
    for ch in token:
        if _is_punctuation(ch):
            pieces.append(ch)
            start_new = True
        else:
            if start_new:
                pieces.append("")
            start_new = False
            pieces[-1] += ch
    return pieces


def basic_tokenize(text, do_lower_case=True):
    """HF BasicTokenizer.tokenize (strip_accents follows do_lower_case, CJK chars split)."""
    text = _clean_text(text)
    text = "".join(f" {c} " if _is_chinese_char(ord(c)) else c for c in text)
    out = []
    for token in text.split():
        if do_lower_case:
            token = _strip_accents(token.lower())
        out.extend(_split_on_punc(token))
    return " ".join(out).split()


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    """Greedy longest-match-first split of one basic token; [unk] if any part is missing."""
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = piece
                break
            end -= 1
        if found is None:
            return [unk]
        pieces.append(found)
        start = end
    return pieces


class WordPieceTokenizer:
    def __init__(self, vocab_list, do_lower_case=True):
        self.vocab = {token: i for i, token in enumerate(vocab_list)}
        self.do_lower_case = do_lower_case
        self.specials = [t for t in BERT_SPECIALS if t in self.vocab]

    def tokenize(self, text):
        """Special tokens written in the text (e.g. "[MASK]") are kept whole, like HF does."""
        pattern = "(" + "|".join(regex.escape(s) for s in self.specials) + ")"
        tokens = []
        for part in regex.split(pattern, text):
            if part in self.specials:
                tokens.append(part)
                continue
            for word in basic_tokenize(part, self.do_lower_case):
                tokens.extend(wordpiece(word, self.vocab))
        return tokens

    def encode(self, text, pair=None):
        """Returns (tokens, ids, token_type_ids) with [CLS] A [SEP] (B [SEP])."""
        tokens = ["[CLS]"] + self.tokenize(text) + ["[SEP]"]
        types = [0] * len(tokens)
        if pair is not None:
            second = self.tokenize(pair) + ["[SEP]"]
            tokens += second
            types += [1] * len(second)
        return tokens, [self.vocab[t] for t in tokens], types


def write_vocab_txt(path, vocab_list):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(token + "\n" for token in vocab_list)


def bert_tokenizer_json(vocab_list, do_lower_case=True, max_chars=100):
    """A Hugging Face `tokenizers` tokenizer.json equivalent to WordPieceTokenizer."""
    vocab = {token: i for i, token in enumerate(vocab_list)}
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for t in BERT_SPECIALS if t in vocab]

    def special(token, type_id):
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    def sequence(name, type_id):
        return {"Sequence": {"id": name, "type_id": type_id}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None,
                       "lowercase": do_lower_case},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0)],
            "pair": [special("[CLS]", 0), sequence("A", 0), special("[SEP]", 0),
                     sequence("B", 1), special("[SEP]", 1)],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]}
                               for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": max_chars, "vocab": vocab},
    }


# ---------------------------------------------------------------- GPT-2 / byte-level BPE

GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


def bytes_to_unicode():
    """Byte -> printable character map of GPT-2, in vocabulary order (ids 0..255)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}


def _pairs(word):
    return set(zip(word, word[1:]))


class ByteLevelBPE:
    def __init__(self, vocab, merges):
        """vocab: token -> id; merges: list of (a, b) in rank order."""
        self.encoder = vocab
        self.decoder = {i: t for t, i in vocab.items()}
        self.ranks = {pair: i for i, pair in enumerate(merges)}

    def bpe(self, token):
        word = tuple(token)
        pairs = _pairs(word)
        while pairs:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        return list(word)

    def tokenize(self, text):
        tokens = []
        for chunk in GPT2_PATTERN.findall(text):
            tokens.extend(self.bpe("".join(BYTE_ENCODER[b] for b in chunk.encode("utf-8"))))
        return tokens

    def encode(self, text):
        """Returns (tokens, ids). No BOS/EOS is added (HF GPT2Tokenizer default)."""
        tokens = self.tokenize(text)
        return tokens, [self.encoder[t] for t in tokens]

    def decode(self, ids):
        text = "".join(self.decoder[i] for i in ids)
        return bytes(BYTE_DECODER[c] for c in text).decode("utf-8", errors="replace")


def train_bpe(corpus, num_merges):
    """Learns byte-level BPE merges on `corpus`: most frequent adjacent pair first, ties broken
    by the lexicographically smallest pair, never across pre-tokenizer chunks.
    Returns (vocab: token -> id, merges: [(a, b)]); vocab = 256 bytes, merges, <|endoftext|>."""
    words = Counter(tuple(BYTE_ENCODER[b] for b in chunk.encode("utf-8"))
                    for chunk in GPT2_PATTERN.findall(corpus))
    vocab = {c: i for i, c in enumerate(BYTE_ENCODER.values())}
    merges = []
    for _ in range(num_merges):
        counts = Counter()
        for word, freq in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] += freq
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        vocab.setdefault(best[0] + best[1], len(vocab))
        merged = Counter()
        for word, freq in words.items():
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    new.append(word[i] + word[i + 1])
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            merged[tuple(new)] += freq
        words = merged
    vocab[EOT] = len(vocab)
    return vocab, merges


def write_bpe_files(directory, vocab, merges):
    with open(f"{directory}/vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(f"{directory}/merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)


def read_bpe_files(directory):
    with open(f"{directory}/vocab.json", encoding="utf-8") as f:
        vocab = json.load(f)
    with open(f"{directory}/merges.txt", encoding="utf-8") as f:
        merges = [tuple(line.split()) for line in f.read().split("\n")[1:] if line]
    return ByteLevelBPE(vocab, merges)


# ---------------------------------------------------------------- SentencePiece unigram (T5, Marian)

SPIECE_UNDERLINE = "\u2581"  # "▁", SentencePiece's whitespace symbol
SPM_NORMAL, SPM_UNKNOWN, SPM_CONTROL, SPM_USER_DEFINED, SPM_UNUSED, SPM_BYTE = 1, 2, 3, 4, 5, 6
UNK_PENALTY = 10.0  # kUnkPenalty (unigram_model.cc) = K_UNK_PENALTY (tokenizers' unigram)


def _varint(buf, i):
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _proto_fields(buf):
    """Yields (field number, value) of one protobuf message: int for a varint, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        wire = key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire in (1, 5):  # fixed64, fixed32
            size = 8 if wire == 1 else 4
            value, i = buf[i:i + size], i + size
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, value


@dataclass
class SpmModel:
    """What a SentencePiece ModelProto (sentencepiece_model.proto) says about encoding."""
    pieces: List[Tuple[str, float, int]] = field(default_factory=list)  # (piece, score, type), by id
    normalization: str = ""  # NormalizerSpec.name, e.g. "nmt_nfkc", "identity"
    charsmap_bytes: int = 0  # size of NormalizerSpec.precompiled_charsmap (0: no character rules)
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True

    def id_of(self, piece):
        return next(i for i, p in enumerate(self.pieces) if p[0] == piece)

    def unk_id(self):
        return next(i for i, p in enumerate(self.pieces) if p[2] == SPM_UNKNOWN)


def read_spm_model(path):
    with open(path, "rb") as f:
        return parse_spm_model(f.read())


def parse_spm_model(buf):
    """The fields of a .model / .spm file that encoding needs: ModelProto.pieces (1: piece 1,
    score 2 (float), type 3 (default NORMAL)) and normalizer_spec (3: name 1,
    precompiled_charsmap 2, add_dummy_prefix 3, remove_extra_whitespaces 4)."""
    model = SpmModel()
    for number, value in _proto_fields(buf):
        if number == 1:
            piece, score, kind = "", 0.0, SPM_NORMAL
            for n, v in _proto_fields(value):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = struct.unpack("<f", v)[0]
                elif n == 3:
                    kind = v
            model.pieces.append((piece, score, kind))
        elif number == 3:
            for n, v in _proto_fields(value):
                if n == 1:
                    model.normalization = v.decode("utf-8")
                elif n == 2:
                    model.charsmap_bytes = len(v)
                elif n == 3:
                    model.add_dummy_prefix = bool(v)
                elif n == 4:
                    model.remove_extra_whitespaces = bool(v)
    return model


class UnigramTokenizer:
    """Viterbi segmentation over (piece, score) pairs, as sentencepiece's unigram model and the
    tokenizers library's Unigram (with its Metaspace pre-tokenizer) compute it. The text's
    spaces become "▁" and one "▁" is prepended (Metaspace prepend_scheme "always"; spm's
    add_dummy_prefix); each word, cut before every "▁" (no piece crosses one when spm trained with
    split_by_whitespace), gets the segmentation of highest total score. A character that starts
    no one-character piece becomes an unknown node scored min(score) - 10, and adjacent unknown
    nodes fuse into one <unk> (spm; tokenizers' fuse_unk). `skip` ids are never matched in text
    (spm's control and unknown pieces; a tokenizer.json's added tokens). No normalisation:
    the identity rule only, and runs of spaces are not collapsed (spm's
    remove_extra_whitespaces would)."""

    def __init__(self, pieces, unk_id, skip=()):
        """pieces: [(piece, score)] by id."""
        self.ids = {}
        for i, (piece, _) in enumerate(pieces):
            if i not in skip and i != unk_id:
                self.ids.setdefault(piece, i)
        self.scores = [score for _, score in pieces]
        self.unk_id = unk_id
        self.unk_score = min(self.scores[i] for i in self.ids.values()) - UNK_PENALTY
        self.max_len = max(map(len, self.ids))

    @classmethod
    def from_spm(cls, model):
        if model.charsmap_bytes or model.normalization not in ("identity", "") or not model.add_dummy_prefix:
            raise ValueError(f"normalization '{model.normalization}' (add_dummy_prefix "
                             f"{model.add_dummy_prefix}) is not implemented here: identity with the prefix only")
        skip = {i for i, p in enumerate(model.pieces) if p[2] in (SPM_CONTROL, SPM_UNKNOWN, SPM_UNUSED)}
        return cls([(p, s) for p, s, _ in model.pieces], model.unk_id(), skip)

    @staticmethod
    def words(text):
        text = text.replace(" ", SPIECE_UNDERLINE)
        if not text.startswith(SPIECE_UNDERLINE):
            text = SPIECE_UNDERLINE + text
        return [w for w in regex.split(f"(?={SPIECE_UNDERLINE})", text) if w]

    def viterbi(self, word):
        """[(piece, id)] of one word; an unknown run keeps its surface as the piece."""
        n = len(word)
        best = [0.0] + [-math.inf] * n  # best score of word[:end]
        back = [None] * (n + 1)  # (start, id) of the last piece of that best
        for end in range(1, n + 1):
            for start in range(max(0, end - self.max_len), end):
                i = self.ids.get(word[start:end])
                if i is not None and best[start] + self.scores[i] > best[end]:
                    best[end], back[end] = best[start] + self.scores[i], (start, i)
            if word[end - 1] not in self.ids and best[end - 1] + self.unk_score > best[end]:
                best[end], back[end] = best[end - 1] + self.unk_score, (end - 1, self.unk_id)
        out, end = [], n
        while end > 0:
            start, i = back[end]
            if out and i == self.unk_id and out[-1][1] == self.unk_id:  # fuse unknowns
                out[-1] = (word[start:end] + out[-1][0], i)
            else:
                out.append((word[start:end], i))
            end = start
        return out[::-1]

    def tokenize(self, text):
        """[(piece, id)] of the whole text."""
        return [p for word in self.words(text) for p in self.viterbi(word)]


class MarianTokenizer:
    """Hugging Face's MarianTokenizer on the source side with one shared vocabulary
    (tokenization_marian.py at 9a6732442fc381e1ea815c511aa804f118c869be, the 4.x line): a leading
    language code ">>xx<<" is a token of its own (4.x's regex also removes later ">>…<<"; 5.x
    only the prefix, as here); the rest goes through the source SentencePiece model (source.spm)
    into pieces, and each piece maps to its id in vocab.json, Marian's joint vocabulary, not
    spm's ids; a piece vocab.json lacks (spm's surface of an unknown run) is <unk>; then </s>.
    No BOS. MarianTokenizer.normalize (Moses punctuation) is not called by tokenization. The 5.x
    line (at 025722be2ee1d09f37d75854362caf48e2457ce9) falls back to the spm's own id instead,
    piece_to_id, which is the spm's <unk> id (0, "</s>" in vocab.json) for an unknown run;
    texts whose pieces are all in vocab.json tokenize the same in both."""

    def __init__(self, source_model, vocab, eos="</s>", unk="<unk>"):
        self.unigram = UnigramTokenizer.from_spm(source_model)
        self.vocab, self.eos, self.unk = vocab, eos, unk

    def encode(self, text):
        """Returns (tokens, ids)."""
        code = []
        end = text.find("<<")
        if text.startswith(">>") and end != -1:
            code, text = [text[:end + 2]], text[end + 2:]
        tokens = code + [p for p, _ in self.unigram.tokenize(text)]
        ids = [self.vocab.get(t, self.vocab[self.unk]) for t in tokens] + [self.vocab[self.eos]]
        return tokens + [self.eos], ids


def marian_vocab(source_model, target_model, pad="<pad>"):
    """A Marian joint vocabulary as convert_marian_to_pytorch leaves it in vocab.json: Marian's
    own (</s> 0, <unk> 1, then the pieces: here the source model's, then the target model's not
    yet present, in spm id order), and <pad> = the last id (add_to_vocab_)."""
    vocab = {"</s>": 0, "<unk>": 1}
    for model in (source_model, target_model):
        for piece, _, kind in model.pieces:
            if kind == SPM_NORMAL:
                vocab.setdefault(piece, len(vocab))
    vocab[pad] = len(vocab)
    return vocab


class T5Tokenizer:
    """Hugging Face's T5Tokenizer (slow, spiece.model): the SentencePiece ids, then </s> (eos,
    id 1 in T5's models); extra_ids sentinels <extra_id_i> = piece count + extra_ids - 1 - i."""

    def __init__(self, model, extra_ids):
        self.unigram = UnigramTokenizer.from_spm(model)
        self.eos_id, self.size = model.id_of("</s>"), len(model.pieces) + extra_ids

    def encode(self, text):
        pieces = self.unigram.tokenize(text)
        return [p for p, _ in pieces] + ["</s>"], [i for _, i in pieces] + [self.eos_id]


def t5_tokenizer_json(pieces, unk_id, extra_ids, eos="</s>"):
    """A tokenizer.json for T5's fast tokenizer, derived from the spm pieces [(piece, score, type)]
    as transformers' T5Converter lays it out (Unigram vocab = the pieces and scores, then
    <extra_id_{n-1}> .. <extra_id_0> with score 0; "$A </s>"), with no normalizer (valid for an
    spm model trained with the identity rule and texts without runs of spaces) and Metaspace."""
    vocab = [[p, s] for p, s, _ in pieces] + [[f"<extra_id_{i}>", 0.0] for i in range(extra_ids - 1, -1, -1)]
    specials = [i for i, p in enumerate(pieces) if p[2] in (SPM_CONTROL, SPM_UNKNOWN)]
    specials += list(range(len(pieces), len(vocab)))
    added = [{"id": i, "content": vocab[i][0], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in specials]
    eos_id = next(i for i, (p, _) in enumerate(vocab) if p == eos)
    metaspace = {"replacement": SPIECE_UNDERLINE, "prepend_scheme": "always", "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": dict({"type": "Metaspace"}, **metaspace),
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {eos: {"id": eos, "ids": [eos_id], "tokens": [eos]}},
        },
        "decoder": dict({"type": "Metaspace"}, **metaspace),
        "model": {"type": "Unigram", "unk_id": unk_id, "vocab": vocab, "byte_fallback": False},
    }


class UnigramJsonTokenizer:
    """Encodes with a tokenizer.json whose model is Unigram, normalizer null, pre-tokenizer Metaspace
    (prepend "always", split) and post-processor TemplateProcessing (the single template)."""

    def __init__(self, obj):
        model, pre = obj["model"], obj["pre_tokenizer"]
        if model["type"] != "Unigram" or obj["normalizer"] is not None or pre["type"] != "Metaspace" \
                or pre["prepend_scheme"] != "always" or not pre["split"]:
            raise ValueError("only a Unigram model without normalizer, with Metaspace (always, split)")
        skip = {t["id"] for t in obj["added_tokens"]}
        self.unigram = UnigramTokenizer([tuple(v) for v in model["vocab"]], model["unk_id"], skip)
        self.template = obj["post_processor"]["single"]
        self.specials = obj["post_processor"]["special_tokens"]

    def encode(self, text):
        tokens, ids = [], []
        for item in self.template:
            if "Sequence" in item:
                pieces = self.unigram.tokenize(text)
                tokens += [p for p, _ in pieces]
                ids += [i for _, i in pieces]
            else:
                special = self.specials[item["SpecialToken"]["id"]]
                tokens += special["tokens"]
                ids += special["ids"]
        return tokens, ids
