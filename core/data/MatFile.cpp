#include "data/MatFile.h"

#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstring>
#include <matio.h>
#include <memory>
#include <zlib.h>

// Own parser for MAT v5: matio 1.5.23 seeks the file ~35 times per cell element, which makes the
// real wiki.mat take 3.3 s to read here (2.1 million lseek calls); parsing the inflated bytes in
// memory takes a fraction of that. matio stays the reader for v7.3 (HDF5) files.

namespace faceatlas {

namespace {

enum MiType : std::uint32_t {
    miINT8 = 1,
    miUINT8 = 2,
    miINT16 = 3,
    miUINT16 = 4,
    miINT32 = 5,
    miUINT32 = 6,
    miSINGLE = 7,
    miDOUBLE = 9,
    miINT64 = 12,
    miUINT64 = 13,
    miMATRIX = 14,
    miCOMPRESSED = 15,
    miUTF8 = 16,
    miUTF16 = 17,
    miUTF32 = 18,
};

enum MxClass { mxCELL = 1, mxSTRUCT = 2, mxOBJECT = 3, mxCHAR = 4, mxSPARSE = 5, mxDOUBLE = 6, mxUINT64 = 15 };

void appendUtf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/** A cursor over little-endian MAT v5 bytes. */
class Reader {
public:
    Reader(const char* data, size_t size, const std::string& what)
        : m_p(data)
        , m_end(data + size)
        , m_what(what)
    {
    }

    bool atEnd() const { return m_p >= m_end; }

    struct Element {
        std::uint32_t type;
        std::uint32_t size;
        const char* data;
    };

    Element next()
    {
        need(8, "data element tag");
        std::uint32_t type, size;
        std::memcpy(&type, m_p, 4);
        std::memcpy(&size, m_p + 4, 4);
        if (type >> 16) { // small data element: size and type share the first word, data in the second
            size = type >> 16;
            type &= 0xFFFF;
            if (size > 4)
                fail("malformed small data element");
            Element e{type, size, m_p + 4};
            m_p += 8;
            return e;
        }
        m_p += 8;
        need(size, "data element");
        Element e{type, size, m_p};
        // Compressed elements are not padded; all others end on an 8-byte boundary.
        const size_t padded = type == miCOMPRESSED ? size : (size + 7u) & ~size_t(7);
        m_p += std::min<size_t>(padded, static_cast<size_t>(m_end - m_p));
        return e;
    }

