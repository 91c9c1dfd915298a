#include "analysis/reading.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace attn {

namespace {

constexpr std::string_view kSpaceBpe = "\xC4\xA0";      // Ġ: byte-level BPE's space
constexpr std::string_view kNewlineBpe = "\xC4\x8A";    // Ċ: its newline
constexpr std::string_view kSpaceSp = "\xE2\x96\x81";   // ▁: SentencePiece's space

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) { return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix; }

bool starts_spaced(std::string_view t) {
  return !t.empty() && (t[0] == ' ' || t[0] == '\n' || t[0] == '\t' || starts_with(t, kSpaceBpe) || starts_with(t, kNewlineBpe) || starts_with(t, kSpaceSp));
}

// A piece that is punctuation alone (after its space marker): ",", " .", "Ġ!", "##." is not.
bool punctuation_alone(std::string_view t) {
  if (starts_with(t, kSpaceBpe)) t.remove_prefix(kSpaceBpe.size());
  else if (starts_with(t, kSpaceSp)) t.remove_prefix(kSpaceSp.size());
  while (!t.empty() && t[0] == ' ') t.remove_prefix(1);
  if (t.empty()) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; });
}

bool ends_sentence(const std::string& word) {
  std::string_view w(word);
  while (!w.empty() && std::isspace(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
  return ends_with(w, ".") || ends_with(w, "!") || ends_with(w, "?") || ends_with(w, "\xE2\x80\xA6") || ends_with(w, "\xE3\x80\x82") ||
         ends_with(w, "\xEF\xBC\x81") || ends_with(w, "\xEF\xBC\x9F");
}

// A label short enough for an axis: the first 24 bytes' characters and "…".
std::string shortened(std::string s) {
  const auto first = s.find_first_not_of(' ');
  s = first == std::string::npos ? s : s.substr(first);
  if (s.size() <= 24) return s;
  size_t cut = 22;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return s.substr(0, cut) + "\xE2\x80\xA6";
}

bool flag(const std::vector<uint8_t>& v, size_t i) { return i < v.size() && v[i] != 0; }

}  // namespace

std::string unit_name(ReadingUnit unit) { return unit == ReadingUnit::Words ? "words" : unit == ReadingUnit::Sentences ? "sentences" : "tokens"; }
std::string rule_name(WordRule rule) { return rule == WordRule::SumKeysMeanQueries ? "sum-keys" : "mean-keys"; }

std::string describe(const Reading& r) {
  std::string hidden;
  if (r.hide_special && r.hide_first) hidden = "special and first tokens hidden, rows renormalised";
  else if (r.hide_special) hidden = "special tokens hidden, rows renormalised";
  else if (r.hide_first) hidden = "first token hidden, rows renormalised";
  std::string unit;
  if (r.unit != ReadingUnit::Tokens)
    unit = unit_name(r.unit) + (r.rule == WordRule::SumKeysMeanQueries ? " (keys summed, queries averaged)" : " (keys averaged, queries summed)");
  return hidden.empty() ? unit : unit.empty() ? hidden : hidden + " · " + unit;
}

bool looks_special(const std::string& t) {
  if (t.size() >= 3 && t.front() == '[' && t.back() == ']')
    return std::all_of(t.begin() + 1, t.end() - 1, [](char c) { return std::isupper(static_cast<unsigned char>(c)) || c == '_'; });
  if (t.size() >= 4 && starts_with(t, "<|") && ends_with(t, "|>")) return true;
  if (t.size() < 3 || t.front() != '<' || t.back() != '>' || starts_with(t, "<0x")) return false;
  return std::all_of(t.begin() + 1, t.end() - 1, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '/' || c == '-'; }) &&
         std::isalpha(static_cast<unsigned char>(t[t[1] == '/' ? 2 : 1]));
}

