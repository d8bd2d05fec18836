#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * One MATLAB array read from a MAT-file: numbers (converted to double), text (UTF-8),
 * a cell array, or a struct array. Dimensions follow MATLAB (column-major).
 */
struct MatArray {
    enum class Kind { Numeric, Char, Cell, Struct, Other };
    Kind kind = Kind::Other;
    int matlabClass = 0; // mxCLASS id from the file (6 = double, 4 = char, ...)
    std::string name;
    std::vector<std::uint32_t> dims;
    std::vector<double> numbers;         // Numeric (real part)
    std::string text;                    // Char, as UTF-8
    std::vector<MatArray> elements;      // Cell elements; Struct: element-major, fieldNames.size() per element
    std::vector<std::string> fieldNames; // Struct

    /** Product of the dimensions (saturated at SIZE_MAX; parsed arrays are checked not to overflow). */
    size_t count() const;
    /** Struct field `field` of element `index`, or nullptr when the struct has no such field. */
    const MatArray* field(const std::string& field, size_t index = 0) const;
};

/**
 * Reads every variable of a MATLAB v5/v7 MAT-file (compressed or not). A v7.3 (HDF5) file is
 * refused with a message saying how to re-save it. Every dimension, count and length in the file
 * is checked against the data; a malformed file throws Error naming the file and the problem.
 */
std::vector<MatArray> readMatFile(const std::filesystem::path& path);

/**
 * Parses MAT v5 bytes already in memory; `what` names the source in errors. Arrays nest at most
 * 32 levels deep and a compressed variable inflates to at most 64 times its size (2 GiB in all).
 */
std::vector<MatArray> parseMat5(const std::string& bytes, const std::string& what);

} // namespace faceatlas