    [[noreturn]] void fail(const std::string& problem) const { throw Error(m_what + ": " + problem); }

private:
    void need(size_t n, const char* what) const
    {
        if (static_cast<size_t>(m_end - m_p) < n)
            fail(std::string("truncated ") + what + " (the file ends early)");
    }
    const char* m_p;
    const char* m_end;
    const std::string& m_what;
};

size_t typeSize(std::uint32_t type)
{
    switch (type) {
    case miINT8:
    case miUINT8:
    case miUTF8: return 1;
    case miINT16:
    case miUINT16:
    case miUTF16: return 2;
    case miINT32:
    case miUINT32:
    case miSINGLE:
    case miUTF32: return 4;
    case miDOUBLE:
    case miINT64:
    case miUINT64: return 8;
    default: return 0;
    }
}

template <typename T>
void convert(const char* data, size_t n, std::vector<double>& out)
{
    out.resize(n);
    for (size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, data + i * sizeof(T), sizeof(T));
        out[i] = static_cast<double>(v);
    }
}

void readNumbers(const Reader::Element& e, std::vector<double>& out, const Reader& reader)
{
    const size_t width = typeSize(e.type);
    if (width == 0 || e.size % width != 0)
        reader.fail("unsupported numeric data type " + std::to_string(e.type));
    const size_t n = e.size / width;
    switch (e.type) {
    case miINT8: convert<std::int8_t>(e.data, n, out); break;
    case miUINT8:
    case miUTF8: convert<std::uint8_t>(e.data, n, out); break;
    case miINT16: convert<std::int16_t>(e.data, n, out); break;
    case miUINT16:
    case miUTF16: convert<std::uint16_t>(e.data, n, out); break;
    case miINT32: convert<std::int32_t>(e.data, n, out); break;
    case miUINT32:
    case miUTF32: convert<std::uint32_t>(e.data, n, out); break;
    case miSINGLE: convert<float>(e.data, n, out); break;
    case miDOUBLE: convert<double>(e.data, n, out); break;
    case miINT64: convert<std::int64_t>(e.data, n, out); break;
    case miUINT64: convert<std::uint64_t>(e.data, n, out); break;
    default: reader.fail("unsupported numeric data type " + std::to_string(e.type));
    }
}

std::string readText(const Reader::Element& e)
{
    std::string text;
    if (e.type == miUTF8 || e.type == miUINT8 || e.type == miINT8) {
        text.assign(e.data, e.size);
    } else if (e.type == miUTF16 || e.type == miUINT16 || e.type == miINT16) {
        const size_t n = e.size / 2;
        for (size_t i = 0; i < n; ++i) {
            std::uint16_t unit;
            std::memcpy(&unit, e.data + 2 * i, 2);
            std::uint32_t cp = unit;
            if (unit >= 0xD800 && unit < 0xDC00 && i + 1 < n) { // surrogate pair
                std::uint16_t low;
                std::memcpy(&low, e.data + 2 * (i + 1), 2);
                if (low >= 0xDC00 && low < 0xE000) {
                    cp = 0x10000 + ((unit - 0xD800u) << 10) + (low - 0xDC00u);
                    ++i;
                }
            }
            appendUtf8(text, cp);
        }
    } else if (e.type == miUTF32 || e.type == miUINT32 || e.type == miINT32) {
        for (size_t i = 0; i < e.size / 4; ++i) {
            std::uint32_t cp;
            std::memcpy(&cp, e.data + 4 * i, 4);
            appendUtf8(text, cp);
        }
    }
    // Some writers (matio among them) store a terminating NUL inside the array.
    while (!text.empty() && text.back() == '\0')
        text.pop_back();
    return text;
}

MatArray parseMatrix(const Reader::Element& element, const std::string& what);

MatArray parseElement(const Reader::Element& element, const std::string& what)
{
    if (element.type == miMATRIX)
        return parseMatrix(element, what);
    if (element.type != miCOMPRESSED)
        throw Error(what + ": unexpected top-level data type " + std::to_string(element.type));
    // Inflate into a growing buffer: the compressed size gives no bound on the inflated size.
    std::string inflated;
    inflated.resize(std::max<size_t>(element.size * 4u, 4096));
    z_stream zs{};
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(element.data));
    zs.avail_in = element.size;
    if (inflateInit(&zs) != Z_OK)
        throw Error(what + ": zlib initialisation failed");
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (zs.total_out == inflated.size())
            inflated.resize(inflated.size() * 2);
        zs.next_out = reinterpret_cast<Bytef*>(&inflated[zs.total_out]);
        zs.avail_out = static_cast<uInt>(std::min<size_t>(inflated.size() - zs.total_out, 1u << 30));
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            inflateEnd(&zs);
            throw Error(what + ": compressed variable is truncated");
        }
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
            inflateEnd(&zs);
            throw Error(what + ": corrupt compressed variable (zlib: " + msg + ")");
        }
    }
    inflated.resize(zs.total_out);
    inflateEnd(&zs);
    Reader inner(inflated.data(), inflated.size(), what);
    const auto e = inner.next();
    if (e.type != miMATRIX)
        throw Error(what + ": compressed element does not hold a matrix");
    return parseMatrix(e, what);
}

MatArray parseMatrix(const Reader::Element& element, const std::string& what)
{
    MatArray array;
    if (element.size == 0) { // an empty cell element, e.g. a name nobody filled in
        array.kind = MatArray::Kind::Numeric;
        array.matlabClass = mxDOUBLE;
        array.dims = {0, 0};
        return array;
    }
    Reader r(element.data, element.size, what);
    const auto flags = r.next();
    if (flags.type != miUINT32 || flags.size < 8)
        r.fail("matrix without array flags");
    array.matlabClass = static_cast<unsigned char>(flags.data[0]);
    const auto dims = r.next();
    std::vector<double> dimValues;
    readNumbers(dims, dimValues, r);
    for (double d : dimValues)
        array.dims.push_back(static_cast<std::uint32_t>(d));
    const auto name = r.next();
    array.name.assign(name.data, name.size);
    const size_t n = array.count();

    switch (array.matlabClass) {
    case mxCELL:
        array.kind = MatArray::Kind::Cell;
        array.elements.reserve(n);
        for (size_t i = 0; i < n; ++i)
            array.elements.push_back(parseMatrix(r.next(), what));
        break;
    case mxSTRUCT: {
        array.kind = MatArray::Kind::Struct;
        const auto lengthElement = r.next();
        std::int32_t fieldLength = 0;
        std::memcpy(&fieldLength, lengthElement.data, std::min<size_t>(4, lengthElement.size));
        const auto names = r.next();
        if (fieldLength <= 0)
            r.fail("struct with invalid field name length");
        for (size_t off = 0; off + static_cast<size_t>(fieldLength) <= names.size;
             off += static_cast<size_t>(fieldLength))
            array.fieldNames.emplace_back(names.data + off,
                                          strnlen(names.data + off, static_cast<size_t>(fieldLength)));
        array.elements.reserve(n * array.fieldNames.size());
        for (size_t i = 0; i < n * array.fieldNames.size(); ++i)
            array.elements.push_back(parseMatrix(r.next(), what));
        break;
    }
    case mxCHAR:
        array.kind = MatArray::Kind::Char;
        if (!r.atEnd())
            array.text = readText(r.next());
        break;
    case mxOBJECT:
    case mxSPARSE: array.kind = MatArray::Kind::Other; break;
    default:
        if (array.matlabClass < mxDOUBLE || array.matlabClass > mxUINT64)
            r.fail("unknown MATLAB class " + std::to_string(array.matlabClass));
        array.kind = MatArray::Kind::Numeric;
        if (!r.atEnd())
            readNumbers(r.next(), array.numbers, r);
        break;
    }
    return array;
}

