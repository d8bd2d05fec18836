#include "data/MatFile.h"

#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>
#include <zlib.h>

// Own parser for MAT v5: matio 1.5.23 seeks the file ~35 times per cell element, which makes the
// real wiki.mat take 3.3 s to read here (2.1 million lseek calls); parsing the inflated bytes in
// memory takes a fraction of that.
//
// The parser distrusts its input: every count, dimension and length read from the file is checked
// against the bytes that are actually there before it sizes an allocation or an index, nesting is
// limited, and compressed variables may only inflate so far (see the constants below).
// v7.3 (HDF5) files are refused with a message: libhdf5 (through matio) crashes and hangs on
// corrupt ones, and IMDB-WIKI ships v5 files.

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

/**
 * Deepest nesting of cells and structs accepted. IMDB-WIKI's files nest 3 levels (struct, cell,
 * char); 32 leaves room for any real file, while 20,000 nested cells would overflow the stack.
 */
constexpr int kMaxDepth = 32;
/**
 * A compressed variable may inflate to at most kMaxInflateRatio times its compressed size (the real
 * wiki.mat inflates 4.5 times; text and numbers rarely compress beyond 20), with kMinInflateLimit
 * allowed for any tiny variable, and never to more than kMaxInflatedBytes in all, whatever its
 * compressed size. A zip bomb (256 MB of zeros in 260 KB) gives an Error instead of gigabytes.
 */
constexpr size_t kMaxInflateRatio = 64;
constexpr size_t kMinInflateLimit = size_t(1) << 20;  // 1 MiB
constexpr size_t kMaxInflatedBytes = size_t(2) << 30; // 2 GiB
/**
 * What one file may cost in all, whatever its variables: inflated bytes (the same ratio and cap,
 * counted over every compressed variable together) and arrays (each a MatArray of ~200 bytes,
 * though an empty cell element takes 8 bytes of file): at most max(kMinArrays, file bytes), so a
 * file costs at most ~200 times its size in arrays. The real wiki.mat (3.8 MB) holds ~190,000
 * arrays, one per 20 bytes; matio compresses an IMDB-like file of 460,723 records (1.4 million
 * arrays, paths and names that differ in a few digits) to one array per 3.2 bytes, which a limit of
 * file bytes / 4 once refused. An 8-byte-per-cell bomb, which compresses to almost nothing, stops here.
 */
constexpr size_t kMinArrays = size_t(1) << 18;
struct ParseBudget {
    size_t inflateLeft;
    size_t arraysLeft;
    size_t arrayLimit;
};
/** The budget of the file being parsed on this thread (set by parseMat5). */
thread_local ParseBudget* t_budget = nullptr;
/** Longest struct field name accepted (MATLAB allows 63 characters; v7.3 files up to 4095). */
constexpr std::int32_t kMaxFieldNameLength = 4096;
/** The smallest data element (a tag with no data): no cell or struct element can take less. */
constexpr size_t kMinElementBytes = 8;

enum MxClass { mxCELL = 1, mxSTRUCT = 2, mxOBJECT = 3, mxCHAR = 4, mxSPARSE = 5, mxDOUBLE = 6, mxUINT64 = 15 };

void appendUtf8(std::string& out, std::uint32_t cp)
{
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) // not a character (or a lone surrogate)
        cp = 0xFFFD;
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
    size_t bytesLeft() const { return static_cast<size_t>(m_end - m_p); }

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
    const std::string& what() const { return m_what; }

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

MatArray parseMatrix(const Reader::Element& element, const std::string& what, int depth);

/** Inflates a compressed variable, within the limits above. */
std::string inflateElement(const Reader::Element& element, const std::string& what)
{
    size_t limit = std::min(kMaxInflatedBytes, std::max(kMinInflateLimit, size_t(element.size) * kMaxInflateRatio));
    if (t_budget)
        limit = std::min(limit, t_budget->inflateLeft);
    std::string inflated;
    inflated.resize(std::min<size_t>(std::max<size_t>(size_t(element.size) * 4u, 4096), limit));
    z_stream zs{};
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(element.data));
    zs.avail_in = element.size;
    if (inflateInit(&zs) != Z_OK)
        throw Error(what + ": zlib initialisation failed");
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (zs.total_out == inflated.size()) {
            if (inflated.size() >= limit) {
                inflateEnd(&zs);
                throw Error(what + ": a compressed variable inflates to more than " + std::to_string(limit) + " bytes ("
                            + std::to_string(kMaxInflateRatio) + " times its " + std::to_string(element.size)
                            + " compressed bytes, at most 2 GiB): not a MAT-file FaceAtlas reads");
            }
            inflated.resize(std::min(inflated.size() * 2, limit));
        }
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
    if (t_budget)
        t_budget->inflateLeft -= std::min(t_budget->inflateLeft, inflated.size());
    return inflated;
}

