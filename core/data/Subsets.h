#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// The saved subsets of a workspace (the Map page's WORKSPACE/subsets/NAME.json): named lists of
// faces by path, so that they outlive a preparation and any dataset holding those faces selects them.

namespace faceatlas {

struct Record;

/**
 * The file a subset called `name` is saved in (UTF-8): the name trimmed of white space, every
 * character but A-Z, a-z, 0-9, space, '_', '.' and '-' replaced by '_' (a slash among them, so the
 * file stays in its folder), at most 80 characters, then ".json".
 */
std::string subsetFileName(const std::string& name);

/** FOLDER/subsetFileName(name). */
std::filesystem::path subsetFile(const std::filesystem::path& folder, const std::string& name);

/**
 * The saved subsets in `folder`, by name (a file's name without its last extension): its regular
 * files (or links to one) ending in ".json" in any case, hidden ones left out, ordered by their file
 * names' UTF-16 code units (as Qt's folder listing ordered them). Empty when the folder is missing or
 * cannot be read.
 */
std::vector<std::string> listSubsets(const std::filesystem::path& folder);

/**
 * Writes a subset file atomically, creating its folder: {"name", "source" (the dataset's source
 * spec), "count" (of rows), "paths" (the recordKey of each of `rows` of `records`, in their order)}.
 * Throws Error naming the file when it cannot be written (std::filesystem::filesystem_error when its
 * folder cannot be made).
 */
void writeSubset(const std::filesystem::path& file, const std::string& name, const std::string& source,
                 const std::vector<Record>& records, const std::vector<std::int64_t>& rows);

/** The faces of a saved subset that a dataset holds. */
struct SubsetSelection {
    std::vector<char> mask; // one flag per record of the dataset
    size_t listed = 0;      // paths the file lists
    size_t found = 0;       // of them, distinct faces of the dataset (flags set)
};

/**
 * Reads a subset file and looks its paths up among `records` (by recordKey). Its "paths" decide
 * alone: "name", "source" and "count" are not read. Throws Error naming the file when it cannot be
 * read, is not JSON, has no list of paths or a path that is not a string.
 */
SubsetSelection readSubset(const std::filesystem::path& file, const std::vector<Record>& records);

} // namespace faceatlas
