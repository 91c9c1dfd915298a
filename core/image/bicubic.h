#pragma once
// PyTorch's bicubic resampling of a grid of vectors, as Hugging Face's ViT/DeiT use it to
// stretch position embeddings to another patch grid (interpolate_pos_encoding):
// torch.nn.functional.interpolate(x, size=(out_h, out_w), mode="bicubic", align_corners=False).
#include <Eigen/Core>

#include "model/tensor_types.h"

namespace attn {

// `grid`: (in_h · in_w, C), cell (r, c) in row r · in_w + c. Returns (out_h · out_w, C).
// Keys's cubic convolution with A = -0.75, source coordinate (i + 0.5) · in/out - 0.5, the
// 4 × 4 neighbourhood clamped at the borders (torch's upsample_bicubic2d).
RowMatrix torch_bicubic_resize(const Eigen::Ref<const RowMatrix>& grid, int in_h, int in_w, int out_h, int out_w);

}  // namespace attn
