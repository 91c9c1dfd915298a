#pragma once
// Constructors of the model families (internal to the engine). Each binds and shape-checks
// every weight it needs from the store; the store must outlive the model (Model owns it).
#include <memory>

#include "nn/model.h"

namespace attn {

std::unique_ptr<Model> make_encoder_model(const ModelConfig& config, WeightStore& weights);  // bert, distilbert
std::unique_ptr<Model> make_gpt2_model(const ModelConfig& config, WeightStore& weights);
std::unique_ptr<Model> make_vit_model(const ModelConfig& config, WeightStore& weights);  // vit, deit

// Named views of common layer shapes.
struct Linear {
  ConstMatrixMap w;  // (out, in) for nn.Linear, (in, out) for Conv1D
  ConstVectorMap b;
};
struct Norm {
  ConstVectorMap gamma, beta;
};

// `name`.weight (out, in) + `name`.bias (out).
Linear bind_linear(WeightStore& w, const std::string& name, int out, int in);
// GPT-2 Conv1D: `name`.weight (in, out) + `name`.bias (out).
Linear bind_conv1d(WeightStore& w, const std::string& name, int in, int out);
// `name`.weight/.bias, or the old `name`.gamma/.beta.
Norm bind_norm(WeightStore& w, const std::string& name, int n);

}  // namespace attn
