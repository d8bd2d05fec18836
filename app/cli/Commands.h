#pragma once

#include <string>
#include <vector>

namespace faceatlas::cli {

// Each command takes the words after its name and returns the process exit code.
int runInspect(const std::vector<std::string>& words);
int runPrepare(const std::vector<std::string>& words);

} // namespace faceatlas::cli
