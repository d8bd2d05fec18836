#pragma once

#include "ml/ModelKinds.h"
#include "ml/Runs.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace faceatlas::cli {

/** One epoch's metrics as a JSON object (NaN as null): `train --json` and `runs --json`. */
nlohmann::json epochJson(const EpochMetrics& m, bool ageModel);

} // namespace faceatlas::cli