// --- matio fallback (v7.3 / HDF5 files) -------------------------------------------------------

MatArray fromMatio(const matvar_t* var)
{
    MatArray array;
    if (var->name)
        array.name = var->name;
    for (int i = 0; i < var->rank; ++i)
        array.dims.push_back(static_cast<std::uint32_t>(var->dims[i]));
    array.matlabClass = var->class_type;
    const size_t n = array.count();
    if (var->class_type == MAT_C_CELL) {
        array.kind = MatArray::Kind::Cell;
        for (size_t i = 0; i < n; ++i) {
            const matvar_t* cell = Mat_VarGetCell(const_cast<matvar_t*>(var), static_cast<int>(i));
            array.elements.push_back(cell ? fromMatio(cell) : MatArray{});
        }
    } else if (var->class_type == MAT_C_STRUCT) {
        array.kind = MatArray::Kind::Struct;
        const unsigned nfields = Mat_VarGetNumberOfFields(const_cast<matvar_t*>(var));
        char* const* names = Mat_VarGetStructFieldnames(var);
        for (unsigned f = 0; f < nfields; ++f)
            array.fieldNames.emplace_back(names[f]);
        for (size_t i = 0; i < n; ++i)
            for (unsigned f = 0; f < nfields; ++f) {
                const matvar_t* field = Mat_VarGetStructFieldByIndex(const_cast<matvar_t*>(var), f, i);
                array.elements.push_back(field ? fromMatio(field) : MatArray{});
            }
    } else if (var->class_type == MAT_C_CHAR) {
        array.kind = MatArray::Kind::Char;
        Reader::Element e{static_cast<std::uint32_t>(var->data_type), static_cast<std::uint32_t>(var->nbytes),
                          static_cast<const char*>(var->data)};
        if (var->data)
            array.text = readText(e);
    } else if (var->class_type >= MAT_C_DOUBLE && var->class_type <= MAT_C_UINT64 && var->data && !var->isComplex) {
        array.kind = MatArray::Kind::Numeric;
        Reader::Element e{static_cast<std::uint32_t>(var->data_type), static_cast<std::uint32_t>(var->nbytes),
                          static_cast<const char*>(var->data)};
        const std::string what = "matio";
        readNumbers(e, array.numbers, Reader(nullptr, 0, what));
    }
    return array;
}

std::vector<MatArray> readWithMatio(const std::filesystem::path& path)
{
    mat_t* mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    if (!mat)
        throw Error(displayPath(path) + ": not a MAT-file matio can read");
    std::vector<MatArray> variables;
    while (matvar_t* var = Mat_VarReadNext(mat)) {
        std::unique_ptr<matvar_t, void (*)(matvar_t*)> guard(var, Mat_VarFree);
        variables.push_back(fromMatio(var));
    }
    Mat_Close(mat);
    return variables;
}

} // namespace

size_t MatArray::count() const
{
    if (dims.empty())
        return 0;
    size_t n = 1;
    for (auto d : dims)
        n *= d;
    return n;
}

const MatArray* MatArray::field(const std::string& fieldName, size_t index) const
{
    for (size_t f = 0; f < fieldNames.size(); ++f)
        if (fieldNames[f] == fieldName) {
            const size_t at = index * fieldNames.size() + f;
            return at < elements.size() ? &elements[at] : nullptr;
        }
    return nullptr;
}

std::vector<MatArray> parseMat5(const std::string& bytes, const std::string& what)
{
    if (bytes.size() < 128)
        throw Error(what + ": too short to be a MAT-file (" + std::to_string(bytes.size()) + " bytes)");
    if (bytes.compare(0, 6, "MATLAB") != 0)
        throw Error(what + ": not a MAT-file (no 'MATLAB' header)");
    if (bytes[126] != 'I' || bytes[127] != 'M')
        throw Error(what + ": big-endian MAT-files are not supported");
    Reader reader(bytes.data() + 128, bytes.size() - 128, what);
    std::vector<MatArray> variables;
    while (!reader.atEnd())
        variables.push_back(parseElement(reader.next(), what));
    return variables;
}

std::vector<MatArray> readMatFile(const std::filesystem::path& path)
{
    const std::string bytes = readFile(path);
    const std::string what = displayPath(path);
    // v7.3 files are HDF5 containers with a MAT header; the version word is 0x0200.
    const bool isV5 =
        bytes.size() >= 128 && bytes.compare(0, 6, "MATLAB") == 0 && bytes[124] == 0x00 && bytes[125] == 0x01;
    if (!isV5 && bytes.size() >= 128 && bytes.compare(0, 6, "MATLAB") == 0)
        return readWithMatio(path);
    return parseMat5(bytes, what);
}

} // namespace faceatlas