std::vector<uint8_t> special_flags(const RecordingMeta& meta) {
  if (!meta.special.empty()) return meta.special;
  std::vector<uint8_t> out(meta.tokens.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = looks_special(meta.tokens[i]) ? 1 : 0;
  return out;
}

std::vector<uint8_t> hidden_tokens(const RecordingMeta& meta, const Reading& reading) {
  std::vector<uint8_t> hidden(size_t(std::max(0, meta.num_tokens)), 0);
  if (reading.hide_special) {
    const auto special = special_flags(meta);
    for (size_t i = 0; i < hidden.size(); ++i) hidden[i] = flag(special, i) ? 1 : 0;
  }
  if (reading.hide_first && !hidden.empty()) hidden[0] = 1;
  return hidden;
}

std::vector<Span> piece_words(const std::vector<std::string>& tokens, const std::vector<uint8_t>& special, const std::vector<uint8_t>& hidden) {
  const bool wordpiece = std::any_of(tokens.begin(), tokens.end(), [](const std::string& t) { return starts_with(t, "##"); });
  std::vector<Span> spans;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool alone = flag(special, i) || flag(hidden, i);
    const bool after_alone = i > 0 && (flag(special, i - 1) || flag(hidden, i - 1) || punctuation_alone(tokens[i - 1]));
    const bool piece = wordpiece ? starts_with(tokens[i], "##") : !starts_spaced(tokens[i]);
    if (i == 0 || alone || after_alone || !piece || punctuation_alone(tokens[i])) spans.push_back({int(i), int(i) + 1});
    else spans.back().second = int(i) + 1;
  }
  return spans;
}

std::vector<Span> word_sentences(const std::vector<std::string>& words, const std::vector<uint8_t>& alone) {
  std::vector<Span> spans;
  bool open = false;  // whether the last span takes more words
  for (size_t w = 0; w < words.size(); ++w) {
    if (flag(alone, w)) {
      spans.push_back({int(w), int(w) + 1});
      open = false;
      continue;
    }
    if (open) spans.back().second = int(w) + 1;
    else spans.push_back({int(w), int(w) + 1});
    open = !ends_sentence(words[w]);
  }
  return spans;
}

std::string joined_text(const std::vector<std::string>& tokens, Span span) {
  std::string out;
  for (int i = span.first; i < span.second; ++i) {
    std::string_view t(tokens[size_t(i)]);
    if (starts_with(t, "##")) t.remove_prefix(2);
    if (starts_with(t, kSpaceBpe) || starts_with(t, kNewlineBpe)) {
      out += ' ';
      t.remove_prefix(2);
    } else if (starts_with(t, kSpaceSp)) {
      out += ' ';
      t.remove_prefix(3);
    }
    out += t;
  }
  return out;
}

std::vector<int> hide_and_renormalise(RowMatrix& a, const std::vector<uint8_t>& hidden) {
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    if (flag(hidden, size_t(j))) a.col(j).setZero();
  std::vector<int> empty;
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    const double kept = a.row(i).cast<double>().sum();
    if (kept > 0) a.row(i) /= float(kept);
    else {
      a.row(i).setZero();
      empty.push_back(int(i));
    }
  }
  return empty;
}

RowMatrix merge_spans(const Eigen::Ref<const RowMatrix>& a, const std::vector<Span>& spans, WordRule rule) {
  const Eigen::Index U = Eigen::Index(spans.size());
  const bool mean_keys = rule == WordRule::MeanKeysSumQueries;
  RowMatrix keys(a.rows(), U);  // (N, U): each word's key columns merged
  for (Eigen::Index v = 0; v < U; ++v) {
    const auto [c0, c1] = spans[size_t(v)];
    keys.col(v) = a.middleCols(c0, c1 - c0).rowwise().sum() / (mean_keys ? float(c1 - c0) : 1.0f);
  }
  RowMatrix out(U, U);  // (U, U): then each word's query rows
  for (Eigen::Index u = 0; u < U; ++u) {
    const auto [r0, r1] = spans[size_t(u)];
    out.row(u) = keys.middleRows(r0, r1 - r0).colwise().sum() / (mean_keys ? 1.0f : float(r1 - r0));
  }
  return out;
}

std::string why_not_read(const AttentionRecording& rec) {
  if (rec.meta().encoder_decoder())
    return "a translation's cross-attention has its own word reading (the Alignment view's words); hiding tokens and merging words apply to "
           "self-attention recordings";
  return {};
}

std::string why_not_merged(const AttentionRecording& rec) {
  if (rec.meta().encoder_decoder()) return why_not_read(rec);
  if (rec.meta().extra.count("image_grid")) return "an image recording's tokens are patches, not words";
  if (rec.step_candidates()) return "a generation's tokens stay tokens (the Timeline steps through them)";
  return {};
}

