#include "ml/TrainJob.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "ml/AgeMatrix.h"
#include "ml/Batches.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <ATen/CPUGeneratorImpl.h>
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

/**
 * Trains `epochs` epochs straight (in DIR/straight), and one epoch fewer then one more with
 * --resume (in DIR/resumed): the resumed run must draw the same curve, augmentation and dropout included.
 */
void expectResumeFollowsTheSameCurve(ModelKind kind, int epochs, const std::filesystem::path& dir)
{
    const TrainResult straight = TrainJob(quick(kind, dir / "straight", epochs)).run();
    TrainJob(quick(kind, dir / "resumed", epochs - 1)).run();
    TrainParams more = quick(kind, dir / "resumed", epochs);
    more.resume = true;
    const TrainResult resumed = TrainJob(more).run();
    ASSERT_EQ(resumed.history.size(), static_cast<size_t>(epochs));
    for (int e = 0; e < epochs; ++e) {
        EXPECT_NEAR(resumed.history[e].trainLoss, straight.history[e].trainLoss, 1e-4) << "epoch " << e + 1;
        EXPECT_NEAR(resumed.history[e].valMae, straight.history[e].valMae, 1e-3) << "epoch " << e + 1;
    }
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
    expectResumeFollowsTheSameCurve(ModelKind::AgeCapstone, 3, dir.path());
}

TEST(TrainJobTest, CancelStopsWithinABatchAndLeavesALoadableCheckpoint)
{
    TempDir dir;
    TrainParams p = quick(ModelKind::Age, dir / "run", 2);
    // One face a batch, the training faces 20 times over: an epoch of some 2,000 batches lasts far longer
    // than the 200 ms between progress reports, so reports come in the middle of the first epoch.
    const PreparedDataset data = PreparedDataset::open(demoData());
    std::vector<std::uint32_t> many;
    for (int k = 0; k < 20; ++k)
        many.insert(many.end(), data.trainIndices().begin(), data.trainIndices().end());
    p.trainIndices = many;
    p.batch = 1;
    CancelToken cancel;
    std::optional<TrainProgress> at;  // the report the cancel was pressed at
    std::vector<TrainProgress> after; // reports of batches that ran after it
    int epochsEnded = 0;
    struct RanOn {}; // thrown from the callback to end a run that goes on after a cancel (a broken stop)
    TrainResult r;
    try {
        r = TrainJob(p).run(
            cancel,
            [&](const TrainProgress& progress) {
                if (at) {
                    after.push_back(progress);
                    if (progress.epoch != at->epoch || progress.batch > at->batch + 1)
                        throw RanOn{};
                } else if (progress.batch + 2 <= progress.batches) { // at least two batches of the epoch to go
                    at = progress;
                    cancel.requestCancel();
                }
            },
            [&](const EpochMetrics&) { ++epochsEnded; });
    } catch (const RanOn&) {
        FAIL() << "batch " << after.back().batch << " of " << after.back().batches << " of epoch " << after.back().epoch
               << " ran after the cancel at batch " << at->batch << " of epoch " << at->epoch;
    }
    ASSERT_TRUE(at.has_value()) << "no progress report came in the middle of an epoch";
    EXPECT_EQ(at->epoch, 1);
    EXPECT_TRUE(r.cancelled);
    // Stopped within a batch: at most the one batch under way when the cancel came ran after it, and the
    // epoch was not completed (its last batch always reports, throttle or not).
    for (const TrainProgress& later : after)
        EXPECT_LE(later.batch, at->batch + 1) << "batch " << later.batch << " of " << later.batches;
    EXPECT_TRUE(r.history.empty());
    EXPECT_EQ(epochsEnded, 0);
    // The checkpoint kept is the one written before the first epoch, and it loads.
    LoadedModel last;
    ASSERT_NO_THROW(last = loadCheckpoint(dir / "run" / "last.pt"));
    EXPECT_EQ(nlohmann::json::parse(last.metaJson)["epoch"], 0);
    EXPECT_EQ(parseMetricsCsv(readFile(dir / "run" / "metrics.csv")).size(), 0u);
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
    // Asking for CUDA where there is none is a clear error, not a silent run on the CPU.
    if (!torch::cuda::is_available()) {
        TrainParams p = quick(ModelKind::Age, dir / "r", 1);
        p.device = "cuda";
        try {
            TrainJob(p).run();
            FAIL() << "training on --device cuda ran without CUDA";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
        }
    }
}

