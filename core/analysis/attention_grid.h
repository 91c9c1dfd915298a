#pragma once
// Attention of an image recording laid out on its patch grid (for overlays on the picture).
#include <optional>

#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn {

struct ImagePatchGrid {
  int height = 0, width = 0;  // patches
  int first_patch = 0;        // token index of patch (0, 0): the number of [CLS]/[DIST] tokens
};

// The patch grid of a recording from its `image_grid` metadata ("HxW"); nullopt for text
// recordings. Throws attn::Error when the value is malformed or needs more tokens than the
// recording has.
std::optional<ImagePatchGrid> image_patch_grid(const RecordingMeta& meta);

// (grid height, grid width): the attention `query_token` pays to each patch in `layer`, in
// one head or the mean / max over the heads (`head` = kHeadMean / kHeadMax). Patch (r, c) is
// token first_patch + r · width + c. Throws attn::Error for a recording without image_grid
// or an index out of range.
RowMatrix image_attention_grid(const AttentionRecording& recording, int layer, int head, int query_token);

// The recording's stored input image (the `image` tensor) as 0..255 RGB pixels, undoing the
// normalisation its image_mean / image_std / image_rescale_factor metadata states (identity
// for the keys that are absent); one channel becomes grey. nullopt without an image tensor;
// malformed metadata counts as absent.
std::optional<Rgb8Image> recorded_input_image(const AttentionRecording& recording);

}  // namespace attn
