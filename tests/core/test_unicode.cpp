// UTF-8 decoding and the generated Unicode property tables (core/tokenize/unicode.h).
// Expected values are from the Unicode Character Database (checked with Python's
// unicodedata and str.lower()), not from the tables under test.
#include <gtest/gtest.h>

#include "test_support.h"
#include "tokenize/unicode.h"
#include "util/error.h"

namespace attn::unicode {
namespace {

std::u32string lower(char32_t cp) {
  std::u32string out;
  append_lower(cp, out);
  return out;
}

std::string error_of(std::string_view bytes) {
  return test::error_of([&] { decode_utf8(bytes, "sample"); });
}

TEST(Utf8, DecodesEveryLengthWithByteSpans) {
  const std::string text = "a\u00e9\u4e2d\U0001F600";  // 1, 2, 3 and 4 bytes
  const auto cps = decode_utf8(text);
  ASSERT_EQ(cps.size(), 4u);
  EXPECT_EQ(cps[0].cp, U'a');
  EXPECT_EQ(cps[1].cp, char32_t{0xE9});
  EXPECT_EQ(cps[2].cp, char32_t{0x4E2D});
  EXPECT_EQ(cps[3].cp, char32_t{0x1F600});
  EXPECT_EQ(cps[1].begin, 1u);
  EXPECT_EQ(cps[1].end, 3u);
  EXPECT_EQ(cps[2].begin, 3u);
  EXPECT_EQ(cps[3].begin, 6u);
  EXPECT_EQ(cps[3].end, 10u);
  EXPECT_TRUE(decode_utf8("").empty());
}

TEST(Utf8, RejectsMalformedSequencesNamingTheByteOffset) {
  EXPECT_NE(error_of("ab\xff").find("sample: invalid UTF-8 at byte offset 2"), std::string::npos);
  EXPECT_NE(error_of("abc\x80").find("byte offset 3"), std::string::npos);    // stray continuation
  EXPECT_NE(error_of("x\xe4\xb8").find("byte offset 1"), std::string::npos);  // truncated
  EXPECT_NE(error_of("\xc0\x80").find("byte offset 0"), std::string::npos);   // overlong NUL
  EXPECT_NE(error_of("\xe0\x80\xaf").find("byte offset 0"), std::string::npos);      // overlong '/'
  EXPECT_NE(error_of("\xed\xa0\x80").find("byte offset 0"), std::string::npos);      // surrogate
  EXPECT_NE(error_of("\xf4\x90\x80\x80").find("byte offset 0"), std::string::npos);  // > U+10FFFF
  EXPECT_NE(error_of("ok\xe2\x82z").find("byte offset 2"), std::string::npos);  // bad continuation
  EXPECT_EQ(find_invalid_utf8("fine \u00e9"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("bad\xc3"), 3u);
}

TEST(Utf8, LossyDecodingReplacesMaximalSubparts) {
  // Same results as Python's bytes.decode("utf-8", "replace").
  EXPECT_EQ(decode_utf8_lossy("a\xff"
                              "b"),
            "a\ufffd"
            "b");
  EXPECT_EQ(decode_utf8_lossy("\xe2\x82"), "\ufffd");  // one truncated character
  EXPECT_EQ(decode_utf8_lossy("\xf0\x9f\x98x"), "\ufffdx");
  EXPECT_EQ(decode_utf8_lossy("\xed\xa0\x80"), "\ufffd\ufffd\ufffd");  // surrogate: 3 bytes
  EXPECT_EQ(decode_utf8_lossy("\xc3\xa9"), "\u00e9");
}

TEST(Utf8, EncodesCodePoints) {
  EXPECT_EQ(to_utf8(U"a\u00e9\u4e2d\U0001F600"), "a\u00e9\u4e2d\U0001F600");
  std::string out;
  append_utf8(out, 0xD800);  // a lone surrogate cannot be encoded
  EXPECT_EQ(out, "\ufffd");
}

TEST(Categories, MatchTheUnicodeDatabase) {
  EXPECT_EQ(category(U'A'), Category::Lu);
  EXPECT_EQ(category(0xE9), Category::Ll);
  EXPECT_EQ(category(0x1C5), Category::Lt);    // Dž
  EXPECT_EQ(category(0x4E2D), Category::Lo);   // 中
  EXPECT_EQ(category(0x1D400), Category::Lu);  // MATHEMATICAL BOLD CAPITAL A
  EXPECT_EQ(category(0x663), Category::Nd);    // ARABIC-INDIC DIGIT THREE
  EXPECT_EQ(category(0x2167), Category::Nl);   // ROMAN NUMERAL EIGHT
  EXPECT_EQ(category(0xB2), Category::No);     // SUPERSCRIPT TWO
  EXPECT_EQ(category(U'!'), Category::Po);
  EXPECT_EQ(category(0x2014), Category::Pd);  // EM DASH
  EXPECT_EQ(category(0xAB), Category::Pi);    // «
  EXPECT_EQ(category(U'$'), Category::Sc);
  EXPECT_EQ(category(0x20AC), Category::Sc);  // €
  EXPECT_EQ(category(0x301), Category::Mn);   // COMBINING ACUTE ACCENT
  EXPECT_EQ(category(0x93E), Category::Mc);   // DEVANAGARI VOWEL SIGN AA
  EXPECT_EQ(category(0x200B), Category::Cf);  // ZERO WIDTH SPACE
  EXPECT_EQ(category(0xE000), Category::Co);
  EXPECT_EQ(category(0x378), Category::Cn);  // unassigned
  EXPECT_EQ(category(0x10FFFF), Category::Cn);
  EXPECT_EQ(category(0x1F600), Category::So);  // 😀
  EXPECT_EQ(category(0x3000), Category::Zs);
  EXPECT_EQ(category(0x2028), Category::Zl);
}

TEST(Categories, ClassPredicates) {
  EXPECT_TRUE(is_letter(0x5D0));  // HEBREW LETTER ALEF
  EXPECT_FALSE(is_letter(U'1'));
  EXPECT_TRUE(is_number(0x2167));
  EXPECT_FALSE(is_number(U'x'));
  EXPECT_TRUE(is_punctuation(0x3002));  // 。
  EXPECT_FALSE(is_punctuation(U'$'));   // a symbol, not punctuation
  EXPECT_FALSE(is_punctuation(U'+'));
  EXPECT_TRUE(is_mark_nonspacing(0x64E));  // ARABIC FATHA
  EXPECT_FALSE(is_mark_nonspacing(0x93E));
  EXPECT_TRUE(is_other(0x7));
  EXPECT_TRUE(is_other(0xFEFF));
  EXPECT_TRUE(is_other(0x378));
  EXPECT_FALSE(is_other(U' '));
}

TEST(WhiteSpace, FollowsTheWhiteSpaceProperty) {
  for (char32_t cp : {0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028,
                      0x2029, 0x202F, 0x205F, 0x3000}) {
    EXPECT_TRUE(is_white_space(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  for (char32_t cp : {0x1C, 0x1F, 0x200B, 0xFEFF, 0x180E, 0x61}) {
    EXPECT_FALSE(is_white_space(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
}

TEST(Cjk, UsesBertRanges) {
  EXPECT_TRUE(is_bert_cjk(0x4E2D));   // 中
  EXPECT_TRUE(is_bert_cjk(0x3400));   // extension A
  EXPECT_TRUE(is_bert_cjk(0x20000));  // extension B
  EXPECT_TRUE(is_bert_cjk(0xF900));   // compatibility ideograph
  EXPECT_FALSE(is_bert_cjk(0x3042));  // あ hiragana
  EXPECT_FALSE(is_bert_cjk(0x30AB));  // カ katakana
  EXPECT_FALSE(is_bert_cjk(0xD55C));  // 한 hangul
  EXPECT_FALSE(is_bert_cjk(0x3002));  // 。
}

TEST(Lower, MatchesPythonStrLower) {
  EXPECT_EQ(lower(U'A'), U"a");
  EXPECT_EQ(lower(U'a'), U"a");
  EXPECT_EQ(lower(U'1'), U"1");
  EXPECT_EQ(lower(0xC9), U"\u00e9");   // É
  EXPECT_EQ(lower(0x100), U"\u0101");  // Ā (alternating upper/lower block)
  EXPECT_EQ(lower(0x101), U"\u0101");
  EXPECT_EQ(lower(0x102), U"\u0103");
  EXPECT_EQ(lower(0x1C5), U"\u01c6");        // Dž (title case)
  EXPECT_EQ(lower(0x3A3), U"\u03c3");        // Σ (no final-sigma context per character)
  EXPECT_EQ(lower(0x416), U"\u0436");        // Ж
  EXPECT_EQ(lower(0x2126), U"\u03c9");       // OHM SIGN
  EXPECT_EQ(lower(0x212A), U"k");            // KELVIN SIGN
  EXPECT_EQ(lower(0x1E9E), U"\u00df");       // ẞ
  EXPECT_EQ(lower(0x10400), U"\U00010428");  // DESERET CAPITAL LONG I
  EXPECT_EQ(lower(0x130), U"i\u0307");       // İ: the one multi-character mapping
  EXPECT_EQ(lower(0xDF), U"\u00df");         // ß has no lower-case change
  EXPECT_EQ(lower(0x4E2D), U"\u4e2d");
}

TEST(Nfd, DecomposesCanonicallyAndOrders) {
  EXPECT_EQ(nfd(U"\u00e9"), U"e\u0301");
  EXPECT_EQ(nfd(U"\u01d6"), U"u\u0308\u0304");         // ǖ: recursive decomposition
  EXPECT_EQ(nfd(U"\u212b"), U"A\u030a");               // ANGSTROM SIGN
  EXPECT_EQ(nfd(U"\ud55c"), U"\u1112\u1161\u11ab");    // 한: Hangul LVT
  EXPECT_EQ(nfd(U"\uac00"), U"\u1100\u1161");          // 가: Hangul LV
  EXPECT_EQ(nfd(U"\ufb01"), U"\ufb01");                // ﬁ: compatibility only, unchanged
  EXPECT_EQ(nfd(U"a\u0301\u0316"), U"a\u0316\u0301");  // ccc 230 after ccc 220
  EXPECT_EQ(nfd(U"\u1ec7"), U"e\u0323\u0302");  // ệ: dot below (220) before circumflex (230)
  EXPECT_EQ(combining_class(0x301), 230);
  EXPECT_EQ(combining_class(0x316), 220);
  EXPECT_EQ(combining_class(U'a'), 0);
}

TEST(Tables, NameTheirUnicodeVersion) { EXPECT_STRNE(unicode_version(), ""); }

}  // namespace
}  // namespace attn::unicode
