// attnscope: the desktop application and its command line, one binary.
//   attnscope                              start the GUI
//   attnscope --model DIR [--text STR]     start the GUI with that model (and run the text)
//   attnscope --model DIR --image FILE     start the GUI with an image model on a picture
//   attnscope FILE.safetensors             start the GUI with a recording (or a model folder)
//   attnscope COMMAND ...                  run a command-line subcommand (see --help)
#include <cstring>
#include <iostream>
#include <string>

#include "attn_version.h"
#include "commands.h"
#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"

#ifdef ATTN_WITH_GUI
#include <QApplication>
#include <chrono>
#include <cstdio>
#include <QFileInfo>
#include <QTimer>

#include "state/bundled_models.h"
#include "window/main_window.h"
#include "window/model_panel.h"

namespace {

struct GuiArgs {
  QString model, text, pair, image, path;
  bool dark = false, light = false;
  bool time_first_paint = false;
};

const auto kStarted = std::chrono::steady_clock::now();  // as main() begins (static init)

// Parses the GUI's own options; false (with a message) for anything else.
bool parse_gui_args(int argc, char** argv, GuiArgs* out) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> QString {
      if (i + 1 >= argc) throw std::string("attnscope: ") + name + " needs a value";
      return QString::fromLocal8Bit(argv[++i]);
    };
    try {
      if (a == "--model") out->model = value("--model");
      else if (a == "--text") out->text = value("--text");
      else if (a == "--pair") out->pair = value("--pair");
      else if (a == "--image") out->image = value("--image");
      else if (a == "--dark") out->dark = true;
      else if (a == "--light") out->light = true;
      else if (a == "--time-first-paint") out->time_first_paint = true;
      else if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
        const auto eq = a.find('=');
        const std::string name = a.substr(0, eq), v = a.substr(eq + 1);
        if (name == "--model") out->model = QString::fromLocal8Bit(v.c_str());
        else if (name == "--text") out->text = QString::fromLocal8Bit(v.c_str());
        else if (name == "--pair") out->pair = QString::fromLocal8Bit(v.c_str());
        else if (name == "--image") out->image = QString::fromLocal8Bit(v.c_str());
        else throw std::string("attnscope: unknown option '") + name + "'";
      } else if (a[0] != '-' && out->path.isEmpty()) out->path = QString::fromLocal8Bit(argv[i]);
      else if (a.rfind("-platform", 0) == 0 || a.rfind("-style", 0) == 0) ++i;  // Qt's own options
      else throw std::string("attnscope: unknown option '") + a + "'";
    } catch (const std::string& message) {
      std::cerr << message << "\n";
      return false;
    }
  }
  return true;
}

int run_gui(int argc, char** argv, const GuiArgs& args) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("AttnScope"));
  QApplication::setApplicationName(QStringLiteral("AttnScope"));
  QApplication::setApplicationVersion(QStringLiteral(ATTN_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("attnscope"));  // packaging/attnscope.desktop: its icon and name on Wayland
  attn::ui::MainWindow window;
  if (args.dark) window.set_dark(true);
  if (args.light) window.set_dark(false);
  window.show();
  if (args.time_first_paint) {
    // For bench/: the first recording's heatmap is painted at once, then the time since start
    // is printed and the window closes. A failure prints its message and exits 1.
    QObject::connect(window.runs(), &attn::ui::RunController::recording_ready, &window, [&window] {
      window.show_heatmap();
      window.tabs()->currentWidget()->repaint();
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - kStarted).count();
      std::printf("first heatmap painted %.0f ms after start\n", ms);
      std::fflush(stdout);
      QCoreApplication::exit(0);
    });
    QObject::connect(&window, &attn::ui::MainWindow::error_shown, &window, [](const QString& message) {
      std::fprintf(stderr, "attnscope: %s\n", message.toLocal8Bit().constData());
      // Queued: an error from the command line's options comes before the event loop runs.
      QMetaObject::invokeMethod(qApp, [] { QCoreApplication::exit(1); }, Qt::QueuedConnection);
    });
  }
  if (!args.path.isEmpty()) {
    window.open_path(args.path);
  } else if (!args.model.isEmpty()) {
    window.choose_model(args.model);
    if (!args.image.isEmpty()) window.run_image(args.image);
    else if (!args.text.isEmpty()) window.run_text(args.text, args.pair);
  } else if (!args.image.isEmpty()) {
    window.open_picture(args.image);
  } else if (!window.panel()->model_dir().isEmpty()) {
    // Started bare (the menu entry): the chosen model runs on the remembered text at once, as
    // --model with --text would; an image model waits for a picture.
    window.choose_model(window.panel()->model_dir());
    if (!window.panel()->image_mode() && !window.panel()->text().trimmed().isEmpty())
      window.run_text(window.panel()->text(), window.panel()->pair());
  }
  return app.exec();
}

}  // namespace
#endif

