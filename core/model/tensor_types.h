#pragma once
// Eigen types used across the engine. Safetensors and recordings are row-major, so every
// matrix here is row-major: a weight [out, in] maps as out rows of `in` floats.
#include <Eigen/Core>

namespace attn {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using MatrixMap = Eigen::Map<RowMatrix>;
using Vector = Eigen::VectorXf;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

}  // namespace attn