MatArray parseElement(const Reader::Element& element, const std::string& what)
{
    if (element.type == miMATRIX)
        return parseMatrix(element, what, 0);
    if (element.type != miCOMPRESSED)
        throw Error(what + ": unexpected top-level data type " + std::to_string(element.type));
    const std::string inflated = inflateElement(element, what);
    Reader inner(inflated.data(), inflated.size(), what);
    const auto e = inner.next();
    if (e.type != miMATRIX)
        throw Error(what + ": compressed element does not hold a matrix");
    return parseMatrix(e, what, 0);
}

/**
 * One dimension as a count: finite, whole, not negative and below 2^31 (MATLAB's own limit for
 * one dimension in a v5 file). Checked before the conversion, which is undefined otherwise.
 */
std::uint32_t checkedDimension(double d, const Reader& r)
{
    if (!(d >= 0) || d > double(std::numeric_limits<std::int32_t>::max()) || d != std::floor(d)) {
        char text[32];
        std::snprintf(text, sizeof text, "%.10g", d);
        r.fail(std::string("invalid array dimension ") + text);
    }
    return static_cast<std::uint32_t>(d);
}

/** Product of dims; an Error when it overflows. */
size_t checkedCount(const std::vector<std::uint32_t>& dims, const Reader& r)
{
    if (dims.empty())
        return 0;
    size_t n = 1;
    for (auto d : dims)
        if (__builtin_mul_overflow(n, size_t(d), &n))
            r.fail("array dimensions overflow");
    return n;
}

/** The next element of a cell or struct, which must be a matrix. */
MatArray parseChild(Reader& r, const std::string& what, int depth)
{
    const auto child = r.next();
    if (child.type != miMATRIX)
        r.fail("cell or struct element of data type " + std::to_string(child.type) + " (expected a matrix)");
    return parseMatrix(child, what, depth + 1);
}

/** Takes one array from the file's budget (empty elements too: they cost a MatArray each). */
void spendArrayBudget(const std::string& what)
{
    if (t_budget) {
        if (t_budget->arraysLeft == 0)
            throw Error(what + ": more than " + std::to_string(t_budget->arrayLimit)
                        + " arrays for a file of this size: not a MAT-file FaceAtlas reads");
        --t_budget->arraysLeft;
    }
}

/** Reads a matrix's array flags, dimensions and name into `array`; returns its checked element count. */
size_t readMatrixHeader(Reader& r, MatArray& array)
{
    const auto flags = r.next();
    if (flags.type != miUINT32 || flags.size < 8)
        r.fail("matrix without array flags");
    array.matlabClass = static_cast<unsigned char>(flags.data[0]);
    const auto dims = r.next();
    std::vector<double> dimValues;
    readNumbers(dims, dimValues, r);
    if (dimValues.size() < 2)
        r.fail("array with " + std::to_string(dimValues.size()) + " dimensions (at least 2 expected)");
    for (double d : dimValues)
        array.dims.push_back(checkedDimension(d, r));
    const size_t n = checkedCount(array.dims, r);
    const auto name = r.next();
    array.name.assign(name.data, name.size);
    return n;
}

/** The rest of a matrix after its header: where it is read, how deep it nests, and its element count. */
struct MatrixBody {
    Reader& r;
    const std::string& what;
    int depth;
    size_t count;
};

/** A cell array's elements, their count checked against the bytes left first. */
void readCellElements(const MatrixBody& body, MatArray& array)
{
    Reader& r = body.r;
    const size_t n = body.count;
    array.kind = MatArray::Kind::Cell;
    if (n > r.bytesLeft() / kMinElementBytes)
        r.fail("cell array of " + std::to_string(n) + " elements in " + std::to_string(r.bytesLeft())
               + " bytes (dimensions do not match the data)");
    array.elements.reserve(n);
    for (size_t i = 0; i < n; ++i)
        array.elements.push_back(parseChild(r, body.what, body.depth));
}

