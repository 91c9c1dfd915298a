// Writes the independent reference outputs the C++ tokenizer tests compare against:
//   tests/fixtures/tokenizer/gpt2_expected.json          (npm gpt-3-encoder, GPT-2's own BPE)
//   tests/fixtures/tokenizer/bert_uncased_expected.json  (transformers.js, offline)
//   tests/fixtures/tokenizer/{llama3,qwen3,gemma3,sentencepiece_bpe_32k}_expected.json
//                                                        (transformers.js, offline)
// from the real published files in ../shared/models (never copied into the repository).
//
// Usage (inside tools/tokenizer_reference):
//   npm install && npm install --ignore-scripts @huggingface/transformers
//   node make_expected.mjs [path/to/shared/models]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { Tokenizer } from '@huggingface/tokenizers';
import { TEXTS, PAIRS, LLM_TEXTS } from './cases.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const shared = path.resolve(process.argv[2] ?? path.join(repo, '..', 'shared', 'models'));
const outDir = path.join(repo, 'tests', 'fixtures', 'tokenizer');
const version = (pkg) =>
  JSON.parse(fs.readFileSync(path.join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;

function fail(message) {
  console.error(`make_expected: ${message}`);
  process.exit(1);
}

// --- GPT-2 -------------------------------------------------------------------------------
// gpt-3-encoder ships the same vocab/merges as ../shared/models/gpt2-tokenizer; check that,
// so the reference really is about the shared files.
const gpt2Dir = path.join(shared, 'gpt2-tokenizer');
const gpt3Dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
const sharedVocab = JSON.parse(fs.readFileSync(path.join(gpt2Dir, 'vocab.json'), 'utf8'));
const encoderVocab = JSON.parse(fs.readFileSync(path.join(gpt3Dir, 'encoder.json'), 'utf8'));
const sharedMerges = fs.readFileSync(path.join(gpt2Dir, 'merges.txt'), 'utf8');
if (JSON.stringify(sharedVocab) !== JSON.stringify(encoderVocab) ||
    sharedMerges !== fs.readFileSync(path.join(gpt3Dir, 'vocab.bpe'), 'utf8')) {
  fail('gpt-3-encoder files differ from ' + gpt2Dir);
}
const { encode: gpt3Encode } = require('gpt-3-encoder');
const EOT = '<|endoftext|>';
const EOT_ID = sharedVocab[EOT];

// gpt-3-encoder knows nothing of special tokens; Hugging Face splits added tokens out first.
function gpt2Reference(text) {
  const ids = [];
  text.split(EOT).forEach((piece, i) => {
    if (i > 0) ids.push(EOT_ID);
    if (piece.length > 0) ids.push(...gpt3Encode(piece));
  });
  return ids;
}

// Second opinion: the Hugging Face tokenizers JS port, built from the same files.
const merges = sharedMerges.split('\n').slice(1).filter((l) => l.length > 0);
const hfGpt2 = new Tokenizer({
  model: { type: 'BPE', vocab: sharedVocab, merges, unk_token: null,
           continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false },
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel' },
  added_tokens: [{ id: EOT_ID, content: EOT, single_word: false, lstrip: false, rstrip: false,
                   normalized: false, special: true }],
}, {});

const gpt2Cases = TEXTS.map((text) => {
  const ids = gpt2Reference(text);
  const second = hfGpt2.encode(text, { add_special_tokens: false }).ids;
  if (JSON.stringify(ids) !== JSON.stringify(second)) {
    fail(`GPT-2 references disagree on ${JSON.stringify(text)}: ${ids} vs ${second}`);
  }
  return { text, ids };
});

// --- BERT uncased --------------------------------------------------------------------------
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = shared + path.sep;
const bert = await AutoTokenizer.from_pretrained('bert-uncased-tokenizer');
const bertEncode = (text, pair = null) => {
  const r = bert._tokenizer.encode(text, { text_pair: pair, return_token_type_ids: true });
  const plain = bert(text, { text_pair: pair, return_tensor: false, return_token_type_ids: true });
  if (JSON.stringify(plain.input_ids) !== JSON.stringify(r.ids)) fail('transformers.js paths disagree');
  return { ids: r.ids, tokens: r.tokens, type_ids: r.token_type_ids };
};
const bertCases = [
  ...TEXTS.map((text) => ({ text, ...bertEncode(text) })),
  ...PAIRS.map(([text, pair]) => ({ text, pair, ...bertEncode(text, pair) })),
];

// --- today's LLM tokenizers ----------------------------------------------------------------
// encode() with add_special_tokens as transformers.js defaults it (BOS where the file's
// post-processor adds it); tokens from the same call; decode of those ids without clean-up.
const llmFolders = [
  ['llama3-tokenizer', 'llama3_expected.json'],
  ['qwen3-tokenizer', 'qwen3_expected.json'],
  ['gemma3-tokenizer', 'gemma3_expected.json'],
  ['sentencepiece-bpe-32k-tokenizer', 'sentencepiece_bpe_32k_expected.json'],
];
const llmCases = {};
for (const [folder] of llmFolders) {
  const tok = await AutoTokenizer.from_pretrained(folder);
  llmCases[folder] = [...TEXTS, ...LLM_TEXTS].map((text) => {
    const r = tok._tokenizer.encode(text);
    const plain = tok(text, { return_tensor: false }).input_ids;
    if (JSON.stringify(plain) !== JSON.stringify(r.ids)) fail(`${folder}: transformers.js paths disagree`);
    const decoded = r.ids.length ? tok.decode(r.ids, { clean_up_tokenization_spaces: false }) : '';
    return { text, ids: r.ids, tokens: r.tokens, decoded };
  });
}

// --- write ---------------------------------------------------------------------------------
fs.mkdirSync(outDir, { recursive: true });
const write = (name, reference, files, cases) => {
  const doc = {
    generated_by: 'tools/tokenizer_reference/make_expected.mjs (do not edit by hand)',
    reference,
    files,
    cases,
  };
  // One case per line keeps diffs readable.
  const body = cases.map((c) => '    ' + JSON.stringify(c)).join(',\n');
  const head = JSON.stringify({ ...doc, cases: [] }, null, 2).replace(/\n  "cases": \[\]\n}$/, '');
  fs.writeFileSync(path.join(outDir, name), `${head}\n  "cases": [\n${body}\n  ]\n}\n`);
  JSON.parse(fs.readFileSync(path.join(outDir, name), 'utf8'));  // sanity: valid JSON
  console.log(`wrote ${name}: ${cases.length} cases`);
};
write('gpt2_expected.json',
      `npm gpt-3-encoder ${version('gpt-3-encoder')} encode(), added token ${EOT} split out first; ` +
      `cross-checked with @huggingface/tokenizers ${version('@huggingface/tokenizers')}`,
      '../shared/models/gpt2-tokenizer (vocab.json, merges.txt)', gpt2Cases);
write('bert_uncased_expected.json',
      `@huggingface/transformers ${version('@huggingface/transformers')} AutoTokenizer, offline`,
      '../shared/models/bert-uncased-tokenizer (tokenizer.json, tokenizer_config.json)', bertCases);
for (const [folder, name] of llmFolders) {
  write(name, `@huggingface/transformers ${version('@huggingface/transformers')} AutoTokenizer, offline: ` +
        'encode() with its default add_special_tokens; decode(ids, {clean_up_tokenization_spaces: false})',
        `../shared/models/${folder} (tokenizer.json, tokenizer_config.json)`, llmCases[folder]);
}
