#pragma once
// The picture behind an image recording and how its patches lie on it: the patch grid and
// the share of the model's input it covers (from the recording's metadata), and the region
// of the source picture the model saw (image_crop of image_path), decoded with the front
// end's decoder (imageio/picture_file.h). Immutable once made; shared across threads.
#include <QImage>
#include <QMetaType>
#include <QString>
#include <memory>
#include <optional>

#include "model/image_types.h"
#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn::ui {

// Where an image recording's patches are: a rows × cols grid whose patch (r, c) is token
// first_patch + r · cols + c, covering the left cover_w and top cover_h share of the model's
// input (pixels past the last whole patch are seen by no patch).
struct PatchLayout {
  int rows = 0, cols = 0;
  int first_patch = 0;
  int input_width = 0, input_height = 0;  // the model's input in pixels; 0 when not recorded
  int patch_size = 0;                     // pixels; 0 when not recorded
  double cover_w = 1.0, cover_h = 1.0;

  // Width / height of the model's input (of the grid when the input size is unknown).
  double aspect() const;
  int token(int r, int c) const { return first_patch + r * cols + c; }
  // The patch of a token; false for [CLS] / [DIST] and out-of-range tokens.
  bool patch_of(int token, int* r, int* c) const;
};

// The layout of an image recording; nullopt for text recordings and malformed metadata.
std::optional<PatchLayout> patch_layout(const RecordingMeta& meta);

struct RecordingPicture {
  QImage original;  // the source picture's crop region (RGB32), at most kMaxPictureSide a side
  QImage input;     // the same region at the model's input resolution (what the model saw)
  QString path;     // image_path, as recorded
  QString note;     // when there is no picture: why ("picture not found: …"); else empty
  bool valid() const { return !original.isNull(); }
};
using PicturePtr = std::shared_ptr<const RecordingPicture>;

// Larger pictures are reduced to this many pixels on the long side for display.
constexpr int kMaxPictureSide = 2048;

// Decodes the recording's image_path and cuts image_crop out of it. When the path does not
// exist, the file of the same name in `fallback_dir` (e.g. the recording's folder) is tried;
// then the input image stored in the recording (its `image` tensor, de-normalised), shown
// in the crop region's shape, with a `note` saying so. Never throws: with none of these the
// picture has only `note` set.
PicturePtr load_recording_picture(const AttentionRecording& recording, const QString& fallback_dir = {});
// The same from pixels already decoded (a fresh run).
PicturePtr make_recording_picture(const Rgb8View& source, const RecordingMeta& meta);
// RGB8 pixels as a QImage (RGB32, a copy).
QImage to_qimage(const Rgb8View& pixels);

// (rows, cols): row `query` of an (N, N) matrix (e.g. the rollout) on the patches.
RowMatrix patch_row(const RowMatrix& matrix, const PatchLayout& layout, int query);
// How a token of an image recording is called in titles: "[CLS]", "patch (3, 4)".
QString image_token_name(const RecordingMeta& meta, const PatchLayout& layout, int token);

}  // namespace attn::ui

Q_DECLARE_METATYPE(attn::ui::PicturePtr)
