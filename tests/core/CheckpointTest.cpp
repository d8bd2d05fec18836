#include "analysis/AuditFiles.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Provenance.h"
#include "ml/CheckpointHeader.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/MapJob.h"
#include "ml/ModelKinds.h"
#include "ml/Models.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <chrono>
#include <csignal>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace faceatlas;
using faceatlas::test::TempDir;
using nlohmann::json;

namespace {

constexpr std::uint64_t kStandardFnvBasis = 0xcbf29ce484222325ULL; // FNV-1a 64 as published

/** A model with trained-looking weights and an AdamW that has taken steps (so its state is not empty). */
struct Trained {
    FaceModel model;
    std::unique_ptr<torch::optim::AdamW> optimizer;
};

Trained trainedModel(ModelKind kind, int size)
{
    torch::manual_seed(7);
    Trained t;
    t.model = createModel(kind, size);
    t.model->setInputStats({0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f});
    t.model->setAgeStats(33.0f, 11.0f);
    t.optimizer = std::make_unique<torch::optim::AdamW>(t.model->parameters(),
                                                        torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
    t.model->train();
    for (int step = 0; step < 2; ++step) {
        const auto images = torch::rand({4, 3, size, size});
        const auto ages = torch::full({4}, 30.0f);
        t.optimizer->zero_grad();
        const auto out = t.model->run(images);
        t.model->loss(out, images, ages).backward();
        t.optimizer->step();
    }
    return t;
}

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("NOT AN Error: ") + e.what();
    }
    return "";
}

std::uint64_t headerLength(const std::string& bytes)
{
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    return n;
}

/**
 * Rewrites a checkpoint's header with `edit` and a correct checksum (as the format documents it), so
 * what is tested is the check after the checksum. `data` may replace the data section.
 */
void rewrite(const std::filesystem::path& file, const std::function<void(json&)>& edit,
             const std::optional<std::string>& data = std::nullopt)
{
    const std::string bytes = readFile(file);
    const std::uint64_t n = headerLength(bytes);
    json header = json::parse(bytes.substr(8, n));
    edit(header);
    header["__metadata__"]["checksum_fnv1a64"] = std::string(16, '0');
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
    out += text;
    out += data ? *data : bytes.substr(8 + n);
    const std::string zero = "\"checksum_fnv1a64\":\"" + std::string(16, '0') + "\"";
    const std::string sum = hexKey(fnv1a64(out, kStandardFnvBasis));
    out.replace(out.find(zero), zero.size(), "\"checksum_fnv1a64\":\"" + sum + "\"");
    test::writeBytes(file, out);
}

void expectSameTensors(FaceModelImpl& a, FaceModelImpl& b)
{
    const auto pa = a.named_parameters(true), pb = b.named_parameters(true);
    ASSERT_EQ(pa.size(), pb.size());
    for (const auto& p : pa)
        EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
    const auto ba = a.named_buffers(true), bb = b.named_buffers(true);
    ASSERT_EQ(ba.size(), bb.size());
    for (const auto& p : ba)
        EXPECT_TRUE(torch::equal(p.value(), bb[p.key()])) << p.key();
}

} // namespace

TEST(CheckpointTest, RoundTripKeepsWeightsOptimizerAndPredictions)
{
    TempDir dir;
    for (ModelKind kind : {ModelKind::Age, ModelKind::AgeOrdinal, ModelKind::AgeGaussian, ModelKind::AgeCapstone,
                           ModelKind::Autoencoder}) {
        Trained t = trainedModel(kind, 32);
        const auto file = dir / (std::string(modelKindName(kind)) + ".pt");
        saveCheckpoint(file, *t.model, t.optimizer.get(), R"({"epoch":3,"note":"ü"})");
        const LoadedModel loaded = loadCheckpoint(file);
        EXPECT_EQ(loaded.model->kind(), kind);
        EXPECT_EQ(loaded.model->imageSize(), 32);
        EXPECT_EQ(loaded.metaJson, R"({"epoch":3,"note":"ü"})");
        expectSameTensors(*t.model, *loaded.model);

        torch::NoGradGuard noGrad;
        t.model->eval();
        loaded.model->eval();
        const auto images = torch::rand({3, 3, 32, 32});
        EXPECT_TRUE(torch::equal(t.model->run(images).output, loaded.model->run(images).output));

        torch::optim::AdamW restored(loaded.model->parameters(), torch::optim::AdamWOptions(1e-3));
        restoreOptimizer(file, restored);
        const auto& original = t.optimizer->param_groups()[0].params();
        const auto& again = restored.param_groups()[0].params();
        ASSERT_EQ(restored.state().size(), t.optimizer->state().size());
        for (size_t i = 0; i < original.size(); ++i) {
            const auto& a = static_cast<torch::optim::AdamWParamState&>(
                *t.optimizer->state().at(c10::guts::to_string(original[i].unsafeGetTensorImpl())));
            const auto& b = static_cast<torch::optim::AdamWParamState&>(
                *restored.state().at(c10::guts::to_string(again[i].unsafeGetTensorImpl())));
            EXPECT_EQ(a.step(), b.step());
            EXPECT_TRUE(torch::equal(a.exp_avg(), b.exp_avg()));
            EXPECT_TRUE(torch::equal(a.exp_avg_sq(), b.exp_avg_sq()));
        }
    }
}

