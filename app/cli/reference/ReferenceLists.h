#pragma once

#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

/** The lists the command table's texts name, from core's registries: "models", "age-models"
 *  (the model kinds' names and descriptions), "slice-attributes", "quality-columns", "sources" and "projections". */
ReferenceLists referenceLists();

} // namespace faceatlas::cli
