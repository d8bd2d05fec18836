#include "ml/MapJob.h"

#include "ml/ApproximateKnn.h"
#include "ml/Inference.h"
#include "ml/MapNeighbours.h"
#include "ml/Projections.h"
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
            throw Error(displayPath(file) + ": cannot stat: " + errnoText(errno));
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
                throw Error(displayPath(m_file) + ": read failed: " + errnoText(errno));
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

namespace {

/** The neighbours preservation is judged by: 10, or fewer when the graph or the data are smaller. */
int preservationK(int64_t n, int graphK)
{
    return static_cast<int>(std::min<int64_t>({10, n - 1, graphK}));
}

/** One map's work, step by step: the layout, the code graph it is judged by, the files. */
class MapSession {
public:
    MapSession(const MapParams& p, const CancelToken& cancel, const std::function<void(const JobProgress&)>& onProgress)
        : m_p(p)
        , m_cancel(cancel)
        , m_onProgress(onProgress)
        , m_codes(Codes::open(p.codes))
        , m_n(static_cast<int64_t>(m_codes.count()))
    {
    }

    MapResult run()
    {
        checkCodes();
        const auto start = Clock::now();
        const torch::Device device = resolveDevice(m_p.device);
        m_settings = {{"device", device.str()}};
        m_x = m_codes.tensor().to(device);
        if (!layout())
            return cancelled();
        m_seconds["map"] = secondsSince(start);
        if (!judge())
            return cancelled();
        return write();
    }

private:
    static MapResult cancelled()
    {
        MapResult r;
        r.cancelled = true;
        return r;
    }

    void checkCodes() const
    {
        if (m_n < 3)
            throw Error(displayPath(m_p.codes) + ": a map needs at least 3 codes, these are " + std::to_string(m_n));
        if (findProjection(m_p.method)->neighbourSettings && m_p.embedding.neighbors >= m_n)
            throw Error(displayPath(m_p.codes) + ": " + std::to_string(m_p.embedding.neighbors)
                        + " neighbours per face need more than " + std::to_string(m_p.embedding.neighbors)
                        + " codes, these are " + std::to_string(m_n));
    }

    void progress(const char* stage) const
    {
        if (m_onProgress)
            m_onProgress({stage, 0, 0});
    }

    /** Step 1: the 2-D points (PCA, or the neighbour embedding, which also leaves its code graph). */
    bool layout()
    {
        const ProjectionInfo& projection = *findProjection(m_p.method); // checked by computeMap
        EmbeddingResult r = projection.layout(m_x, m_p.embedding, m_cancel, m_onProgress);
        if (r.cancelled)
            return false;
        m_map = r.map;
        if (!projection.neighbourSettings)
            return !m_cancel.isCancelled();
        m_graph = std::move(r.graph);
        m_knn = r.knn;
        m_knnDims = r.knnDims;
        m_knnVariance = r.knnVarianceKept;
        const EmbeddingParams& e = m_p.embedding;
        m_settings.update({{"neighbors", e.neighbors},
                           {"seed", e.seed},
                           {"epochs", r.epochs},
                           {"negatives", e.negatives},
                           {"min_dist", e.minDist},
                           {"spread", e.spread},
                           {"a", r.curve.a},
                           {"b", r.curve.b},
                           {"edges", r.edges},
                           {"start", r.start},
                           {"threads", e.threads}});
        m_seconds["neighbours"] = r.knnSeconds;
        m_seconds["graph"] = r.graphSeconds;
        m_seconds["layout"] = r.layoutSeconds;
        return !m_cancel.isCancelled();
    }

    /**
     * Step 2: how far the map can be trusted. The sampled recall (exact on both sides), each face's
     * neighbourhood preservation against the code graph (a PCA map gets a graph of its own, found as
     * the embedding would), and an approximate graph's own recall against the exact search.
     */
    bool judge()
    {
        progress("neighbour recall");
        const int64_t sample = std::min<int64_t>(m_p.recallSample, m_n);
        const int recallK = static_cast<int>(std::min<int64_t>(10, m_n - 1));
        auto t0 = Clock::now();
        m_recall = {{"k", recallK},
                    {"sample", sample},
                    {"seed", 1},
                    {"value", neighbourRecall(m_x, m_map, sample, recallK, 1)}};
        m_seconds["recall"] = secondsSince(t0);

        t0 = Clock::now();
        if (!m_graph.indices.defined()) {
            m_knn = chooseKnn(m_p.embedding.knn, m_n);
            const int k = preservationK(m_n, 10);
            HnswParams hnsw;
            hnsw.seed = m_p.embedding.seed;
            hnsw.threads = m_p.embedding.threads;
            m_graph = m_knn == "hnsw" ? hnswKnn(m_x, k, hnsw, m_cancel, m_onProgress)
                                      : exactKnn(m_x, k, m_cancel, m_onProgress);
            if (m_graph.cancelled)
                return false;
        }
        // The space searched: all the codes' dimensions, or their top principal components.
        json knn = {{"method", m_knn},
                    {"k", m_graph.indices.size(1)},
                    {"dims", m_knnDims > 0 ? m_knnDims : m_x.size(1)},
                    {"variance", m_knnVariance}};
        if (m_knn == "hnsw") {
            progress("the approximate graph's recall");
            knn["recall"] = {{"sample", sample}, {"seed", 1}, {"value", graphRecall(m_x, m_graph, sample, 1)}};
        }
        m_settings["knn"] = knn;
        progress("neighbourhood preservation");
        const int k = preservationK(m_n, static_cast<int>(m_graph.indices.size(1)));
        const auto m = m_map.contiguous();
        m_xy.assign(m.data_ptr<float>(), m.data_ptr<float>() + m_n * 2);
        m_preserved = neighbourhoodPreservation(m_graph, m_xy, k);
        double mean = 0;
        for (const float v : m_preserved)
            mean += v;
        m_preservation = {{"k", k}, {"graph", m_knn}, {"mean", mean / static_cast<double>(m_n)}};
        m_seconds["preservation"] = secondsSince(t0);
        return !m_cancel.isCancelled();
    }