TEST(CheckpointTest, LayoutIsSafetensorsWithTheDocumentedChecksum)
{
    TempDir dir;
    Trained t = trainedModel(ModelKind::Age, 32);
    saveCheckpoint(dir / "a.pt", *t.model, nullptr, "{}");
    const std::string bytes = readFile(dir / "a.pt");
    const std::uint64_t n = headerLength(bytes);
    ASSERT_EQ(n % 8, 0u);
    const json header = json::parse(bytes.substr(8, n));
    const json& meta = header["__metadata__"];
    EXPECT_EQ(meta["format"], "faceatlas-checkpoint");
    EXPECT_EQ(meta["version"], "2");
    EXPECT_EQ(meta["kind"], "age");
    EXPECT_EQ(meta["size"], "32");
    for (auto it = meta.begin(); it != meta.end(); ++it)
        EXPECT_TRUE(it->is_string()) << it.key();
    EXPECT_EQ(header["model.conv1.weight"]["dtype"], "F32");
    EXPECT_EQ(header["model.bn1.num_batches_tracked"]["dtype"], "I64");
    // The bytes of a tensor are its values, little-endian, where data_offsets say.
    const auto offsets = header["model.input_mean"]["data_offsets"];
    float values[3];
    std::memcpy(values, bytes.data() + 8 + n + offsets[0].get<size_t>(), sizeof values);
    EXPECT_FLOAT_EQ(values[0], 0.4f);
    EXPECT_FLOAT_EQ(values[2], 0.6f);
    // Checksum: standard FNV-1a 64 of the file with its 16 hex digits read as '0's.
    std::string zeroed = bytes;
    const std::string stored = meta["checksum_fnv1a64"];
    zeroed.replace(zeroed.find(stored), 16, std::string(16, '0'));
    EXPECT_EQ(hexKey(fnv1a64(zeroed, kStandardFnvBasis)), stored);
}

TEST(CheckpointTest, AnyFlippedByteOrTruncationIsRefused)
{
    TempDir dir;
    Trained t = trainedModel(ModelKind::AgeCapstone, 8);
    saveCheckpoint(dir / "good.pt", *t.model, t.optimizer.get(), R"({"epoch":1})");
    const std::string good = readFile(dir / "good.pt");
    const std::uint64_t n = headerLength(good);
    std::vector<size_t> positions;
    for (size_t i = 0; i < 8 + n; i += i < 8 ? 1 : 13) // the length, and bytes all along the header
        positions.push_back(i);
    const size_t sum = good.find("checksum_fnv1a64") + 19; // after "checksum_fnv1a64":"
    for (size_t i = sum; i < sum + 16; ++i)                // the checksum itself
        positions.push_back(i);
    for (size_t i = 8 + n; i < good.size(); i += 1777) // and data bytes all along
        positions.push_back(i);
    positions.push_back(good.size() - 1);
    int refused = 0;
    for (size_t i : positions) {
        std::string bad = good;
        bad[i] = static_cast<char>(bad[i] ^ 0x10);
        test::writeBytes(dir / "bad.pt", bad);
        const std::string e = errorOf([&] { loadCheckpoint(dir / "bad.pt"); });
        EXPECT_NE(e.find("bad.pt"), std::string::npos) << "byte " << i << ": " << e;
        EXPECT_EQ(e.find("NOT AN Error"), std::string::npos) << e;
        refused += !e.empty();
    }
    EXPECT_EQ(refused, static_cast<int>(positions.size()));
    for (size_t length : {size_t(0), size_t(5), size_t(8), size_t(8 + n / 2), size_t(8 + n), good.size() - 1}) {
        test::writeBytes(dir / "short.pt", good.substr(0, length));
        EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "short.pt"); }).find("short.pt"), std::string::npos) << length;
    }
    test::writeBytes(dir / "long.pt", good + "x");
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "long.pt"); }), "");
}

TEST(CheckpointTest, WrongModelMissingOrExtraTensorsAndNonFiniteWeightsAreRefused)
{
    TempDir dir;
    Trained t = trainedModel(ModelKind::AgeCapstone, 16);
    saveCheckpoint(dir / "c.pt", *t.model, t.optimizer.get(), "{}");
    const std::string good = readFile(dir / "c.pt");
    const auto again = [&](const std::string& name) {
        test::writeBytes(dir / name, good);
        return dir / name;
    };
    // The checksum matches in all of these: what refuses them is the check against the model.
    rewrite(again("kind.pt"), [](json& h) { h["__metadata__"]["kind"] = "autoencoder"; });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "kind.pt"); }).find("not a autoencoder at 16 px"), std::string::npos);
    rewrite(again("size.pt"), [](json& h) { h["__metadata__"]["size"] = "24"; });
    const std::string size = errorOf([&] { loadCheckpoint(dir / "size.pt"); });
    EXPECT_NE(size.find("size.pt"), std::string::npos) << size;
    EXPECT_NE(size.find("age-capstone at 24 px"), std::string::npos) << size;
    rewrite(again("kindname.pt"), [](json& h) { h["__metadata__"]["kind"] = "gpt"; });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "kindname.pt"); }).find("unknown model"), std::string::npos);
    rewrite(again("missing.pt"), [](json& h) {
        h["model.conv1.bias2"] = h["model.conv1.bias"];
        h.erase("model.conv1.bias");
    });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "missing.pt"); }).find("model.conv1.bias is missing"),
              std::string::npos);
    rewrite(again("extra.pt"), [](json& h) {
        h["model.extra"] = h["optimizer.0.exp_avg"];
        h.erase("optimizer.0.exp_avg");
    });
    EXPECT_NE(errorOf([&] { restoreOptimizer(dir / "extra.pt", *t.optimizer); }).find("optimizer.0.exp_avg"),
              std::string::npos);
    rewrite(again("unexpected.pt"), [](json& h) {
        h["model.zzz"] = {{"dtype", "F32"}, {"shape", json::array({0})}, {"data_offsets", json::array({0, 0})}};
    });
    const std::string unexpected = errorOf([&] { loadCheckpoint(dir / "unexpected.pt"); });
    EXPECT_NE(unexpected.find("unexpected tensor model.zzz"), std::string::npos) << unexpected;
    rewrite(again("shape.pt"), [](json& h) { h["model.conv1.bias"]["shape"] = json::array({8, 8}); });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "shape.pt"); }).find("model.conv1.bias is F32 [8,8]"),
              std::string::npos);
    // A size whose weights would need gigabytes: refused from the header, before building the model.
    rewrite(again("huge.pt"), [](json& h) { h["__metadata__"]["size"] = "1000"; });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "huge.pt"); }).find("parameters: not this model"), std::string::npos);
    rewrite(again("toolarge.pt"), [](json& h) { h["__metadata__"]["size"] = "100000"; });
    const std::string tooLarge = errorOf([&] { loadCheckpoint(dir / "toolarge.pt"); });
    EXPECT_NE(tooLarge.find("invalid image size '100000'"), std::string::npos) << tooLarge;
    rewrite(again("over.pt"), [](json& h) { h["__metadata__"]["size"] = "2000"; });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "over.pt"); }).find("outside 8 to 1024"), std::string::npos);

    torch::NoGradGuard noGrad;
    t.model->named_parameters()["dense2.weight"][0][0] = std::numeric_limits<float>::infinity();
    saveCheckpoint(dir / "inf.pt", *t.model, nullptr, "{}");
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "inf.pt"); }).find("NaN or infinite"), std::string::npos);
}

