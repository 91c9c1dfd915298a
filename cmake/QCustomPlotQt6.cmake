# Debian's QCustomPlot CMake config imports the Qt 5 build. The Qt 6 build
# (libQCustomPlotQt6.so, package libqcustomplot2.1-qt6) ships without one, so it is
# wrapped here in a single imported target: QCustomPlot::Qt6.
find_package(Qt6 REQUIRED COMPONENTS Widgets PrintSupport Svg)
find_library(QCUSTOMPLOT_QT6_LIBRARY NAMES QCustomPlotQt6 REQUIRED)
find_path(QCUSTOMPLOT_INCLUDE_DIR qcustomplot.h REQUIRED)
add_library(QCustomPlot::Qt6 SHARED IMPORTED)
set_target_properties(QCustomPlot::Qt6 PROPERTIES
  IMPORTED_LOCATION "${QCUSTOMPLOT_QT6_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${QCUSTOMPLOT_INCLUDE_DIR}"
  INTERFACE_COMPILE_DEFINITIONS QCUSTOMPLOT_USE_LIBRARY
  INTERFACE_LINK_LIBRARIES "Qt6::Widgets;Qt6::PrintSupport")
