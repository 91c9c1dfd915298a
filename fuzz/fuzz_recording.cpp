// Recording metadata and tensor checks, then reading every head, the stored predictions, a
// generation's steps and an ablated run's heads, and the recording read as View ▸ Reading
// reads it (sinks hidden, pieces merged into words and sentences from its token strings).
#include <vector>

#include "analysis/reading.h"
#include "fuzz_support.h"
#include "nn/interventions.h"
#include "record/recording.h"
#include "session/generate.h"
#include "session/predictions.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* b = reinterpret_cast<const std::byte*>(data);
  try {
    const auto file = attn::SafetensorsFile::open(attn::MappedFile::from_bytes("fuzz.safetensors", std::vector<std::byte>(b, b + size)));
    const auto rec = attn::AttentionRecording::open(file);
    float sum = 0;
    for (int l = 0; l < rec->num_layers(); ++l)
      for (int h = 0; h < rec->num_heads(); ++h) sum += rec->head(l, h).sum();
    if (const auto p = attn::read_predictions(rec->meta())) sum += float(p->top.size());
    if (const auto g = attn::read_generation(*rec)) sum += float(g->steps.size());
    // The heads an ablated run changed, as the window reads them (`ablated_heads`).
    if (const auto it = rec->meta().extra.find("ablated_heads"); it != rec->meta().extra.end())
      sum += float(attn::parse_heads(it->second, 1 << 20, rec->num_heads()).size());
    if (attn::why_not_read(*rec).empty()) {
      attn::Reading reading;
      reading.hide_special = reading.hide_first = true;
      for (const auto unit : {attn::ReadingUnit::Words, attn::ReadingUnit::Sentences}) {
        reading.unit = unit;
        const auto read = attn::read_as(rec, reading);
        if (read->num_layers() > 0 && read->num_heads() > 0) sum += read->head(0, 0).sum();
      }
    }
    (void)sum;
  } catch (const attn::Error&) {
  }
  return 0;
}