TEST(CheckpointTest, HugeLengthsOldArchivesAndSpecialFilesAreRefusedWithoutAllocating)
{
    TempDir dir;
    Trained t = trainedModel(ModelKind::AgeCapstone, 8);
    saveCheckpoint(dir / "c.pt", *t.model, nullptr, "{}");
    const std::string good = readFile(dir / "c.pt");
    // Header length 2^62.
    std::string huge = good;
    huge[7] = 0x40;
    test::writeBytes(dir / "hugeheader.pt", huge);
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "hugeheader.pt"); }).find("header claims"), std::string::npos);
    // Shapes and offsets far beyond the file, with a correct checksum.
    test::writeBytes(dir / "hugetensor.pt", good);
    rewrite(dir / "hugetensor.pt", [](json& h) {
        h["model.dense1.weight"]["shape"] = json::array({int64_t(1) << 40, int64_t(1) << 40});
    });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "hugetensor.pt"); }).find("model.dense1.weight"), std::string::npos);
    test::writeBytes(dir / "hugeoffset.pt", good);
    rewrite(dir / "hugeoffset.pt", [](json& h) {
        h["model.dense1.weight"]["data_offsets"] = json::array({0, std::uint64_t(1) << 62});
    });
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "hugeoffset.pt"); }).find("outside the file"), std::string::npos);
    // An earlier FaceAtlas's TorchScript archive is never opened by the TorchScript importer.
    torch::serialize::OutputArchive archive;
    archive.write("x", torch::ones({2}));
    archive.save_to((dir / "old.pt").string());
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "old.pt"); }).find("earlier FaceAtlas"), std::string::npos);
    // A FIFO in a checkpoint's place does not block.
    ASSERT_EQ(::mkfifo((dir / "fifo.pt").c_str(), 0600), 0);
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "fifo.pt"); }).find("not a regular file"), std::string::npos);
}

TEST(FileUtilTest, StaleTemporariesOfDeadWritersAreRemoved)
{
    TempDir dir;
    const long child = test::deadProcessId(); // a process id that is no longer alive
    const std::string dead = ".last.pt.tmp-" + std::to_string(child) + "-3";
    const std::string mine = ".last.pt.tmp-" + std::to_string(::getpid()) + "-4";
    for (const auto& name : {dead, mine, std::string("last.pt"), std::string("notes.tmp-x")})
        test::writeBytes(dir / name, "x");
    EXPECT_EQ(removeStaleTemporaries(dir.path(), [](const std::string& name) { return name == "last.pt"; }), 1);
    EXPECT_FALSE(std::filesystem::exists(dir / dead));
    EXPECT_TRUE(std::filesystem::exists(dir / mine));
    EXPECT_TRUE(std::filesystem::exists(dir / "last.pt"));
    EXPECT_TRUE(std::filesystem::exists(dir / "notes.tmp-x"));
    writeFileAtomic(dir / "a.txt", "hello");
    EXPECT_EQ(readFile(dir / "a.txt"), "hello");
    int temporaries = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
        temporaries += isTemporaryName(e.path().filename().string());
    EXPECT_EQ(temporaries, 1); // only `mine`: writeFileAtomic left none
}

