"""Plain-Python tokenizers: BERT WordPiece and GPT-2 byte-level BPE, plus a tiny BPE trainer.

WordPiece follows Hugging Face's original tokenization_bert.py (BasicTokenizer:
clean text, CJK splitting, whitespace split, lower-casing + accent stripping (NFD, drop Mn),
punctuation splitting; then greedy longest-match-first WordPiece with "##" continuations).
BPE follows OpenAI's gpt-2 encoder.py (bytes_to_unicode, the \\p{L}/\\p{N} regex, merge by rank).
Needs the `regex` module (Debian: python3-regex).
"""
import json
import unicodedata
from collections import Counter

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
