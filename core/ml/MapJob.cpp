#include "ml/MapJob.h"

#include "ml/Inference.h"
#include "ml/TrainJob.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string number(float v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(v));
    return buf;
}

constexpr int64_t kMaxPoints = 100'000'000;
// The longest map.csv row: a path (at most 4096 bytes, twice that quoted), a "#faceN" and two numbers.
constexpr size_t kMaxMapRowBytes = 16 * 1024;

/** A regular file read line by line through a small buffer (never a FIFO, never whole). */
class LineReader {
public:
    explicit LineReader(const fs::path& file)
        : m_file(file)
        , m_fd(openRegularFile(file))
    {
        struct stat st {};
        if (::fstat(m_fd, &st) != 0) {
            ::close(m_fd);
            throw Error(displayPath(file) + ": cannot stat: " + std::strerror(errno));
        }
        m_size = static_cast<std::uint64_t>(st.st_size);
    }
    ~LineReader() { ::close(m_fd); }
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    std::uint64_t size() const { return m_size; }

    /**
     * The next line without its line end ("\r\n" or "\n"); false at the end of the file. A line longer
     * than `max` bytes is cut after max + 1 bytes (the rest of it is skipped), so the caller sees it is
     * too long without holding it.
     */
    bool next(std::string& line, size_t max)
    {
        line.clear();
        bool any = false;
        for (;;) {
            if (m_at == m_end && !fill())
                break;
            any = true;
            const char c = m_buffer[m_at++];
            if (c == '\n')
                break;
            if (line.size() <= max)
                line += c;
        }
        if (!line.empty() && line.back() == '\r' && line.size() <= max)
            line.pop_back();
        return any;
    }

private:
    bool fill()
    {
        for (;;) {
            const ssize_t n = ::read(m_fd, m_buffer, sizeof m_buffer);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw Error(displayPath(m_file) + ": read failed: " + std::strerror(errno));
            m_at = 0;
            m_end = static_cast<size_t>(n);
            return n > 0;
        }
    }
    fs::path m_file;
    int m_fd;
    std::uint64_t m_size = 0;
    char m_buffer[1 << 16];
    size_t m_at = 0, m_end = 0;
};

} // namespace

MapResult computeMap(const MapParams& p, const CancelToken& cancel,
                     const std::function<void(const JobProgress&)>& onProgress)
{
    if (p.method != "pca" && p.method != "neighbors")
        throw Error("a map's method is pca or neighbors, not '" + p.method + "'");
    checkOutputFolder(p.outDir, OutputKind::Map, {p.force, {p.codes}}); // before the work, and again at the write
    const Codes codes = Codes::open(p.codes);
    const int64_t n = static_cast<int64_t>(codes.count());
    if (n < 3)
        throw Error(displayPath(p.codes) + ": a map needs at least 3 codes, these are " + std::to_string(n));
    if (p.method == "neighbors" && p.embedding.neighbors >= n)
        throw Error(displayPath(p.codes) + ": " + std::to_string(p.embedding.neighbors)
                    + " neighbours per face need more than " + std::to_string(p.embedding.neighbors)
                    + " codes, these are " + std::to_string(n));
    const torch::Device device = resolveDevice(p.device);
    const auto start = Clock::now();
    const auto x = codes.tensor().to(device);
    MapResult result;
    torch::Tensor map;
    json seconds;
    json settings = {{"device", device.str()}};
    if (p.method == "pca") {
        if (onProgress)
            onProgress({"principal components", 0, 0});
        map = pca2d(x);
    } else {
        const EmbeddingResult r = neighbourEmbedding(x, p.embedding, cancel, onProgress);
        if (r.cancelled) {
            result.cancelled = true;
            return result;
        }
        map = r.map;
        settings["neighbors"] = p.embedding.neighbors;
        settings["seed"] = p.embedding.seed;
        settings["epochs"] = r.epochs;
        settings["negatives"] = p.embedding.negatives;
        settings["a"] = p.embedding.a;
        settings["b"] = p.embedding.b;
        settings["edges"] = r.edges;
        seconds["neighbours"] = r.knnSeconds;
        seconds["graph"] = r.graphSeconds;
        seconds["layout"] = r.layoutSeconds;
    }
    seconds["map"] = secondsSince(start);
    if (cancel.isCancelled()) {
        result.cancelled = true;
        return result;
    }
    if (onProgress)
        onProgress({"neighbour recall", 0, 0});
    const int64_t sample = std::min<int64_t>(p.recallSample, n);
    const int recallK = static_cast<int>(std::min<int64_t>(10, n - 1));
    const auto recallStart = Clock::now();
    const double recall = neighbourRecall(x, map, sample, recallK, 1);
    seconds["recall"] = secondsSince(recallStart);

    const auto m = map.contiguous();
    const float* xy = m.data_ptr<float>();
    std::string csv = "path,x,y\n";
    csv.reserve(static_cast<size_t>(n) * 64);
    for (int64_t i = 0; i < n; ++i)
        csv += csvField(recordKey(codes.records()[static_cast<size_t>(i)])) + "," + number(xy[2 * i]) + ","
               + number(xy[2 * i + 1]) + "\n";
    // Written whole beside DIR and swapped in: a reader of the earlier map sees it or this one, never a mix.
    StagedFolder staged(p.outDir, OutputKind::Map, {p.force, {p.codes, codes.dataDir(), codes.runDir()}});
    writeFileAtomic(staged.work() / "map.csv", csv, /*durable=*/false);
    result.summary = {{"format", outputKindFormat(OutputKind::Map)},
                      {"method", p.method},
                      {"codes", fs::absolute(p.codes).lexically_normal().string()},
                      {"data_fingerprint", codes.dataFingerprint()},
                      {"count", n},
                      {"dim", codes.dim()},
                      {"settings", settings},
                      {"seconds", seconds},
                      {"recall", {{"k", recallK}, {"sample", sample}, {"seed", 1}, {"value", recall}}}};
    writeFileAtomic(staged.work() / "map.json", jsonText(result.summary, 2) + "\n", /*durable=*/false);
    staged.commit(); // syncs both files, then swaps
    return result;
}

