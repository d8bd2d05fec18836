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

    size_t count() const;
    /** Struct field `field` of element `index`, or nullptr when the struct has no such field. */
    const MatArray* field(const std::string& field, size_t index = 0) const;
};

/**
 * Reads every variable of a MATLAB v5 MAT-file (compressed or not). A v7.3 (HDF5) file or
 * anything else this reader does not handle is read through matio instead.
 * Throws Error naming the file and the problem.
 */
std::vector<MatArray> readMatFile(const std::filesystem::path& path);

/** Parses MAT v5 bytes already in memory; `what` names the source in errors. */
std::vector<MatArray> parseMat5(const std::string& bytes, const std::string& what);

} // namespace faceatlas
