// The map job and its reader, clustering a subset, and the CSV export of a selection.
#include "ml/MapJob.h"
#include "data/CsvExport.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

/** A demo preparation, an autoencoder of one epoch and its codes: what a map is made of. */
struct Encoded {
    TempDir dir;
    std::filesystem::path data, codes;
    Encoded()
    {
        PrepareParams prep;
        prep.source = "demo:120";
        prep.outDir = data = dir / "data";
        prep.size = 32;
        PrepareJob(prep).run();
        TrainParams train;
        train.model = ModelKind::Autoencoder;
        train.data = data;
        train.runDir = dir / "ae";
        train.epochs = 1;
        train.device = "cpu";
        TrainJob(train).run();
        codes = dir / "codes";
        encodeDataset(dir / "ae", data, codes, "cpu");
    }
};

Encoded& encoded()
{
    static Encoded e; // one preparation for the whole file: training is the slow part
    return e;
}

void expectRefused(const std::filesystem::path& dir, const std::string& csv, const std::string& json,
                   const std::string& fragment)
{
    std::filesystem::create_directories(dir);
    writeFileAtomic(dir / "map.csv", csv, false);
    writeFileAtomic(dir / "map.json", json, false);
    try {
        readMap(dir);
        ADD_FAILURE() << "accepted: " << fragment;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

} // namespace

TEST(MapJobTest, WritesAMapThatReadsBackRowForRow)
{
    Encoded& e = encoded();
    const Codes codes = Codes::open(e.codes);
    for (const char* method : {"pca", "neighbors"}) {
        MapParams p;
        p.codes = e.codes;
        p.outDir = e.dir / (std::string("map-") + method);
        p.method = method;
        p.embedding.neighbors = 8;
        p.embedding.epochs = 30;
        p.device = "cpu";
        const MapResult r = computeMap(p);
        ASSERT_FALSE(r.cancelled);
        EXPECT_EQ(r.summary.at("method"), method);
        const MapPoints map = readMap(p.outDir);
        ASSERT_EQ(map.count(), codes.count());
        EXPECT_EQ(map.xy.size(), 2 * codes.count());
        EXPECT_EQ(map.method, method);
        EXPECT_EQ(map.dataFingerprint, codes.dataFingerprint());
        EXPECT_EQ(std::filesystem::absolute(map.codes), std::filesystem::absolute(e.codes));
        EXPECT_GT(map.recall, 0.0);
        EXPECT_LE(map.recall, 1.0);
        for (size_t i = 0; i < map.count(); ++i)
            ASSERT_EQ(map.paths[i], codes.records()[i].path);
        // The points are spread out, not all in one place.
        float minX = map.xy[0], maxX = map.xy[0];
        for (size_t i = 0; i < map.count(); ++i) {
            minX = std::min(minX, map.xy[2 * i]);
            maxX = std::max(maxX, map.xy[2 * i]);
        }
        EXPECT_GT(maxX - minX, 1e-3f);
    }
}

TEST(MapJobTest, ACancelledMapWritesNothing)
{
    Encoded& e = encoded();
    MapParams p;
    p.codes = e.codes;
    p.outDir = e.dir / "cancelled";
    p.embedding.neighbors = 8;
    CancelToken cancel;
    cancel.requestCancel();
    EXPECT_TRUE(computeMap(p, cancel).cancelled);
    EXPECT_FALSE(std::filesystem::exists(p.outDir / "map.json"));
}

TEST(MapJobTest, TheReaderRefusesWhatItCannotTrust)
{
    TempDir dir;
    const std::string json = R"({"method":"pca","count":2})";
    expectRefused(dir / "a", "path,x,y\na.jpg,1,2\n", json, "holds 1 rows");
    expectRefused(dir / "b", "path,x,y\na.jpg,1,2\nb.jpg,nan,2\n", json, "not a finite number");
    expectRefused(dir / "c", "path,x,y\na.jpg,1,2\nb.jpg,1\n", json, "expected path,x,y");
    expectRefused(dir / "d", "x,y,path\na.jpg,1,2\nb.jpg,1,2\n", json, "header");
    expectRefused(dir / "e", "path,x,y\na.jpg,1,2\nb.jpg,1,2\nc.jpg,1,2\n", json, "more rows");
    // A count the file cannot hold is refused before it sizes anything.
    expectRefused(dir / "f", "path,x,y\na.jpg,1,2\n", R"({"method":"pca","count":90000000})", "fewer than");
    expectRefused(dir / "g", "path,x,y\n", R"({"method":"pca","count":-5})",
                  "'count' is -5, not a whole number from 1");
    expectRefused(dir / "h", "path,x,y\n", R"({"method":"pca"})", "'count' is missing");
    expectRefused(dir / "i", "path,x,y\na.jpg,1,2\nb.jpg,1,2x\n", json, "not a finite number");
}

TEST(MapJobTest, TheReaderStreamsRowsAndRefusesSizesTheCountCannotExplain)
{
    // F18: a 60 MB map.csv cost the Map page 593 MB (read whole, then a copy of each row). Its size is
    // checked against map.json's count before it is read, rows are read one by one, each bounded.
    TempDir dir;
    const std::string three = R"({"method":"pca","count":3})";
    std::filesystem::create_directories(dir / "big");
    writeFileAtomic(dir / "big" / "map.json", three, false);
    test::writeBytes(dir / "big" / "map.csv", "path,x,y\na.jpg,1,2\nb.jpg,1,2\nc.jpg,1,2\n");
    std::filesystem::resize_file(dir / "big" / "map.csv", 60 << 20); // sparse: NUL bytes after the rows
    try {
        readMap(dir / "big");
        ADD_FAILURE() << "a 60 MB map.csv of 3 points was read";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("62914560 bytes are more than the 3 rows map.json announces can take"),
                  std::string::npos)
            << e.what();
    }
    // A row longer than any path makes is refused once it passes the limit, never held whole.
    expectRefused(dir / "long", "path,x,y\na.jpg,1,2\n" + std::string(40000, 'x') + ",1,2\nc.jpg,1,2\n", three,
                  ":3: a row longer than 16384 bytes");
    // A path with a line break, quoted over two lines as csvField() writes it, reads back; so do CRLF lines.
    std::filesystem::create_directories(dir / "ok");
    writeFileAtomic(dir / "ok" / "map.json", three, false);
    writeFileAtomic(dir / "ok" / "map.csv",
                    "path,x,y\r\n\"/d/a\nb.jpg\",1.5,2\r\n" + csvField("/d/c,\"d\".jpg") + ",3,-4\n\n/d/e.jpg,5,6",
                    false);
    const MapPoints points = readMap(dir / "ok");
    ASSERT_EQ(points.paths.size(), 3u);
    EXPECT_EQ(points.paths[0], "/d/a\nb.jpg");
    EXPECT_EQ(points.paths[1], "/d/c,\"d\".jpg");
    EXPECT_EQ(points.paths[2], "/d/e.jpg");
    EXPECT_EQ(points.xy, (std::vector<float>{1.5f, 2, 3, -4, 5, 6}));
}

