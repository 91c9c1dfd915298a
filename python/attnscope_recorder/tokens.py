"""Token strings as AttnScope shows them: the text a piece stands for, not its vocabulary form.

Byte-level BPE vocabularies (GPT-2, Llama 3, Qwen) spell bytes as printable characters
('Ġfox' is ' fox'); SentencePiece marks a word start with '▁'; WordPiece keeps '##'.
"""


def bytes_to_unicode():
    """GPT-2's table: byte -> the printable character its vocabulary uses for it."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


BYTE_OF_CHAR = {c: b for b, c in bytes_to_unicode().items()}


def readable(piece, byte_level):
    """A vocabulary piece as text: byte-level pieces decoded (a piece ending inside a
    multi-byte character shows U+FFFD), '▁' as a space; anything else unchanged."""
    if byte_level and piece and all(c in BYTE_OF_CHAR for c in piece):
        return bytes(BYTE_OF_CHAR[c] for c in piece).decode("utf-8", errors="replace")
    return piece.replace("▁", " ")
