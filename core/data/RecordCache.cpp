#include "data/RecordCache.h"

#include "util/FileUtil.h"

#include <cstring>

namespace faceatlas {

namespace {

/**
 * Version 2 added what FaceAtlas's face detector found (facesFound, roll, yaw), version 3 the face's
 * index in its photo (faceIndex); versions 1 and 2 are still read.
 */
constexpr char kMagic[8] = {'F', 'A', 'R', 'E', 'C', '0', '0', '3'};
constexpr char kMagicV2[8] = {'F', 'A', 'R', 'E', 'C', '0', '0', '2'};
constexpr char kMagicV1[8] = {'F', 'A', 'R', 'E', 'C', '0', '0', '1'};
/** Bytes of one version-1 record with an empty path and name: no record takes fewer. */
constexpr size_t kMinRecordBytes = 4 + 4 + 1 + 1 + 8 + 8 + 4 * 8 + 4 + 4 + 4;
constexpr size_t kDetectorBytes = 2 + 4 + 4;

template <typename T>
void put(std::string& out, const T& value)
{
    out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

void putString(std::string& out, const std::string& s)
{
    put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
    out += s;
}

class Input {
public:
    explicit Input(const std::string& bytes)
        : m_p(bytes.data())
        , m_end(bytes.data() + bytes.size())
    {
    }
    template <typename T>
    bool get(T& value)
    {
        if (static_cast<size_t>(m_end - m_p) < sizeof(T))
            return false;
        std::memcpy(&value, m_p, sizeof(T));
        m_p += sizeof(T);
        return true;
    }
    bool getString(std::string& s)
    {
        std::uint32_t n = 0;
        if (!get(n) || static_cast<size_t>(m_end - m_p) < n)
            return false;
        s.assign(m_p, n);
        m_p += n;
        return true;
    }
    bool skip(size_t n)
    {
        if (static_cast<size_t>(m_end - m_p) < n)
            return false;
        m_p += n;
        return true;
    }

private:
    const char* m_p;
    const char* m_end;
};

std::filesystem::path cachePath(const std::string& identity)
{
    return cacheDir() / "records" / (hexKey(fnv1a64(identity)) + ".rec");
}

} // namespace

std::string RecordCache::serialize(const std::vector<Record>& records)
{
    std::string out;
    out.reserve(records.size() * 96);
    out.append(kMagic, sizeof kMagic);
    put<std::uint64_t>(out, records.size());
    for (const auto& r : records) {
        putString(out, r.path);
        put<std::int32_t>(out, r.age ? *r.age : 0);
        put<std::int8_t>(out, r.age ? 1 : 0);
        put<std::int8_t>(out, static_cast<std::int8_t>(r.gender));
        put<double>(out, r.faceScore);
        put<double>(out, r.secondFaceScore);
        for (double v : r.faceBox)
            put<double>(out, v);
        put<std::int32_t>(out, r.dob);
        put<std::int32_t>(out, r.photoTaken);
        putString(out, r.name);
        put<std::int16_t>(out, r.facesFound);
        put<float>(out, r.roll);
        put<float>(out, r.yaw);
        put<std::int16_t>(out, r.faceIndex);
    }
    return out;
}

std::optional<std::vector<Record>> RecordCache::deserialize(const std::string& bytes, std::string* problem)
{
    const auto refuse = [&](const std::string& why) -> std::optional<std::vector<Record>> {
        if (problem)
            *problem = why;
        return std::nullopt;
    };
    if (bytes.size() < sizeof kMagic + 8)
        return refuse("not a record file (" + std::to_string(bytes.size()) + " bytes)");
    const bool v3 = std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
    const bool v2 = v3 || std::memcmp(bytes.data(), kMagicV2, sizeof kMagicV2) == 0;
    if (!v2 && std::memcmp(bytes.data(), kMagicV1, sizeof kMagicV1) != 0)
        return refuse("not a record file (no FAREC header)");
    Input in(bytes);
    in.skip(sizeof kMagic);
    std::uint64_t n = 0;
    // The count is checked against the bytes there before it sizes anything: a small file claiming
    // millions of records must not allocate them.
    if (!in.get(n)
        || n > (bytes.size() - sizeof kMagic - 8) / (kMinRecordBytes + (v2 ? kDetectorBytes : 0) + (v3 ? 2 : 0)))
        return refuse("its count of " + std::to_string(n) + " records does not fit its " + std::to_string(bytes.size())
                      + " bytes");
    std::vector<Record> records(n);
    for (size_t i = 0; i < records.size(); ++i) {
        Record& r = records[i];
        const auto bad = [&](const std::string& why) {
            return refuse("record " + std::to_string(i + 1) + (r.path.empty() ? "" : " (" + r.path.substr(0, 200) + ")")
                          + ": " + why);
        };
        std::int32_t age = 0, dob = 0, photoTaken = 0;
        std::int8_t hasAge = 0, gender = 0;
        if (!in.getString(r.path) || !in.get(age) || !in.get(hasAge) || !in.get(gender) || !in.get(r.faceScore)
            || !in.get(r.secondFaceScore))
            return bad("truncated");
        for (double& v : r.faceBox)
            if (!in.get(v))
                return bad("truncated");
        if (!in.get(dob) || !in.get(photoTaken) || !in.getString(r.name))
            return bad("truncated");
        if (v2 && (!in.get(r.facesFound) || !in.get(r.roll) || !in.get(r.yaw)))
            return bad("truncated");
        if (v3 && !in.get(r.faceIndex))
            return bad("truncated");
        if (hasAge != 0 && hasAge != 1)
            return bad("its age flag is " + std::to_string(hasAge) + ", not 0 or 1");
        if (hasAge)
            r.age = age;
        r.gender = static_cast<Gender>(gender);
        r.dob = dob;
        r.photoTaken = photoTaken;
        // Every field within what a reader or a preparation can give it: ages of 2^31 never reach training.
        if (const std::string why = recordProblem(r); !why.empty())
            return bad(why);
    }
    return records;
}

std::optional<std::vector<Record>> RecordCache::load(const std::string& identity)
{
    const auto path = cachePath(identity);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return std::nullopt;
    try {
        const std::string bytes = readFile(path);
        // The identity is stored too, so a hash collision can never return another file's records.
        Input in(bytes);
        std::string stored;
        if (!in.getString(stored) || stored != identity)
            return std::nullopt;
        return deserialize(bytes.substr(4 + stored.size()));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void RecordCache::store(const std::string& identity, const std::vector<Record>& records)
{
    std::string bytes;
    putString(bytes, identity);
    bytes += serialize(records);
    try {
        writeFileAtomic(cachePath(identity), bytes);
    } catch (const std::exception&) {
        // A read-only or full cache folder only costs speed next time.
    }
}

} // namespace faceatlas