/** A struct's field name length and its field names, each checked. */
void readStructFieldNames(Reader& r, MatArray& array)
{
    const auto lengthElement = r.next();
    if (lengthElement.size != 4 || (lengthElement.type != miINT32 && lengthElement.type != miUINT32))
        r.fail("struct without a field name length");
    std::int32_t fieldLength = 0;
    std::memcpy(&fieldLength, lengthElement.data, 4);
    if (fieldLength <= 0 || fieldLength > kMaxFieldNameLength)
        r.fail("struct with invalid field name length " + std::to_string(fieldLength));
    const auto names = r.next();
    if (names.type != miINT8 && names.type != miUINT8)
        r.fail("struct field names of data type " + std::to_string(names.type));
    if (names.size % static_cast<size_t>(fieldLength) != 0)
        r.fail("struct field names of " + std::to_string(names.size) + " bytes are not a multiple of "
               + std::to_string(fieldLength));
    for (size_t off = 0; off + static_cast<size_t>(fieldLength) <= names.size; off += static_cast<size_t>(fieldLength))
        array.fieldNames.emplace_back(names.data + off, strnlen(names.data + off, static_cast<size_t>(fieldLength)));
}

/** A struct array's field names and elements, their count checked against the bytes left first. */
void readStructElements(const MatrixBody& body, MatArray& array)
{
    Reader& r = body.r;
    const size_t n = body.count;
    array.kind = MatArray::Kind::Struct;
    readStructFieldNames(r, array);
    size_t total = 0;
    if (__builtin_mul_overflow(n, array.fieldNames.size(), &total) || total > r.bytesLeft() / kMinElementBytes)
        r.fail("struct array of " + std::to_string(n) + " elements with " + std::to_string(array.fieldNames.size())
               + " fields in " + std::to_string(r.bytesLeft()) + " bytes (dimensions do not match the data)");
    array.elements.reserve(total);
    for (size_t i = 0; i < total; ++i)
        array.elements.push_back(parseChild(r, body.what, body.depth));
}

/** A numeric array's values, checked to be as many as its dimensions say. */
void readNumericValues(const MatrixBody& body, MatArray& array)
{
    Reader& r = body.r;
    if (array.matlabClass < mxDOUBLE || array.matlabClass > mxUINT64)
        r.fail("unknown MATLAB class " + std::to_string(array.matlabClass));
    array.kind = MatArray::Kind::Numeric;
    if (!r.atEnd())
        readNumbers(r.next(), array.numbers, r);
    if (array.numbers.size() != body.count)
        r.fail("numeric array '" + array.name + "' holds " + std::to_string(array.numbers.size())
               + " values, its dimensions say " + std::to_string(body.count));
}

MatArray parseMatrix(const Reader::Element& element, const std::string& what, int depth)
{
    spendArrayBudget(what);
    MatArray array;
    if (element.size == 0) { // an empty cell element, e.g. a name nobody filled in
        array.kind = MatArray::Kind::Numeric;
        array.matlabClass = mxDOUBLE;
        array.dims = {0, 0};
        return array;
    }
    Reader r(element.data, element.size, what);
    if (depth > kMaxDepth)
        r.fail("cells or structs nested more than " + std::to_string(kMaxDepth) + " levels deep");

    const MatrixBody body{r, what, depth, readMatrixHeader(r, array)};
    switch (array.matlabClass) {
    case mxCELL: readCellElements(body, array); break;
    case mxSTRUCT: readStructElements(body, array); break;
    case mxCHAR:
        array.kind = MatArray::Kind::Char;
        if (!r.atEnd())
            array.text = readText(r.next());
        break;
    case mxOBJECT:
    case mxSPARSE: array.kind = MatArray::Kind::Other; break;
    default: readNumericValues(body, array); break;
    }
    return array;
}

} // namespace

size_t MatArray::count() const
{
    if (dims.empty())
        return 0;
    size_t n = 1;
    for (auto d : dims)
        if (__builtin_mul_overflow(n, size_t(d), &n))
            return std::numeric_limits<size_t>::max();
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
    // One budget for the whole file (see ParseBudget), in force while this call parses.
    ParseBudget budget{std::min(kMaxInflatedBytes, std::max(kMinInflateLimit, bytes.size() * kMaxInflateRatio)),
                       std::max(kMinArrays, bytes.size()), std::max(kMinArrays, bytes.size())};
    struct Scope {
        ParseBudget* previous;
        explicit Scope(ParseBudget* b)
            : previous(std::exchange(t_budget, b))
        {
        }
        ~Scope() { t_budget = previous; }
    } scope(&budget);
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
    if (bytes.size() >= 128 && bytes.compare(0, 6, "MATLAB") == 0 && bytes[124] == 0x00 && bytes[125] == 0x02)
        throw Error(what
                    + " is a MATLAB v7.3 (HDF5) file; FaceAtlas reads v5/v7 MAT-files as IMDB-WIKI ships them; "
                      "re-save it in MATLAB/Octave with save -v7");
    return parseMat5(bytes, what);
}

} // namespace faceatlas
