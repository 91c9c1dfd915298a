#include "model/family_table.h"

namespace attn {

// Each row is defined at the end of its family's file in core/nn/.
extern const FamilySpec kBertFamily, kDistilBertFamily;  // nn/encoder.cpp
extern const FamilySpec kGpt2Family;                     // nn/gpt2.cpp
extern const FamilySpec kVitFamily, kDeitFamily;         // nn/vit.cpp
extern const FamilySpec kLlamaFamily, kMistralFamily, kQwen2Family, kQwen3Family, kGemma2Family, kGemma3TextFamily,
    kGemma3Family, kPhi3Family;  // nn/llama.cpp
extern const FamilySpec kBartFamily, kMarianFamily;  // nn/bart.cpp
extern const FamilySpec kT5Family;                   // nn/t5.cpp

const std::vector<const FamilySpec*>& family_table() {
  static const std::vector<const FamilySpec*> rows = {
      &kBertFamily, &kDistilBertFamily, &kGpt2Family, &kLlamaFamily, &kMistralFamily, &kQwen2Family, &kQwen3Family,
      &kGemma2Family, &kGemma3TextFamily, &kGemma3Family, &kPhi3Family, &kBartFamily, &kMarianFamily, &kT5Family, &kVitFamily, &kDeitFamily,
  };
  return rows;
}

const FamilySpec* find_family(std::string_view model_type) {
  for (const FamilySpec* f : family_table())
    if (model_type == f->model_type) return f;
  return nullptr;
}

std::string supported_model_types() {
  const auto& rows = family_table();
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += i + 1 == rows.size() ? " and " : ", ";
    out += rows[i]->model_type;
  }
  return out;
}

}  // namespace attn
