#include "ml/TrainJob.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "ml/Batches.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

/** A small prepared demo dataset at 32 px, made once for all tests here. */
const std::filesystem::path& demoData()
{
    static TempDir dir;
    static const std::filesystem::path path = [] {
        PrepareParams params;
        params.source = "demo:200";
        params.outDir = dir / "demo32";
        params.size = 32;
        PrepareJob(params).run();
        return params.outDir;
    }();
    return path;
}

TrainParams quick(ModelKind kind, const std::filesystem::path& run, int epochs)
{
    TrainParams p;
    p.model = kind;
    p.data = demoData();
    p.runDir = run;
    p.epochs = epochs;
    p.batch = 16;
    p.device = "cpu";
    p.seed = 3;
    return p;
}

} // namespace

TEST(BatchesTest, BatchIsChannelsFirstInZeroToOne)
{
    const PreparedDataset data = PreparedDataset::open(demoData());
    const std::uint32_t indices[] = {3, 1};
    const Batch b = makeBatch(data, indices, 2);
    EXPECT_EQ(b.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
    const std::uint8_t* raw = data.image(1);
    // pixel (y=2, x=5), green channel of the second image
    EXPECT_FLOAT_EQ(b.images[1][1][2][5].item<float>(), raw[(2 * 32 + 5) * 3 + 1] / 255.0f);
    EXPECT_EQ(b.ages[0].item<float>(), static_cast<float>(*data.records()[3].age));
    EXPECT_NE(epochOrder(data.trainIndices(), 1, 1), epochOrder(data.trainIndices(), 1, 2));
    EXPECT_EQ(epochOrder(data.trainIndices(), 1, 1), epochOrder(data.trainIndices(), 1, 1));
    // One face alone (attention maps, the face panel) is laid out the same way as in a batch.
    EXPECT_TRUE(torch::equal(imageTensor(raw, 32), b.images[1]));
}

TEST(TrainJobTest, AgeRunWritesMetricsCheckpointsAndRecord)
{
    TempDir dir;
    const TrainResult result = TrainJob(quick(ModelKind::Age, dir / "run", 2)).run();
    ASSERT_EQ(result.history.size(), 2u);
    EXPECT_FALSE(result.cancelled);
    for (const auto& m : result.history) {
        EXPECT_TRUE(std::isfinite(m.trainLoss));
        EXPECT_TRUE(std::isfinite(m.valMae));
        EXPECT_GT(m.baselineMae, 0.0);
    }
    const auto run = nlohmann::json::parse(readFile(dir / "run" / "run.json"));
    EXPECT_EQ(run["status"], "finished");
    EXPECT_EQ(run["model"], "age");
    EXPECT_TRUE(run.contains("cleaning"));
    EXPECT_TRUE(run.contains("libtorch"));
    EXPECT_EQ(parseMetricsCsv(readFile(dir / "run" / "metrics.csv")).size(), 2u);
    const LoadedModel best = loadRunModel(dir / "run");
    EXPECT_EQ(best.model->kind(), ModelKind::Age);
    const auto summary = readRunSummary(dir / "run");
    ASSERT_TRUE(summary.has_value());
    EXPECT_EQ(summary->epochs, 2);
}

TEST(TrainJobTest, ResumeContinuesTheSameCurve)
{
    TempDir dir;
    const TrainResult straight = TrainJob(quick(ModelKind::AgeCapstone, dir / "a", 3)).run();
    TrainJob(quick(ModelKind::AgeCapstone, dir / "b", 2)).run();
    TrainParams more = quick(ModelKind::AgeCapstone, dir / "b", 3);
    more.resume = true;
    const TrainResult resumed = TrainJob(more).run();
    ASSERT_EQ(resumed.history.size(), 3u);
    for (int e = 0; e < 3; ++e) {
        EXPECT_NEAR(resumed.history[e].trainLoss, straight.history[e].trainLoss, 1e-4) << "epoch " << e + 1;
        EXPECT_NEAR(resumed.history[e].valMae, straight.history[e].valMae, 1e-3) << "epoch " << e + 1;
    }
}

TEST(TrainJobTest, CancelStopsWithinABatchAndLeavesALoadableCheckpoint)
{
    TempDir dir;
    CancelToken cancel;
    int batches = 0;
    const TrainResult r = TrainJob(quick(ModelKind::Age, dir / "run", 5)).run(cancel, [&](const TrainProgress&) {
        if (++batches == 1)
            cancel.requestCancel();
    });
    EXPECT_TRUE(r.cancelled);
    EXPECT_TRUE(r.history.empty());
    EXPECT_NO_THROW(loadCheckpoint(dir / "run" / "last.pt"));
    EXPECT_EQ(nlohmann::json::parse(readFile(dir / "run" / "run.json"))["status"], "cancelled");
}

TEST(TrainJobTest, CorruptCheckpointIsAClearError)
{
    TempDir dir;
    test::writeBytes(dir / "broken.pt", "PK\x03\x04 not really a checkpoint");
    try {
        loadCheckpoint(dir / "broken.pt");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("broken.pt"), std::string::npos);
    }
    EXPECT_THROW(loadCheckpoint(dir / "absent.pt"), Error);
    TrainParams p = quick(ModelKind::Age, dir / "r", 1);
    p.device = "cuda";
    if (!torch::cuda::is_available()) {
        EXPECT_THROW(TrainJob(p).run(), Error);
    }
}

TEST(TrainJobTest, AutoencoderPreviewsEncodeAndDecode)
{
    TempDir dir;
    const TrainResult r = TrainJob(quick(ModelKind::Autoencoder, dir / "ae", 1)).run();
    ASSERT_EQ(r.history.size(), 1u);
    EXPECT_GT(r.history[0].valPsnr, 5.0);
    EXPECT_TRUE(std::filesystem::exists(dir / "ae" / "previews" / "epoch-001.png"));
    encodeDataset(dir / "ae", demoData(), dir / "codes", "cpu");
    const Codes codes = Codes::open(dir / "codes");
    const PreparedDataset data = PreparedDataset::open(demoData());
    ASSERT_EQ(codes.count(), data.count());
    EXPECT_EQ(codes.dim(), 8u * 4 * 4);
    // The stored code of a face equals encoding it again; decoding gives an image back.
    LoadedModel ae = loadRunModel(dir / "ae");
    ae.model->eval();
    torch::NoGradGuard noGrad;
    const std::uint32_t first = 0;
    const auto again = autoencoderEncode(*ae.model, makeBatch(data, &first, 1).images).reshape({-1});
    EXPECT_TRUE(torch::allclose(again, codes.tensor()[0], 1e-5, 1e-5));
    const auto decoded = decodeCodes(*ae.model, codes.tensor().slice(0, 0, 3));
    EXPECT_EQ(decoded.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
    EXPECT_THROW(encodeDataset(dir / "missing", demoData(), dir / "c2"), Error);
}

TEST(EvaluateTest, MaeAndBaselineByHand)
{
    const EvalReport r = evaluateAges({20, 30, 52}, {22, 35, 50}, 30.0f);
    EXPECT_EQ(r.n, 3u);
    EXPECT_NEAR(r.mae, (2 + 5 + 2) / 3.0, 1e-6);
    EXPECT_NEAR(r.baselineMae, (8 + 5 + 20) / 3.0, 1e-6);
    ASSERT_EQ(r.decades.size(), 3u);
    EXPECT_EQ(r.decades[2].from, 50);
    EXPECT_NEAR(r.decades[2].baselineMae, 20.0, 1e-6);
}