TEST(RunFilesTest, ParsersRefuseDamagedFilesWithTheFileNamed)
{
    EXPECT_EQ(parseMetricsCsv(metricsCsv({{1, 0.5, 0.4}, {2, 0.3, 0.2}})).size(), 2u);
    for (const std::string& bad : {std::string("nonsense\n"), metricsCsv({}) + "x,1,2,3,4,5,6,7\n",
                                   metricsCsv({}) + "1,1,2\n", metricsCsv({}) + "99999999999,1,2,3,4,5,6,7\n",
                                   metricsCsv({{2, 1, 1}, {1, 1, 1}}), metricsCsv({}) + "1,1e999,2,3,4,5,6,7\n"}) {
        const std::string e = errorOf([&] { parseMetricsCsv(bad, "run/metrics.csv"); });
        EXPECT_NE(e.find("run/metrics.csv"), std::string::npos) << bad << " -> " << e;
    }
    TempDir dir;
    test::writeBytes(dir / "run" / "run.json", R"({"model":"age","status":"finished","size":32})");
    test::writeBytes(dir / "run" / "metrics.csv", metricsCsv({}) + "1,abc,2,3,4,5,6,7\n");
    const auto summary = readRunSummary(dir / "run");
    ASSERT_TRUE(summary.has_value()); // listed, not hidden
    EXPECT_EQ(summary->status, "damaged");
    EXPECT_NE(summary->problem.find("metrics.csv line 2"), std::string::npos) << summary->problem;
    test::writeBytes(dir / "run2" / "run.json", R"({"model": 5, "size": "x")");
    const auto broken = readRunSummary(dir / "run2");
    ASSERT_TRUE(broken.has_value());
    EXPECT_EQ(broken->status, "damaged");
    EXPECT_NE(broken->problem.find("run.json"), std::string::npos) << broken->problem;
}

namespace {

PrepareParams demoParams(const std::filesystem::path& out, const char* source, long long valCount = -1)
{
    PrepareParams p;
    p.source = source;
    p.outDir = out;
    p.size = 32;
    p.cleaning.valCount = valCount;
    p.cleaning.minImageSize = 0;
    return p;
}

TrainParams quickTrain(ModelKind kind, const std::filesystem::path& data, const std::filesystem::path& run, int epochs)
{
    TrainParams p;
    p.model = kind;
    p.data = data;
    p.runDir = run;
    p.epochs = epochs;
    p.batch = 16;
    p.device = "cpu";
    p.seed = 5;
    return p;
}

int checkpointEpoch(const std::filesystem::path& file)
{
    return json::parse(loadCheckpoint(file).metaJson).at("epoch").get<int>();
}

} // namespace

TEST(TrainResumeTest, ResumesAfterACancelInTheFirstEpochAndWithoutAValidationSplit)
{
    TempDir dir;
    PrepareJob(demoParams(dir / "noval", "demo:80", 0)).run();
    ASSERT_TRUE(PreparedDataset::open(dir / "noval").valIndices().empty());
    CancelToken cancel;
    int batches = 0;
    const auto first = TrainJob(quickTrain(ModelKind::Autoencoder, dir / "noval", dir / "run", 2))
                           .run(cancel, [&](const TrainProgress&) {
                               if (++batches == 1)
                                   cancel.requestCancel();
                           });
    ASSERT_TRUE(first.cancelled);
    TrainParams resume = quickTrain(ModelKind::Autoencoder, dir / "noval", dir / "run", 1);
    resume.resume = true;
    const TrainResult one = TrainJob(resume).run();
    ASSERT_EQ(one.history.size(), 1u);
    EXPECT_EQ(one.bestEpoch, 1); // no validation score: the first epoch is the best, and +inf is not written
    resume.epochs = 2;
    const TrainResult two = TrainJob(resume).run(); // read back the checkpoint whose best score was never finite
    ASSERT_EQ(two.history.size(), 2u);
    EXPECT_EQ(json::parse(readFile(dir / "run" / "run.json"))["status"], "finished");
    EXPECT_EQ(parseMetricsCsv(readFile(dir / "run" / "metrics.csv")).size(), 2u);
    EXPECT_EQ(json::parse(readFile(dir / "run" / "run.json"))["data_fingerprint"],
              datasetFingerprint(PreparedDataset::open(dir / "noval")));
}

TEST(TrainResumeTest, ResumeRewritesRecordsThatAKillLeftBehindTheCheckpoint)
{
    TempDir dir;
    PrepareJob(demoParams(dir / "data", "demo:80")).run();
    TrainJob(quickTrain(ModelKind::AgeCapstone, dir / "data", dir / "run", 2)).run();
    ASSERT_EQ(checkpointEpoch(dir / "run" / "last.pt"), 2);
    // As if killed after last.pt of epoch 2 was renamed in place, before metrics.csv and run.json.
    const auto history = parseMetricsCsv(readFile(dir / "run" / "metrics.csv"));
    writeFileAtomic(dir / "run" / "metrics.csv", metricsCsv({history[0]}));
    json run = json::parse(readFile(dir / "run" / "run.json"));
    run["epochs_done"] = 1;
    run["status"] = "running";
    writeFileAtomic(dir / "run" / "run.json", run.dump());
    test::writeBytes(dir / "run" / ".last.pt.tmp-999999999-0", "half a checkpoint");
    TrainParams resume = quickTrain(ModelKind::AgeCapstone, dir / "data", dir / "run", 2);
    resume.resume = true;
    const TrainResult r = TrainJob(resume).run();
    EXPECT_EQ(r.history.size(), 2u);
    const auto repaired = parseMetricsCsv(readFile(dir / "run" / "metrics.csv"));
    ASSERT_EQ(repaired.size(), 2u);
    EXPECT_NEAR(repaired[1].trainLoss, history[1].trainLoss, 1e-6 * std::abs(history[1].trainLoss) + 1e-9);
    EXPECT_EQ(json::parse(readFile(dir / "run" / "run.json"))["epochs_done"], 2);
    EXPECT_FALSE(std::filesystem::exists(dir / "run" / ".last.pt.tmp-999999999-0"));
    EXPECT_EQ(checkpointEpoch(dir / "run" / "last.pt"), 2);
}

