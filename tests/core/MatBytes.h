#pragma once

// Builds MAT v5 bytes by hand, for tests of what no MAT-file writer would produce: dimensions that
// disagree with the data, deep nesting, zip bombs.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include <zlib.h>

namespace faceatlas::test::mat {

enum : std::uint32_t { INT8 = 1, UINT8 = 2, INT32 = 5, UINT32 = 6, DOUBLE = 9, MATRIX = 14, COMPRESSED = 15 };
enum : int { CELL = 1, STRUCT = 2, CHAR = 4, DOUBLE_CLASS = 6 };

template <typename T>
std::string raw(const std::vector<T>& values)
{
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

/** One data element: tag, data, padding to 8 bytes (none for compressed elements). */
inline std::string element(std::uint32_t type, const std::string& data)
{
    std::string out(8, '\0');
    const auto size = static_cast<std::uint32_t>(data.size());
    std::memcpy(&out[0], &type, 4);
    std::memcpy(&out[4], &size, 4);
    out += data;
    if (type != COMPRESSED)
        out.append((8 - data.size() % 8) % 8, '\0');
    return out;
}

/** A matrix element whose dimensions element is given as is (so it can be wrong). */
inline std::string matrixWithDims(int matlabClass, const std::string& dimsElement, const std::string& name,
                                  const std::string& body)
{
    const std::vector<std::uint32_t> flags = {static_cast<std::uint32_t>(matlabClass), 0};
    return element(MATRIX, element(UINT32, raw(flags)) + dimsElement + element(INT8, name) + body);
}

inline std::string matrix(int matlabClass, std::vector<std::int32_t> dims, const std::string& name,
                          const std::string& body)
{
    return matrixWithDims(matlabClass, element(INT32, raw(dims)), name, body);
}

inline std::string doubles(const std::vector<double>& values, std::vector<std::int32_t> dims = {},
                           const std::string& name = "")
{
    if (dims.empty())
        dims = {1, static_cast<std::int32_t>(values.size())};
    return matrix(DOUBLE_CLASS, dims, name, element(DOUBLE, raw(values)));
}

inline std::string text(const std::string& value)
{
    return matrix(CHAR, {1, static_cast<std::int32_t>(value.size())}, "", element(UINT8, value));
}

inline std::string cell(const std::vector<std::string>& elements, const std::string& name = "")
{
    std::string body;
    for (const auto& e : elements)
        body += e;
    return matrix(CELL, {1, static_cast<std::int32_t>(elements.size())}, name, body);
}

/** A 1x1 struct; fields are (name, matrix element) pairs. */
inline std::string structure(const std::string& name, const std::vector<std::pair<std::string, std::string>>& fields)
{
    const std::int32_t length = 32;
    std::string names, body;
    for (const auto& [field, value] : fields) {
        std::string padded = field;
        padded.resize(length, '\0');
        names += padded;
        body += value;
    }
    return matrix(STRUCT, {1, 1}, name,
                  element(INT32, raw(std::vector<std::int32_t>{length})) + element(INT8, names) + body);
}

inline std::string compressed(const std::string& elementBytes)
{
    uLongf size = compressBound(static_cast<uLong>(elementBytes.size()));
    std::string out(size, '\0');
    compress2(reinterpret_cast<Bytef*>(&out[0]), &size, reinterpret_cast<const Bytef*>(elementBytes.data()),
              static_cast<uLong>(elementBytes.size()), 9);
    out.resize(size);
    return element(COMPRESSED, out);
}

/** A whole file: the 128-byte v5 header, then the variables. */
inline std::string file(const std::string& variables)
{
    std::string header = "MATLAB 5.0 MAT-file, written by a FaceAtlas test";
    header.resize(116, ' ');
    header.append(8, '\0');
    header += '\x00';
    header += '\x01';
    header += "IM";
    return header + variables;
}

/** IMDB-WIKI's fields for n records, with the given dob and photo_taken values. */
inline std::string wiki(const std::vector<double>& dob, const std::vector<double>& photoTaken)
{
    const size_t n = dob.size();
    std::vector<std::string> paths, names, boxes;
    for (size_t i = 0; i < n; ++i) {
        paths.push_back(text(std::to_string(i) + ".jpg"));
        names.push_back(text("Person " + std::to_string(i)));
        boxes.push_back(doubles({1, 2, 3, 4}));
    }
    const std::vector<double> zeros(n, 0.0), ones(n, 1.0);
    return structure("wiki", {{"dob", doubles(dob)},
                              {"photo_taken", doubles(photoTaken)},
                              {"full_path", cell(paths)},
                              {"gender", doubles(ones)},
                              {"name", cell(names)},
                              {"face_location", cell(boxes)},
                              {"face_score", doubles(ones)},
                              {"second_face_score", doubles(zeros)}});
}

} // namespace faceatlas::test::mat
