#include "state/reading_json.h"

#include "qt_convert.h"

namespace attn::ui {

QJsonObject reading_json(const Reading& r) {
  return QJsonObject{{"hide_special", r.hide_special}, {"hide_first", r.hide_first}, {"unit", qstr(unit_name(r.unit))}, {"rule", qstr(rule_name(r.rule))}};
}

Reading reading_from_json(const QJsonObject& o) {
  Reading r;
  r.hide_special = o.value("hide_special").toBool(false);
  r.hide_first = o.value("hide_first").toBool(false);
  const QString unit = o.value("unit").toString();
  if (unit == QLatin1String("words")) r.unit = ReadingUnit::Words;
  else if (unit == QLatin1String("sentences")) r.unit = ReadingUnit::Sentences;
  if (o.value("rule").toString() == QLatin1String("mean-keys")) r.rule = WordRule::MeanKeysSumQueries;
  return r;
}

}  // namespace attn::ui
