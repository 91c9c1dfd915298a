"""Tokenizer training for the demo models: GPT-2 byte-level BPE and BERT WordPiece vocabularies.

Both learn merges the same way: count adjacent symbol pairs over a word-frequency table, merge
the most frequent pair (ties: the lexicographically smallest pair), repeat. The counts are
updated incrementally, so thousands of merges take seconds; learn_bpe() gives exactly the
merges of tools/reference/tokenizers.train_bpe (checked by self_test()), which recounts
everything per merge and is too slow for a real corpus.

WordPiece uses the same procedure as Hugging Face's WordPieceTrainer (a BPE trainer whose
non-initial symbols carry the "##" prefix); encoding then uses greedy longest-match-first
(tools/reference/tokenizers.WordPieceTokenizer), as BERT does.
"""
import heapq
from collections import Counter, defaultdict

from reference import tokenizers as ref

ASCII_PRINTABLE = [chr(c) for c in range(33, 127)]


def learn_merges(word_freqs, num_merges, join):
    """word_freqs: {tuple of symbols: count}. Returns merges [(a, b)] in rank order.

    join(a, b) names the merged symbol. A merge is applied left to right within each word,
    never across words."""
    words = [list(w) for w in word_freqs]
    freqs = list(word_freqs.values())
    counts = defaultdict(int)  # pair -> weighted count
    where = defaultdict(set)  # pair -> indices of words that (may) contain it
    for i, word in enumerate(words):
        for pair in zip(word, word[1:]):
            counts[pair] += freqs[i]
            where[pair].add(i)
    heap = [(-c, pair) for pair, c in counts.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < num_merges and heap:
        neg, best = heapq.heappop(heap)
        if counts.get(best, 0) != -neg or neg == 0:
            continue  # stale heap entry
        merges.append(best)
        merged_symbol = join(*best)
        touched = set()
        for i in where.pop(best):
            word, f = words[i], freqs[i]
            new, j, changed = [], 0, False
            while j < len(word):
                if j < len(word) - 1 and word[j] == best[0] and word[j + 1] == best[1]:
                    new.append(merged_symbol)
                    j += 2
                    changed = True
                else:
                    new.append(word[j])
                    j += 1
            if not changed:
                continue
            for pair in zip(word, word[1:]):
                counts[pair] -= f
                touched.add(pair)
            for pair in zip(new, new[1:]):
                counts[pair] += f
                where[pair].add(i)
                touched.add(pair)
            words[i] = new
        counts.pop(best, None)
        for pair in touched:
            if pair != best and counts.get(pair, 0) > 0:
                heapq.heappush(heap, (-counts[pair], pair))
    return merges


# ---------------------------------------------------------------- GPT-2 byte-level BPE

def bpe_word_freqs(texts):
    freqs = Counter()
    for text in texts:
        freqs.update(ref.GPT2_PATTERN.findall(text))
    return Counter({tuple(ref.BYTE_ENCODER[b] for b in chunk.encode("utf-8")): n
                    for chunk, n in freqs.items()})


def learn_bpe(texts, num_merges):
    """Returns (vocab: token -> id, merges), laid out like GPT-2: the 256 byte symbols in
    bytes_to_unicode order, then one token per merge, then <|endoftext|> as the last id."""
    merges = learn_merges(bpe_word_freqs(texts), num_merges, lambda a, b: a + b)
    vocab = {c: i for i, c in enumerate(ref.BYTE_ENCODER.values())}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab[ref.EOT] = len(vocab)
    return vocab, merges


class CachedBPE(ref.ByteLevelBPE):
    """The reference encoder with a per-chunk cache (a corpus repeats its words a lot)."""

    def __init__(self, vocab, merges):
        super().__init__(vocab, merges)
        self.cache = {}

    def bpe(self, token):
        if token not in self.cache:
            self.cache[token] = super().bpe(token)
        return self.cache[token]

    def ids(self, text):
        return [self.encoder[t] for t in self.tokenize(text)]


# ---------------------------------------------------------------- BERT WordPiece

def learn_wordpiece(texts, vocab_size, min_char_count=50):
    """Lower-cased WordPiece vocabulary of at most vocab_size entries:
    [PAD] [UNK] [CLS] [SEP] [MASK], single characters (printable ASCII plus any character seen
    min_char_count times) with their "##" forms, then merged pieces in merge order."""
    words = Counter()
    for text in texts:
        words.update(ref.basic_tokenize(text, do_lower_case=True))
    chars = Counter()
    for word, n in words.items():
        for ch in word:
            chars[ch] += n
    alphabet = sorted(set(c.lower() for c in ASCII_PRINTABLE) |
                      {c for c, n in chars.items() if n >= min_char_count})
    vocab = list(ref.BERT_SPECIALS) + alphabet + ["##" + c for c in alphabet]
    symbols = set(vocab)
    word_freqs = Counter()
    for word, n in words.items():
        if all(c in symbols for c in word):
            word_freqs[tuple([word[0]] + ["##" + c for c in word[1:]])] += n
    join = lambda a, b: a + b[2:]  # "##" continuation keeps the prefix of a only
    # Merges can repeat a symbol reached by another path; ask for a few more than needed.
    merges = learn_merges(word_freqs, vocab_size, join)
    for a, b in merges:
        if len(vocab) >= vocab_size:
            break
        piece = join(a, b)
        if piece not in symbols:
            symbols.add(piece)
            vocab.append(piece)
    return vocab


def self_test():
    """learn_bpe == reference train_bpe on a small text (raises AssertionError otherwise)."""
    text = ("The cat sat on the mat. The dog sat on the log! Cats and dogs, mats and logs; "
            "isn't it odd? 12 cats, 345 dogs.  Tabs\tand\nnew lines too. ") * 3
    ref_vocab, ref_merges = ref.train_bpe(text, 60)
    vocab, merges = learn_bpe([text], 60)
    assert merges == ref_merges and vocab == ref_vocab, "learn_bpe differs from train_bpe"