int main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << "Usage: attnscope [COMMAND] [OPTIONS]\n"
                 "   or: attnscope [--model DIR [--text STR [--pair STR] | --image FILE]] [--dark] [--time-first-paint] [RECORDING | MODEL_DIR | PICTURE]\n"
                 "See what transformer models attend to. Without a command, starts the desktop application.\n\n"
              << attn::cli::commands_help();
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    using attn::kernels::Isa;
    const Isa isa = attn::kernels::active_isa();
    std::cout << "attnscope " << ATTN_VERSION;
    if (ATTN_GIT_HASH[0] != '\0') std::cout << " (git " << ATTN_GIT_HASH << ")";
    std::cout << "\nmatrix products: " << attn::kernels::isa_name(isa);
    if (isa == Isa::Avx512) std::cout << " (ATTNSCOPE_ISA=baseline for " << attn::kernels::isa_name(Isa::Baseline) << ")";
    else if (attn::kernels::isa_available(Isa::Avx512)) std::cout << " (AVX-512 switched off by ATTNSCOPE_ISA)";
    std::cout << "\nBF16 weights: ";
    if (attn::kernels::bf16_dot_chosen()) std::cout << "AVX-512 BF16 products (ATTNSCOPE_BF16=dot)";
    else if (attn::kernels::bf16_dot_supported()) std::cout << "converted to F32 in blocks (ATTNSCOPE_BF16=dot for AVX-512 BF16 products)";
    else std::cout << "converted to F32 in blocks";
    std::cout << "\n";
#ifdef ATTN_WITH_GUI
    // Where the window finds its bundled models (no QCoreApplication here, so the executable's
    // folder comes from /proc).
    const QString exe_dir = QFileInfo(QFileInfo(QStringLiteral("/proc/self/exe")).canonicalFilePath()).absolutePath();
    const QStringList roots = attn::ui::model_roots_for(exe_dir);
    std::cout << "bundled models: " << (roots.isEmpty() ? std::string("none found") : roots.join(QStringLiteral(", ")).toStdString()) << "\n";
#endif
    return 0;
  }
  const int code = attn::cli::run_command(argc, argv);
  if (code >= 0) return code;
#ifdef ATTN_WITH_GUI
  GuiArgs args;
  if (!parse_gui_args(argc, argv, &args)) return 2;
  if (!args.path.isEmpty() && !QFileInfo::exists(args.path)) {
    std::cerr << "attnscope: '" << args.path.toStdString() << "' is neither a command nor an existing file or folder\n\n" << attn::cli::commands_help();
    return 2;
  }
  return run_gui(argc, argv, args);
#else
  if (argc >= 2 && argv[1][0] != '-') {
    std::cerr << "attnscope: unknown command '" << argv[1] << "'\n\n" << attn::cli::commands_help();
    return 2;
  }
  std::cerr << "attnscope: built without the GUI; use a command.\n\n" << attn::cli::commands_help();
  return 2;
#endif
}
