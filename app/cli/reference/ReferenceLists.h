#pragma once

#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

/** The lists the command table's texts name, from core's registries: "models", "age-models"
 *  (the model kinds' names and descriptions), "slice-attributes" and "quality-columns". */
ReferenceLists referenceLists();

} // namespace faceatlas::cli