MapPoints readMap(const fs::path& dir)
{
    const fs::path jsonFile = dir / "map.json";
    const fs::path csvFile = dir / "map.csv";
    MapPoints points;
    int64_t count = 0;
    try {
        const json j = json::parse(readFile(jsonFile, kMaxManifestBytes));
        count = jsonInt(j, "count", 1, kMaxPoints, displayPath(jsonFile));
        points.method = j.at("method").get<std::string>();
        if (j.contains("codes") && j.at("codes").is_string())
            points.codes = fs::u8path(j.at("codes").get<std::string>());
        if (j.contains("data_fingerprint") && j.at("data_fingerprint").is_string())
            points.dataFingerprint = j.at("data_fingerprint").get<std::string>();
        if (j.contains("recall") && j.at("recall").is_object() && j.at("recall").contains("value")
            && j.at("recall").at("value").is_number())
            points.recall = j.at("recall").at("value").get<double>();
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(displayPath(jsonFile) + ": invalid: " + e.what());
    }
    // Read row by row, never whole: memory follows the points, not the file. The file's size is checked
    // against the count first, both ways: at least "p,0,0\n" a row, at most kMaxMapRowBytes.
    LineReader in(csvFile);
    const std::uint64_t size = in.size();
    if (static_cast<uint64_t>(count) > size / 6)
        throw Error(displayPath(csvFile) + ": holds fewer than the " + std::to_string(count)
                    + " rows map.json announces");
    if (size > 9 + static_cast<uint64_t>(count) * (kMaxMapRowBytes + 1))
        throw Error(displayPath(csvFile) + ": " + std::to_string(size) + " bytes are more than the "
                    + std::to_string(count) + " rows map.json announces can take (at most "
                    + std::to_string(kMaxMapRowBytes) + " bytes a row)");
    // Reserved up to a million points at once: the count is checked against the file's size only.
    points.xy.reserve(static_cast<size_t>(std::min<int64_t>(count, 1 << 20)) * 2);
    points.paths.reserve(static_cast<size_t>(std::min<int64_t>(count, 1 << 20)));
    std::string row, more;
    size_t line = 0;
    if (!in.next(row, kMaxMapRowBytes) || row != "path,x,y")
        throw Error(displayPath(csvFile) + ": the header must be 'path,x,y'");
    ++line;
    std::vector<std::string> fields;
    while (in.next(row, kMaxMapRowBytes)) {
        ++line;
        const auto where = [&] { return displayPath(csvFile) + ":" + std::to_string(line) + ": "; };
        // A path with a line break is quoted over several lines (csvField()): the row goes on.
        while (csvQuoteOpen(row) && row.size() < kMaxMapRowBytes && in.next(more, kMaxMapRowBytes - row.size() - 1)) {
            ++line;
            row += '\n';
            row += more;
        }
        if (row.size() >= kMaxMapRowBytes)
            throw Error(where() + "a row longer than " + std::to_string(kMaxMapRowBytes) + " bytes");
        if (row.empty())
            continue;
        if (static_cast<int64_t>(points.paths.size()) >= count)
            throw Error(where() + "more rows than the " + std::to_string(count) + " map.json announces");
        if (!splitCsvLine(row, fields) || fields.size() != 3)
            throw Error(where() + "expected path,x,y");
        float v[2];
        for (int c = 0; c < 2; ++c) {
            const char* s = fields[1 + c].c_str();
            char* stop = nullptr;
            v[c] = std::strtof(s, &stop);
            if (stop == s || *stop != '\0' || !std::isfinite(v[c]))
                throw Error(where() + "'" + fields[1 + c].substr(0, 32) + "' is not a finite number");
        }
        points.paths.push_back(std::move(fields[0]));
        points.xy.push_back(v[0]);
        points.xy.push_back(v[1]);
    }
    if (static_cast<int64_t>(points.paths.size()) != count)
        throw Error(displayPath(csvFile) + ": holds " + std::to_string(points.paths.size()) + " rows, map.json "
                    + std::to_string(count));
    return points;
}

} // namespace faceatlas
