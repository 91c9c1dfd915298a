// Writes transformers.js's ids for the Unigram and WordLevel tokenizer.json fixtures:
//   tests/fixtures/tokenizer/unigram_nfkc_expected.json           (Unigram + Precompiled charsmap)
//   tests/fixtures/tokenizer/unigram_byte_fallback_expected.json  (Unigram, byte_fallback)
//   tests/fixtures/tokenizer/word_level_expected.json             (WordLevel + Whitespace)
// The Unigram fixtures and their case texts come from tools/make_unigram_fixtures.py (which also
// stores python3-sentencepiece's ids in <name>_spm_expected.json); the WordLevel fixture is
// hand-written (tests/fixtures/tokenizer/word_level/tokenizer.json).
//
// Reference: @huggingface/tokenizers (the tokenizers port transformers.js runs), offline.
// Known gaps of that port, recorded in each file's "reference" and handled by the C++ tests:
//   - its Unigram has no byte_fallback: for unigram_byte_fallback its ids are kept only for the
//     texts whose result has no unknown token (`complete: false` marks the others);
//   - its Precompiled normalizer is JavaScript's NFKC plus sentencepiece's whitespace and
//     control-character rules, not the charsmap itself;
//   - where sentencepiece and the tokenizers pipeline differ by design (the converter's Strip
//     also removes a trailing "\r\n"; Metaspace adds no "▁" before text that starts with one),
//     a case is marked differs_from_sentencepiece: true;
//   - it has no WordLevel model: such a vocabulary falls to its Legacy model (whole pieces
//     looked up, the unknown token named by the tokenizer config).
//
// Usage (inside tools/tokenizer_reference):
//   npm install && npm install --ignore-scripts @huggingface/transformers
//   node make_unigram_expected.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '..', '..', 'tests', 'fixtures', 'tokenizer');
const version = (pkg) =>
  JSON.parse(fs.readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
const readJson = (file) => JSON.parse(fs.readFileSync(path.join(fixtures, file), 'utf8'));
const reference = `@huggingface/tokenizers ${version('@huggingface/tokenizers')} Tokenizer.encode(text), offline`;

function write(name, doc) {
  const body = doc.cases.map((c) => '    ' + JSON.stringify(c)).join(',\n');
  const head = JSON.stringify({ ...doc, cases: [] }, null, 2).replace(/\n  "cases": \[\]\n}$/, '');
  fs.writeFileSync(path.join(fixtures, name), `${head}\n  "cases": [\n${body}\n  ]\n}\n`);
  JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8'));
  console.log(`wrote ${name}: ${doc.cases.length} cases`);
}

// --- Unigram ---------------------------------------------------------------------------------
for (const name of ['unigram_nfkc', 'unigram_byte_fallback']) {
  const json = readJson(path.join(name, 'tokenizer.json'));
  const spm = readJson(`${name}_spm_expected.json`);
  const tok = new Tokenizer(json, { eos_token: '</s>', unk_token: '<unk>' });
  const unk = json.model.unk_id;
  let agree = 0;
  const cases = spm.cases.map(({ text, ids: spmIds }) => {
    const r = tok.encode(text);
    const same = JSON.stringify(r.ids) === JSON.stringify(spmIds);
    if (same) ++agree;
    else console.log(`${name}: transformers.js and sentencepiece differ on ${JSON.stringify(text)}`);
    const c = { text, ids: r.ids, tokens: r.tokens };
    if (json.model.byte_fallback && r.ids.includes(unk)) c.complete = false;
    else if (!same) c.differs_from_sentencepiece = true;  // the tokenizers pipeline's own rule
    return c;
  });
  console.log(`${name}: ${agree} of ${cases.length} agree with sentencepiece`);
  write(`${name}_expected.json`, {
    generated_by: 'tools/tokenizer_reference/make_unigram_expected.mjs (do not edit by hand)',
    reference: reference + (json.model.byte_fallback
      ? '; this port has no Unigram byte_fallback, so cases with an unknown token are complete: false'
      : '; its Precompiled normalizer is JavaScript NFKC plus sentencepiece whitespace rules'),
    files: `${name}/tokenizer.json`,
    cases,
  });
}

// --- WordLevel ---------------------------------------------------------------------------------
// ASCII only: JavaScript's \w (the port's Whitespace pre-tokenizer) is ASCII, Rust's is Unicode.
const WORD_TEXTS = [
  'the cat sat on the mat',
  'The cat sat on the mat.',
  'a dog, a cat and a bird!',
  'unknown words like zebra map to unk',
  '   spaces   between    words   ',
  '',
  'cat\tdog\nbird',
  "don't stop",
  'cats and dogs?',
  '42 cats',
];
{
  const json = readJson(path.join('word_level', 'tokenizer.json'));
  const tok = new Tokenizer(json, { unk_token: json.model.unk_token });
  write('word_level_expected.json', {
    generated_by: 'tools/tokenizer_reference/make_unigram_expected.mjs (do not edit by hand)',
    reference: reference + '; this port has no WordLevel model: its Legacy model looks whole pieces up, ' +
      'with the unknown token from the tokenizer config (model.unk_token here)',
    files: 'word_level/tokenizer.json',
    cases: WORD_TEXTS.map((text) => {
      const r = tok.encode(text);
      return { text, ids: r.ids, tokens: r.tokens };
    }),
  });
}
