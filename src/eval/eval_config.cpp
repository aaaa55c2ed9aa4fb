#include "amr/eval/eval_config.h"

#include "amr/base/error.h"
#include "amr/io/config_table.h"

namespace amr {

const ConfigTable<EvalOptions>& eval_config_table() {
  using C = EvalOptions;
  static const ConfigTable<C> table = [] {
    ConfigTable<C> t;
    t.add("cams", &C::cams).add("labels", &C::labels).add("data", &C::data).add("list", &C::list);
    t.add("thresholds", &C::thresholds).add("xis", &C::xis).add("constant", &C::constant);
    return t;
  }();
  return table;
}

EvalOptions load_eval_config(const std::string& yaml_path, const EvalConfigFlags& flags) {
  const EvalOptions o = load_config(eval_config_table(), yaml_path, flags);
  if (o.cams.empty() == o.labels.empty()) throw Error("--cams or --labels: give one of them");
  if (o.data.empty()) throw Error("--data: required (a flag or a key of --config)");
  if (o.list.empty()) throw Error("--list: required (a flag or a key of --config)");
  if (!o.labels.empty() && (o.thresholds.size() > 1 || !o.xis.empty()))
    throw Error("--labels: --sweep/--xi-sweep apply to CAMs only");
  if (o.thresholds.empty()) throw Error("--sweep: at least one background threshold");
  return o;
}

}  // namespace amr
