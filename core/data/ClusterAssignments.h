#pragma once

#include "data/Record.h"

#include <filesystem>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * assignments.csv of a clustering: `path,cluster`, one row per record in the records' order, the
 * path as recordKey() names it, quoted as CSV needs (commas, quotes, line breaks), -1 for a face
 * outside a clustered subset.
 */
std::string assignmentsCsv(const std::vector<Record>& records, const std::vector<int>& labels);

/**
 * Reads DIR/assignments.csv back: one label per record. Throws Error naming the file and line when a
 * row's path is not `records`' path at that row (a clustering of another preparation), a label is not
 * a number from -1 to 100,000, or the rows are too few or too many.
 */
std::vector<int> readAssignments(const std::filesystem::path& clustersDir, const std::vector<Record>& records);

} // namespace faceatlas
