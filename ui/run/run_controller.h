#pragma once
// Loads models, runs them (on text, or on a picture for image models) and opens recordings
// through one JobRunner, delivering results in stages: model → tokens → progress per layer →
// recording (with the picture of an image recording) → analysis → finished. A newer
// request supersedes an older one; every failure arrives as failed(message), naming the file
// and the problem (attn::Error's message).
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

#include "image/picture.h"
#include "nn/model.h"
#include "qt_convert.h"
#include "run/analysis.h"
#include "run/job_runner.h"

namespace attn::ui {

using ModelPtr = std::shared_ptr<const Model>;

struct RunRequest {
  QString model_dir;
  QString text;
  QString pair;           // empty: none
  QString image;          // image models: the picture file (PNG, JPEG, BMP) instead of text
  bool truncate = true;   // cut input longer than the model's positions
  bool record_qkv = false;  // also record per-head Q/K/V and scores (teaching mode)
};

class RunController : public QObject {
  Q_OBJECT
 public:
  explicit RunController(QObject* parent = nullptr);

  void load_model(const QString& dir);
  void run(const RunRequest& request);  // loads the model first when it is not the loaded one
  void open_recording(const QString& path);
  void cancel() { runner_.cancel(); }
  bool busy() const { return runner_.busy(); }
  const ModelPtr& model() const { return model_; }
  JobRunner& runner() { return runner_; }

 Q_SIGNALS:
  void model_loaded(const attn::ui::ModelPtr& model);
  void tokens_ready(const QStringList& tokens, bool truncated);
  void progress(double fraction, const QString& stage);
  // `source`: the recording file, or empty for a fresh run.
  void recording_ready(const attn::ui::RecordingPtr& recording, const QString& source);
  // Right after recording_ready, for image recordings: the picture the model saw (or why it
  // is missing, for a recording whose picture cannot be found).
  void picture_ready(const attn::ui::RecordingPtr& recording, const attn::ui::PicturePtr& picture);
  void analysis_ready(const attn::ui::RecordingPtr& recording, const attn::ui::AnalysisPtr& analysis);
  void finished();
  void cancelled();
  void failed(const QString& message);
  void busy_changed(bool busy);

 private:
  ModelPtr cached_model(const QString& dir) const;
  void deliver_model(const JobContext& ctx, const ModelPtr& model);
  void deliver_recording(const JobContext& ctx, const RecordingPtr& rec, const QString& source, const PicturePtr& picture);
  // The worker's part of a run: text through the tokenizer, or a picture file.
  std::shared_ptr<AttentionRecording> run_text(const JobContext& ctx, const Model& model, const RunRequest& req);
  std::shared_ptr<AttentionRecording> run_image(const JobContext& ctx, const Model& model, const RunRequest& req, PicturePtr* picture);

  JobRunner runner_;
  ModelPtr model_;
};

}  // namespace attn::ui

Q_DECLARE_METATYPE(attn::ui::ModelPtr)
Q_DECLARE_METATYPE(attn::ui::AnalysisPtr)