TEST(CodesTest, HostileManifestsAndOtherPreparationsAreRefused)
{
    TempDir dir;
    PrepareJob(demoParams(dir / "data", "demo:80")).run();
    PrepareJob(demoParams(dir / "small", "demo:30")).run();
    TrainJob(quickTrain(ModelKind::Autoencoder, dir / "data", dir / "ae", 1)).run();
    encodeDataset(dir / "ae", dir / "data", dir / "codes", "cpu");
    const PreparedDataset data = PreparedDataset::open(dir / "data");
    ASSERT_EQ(readCodesFingerprint(dir / "codes"), datasetFingerprint(data));
    EXPECT_EQ(readCodesFingerprint(dir / "nowhere"), std::nullopt);
    const json manifest = json::parse(readFile(dir / "codes" / "codes.json"));
    const auto variant = [&](const std::string& name, const std::function<void(json&)>& edit) {
        std::filesystem::copy(dir / "codes", dir / name, std::filesystem::copy_options::recursive);
        json m = manifest;
        edit(m);
        writeFileAtomic(dir / name / "codes.json", m.dump());
        return dir / name;
    };
    const auto refused = [&](const std::filesystem::path& codes, const std::string& expected) {
        const std::string e = errorOf([&] { Codes::open(codes); });
        EXPECT_NE(e.find(expected), std::string::npos) << codes << ": " << e;
    };
    refused(variant("dim0", [](json& m) { m["dim"] = 0; }), "is not the product");
    refused(variant("shape0",
                    [](json& m) {
                        m["dim"] = 0;
                        m["shape"] = json::array({8, 0, 4});
                    }),
            "invalid: shape");
    refused(variant("hugeshape",
                    [](json& m) {
                        m["shape"] = json::array({4096, 4096, 4096});
                        m["dim"] = int64_t(4096) * 4096 * 4096;
                    }),
            "do not hold");
    refused(variant("count", [](json& m) { m["count"] = 1000000; }), "declares 1000000 codes");
    refused(variant("text", [](json& m) { m["dim"] = "128"; }), "codes.json: invalid");
    const auto fifo = variant("fifo", [](json&) {});
    std::filesystem::remove(fifo / "codes.f32");
    ASSERT_EQ(::mkfifo((fifo / "codes.f32").c_str(), 0600), 0);
    refused(fifo, "not a regular file");
    const auto shortFile = variant("short", [](json&) {});
    std::filesystem::resize_file(shortFile / "codes.f32", 100);
    refused(shortFile, "do not hold");

    // Clustering: the codes must come from this very preparation, row for row.
    const auto cluster = [&](const std::filesystem::path& codes) {
        ClusterParams p;
        p.codes = codes;
        p.outDir = dir / ("out-" + codes.filename().string());
        p.k = 3;
        p.device = "cpu";
        return errorOf([&] { ClusterJob(p).run(); });
    };
    const auto other = variant("other", [&](json& m) { m["data"] = (dir / "small").string(); });
    EXPECT_NE(cluster(other).find("another preparation"), std::string::npos) << cluster(other);
    const auto older = variant("older", [&](json& m) {
        m["data"] = (dir / "small").string();
        m.erase("data_fingerprint");
    });
    const size_t smallCount = PreparedDataset::open(dir / "small").count();
    ASSERT_NE(smallCount, data.count());
    EXPECT_NE(cluster(older).find("holds " + std::to_string(smallCount)), std::string::npos) << cluster(older);
    EXPECT_FALSE(std::filesystem::exists(dir / "out-older" / "metrics.json"));
    EXPECT_EQ(cluster(dir / "codes"), "");
    const auto metrics = json::parse(readFile(dir / "out-codes" / "metrics.json"));
    EXPECT_EQ(metrics["data_fingerprint"], datasetFingerprint(data));
}

TEST(CheckpointTest, ParameterCountsWithoutBuildingMatchTheModels)
{
    // loadCheckpoint refuses a size from this count before building the model: it must be exact.
    for (const ModelKindInfo& info : modelKinds())
        for (int size : {16, 33, 64}) {
            const ModelKind kind = info.kind;
            int64_t built = 0;
            for (const auto& p : createModel(kind, size)->parameters())
                built += p.numel();
            EXPECT_EQ(modelParameterCount(kind, size), built) << modelKindName(kind) << " at " << size;
        }
}