    /** Step 3: map.csv, then map.json, swapped in together. */
    MapResult write()
    {
        std::string csv = "path,x,y,preserved\n";
        csv.reserve(static_cast<size_t>(m_n) * 72);
        for (int64_t i = 0; i < m_n; ++i)
            csv += csvField(recordKey(m_codes.records()[static_cast<size_t>(i)])) + "," + number(m_xy[2 * i]) + ","
                   + number(m_xy[2 * i + 1]) + "," + number(m_preserved[static_cast<size_t>(i)]) + "\n";
        // Written whole beside DIR and swapped in: a reader of the earlier map sees it or this one, never a mix.
        StagedFolder staged(m_p.outDir, OutputKind::Map, {m_p.force, {m_p.codes, m_codes.dataDir(), m_codes.runDir()}});
        writeFileAtomic(staged.work() / "map.csv", csv, /*durable=*/false);
        MapResult result;
        result.summary = {{"format", outputKindFormat(OutputKind::Map)},
                          {"method", m_p.method},
                          {"codes", fs::absolute(m_p.codes).lexically_normal().string()},
                          {"data_fingerprint", m_codes.dataFingerprint()},
                          {"count", m_n},
                          {"dim", m_codes.dim()},
                          {"settings", m_settings},
                          {"seconds", m_seconds},
                          {"recall", m_recall},
                          {"preservation", m_preservation}};
        writeFileAtomic(staged.work() / "map.json", jsonText(result.summary, 2) + "\n", /*durable=*/false);
        staged.commit(); // syncs both files, then swaps
        return result;
    }

    const MapParams& m_p;
    const CancelToken& m_cancel;
    const std::function<void(const JobProgress&)>& m_onProgress;
    const Codes m_codes;
    const int64_t m_n;
    torch::Tensor m_x, m_map;
    KnnGraph m_graph;
    std::string m_knn = "exact";
    int64_t m_knnDims = 0;      // 0: all of the codes' dimensions
    double m_knnVariance = 1.0; // the share of the variance the searched dimensions hold
    std::vector<float> m_xy, m_preserved;
    json m_settings, m_seconds, m_recall, m_preservation;
};

} // namespace

MapResult computeMap(const MapParams& p, const CancelToken& cancel,
                     const std::function<void(const JobProgress&)>& onProgress)
{
    if (!findProjection(p.method))
        throw Error("a map's method is " + projectionNameList() + ", not '" + p.method + "'");
    checkOutputFolder(p.outDir, OutputKind::Map, {p.force, {p.codes}}); // before the work, and again at the write
    return MapSession(p, cancel, onProgress).run();
}

namespace {

/** map.json's count (checked), and what it says of the map, into `points`. */
int64_t readMapSummary(const fs::path& jsonFile, MapPoints& points)
{
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
        if (j.contains("settings") && j.at("settings").is_object())
            points.settings = j.at("settings");
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(displayPath(jsonFile) + ": invalid: " + e.what());
    }
    return count;
}

} // namespace

MapPoints readMap(const fs::path& dir)
{
    const fs::path jsonFile = dir / "map.json";
    const fs::path csvFile = dir / "map.csv";
    MapPoints points;
    const int64_t count = readMapSummary(jsonFile, points);
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
    // Maps before the preservation score have three columns; a column is all or nothing.
    if (!in.next(row, kMaxMapRowBytes) || (row != "path,x,y" && row != "path,x,y,preserved"))
        throw Error(displayPath(csvFile) + ": the header must be 'path,x,y' or 'path,x,y,preserved'");
    const size_t columns = row == "path,x,y" ? 3 : 4;
    if (columns == 4)
        points.preserved.reserve(points.paths.capacity());
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
        if (!splitCsvLine(row, fields) || fields.size() != columns)
            throw Error(where() + (columns == 3 ? "expected path,x,y" : "expected path,x,y,preserved"));
        float v[3] = {0, 0, 0};
        for (size_t c = 0; c + 1 < columns; ++c) {
            const char* s = fields[1 + c].c_str();
            char* stop = nullptr;
            v[c] = std::strtof(s, &stop);
            if (stop == s || *stop != '\0' || !std::isfinite(v[c]))
                throw Error(where() + "'" + fields[1 + c].substr(0, 32) + "' is not a finite number");
        }
        points.paths.push_back(std::move(fields[0]));
        points.xy.push_back(v[0]);
        points.xy.push_back(v[1]);
        if (columns == 4) {
            if (v[2] < 0 || v[2] > 1)
                throw Error(where() + "a preserved share of " + fields[3].substr(0, 32) + " is not between 0 and 1");
            points.preserved.push_back(v[2]);
        }
    }
    if (static_cast<int64_t>(points.paths.size()) != count)
        throw Error(displayPath(csvFile) + ": holds " + std::to_string(points.paths.size()) + " rows, map.json "
                    + std::to_string(count));
    return points;
}

} // namespace faceatlas