TEST(TrainJobTest, TrainsOnCudaWhenAskedAndTheCheckpointLoads)
{
    if (!torch::cuda::is_available())
        GTEST_SKIP() << "CUDA is not available to this LibTorch build (CorruptCheckpointIsAClearError checks the "
                        "refusal)";
    TempDir dir;
    TrainParams p = quick(ModelKind::Age, dir / "r", 1);
    p.device = "cuda";
    const TrainResult r = TrainJob(p).run();
    EXPECT_FALSE(r.cancelled);
    EXPECT_EQ(r.device, "cuda");
    ASSERT_EQ(r.history.size(), 1u);
    EXPECT_TRUE(std::isfinite(r.history[0].trainLoss));
    EXPECT_TRUE(std::isfinite(r.history[0].valMae));
    EXPECT_EQ(nlohmann::json::parse(readFile(dir / "r" / "run.json"))["device"], "cuda");
    // Written from the GPU, read back on the CPU (loading never needs the device the run trained on).
    const LoadedModel last = loadCheckpoint(dir / "r" / "last.pt");
    EXPECT_EQ(last.model->kind(), ModelKind::Age);
    EXPECT_EQ(nlohmann::json::parse(last.metaJson)["epoch"], 1);
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

// A matrix cell whose predictions stop short (a cancel) says so: it never reads as measured with n = 0, MAE 0.
TEST(EvaluateTest, AnAgeCellCancelledBeforeItsPredictionsIsNotMeasured)
{
    TempDir dir;
    TrainJob(quick(ModelKind::Age, dir / "run", 1)).run();
    LoadedModel loaded = loadRunModel(dir / "run");
    const PreparedDataset data = PreparedDataset::open(demoData());
    CancelToken cancel;
    cancel.requestCancel();
    const AgeMatrixCell cancelled = measureAgeCell(dir / "run", loaded, data, Split::Val, "cpu", cancel);
    EXPECT_FALSE(cancelled.measured());
    EXPECT_NE(cancelled.error.find("cancelled"), std::string::npos) << cancelled.error;
    const AgeMatrixCell measured = measureAgeCell(dir / "run", loaded, data, Split::Val, "cpu");
    EXPECT_TRUE(measured.measured()) << measured.error;
    EXPECT_GT(measured.n, 0u);
}

TEST(BatchesTest, AugmentationIsTheSameForASeedAndEachPartCanBeSwitchedOff)
{
    torch::manual_seed(2);
    const auto images = torch::rand({6, 3, 32, 32});
    const auto with = [&](const Augmentation& a, std::uint64_t seed) {
        at::Generator g = at::detail::createCPUGenerator(seed);
        return augment(images, a, g);
    };
    EXPECT_TRUE(torch::equal(with({}, 9), with({}, 9)));
    EXPECT_FALSE(torch::equal(with({}, 9), with({}, 10)));
    EXPECT_TRUE(torch::equal(with(Augmentation::none(), 9), images));
    // A flip alone gives each face or its exact mirror image.
    Augmentation flip = Augmentation::none();
    flip.flip = true;
    const auto flipped = with(flip, 3);
    int mirrored = 0;
    for (int64_t i = 0; i < 6; ++i) {
        const bool same = torch::allclose(flipped[i], images[i], 1e-5, 1e-5);
        const bool mirror = torch::allclose(flipped[i], images[i].flip({2}), 1e-5, 1e-5);
        EXPECT_TRUE(same || mirror) << "face " << i;
        mirrored += mirror;
    }
    EXPECT_GT(mirrored, 0);
    // A turn alone moves pixels but keeps the picture: the centre stays, colours stay in 0-1.
    Augmentation rotate = Augmentation::none();
    rotate.rotate = true;
    const auto turned = with(rotate, 4);
    EXPECT_FALSE(torch::allclose(turned, images, 1e-3, 1e-3));
    EXPECT_GE(turned.min().item<float>(), 0.0f);
    EXPECT_LE(turned.max().item<float>(), 1.0f);
    const auto smooth = torch::ones({1, 3, 32, 32}) * 0.25; // a flat picture turns into itself
    at::Generator g = at::detail::createCPUGenerator(5);
    EXPECT_TRUE(torch::allclose(augment(smooth, rotate, g), smooth, 1e-5, 1e-5));
    EXPECT_EQ(Augmentation::parse("rotate,flip").text(), "flip,rotate");
    EXPECT_EQ(Augmentation::parse("all").text(), "flip,shift,rotate,jitter");
    EXPECT_EQ(Augmentation::parse("none").text(), "none");
    try {
        Augmentation::parse("flip,blur");
        ADD_FAILURE() << "an unknown augmentation was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("blur"), std::string::npos) << e.what();
    }
}

TEST(TrainJobTest, AResumedAgeHeadDrawsTheSameAugmentationOnThePrefetchersThread)
{
    TempDir dir;
    expectResumeFollowsTheSameCurve(ModelKind::AgeOrdinal, 2, dir.path());
    const auto run = nlohmann::json::parse(readFile(dir / "straight" / "run.json"));
    EXPECT_EQ(run["augmentation"], "flip,shift,rotate,jitter");
}

TEST(TrainJobTest, AgeHeadsCalibrateTheirSpreadOnTheValidationFaces)
{
    TempDir dir;
    for (ModelKind kind : {ModelKind::Age, ModelKind::AgeGaussian, ModelKind::AgeCapstone}) {
        SCOPED_TRACE(modelKindName(kind));
        const auto runDir = dir / modelKindName(kind);
        const TrainResult result = TrainJob(quick(kind, runDir, 2)).run();
        const auto run = nlohmann::json::parse(readFile(runDir / "run.json"));
        ASSERT_TRUE(run.contains("calibration")) << run.dump();
        const auto& c = run["calibration"];
        EXPECT_EQ(c["epoch"], result.bestEpoch);
        EXPECT_GT(c["spread_scale"].get<double>(), 0.0);
        EXPECT_GE(c["coverage_80_before"].get<double>(), 0.0);
        EXPECT_LE(c["coverage_80_before"].get<double>(), 1.0);
        // The best checkpoint carries its epoch's scale; its 80% intervals hold about 80% of the
        // validation faces it was calibrated on (ties and the mirror image aside).
        const LoadedModel best = loadRunModel(runDir);
        EXPECT_DOUBLE_EQ(best.model->spreadScale(), c["spread_scale"].get<double>());
        const PreparedDataset data = PreparedDataset::open(demoData());
        const auto [indices, truth] = labelledFaces(data, Split::Val);
        const EvalReport r = evaluateAges(predictAgeDistributions(*best.model, data, indices, torch::kCPU), truth,
                                          trainingMedianAge(data));
        EXPECT_NEAR(r.coverage80, 0.8, 0.08);
        EXPECT_GT(r.interval80HalfWidth, 0.0);
    }
}

TEST(TrainJobTest, AnAgeHeadStartsFromAnAutoencoderRunAndSaysWhichLayersItTook)
{
    TempDir dir;
    TrainJob(quick(ModelKind::Autoencoder, dir / "ae", 1)).run();
    TrainParams p = quick(ModelKind::Age, dir / "age", 1);
    p.initFrom = dir / "ae";
    const TrainResult r = TrainJob(p).run();
    EXPECT_EQ(r.initialisedLayers, (std::vector<std::string>{"conv1 <- enc1 (32x3x3x3)"}));
    const auto run = nlohmann::json::parse(readFile(dir / "age" / "run.json"));
    EXPECT_EQ(run["init_from"]["layers"][0], "conv1 <- enc1 (32x3x3x3)");
    // Only an autoencoder run, and only into an age model.
    TrainParams fromAge = quick(ModelKind::Age, dir / "age2", 1);
    fromAge.initFrom = dir / "age";
    EXPECT_THROW(TrainJob(fromAge).run(), Error);
    TrainParams intoAutoencoder = quick(ModelKind::Autoencoder, dir / "ae2", 1);
    intoAutoencoder.initFrom = dir / "ae";
    EXPECT_THROW(TrainJob(intoAutoencoder).run(), Error);
    // Refused before anything of the new run is written.
    EXPECT_FALSE(std::filesystem::exists(dir / "age2"));
    EXPECT_FALSE(std::filesystem::exists(dir / "ae2"));
}