TEST(MapJobTest, ASubsetIsClusteredAloneAndTheRestBelongToNoCluster)
{
    Encoded& e = encoded();
    const Codes codes = Codes::open(e.codes);
    ClusterParams p;
    p.codes = e.codes;
    p.outDir = e.dir / "subset-clusters";
    p.k = 3;
    p.device = "cpu";
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(codes.count()); i += 3)
        p.rows.push_back(i);
    const ClusterResult r = ClusterJob(p).run();
    ASSERT_EQ(r.labels.size(), p.rows.size());
    std::int64_t sizes = 0;
    for (const auto& c : r.clusters) {
        sizes += c.size;
        // Exemplars are rows of the codes, and all of them in the subset.
        for (auto row : c.nearest)
            EXPECT_EQ(row % 3, 0);
        EXPECT_EQ(c.medoid % 3, 0);
    }
    EXPECT_EQ(sizes, static_cast<std::int64_t>(p.rows.size()));
    const auto metrics = nlohmann::json::parse(readFile(p.outDir / "metrics.json"));
    EXPECT_EQ(metrics.at("subset"), p.rows.size());
    // assignments.csv: one row per code, -1 outside the subset.
    const std::string csv = readFile(p.outDir / "assignments.csv");
    size_t line = 0, pos = csv.find('\n') + 1;
    while (pos < csv.size()) {
        const size_t end = csv.find('\n', pos);
        const std::string row = csv.substr(pos, end - pos);
        const int label = std::stoi(row.substr(row.rfind(',') + 1));
        EXPECT_EQ(row.substr(0, row.rfind(',')), codes.records()[line].path);
        if (line % 3 == 0)
            EXPECT_GE(label, 0) << line;
        else
            EXPECT_EQ(label, -1) << line;
        ++line;
        pos = end + 1;
    }
    EXPECT_EQ(line, codes.count());
    // Rows out of order or out of range are refused.
    p.rows = {5, 2, 9, 11};
    EXPECT_THROW(ClusterJob(p).run(), Error);
    p.rows = {0, 1, static_cast<std::int64_t>(codes.count())};
    EXPECT_THROW(ClusterJob(p).run(), Error);
}

TEST(MapJobTest, ASelectionExportsAsACsvDatasetThatReadsBack)
{
    Encoded& e = encoded();
    const PreparedDataset data = PreparedDataset::open(e.data);
    const std::vector<std::int64_t> rows = {0, 4, 7, static_cast<std::int64_t>(data.count()) - 1};
    const auto file = e.dir / "selection.csv";
    EXPECT_EQ(exportCsvDataset(data, rows, file), rows.size());
    const LoadedDataset back = readCsv(file);
    ASSERT_EQ(back.records.size(), rows.size());
    EXPECT_EQ(back.malformed, 0u);
    for (size_t i = 0; i < rows.size(); ++i) {
        const Record& original = data.records()[static_cast<size_t>(rows[i])];
        EXPECT_EQ(back.records[i].path, original.path);
        EXPECT_EQ(back.records[i].age, original.age);
        EXPECT_EQ(back.records[i].gender, original.gender);
    }
    // Every face when no rows are given; a row that is not a face is refused and writes nothing.
    EXPECT_EQ(exportCsvDataset(data, {}, e.dir / "all.csv"), data.count());
    EXPECT_THROW(exportCsvDataset(data, {static_cast<std::int64_t>(data.count())}, e.dir / "bad.csv"), Error);
    EXPECT_FALSE(std::filesystem::exists(e.dir / "bad.csv"));
}
