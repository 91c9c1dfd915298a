// Optional cross-check: re-tokenizes every case of tests/fixtures/models/*/expected/ with
// Hugging Face's own JS tokenizers (@huggingface/tokenizers, and transformers.js AutoTokenizer
// for the tokenizer.json fixtures) and compares with the stored input_ids / token_type_ids.
// Marian's folder is skipped: its SentencePiece .spm files have no JS reader here.
// Uses the node_modules of tools/tokenizer_reference (npm install there first).
//
//   node tools/reference/crosscheck_tokenizers.mjs
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const models = path.resolve(here, '..', '..', 'tests', 'fixtures', 'models') + path.sep;
const npmDir = path.resolve(here, '..', 'tokenizer_reference');
const require = createRequire(path.join(npmDir, 'package.json'));
const { Tokenizer } = require('@huggingface/tokenizers');
const tf = await import(require.resolve('@huggingface/transformers'));

// Minimal safetensors reader: returns { tensors: name -> Array of numbers (I32, I64 only), metadata }.
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__' || !['I32', 'I64'].includes(info.dtype)) continue;
    const [b, e] = info.data_offsets;
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    const raw = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    tensors[name] = info.dtype === 'I32' ? Array.from(new Int32Array(raw)) : Array.from(new BigInt64Array(raw), Number);
  }
  return { tensors, metadata: header.__metadata__ };
}

// A tokenizer.json for a WordPiece vocab.txt folder (same settings as our bert_cls file).
function wordpieceFromVocabTxt(dir) {
  const base = JSON.parse(fs.readFileSync(models + 'bert_cls/tokenizer.json', 'utf8'));
  const vocab = {};
  fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').split('\n').filter((l) => l.length)
    .forEach((t, i) => { vocab[t] = i; });
  return new Tokenizer({ ...base, model: { ...base.model, vocab } }, {});
}

// GPT-2 style (no special tokens added), or BART's (RobertaProcessing: <s> A </s>).
function bpeFromFiles(dir, bart) {
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').split('\n').slice(1)
    .filter((l) => l.length);
  const specials = bart ? ['<s>', '<pad>', '</s>', '<unk>', '<mask>'] : ['<|endoftext|>'];
  return new Tokenizer({
    model: { type: 'BPE', vocab, merges, unk_token: null, continuing_subword_prefix: null,
             end_of_word_suffix: null, fuse_unk: false },
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: bart ? { type: 'RobertaProcessing', sep: ['</s>', vocab['</s>']], cls: ['<s>', vocab['<s>']],
                             trim_offsets: true, add_prefix_space: false } : null,
    decoder: { type: 'ByteLevel' },
    added_tokens: specials.map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: t === '<mask>',
                                         rstrip: false, normalized: false, special: true })),
  }, {});
}

function tokenizerClass(dir) {
  const file = path.join(dir, 'tokenizer_config.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).tokenizer_class : null;
}

// The id GPT2Tokenizer puts before the text when tokenizer_config.json says add_bos_token
// (the Llama-family fixtures), else null.
function bosId(dir) {
  const file = path.join(dir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return null;
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!config.add_bos_token) return null;
  const name = typeof config.bos_token === 'string' ? config.bos_token : config.bos_token.content;
  return JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'))[name];
}

tf.env.allowRemoteModels = false;
tf.env.allowLocalModels = true;
tf.env.localModelPath = models;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
let bad = 0;
let count = 0;
for (const name of fs.readdirSync(models).sort()) {
  const dir = models + name;
  if (!fs.existsSync(path.join(dir, 'expected'))) continue;
  const cls = tokenizerClass(dir);
  if (cls === 'MarianTokenizer') {
    console.log(`skip ${name}: SentencePiece .spm files (no JS reader here)`);
    continue;
  }
  const bart = cls === 'BartTokenizer';
  const isBpe = fs.existsSync(path.join(dir, 'merges.txt')) && !bart;
  const hasJson = fs.existsSync(path.join(dir, 'tokenizer.json'));
  const tok = isBpe || bart ? bpeFromFiles(dir, bart)
    : hasJson ? new Tokenizer(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), {})
      : wordpieceFromVocabTxt(dir);
  const auto = hasJson ? await tf.AutoTokenizer.from_pretrained(name) : null;
  const bos = isBpe ? bosId(dir) : null;
  for (const file of fs.readdirSync(path.join(dir, 'expected')).sort()) {
    const { tensors, metadata } = readSafetensors(path.join(dir, 'expected', file));
    const pair = metadata.pair ?? null;
    const r = tok.encode(metadata.text, { text_pair: pair, add_special_tokens: !isBpe,
                                          return_token_type_ids: true });
    const ids = bos === null ? r.ids : [bos, ...r.ids];
    let ok = same(ids, tensors.input_ids) &&
      (!tensors.token_type_ids || same(r.token_type_ids, tensors.token_type_ids));
    if (auto) {
      const a = auto(metadata.text, { text_pair: pair, return_tensor: false });
      ok = ok && same(a.input_ids, tensors.input_ids);
    }
    count += 1;
    if (!ok) {
      bad += 1;
      console.log(`MISMATCH ${name}/${file}: ${JSON.stringify(ids)} vs ${JSON.stringify(tensors.input_ids)}`);
    }
  }
}
console.log(`${count - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
