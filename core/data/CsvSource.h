#pragma once

#include "data/Record.h"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

/** Oldest age a reader accepts (UTKFace's own range is 0-116); older ones make a record malformed. */
constexpr int kMaxAge = 116;

/**
 * The highest face number a `csv:` row may give (its `face` column, 1-based): FaceAlign.h's
 * kMaxFacesKept, which lives in the imaging part; FileReaders.cpp checks that the two agree.
 */
constexpr int kMaxCsvFaceNumber = 64;

/** An age written as a decimal number from 0 to kMaxAge (fractions dropped); false with the problem. */
bool parseAge(const std::string& text, int& age, std::string& problem);

/**
 * What a walk over a `csv:` source's rows hands on. `header` gets the header row's fields (as
 * split, untrimmed) and returns false to stop there; `record` gets each row that is a record (the
 * first row of each picture and face, every check passed) with its fields; `malformed` each row
 * that is not, with why.
 */
struct CsvSourceVisitor {
    std::function<bool(const std::vector<std::string>& header)> header;
    std::function<void(std::size_t line, Record&& record, const std::vector<std::string>& fields)> record;
    std::function<void(std::size_t line, const std::string& problem)> malformed;
};

/**
 * The one reading of a `csv:` source's rows (relative paths against `folder`, `what` naming the
 * file): which rows are records, their keys, and which row of a repeated picture wins. parseCsv
 * (the records) and parseSourceColumns (their further columns) both walk the file with it, so a
 * face can never get the further columns of a row its record did not come from. Throws Error naming
 * `what` for an empty file or a header without a `path` (or `file`) column.
 */
void walkCsvSource(const std::string& text, const std::filesystem::path& folder, const std::string& what,
                   const CsvSourceVisitor& visit);

} // namespace faceatlas
