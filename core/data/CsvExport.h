#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace faceatlas {

class PreparedDataset;

/**
 * Writes faces of a prepared dataset as a CSV in the `csv:` SPEC format (path,age,gender,split, and
 * face, 1-based, when some record is one of several faces of its photo;
 * absolute paths, an unknown age or gender left empty, split train or val; the reader ignores split), so FaceAtlas or
 * any other tool reads them back. `rows` are indices into the dataset (all faces, in order, when empty); each is
 * checked; the CSV source's further columns the preparation kept (SourceColumns.h) follow. The file is replaced
 * atomically. Returns the number of faces written. `withQuality`: the quality columns (FaceQuality.h)
 * come last, a face without a value left empty; a preparation without them is an Error that says so.
 */
size_t exportCsvDataset(const PreparedDataset& data, const std::vector<std::int64_t>& rows,
                        const std::filesystem::path& file, bool withQuality = false);

} // namespace faceatlas