std::shared_ptr<const AttentionRecording> read_as(const std::shared_ptr<const AttentionRecording>& rec, const Reading& reading,
                                                  const ProgressFn& progress) {
  if (!rec || reading.plain()) return rec;
  if (const std::string why = why_not_read(*rec); !why.empty()) throw Error(why);
  const RecordingMeta& in = rec->meta();
  const std::vector<uint8_t> hidden = hidden_tokens(in, reading), special = special_flags(in);
  const bool any_hidden = std::any_of(hidden.begin(), hidden.end(), [](uint8_t h) { return h != 0; });
  const std::string no_merge = reading.unit == ReadingUnit::Tokens ? std::string() : why_not_merged(*rec);
  const bool merge = reading.unit != ReadingUnit::Tokens && no_merge.empty();

  RecordingMeta meta = in;
  meta.rotary = {};
  std::vector<Span> spans;  // token spans of the words or sentences
  if (merge) {
    spans = piece_words(in.tokens, special, hidden);
    std::vector<std::string> words;
    std::vector<uint8_t> alone, word_special;
    for (const Span& s : spans) {
      words.push_back(joined_text(in.tokens, s));
      alone.push_back(s.second - s.first == 1 && (flag(special, size_t(s.first)) || flag(hidden, size_t(s.first))) ? 1 : 0);
      word_special.push_back(s.second - s.first == 1 && flag(special, size_t(s.first)) ? 1 : 0);
    }
    meta.tokens.clear();
    meta.special.clear();
    if (reading.unit == ReadingUnit::Sentences) {
      std::vector<Span> sentences;
      for (const Span& s : word_sentences(words, alone)) {
        sentences.push_back({spans[size_t(s.first)].first, spans[size_t(s.second - 1)].second});
        std::string text;
        for (int w = s.first; w < s.second; ++w) {
          const std::string& word = words[size_t(w)];
          if (!text.empty() && !starts_spaced(word) && !punctuation_alone(word)) text += ' ';  // WordPiece's words carry no space
          text += word;
        }
        meta.tokens.push_back(shortened(text));
        meta.special.push_back(word_special[size_t(s.first)] && s.second - s.first == 1 ? 1 : 0);
      }
      spans = std::move(sentences);
    } else {
      for (size_t w = 0; w < words.size(); ++w) meta.tokens.push_back(shortened(words[w]));
      meta.special = word_special;
    }
    meta.num_tokens = int(spans.size());
  }
  Reading stated = reading;
  if (!merge) stated.unit = ReadingUnit::Tokens;
  std::string note = describe(stated);
  if (!no_merge.empty()) note += std::string(note.empty() ? "" : " · ") + "tokens: " + no_merge;

  const auto out = AttentionRecording::create(meta, false, false, rec->storage());
  std::vector<uint8_t> empty_row(size_t(meta.num_tokens), 0);
  for (int l = 0; l < rec->num_layers(); ++l) {
    report_progress(progress, double(l) / rec->num_layers(), "reading layer " + std::to_string(l));
    for (int h = 0; h < rec->num_heads(); ++h) {
      RowMatrix scratch;
      RowMatrix m = rec->head_for_sweep(l, h, scratch);
      if (any_hidden) hide_and_renormalise(m, hidden);
      if (merge) m = merge_spans(m, spans, reading.rule);
      for (Eigen::Index i = 0; i < m.rows(); ++i)
        if (m.row(i).sum() == 0.0f) empty_row[size_t(i)] = 1;
      out->write_matrix(AttentionRecording::Part::Attention, l, h, m);
    }
  }
  std::string empties;
  int listed = 0;
  for (size_t i = 0; i < empty_row.size(); ++i)
    if (empty_row[i] && listed++ < 3) empties += (empties.empty() ? "" : ", ") + std::to_string(i);
  if (any_hidden && listed > 0) note += " · row" + std::string(listed > 1 ? "s " : " ") + empties + (listed > 3 ? ", …" : "") + (listed > 1 ? " keep" : " keeps") + " no key (left at 0)";
  out->meta_mutable().extra["reading"] = note;
  if (!merge) {
    if (rec->logits()) out->set_logits(*rec->logits());
    out->set_image(rec->image());
    out->set_step_candidates(rec->step_candidates());
  }
  report_progress(progress, 1.0, "reading done");
  return out;
}

}  // namespace attn