TEST(CheckpointTest, ConvertsACheckpointOfAnEarlierFaceAtlasOnRequest)
{
    TempDir dir;
    Trained t = trainedModel(ModelKind::Age, 32);
    {
        // Written as FaceAtlas wrote checkpoints before: a TorchScript archive.
        torch::serialize::OutputArchive archive, modelArchive, optimizerArchive;
        t.model->save(modelArchive);
        archive.write("model", modelArchive);
        t.optimizer->save(optimizerArchive);
        archive.write("optimizer", optimizerArchive);
        archive.write("meta", c10::IValue(std::string(R"({"epoch":2,"best_epoch":1,"best_score":null})")));
        archive.write("kind", c10::IValue(std::string("age")));
        archive.write("size", c10::IValue(int64_t(32)));
        std::filesystem::create_directories(dir / "run");
        archive.save_to((dir / "run" / "last.pt").string());
    }
    writeFileAtomic(dir / "run" / "metrics.csv", metricsCsv({{1, 0.5, 0.4}, {2, 0.3, 0.2}, {3, 0.2, 0.1}}));
    EXPECT_NE(errorOf([&] { loadCheckpoint(dir / "run" / "last.pt"); }).find("convert-checkpoint"), std::string::npos);
    convertLegacyCheckpoint(dir / "run" / "last.pt");
    EXPECT_TRUE(std::filesystem::exists(dir / "run" / "last.pt.old"));
    const LoadedModel loaded = loadCheckpoint(dir / "run" / "last.pt");
    expectSameTensors(*t.model, *loaded.model);
    const json meta = json::parse(loaded.metaJson);
    EXPECT_EQ(meta["epoch"], 2);
    EXPECT_FALSE(meta.contains("best_score"));
    EXPECT_EQ(parseMetricsCsv(meta["history"].get<std::string>()).size(), 2u); // epochs up to the checkpoint's
    torch::optim::AdamW restored(loaded.model->parameters());
    restoreOptimizer(dir / "run" / "last.pt", restored);
    EXPECT_EQ(restored.state().size(), t.optimizer->state().size());
    // Converted once: the new file is not converted again, and no earlier original is overwritten.
    EXPECT_NE(errorOf([&] { convertLegacyCheckpoint(dir / "run" / "last.pt"); }).find("nothing to convert"),
              std::string::npos);
    std::filesystem::copy_file(dir / "run" / "last.pt.old", dir / "run" / "best.pt");
    test::writeBytes(dir / "run" / "best.pt.old", "kept");
    EXPECT_NE(errorOf([&] { convertLegacyCheckpoint(dir / "run" / "best.pt"); }).find("already exists"),
              std::string::npos);
    EXPECT_EQ(readFile(dir / "run" / "best.pt.old"), "kept");
}

TEST(CheckpointTest, HostileCheckpointsFoundEarlierAreRefusedWithoutRunningThem)
{
    // evil-setstate-loop.pt hung for ever, evil-setstate-mem-2G.pt allocated 2.3 GB and
    // segv-jit-parser-flip1158.pt crashed the TorchScript parser when loaded the old way.
    TempDir dir;
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(FACEATLAS_TEST_DATA) / "ckpt")) {
        const auto start = std::chrono::steady_clock::now();
        const std::string e = errorOf([&] { loadCheckpoint(entry.path()); });
        EXPECT_NE(e.find(entry.path().filename().string()), std::string::npos) << e;
        EXPECT_NE(e.find("earlier FaceAtlas"), std::string::npos) << e;
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
        // In a run folder, as evaluate and encode meet them.
        std::filesystem::create_directories(dir / "run");
        test::writeBytes(dir / "run" / "run.json", "{}");
        std::filesystem::copy_file(entry.path(), dir / "run" / "best.pt",
                                   std::filesystem::copy_options::overwrite_existing);
        EXPECT_NE(errorOf([&] { loadRunModel(dir / "run"); }).find("best.pt"), std::string::npos);
        ++files;
    }
    EXPECT_EQ(files, 3);
}

// --- Hostile checkpoints and run files, round 3 (issue 24) --------------------------------------------

