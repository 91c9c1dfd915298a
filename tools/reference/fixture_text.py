"""Text used by make_fixtures.py, make_llama_fixtures.py and make_encdec_fixtures.py: the BERT
word list, the BPE training corpus, the case texts.

Changing anything here changes every fixture that uses it: regenerate and commit them together.
"""

# ~300 common lower-case English words for the WordPiece vocabulary. Words of the case
# texts that are missing here are split into "##" pieces (or become [UNK]) on purpose.
WORDS = """
the of and to a in is it you that he was for on are with as i his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so
these her long make thing see him two has look more day could go come did number sound no most
people my over know water than call first who may down side been now find any new work part
take get place made live where after back little only round man year came show every good me
give our under name very through just form sentence great think say help low line differ turn
cause much mean before move right boy old too same tell does set three want air well also play
small end put home read hand port large spell add even land here must big high follow near
head found school grow study still learn plant cover food sun four between state keep eye
never last let thought city tree cross farm hard start might story saw far sea draw left late
run while press close night real life few north open seem together next white children begin
got walk example ease paper group always music those both mark often letter until mile river
car feet care second book carry took science eat room friend began idea fish mountain stop
once base hear horse cut talk bird cat sat park film slow cold rude staff service model
attention layer head token france paris capital dinner table quick brown fox lazy jump morning
along teacher station class language text position predict quiet because view nothing
""".split()

# Multi-character continuation pieces, so that WordPiece's longest match is exercised
# ("playing" -> "play", "##ing").
SUFFIXES = ["##ing", "##ed", "##ly", "##er", "##est", "##tion", "##ful", "##ness"]

# Paragraphs the tiny GPT-2 BPE is trained on.
BPE_CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog does not mind; it has seen the fox
jump many times before, and it would rather sleep in the warm afternoon sun.

Attention lets every token look at every other token. In a transformer, each layer has
several heads, and each head learns its own way of looking: some heads look at the previous
word, some look at the first token, and some spread their attention over the whole sentence.

A language model reads text from left to right. At each position it predicts the next token,
and it may only look at the tokens that came before. This is why the attention pattern of a
model like GPT-2 is a triangle: the future is hidden behind a mask.

People have studied these patterns for years. They found heads that follow syntax, heads that
track names, and heads that seem to do nothing at all. Looking at attention is a good way to
start, but it is not the whole story of what a model has learned.

In the morning the children walked to school along the river. They talked about the music
they had heard the night before, about the books they were reading, and about the long summer
that was still to come. The teacher was waiting at the door, and the lesson began at nine.
"""

# Case texts, one entry per (fixture, case): text and optional pair.
BERT_MLM = {
    "single": ("The cat sat on the [MASK] and looked at the birds.", None),
    "pair": ("Where did the children go after school?",
             "They walked to the park and played football by the river."),
    "long": ("In the morning the children walked to school along the river. They talked "
             "about the music they had heard and the café near 東京 station, where the "
             "teacher always stopped; it was a very long and happy day for all.", None),
}
BERT_CLS = {
    "single": ("I really enjoyed this film, the music was wonderful!", None),
    "pair": ("The food was cold.", "The service was slow and the staff were rude."),
}
BERT_BASE = {
    "single": ("Attention lets every word look at every other word.", None),
}
DISTILBERT_MLM = {
    "single": ("Paris is the [MASK] of France.", None),
    "long": ("A language model reads text from left to right, and at each position it "
             "predicts the next token. People found heads that follow the words before, "
             "heads that look at the first word, and heads that seem to do nothing at "
             "all, even in a small model.", None),
}
DISTILBERT_CLS = {
    "single": ("What a slow, boring and cold dinner that was.", None),
    "long": ("The staff were friendly and the room was quiet, but the food came late and "
             "the music was far too loud; still, we would go back, because the view over "
             "the river at night was great, and the people who work there really care.", None),
}
GPT2 = {
    "single": ("The quick brown fox jumps over the lazy dog.", None),
    "long": ("Attention lets every token look at the tokens before it. Some heads look at "
             "the first token — it's a naïve picture, but useful in 2024!", None),
}

# Decoder (Llama-family) cases, made by make_llama_fixtures.py: 12-18 tokens with the BOS, so
# that sliding windows of 4-5 are clearly shorter than the input.
DECODER = {
    "fox": "The fox saw the dog, and the dog saw the fox.",
    "attention": "Attention lets every token look at every other token.",
    "river": "The children walked to school along the river.",
    "digits": "The teacher was waiting at the door at 9.",
    "dog": "The dog does not mind the fox.",
    "heads": "Some heads look at the previous word.",
}

# Encoder-decoder cases, made by make_encdec_fixtures.py: a short source (8-12 tokens with the
# special tokens) and a longer one (20-30), so that T5's relative buckets (8 buckets, max
# distance 20) reach the logarithmic and the capped buckets in both directions. Plain ASCII
# letters, spaces, commas and full stops: every tokenizer's normalisation is the identity on them.
ENCODER_DECODER = {
    "short": "The dog does not mind.",
    "long": "The children talked about the music they had heard the night before.",
}

# The target side of the Marian fixture: its target.spm is trained on this (German) text, so that
# the joint vocabulary holds pieces of two languages, some shared and some not.
MARIAN_TARGET_CORPUS = """\
Der schnelle braune Fuchs springt über den faulen Hund. Der Hund stört sich nicht daran; er hat
den Fuchs schon oft springen sehen, und er schläft lieber in der warmen Nachmittagssonne.

Aufmerksamkeit lässt jedes Token jedes andere Token ansehen. In einem Transformer hat jede
Schicht mehrere Köpfe, und jeder Kopf lernt seine eigene Art zu schauen: manche Köpfe schauen
auf das vorige Wort, manche auf das erste Token, und manche verteilen ihre Aufmerksamkeit über
den ganzen Satz.

Ein Sprachmodell liest Text von links nach rechts. An jeder Stelle sagt es das nächste Token
voraus, und es darf nur die Token ansehen, die davor kamen. Deshalb ist das Muster der
Aufmerksamkeit ein Dreieck: die Zukunft ist hinter einer Maske verborgen.

Am Morgen gingen die Kinder am Fluss entlang zur Schule. Sie sprachen über die Musik, die sie
am Abend zuvor gehört hatten, und über die Bücher, die sie gerade lasen. Der Lehrer wartete
schon an der Tür, und der Unterricht begann um neun.
"""