namespace {

/** A checkpoint file of `header` (padded with spaces as written) and `data`. */
void writeCheckpoint(const std::filesystem::path& file, std::string header, const std::string& data = "")
{
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<char>(static_cast<std::uint64_t>(header.size()) >> (8 * i));
    test::writeBytes(file, bytes + header + data);
}

bool has(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace

TEST(CheckpointTest, HeaderBombsAreRefusedBeforeTheyAreBuilt)
{
    // F08: 64 MB headers of nested arrays or of empty objects cost 2.0-2.8 GB before the checkpoint was
    // refused. Now the length is bounded before reading, and nesting and values while parsing.
    TempDir dir;
    writeCheckpoint(dir / "nested.pt",
                    R"({"__metadata__":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
    const std::string nested = errorOf([&] { loadCheckpoint(dir / "nested.pt"); });
    EXPECT_TRUE(has(nested, "nested.pt") && has(nested, "nested deeper than 3 levels")) << nested;
    std::string objects = R"({"__metadata__":{},"a":[{})";
    for (int i = 0; i < 300000; ++i)
        objects += ",{}";
    writeCheckpoint(dir / "objects.pt", objects + "]}");
    const std::string many = errorOf([&] { loadCheckpoint(dir / "objects.pt"); });
    EXPECT_TRUE(has(many, "objects.pt") && has(many, "more than 250000 values")) << many;
    // A header longer than FaceAtlas writes is refused from its length, unread (a sparse file).
    const std::uint64_t length = kMaxCheckpointHeaderBytes + 8;
    std::string prefix(8, '\0');
    for (int i = 0; i < 8; ++i)
        prefix[i] = static_cast<char>(length >> (8 * i));
    test::writeBytes(dir / "long.pt", prefix);
    std::filesystem::resize_file(dir / "long.pt", 8 + length + 64);
    const std::string tooLong = errorOf([&] { loadCheckpoint(dir / "long.pt"); });
    EXPECT_TRUE(has(tooLong, "long.pt") && has(tooLong, "at most 16 MiB")) << tooLong;
    // The run metadata and the optimizer record are JSON texts inside the header: bounded the same way,
    // also when the checksum matches.
    Trained t = trainedModel(ModelKind::AgeCapstone, 8);
    saveCheckpoint(dir / "c.pt", *t.model, t.optimizer.get(), "{}");
    const std::string good = readFile(dir / "c.pt");
    test::writeBytes(dir / "meta.pt", good);
    rewrite(dir / "meta.pt",
            [](json& h) { h["__metadata__"]["meta"] = std::string(5000, '[') + std::string(5000, ']'); });
    const std::string meta = errorOf([&] { loadCheckpoint(dir / "meta.pt"); });
    EXPECT_TRUE(has(meta, "checkpoint metadata: JSON nested deeper than 8 levels")) << meta;
    test::writeBytes(dir / "optimizer.pt", good);
    rewrite(dir / "optimizer.pt",
            [](json& h) { h["__metadata__"]["optimizer"] = std::string(5000, '[') + std::string(5000, ']'); });
    const std::string optimizer = errorOf([&] { loadCheckpoint(dir / "optimizer.pt"); });
    EXPECT_TRUE(has(optimizer, "checkpoint optimizer record: JSON nested deeper than 3 levels")) << optimizer;
}

TEST(CheckpointTest, RealHeadersAreFarWithinTheLimits)
{
    // The largest model with its optimizer state and a history of 20,000 epochs.
    TempDir dir;
    Trained t = trainedModel(ModelKind::Age, 16);
    std::vector<EpochMetrics> history;
    for (int epoch = 1; epoch <= 20000; ++epoch)
        history.push_back({epoch, 0.123456789, 0.2345678, 5.678901, 9.87654321, NAN, 0.00123456789, 12.3456789});
    const std::string meta = json{{"epoch", 20000}, {"best_epoch", 19999}, {"history", metricsCsv(history)}}.dump();
    saveCheckpoint(dir / "c.pt", *t.model, t.optimizer.get(), meta);
    const std::string bytes = readFile(dir / "c.pt");
    EXPECT_LT(headerLength(bytes), kMaxCheckpointHeaderBytes / 4);
    // A quarter of the limits would do (values are counted as the reader counts them).
    EXPECT_NO_THROW(parseJsonBounded(bytes.substr(8, headerLength(bytes)), "header", kMaxCheckpointHeaderDepth,
                                     kMaxCheckpointHeaderValues / 4));
    EXPECT_EQ(json::parse(loadCheckpoint(dir / "c.pt").metaJson)["epoch"], 20000);
}

TEST(CheckpointTest, HugeFiniteWeightsAreRefusedAndNonFiniteOutputsAreErrors)
{
    // F15: weights of 1e38 passed the NaN check, and evaluate printed "MAE nan", predict wrote "-nan".
    TempDir dir;
    Trained t = trainedModel(ModelKind::AgeCapstone, 32);
    torch::NoGradGuard noGrad;
    auto weight = t.model->named_parameters()["dense2.weight"];
    weight[0][0] = 1e38f;
    saveCheckpoint(dir / "huge.pt", *t.model, nullptr, "{}");
    const std::string huge = errorOf([&] { loadCheckpoint(dir / "huge.pt"); });
    EXPECT_TRUE(has(huge, "huge.pt")
                && has(huge, "tensor model.dense2.weight holds values beyond +-1000000 (largest 1e+38)"))
        << huge;
    weight[0][0] = -1e6f; // at the bound
    saveCheckpoint(dir / "bound.pt", *t.model, nullptr, "{}");
    EXPECT_EQ(errorOf([&] { loadCheckpoint(dir / "bound.pt"); }), "");

    // A model that predicts NaN (in memory: no checkpoint gives one now) is an error naming the face.
    PrepareJob(demoParams(dir / "data", "demo:40")).run();
    const PreparedDataset data = PreparedDataset::open(dir / "data");
    weight.fill_(std::numeric_limits<float>::quiet_NaN());
    const std::string predicted = errorOf([&] { predictAges(*t.model, data, data.valIndices(), torch::kCPU); });
    EXPECT_TRUE(has(predicted, "prediction for " + recordKey(data.records()[data.valIndices()[0]]))
                && has(predicted, "not a finite number"))
        << predicted;
    EXPECT_TRUE(has(errorOf([] { evaluateAges({30.0f, NAN}, {30, 31}, 30.0f); }), "not a finite number"));
    EXPECT_TRUE(has(errorOf([] { evaluateAges({30.0f, 31.0f}, {30, 31}, INFINITY); }), "not a finite number"));
    EXPECT_EQ(errorOf([] { evaluateAges({30.0f, 33.0f}, {30, 31}, 30.0f); }), "");
}

TEST(CheckpointTest, NumbersReadAsIntegersMustBeWholeAndInRange)
{
    // F17: 1e300 in a checkpoint's metadata, map.json or audit.json reached float-to-int casts
    // (undefined behaviour: "epoch -2147483648").
    TempDir dir;
    Trained t = trainedModel(ModelKind::AgeCapstone, 8);
    saveCheckpoint(dir / "c.pt", *t.model, nullptr, R"({"epoch":3,"best_epoch":2})");
    EXPECT_EQ(errorOf([&] { loadCheckpoint(dir / "c.pt"); }), "");
    const std::string good = readFile(dir / "c.pt");
    for (const auto& [meta, expected] : std::vector<std::pair<std::string, std::string>>{
             {R"({"epoch":1e300})", "'epoch' is 1e+300, not a whole number from 0 to 1000000"},
             {R"({"epoch":2.5})", "'epoch' is 2.5"},
             {R"({"epoch":"3"})", "'epoch' is \"3\""},
             {R"({"epoch":3,"best_epoch":-1})", "'best_epoch' is -1"},
             {R"({"best_epoch":18446744073709551615})", "'best_epoch' is 18446744073709551615"}}) {
        test::writeBytes(dir / "m.pt", good);
        rewrite(dir / "m.pt", [&](json& h) { h["__metadata__"]["meta"] = meta; });
        const std::string e = errorOf([&] { loadCheckpoint(dir / "m.pt"); });
        EXPECT_TRUE(has(e, "m.pt") && has(e, expected)) << meta << ": " << e;
    }
    // run.json: listed as damaged, with the key named.
    test::writeBytes(dir / "run" / "run.json", R"({"model":"age","status":"finished","size":1e300})");
    const auto summary = readRunSummary(dir / "run");
    ASSERT_TRUE(summary.has_value());
    EXPECT_EQ(summary->status, "damaged");
    EXPECT_TRUE(has(summary->problem, "run.json") && has(summary->problem, "'size' is 1e+300")) << summary->problem;
    // codes.json
    std::filesystem::create_directories(dir / "codes");
    test::writeBytes(dir / "codes" / "codes.json", R"({"shape":[1,1,1],"dim":1,"size":1e300})");
    const std::string codes = errorOf([&] { Codes::open(dir / "codes"); });
    EXPECT_TRUE(has(codes, "codes.json") && has(codes, "'size' is 1e+300")) << codes;
    // map.json
    std::filesystem::create_directories(dir / "map");
    test::writeBytes(dir / "map" / "map.csv", "path,x,y\na.jpg,1,2\n");
    test::writeBytes(dir / "map" / "map.json", R"({"method":"pca","count":1e300})");
    const std::string map = errorOf([&] { readMap(dir / "map"); });
    EXPECT_TRUE(has(map, "map.json") && has(map, "'count' is 1e+300")) << map;
    test::writeBytes(dir / "map" / "map.json", R"({"method":"pca","count":1.0})");
    EXPECT_TRUE(has(errorOf([&] { readMap(dir / "map"); }), "'count' is 1.0"))
        << errorOf([&] { readMap(dir / "map"); });
    test::writeBytes(dir / "map" / "map.json", R"({"method":"pca","count":1})");
    EXPECT_EQ(readMap(dir / "map").paths.size(), 1u);
    // audit.json
    std::filesystem::create_directories(dir / "audit");
    test::writeBytes(dir / "audit" / "audit.json",
                     R"({"format":"faceatlas-audit","oof":{"mae":1.5},"settings":{"age_tolerance":1e300}})");
    const std::string audit = errorOf([&] { readAudit(dir / "audit"); });
    EXPECT_TRUE(has(audit, "audit.json") && has(audit, "'age_tolerance' is 1e+300")) << audit;
}

TEST(CheckpointTest, OversizedManifestsAreRefusedUnread)
{
    // F20: a sparse 1 GB prepared.json (valid JSON, then NUL bytes) was accepted with 1.2 GB resident.
    TempDir dir;
    const auto sparse = [&](const std::filesystem::path& file, const std::string& start) {
        test::writeBytes(file, start);
        std::filesystem::resize_file(file, std::uint64_t(1) << 30);
    };
    const auto refused = [&](const std::string& e, const std::string& file) {
        EXPECT_TRUE(has(e, file) && has(e, "1073741824 bytes, more than the")) << file << ": " << e;
    };
    sparse(dir / "data" / "prepared.json", R"({"format": "faceatlas-prepared", "size": 8})");
    refused(errorOf([&] { PreparedDataset::open(dir / "data"); }), "prepared.json");
    sparse(dir / "codes" / "codes.json", R"({"shape":[1,1,1],"dim":1})");
    refused(errorOf([&] { Codes::open(dir / "codes"); }), "codes.json");
    test::writeBytes(dir / "map" / "map.csv", "path,x,y\na.jpg,1,2\n");
    sparse(dir / "map" / "map.json", R"({"method":"pca","count":1})");
    refused(errorOf([&] { readMap(dir / "map"); }), "map.json");
    sparse(dir / "audit" / "audit.json", R"({"format":"faceatlas-audit"})");
    refused(errorOf([&] { readAudit(dir / "audit"); }), "audit.json");
    sparse(dir / "run" / "run.json", R"({"model":"age"})");
    const auto summary = readRunSummary(dir / "run");
    ASSERT_TRUE(summary.has_value());
    EXPECT_EQ(summary->status, "damaged");
    refused(summary->problem, "run.json");
    // The limit, as the readers apply it.
    test::writeBytes(dir / "small.json", std::string(100, ' '));
    EXPECT_EQ(readFile(dir / "small.json", 100).size(), 100u);
    EXPECT_TRUE(has(errorOf([&] { readFile(dir / "small.json", 99); }), "100 bytes, more than the 99"));
}

TEST(CheckpointTest, TheSpreadCalibrationIsReadBackAndAForgedOneIsRefused)
{
    TempDir dir;
    Trained t = trainedModel(ModelKind::AgeOrdinal, 32);
    saveCheckpoint(dir / "calibrated.pt", *t.model, nullptr, R"({"epoch":1,"spread_scale":1.75})");
    EXPECT_DOUBLE_EQ(loadCheckpoint(dir / "calibrated.pt").model->spreadScale(), 1.75);
    saveCheckpoint(dir / "before.pt", *t.model, nullptr, R"({"epoch":1})");
    EXPECT_TRUE(std::isnan(loadCheckpoint(dir / "before.pt").model->spreadScale()));
    for (const char* forged : {"1e300", "0", "-2", "\"wide\"", "[1]"}) {
        SCOPED_TRACE(forged);
        saveCheckpoint(dir / "forged.pt", *t.model, nullptr,
                       std::string(R"({"epoch":1,"spread_scale":)") + forged + "}");
        try {
            loadCheckpoint(dir / "forged.pt");
            ADD_FAILURE() << "a forged calibration loaded";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("forged.pt"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("spread_scale"), std::string::npos) << e.what();
        }
    }
}
