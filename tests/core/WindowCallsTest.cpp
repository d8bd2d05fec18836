// The core functions the window reaches models through (ui/ never calls LibTorch itself, as
// tests/tools/check-layers.sh checks): each is checked here against the tensor code it replaced.
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "ml/Attention.h"
#include "ml/Batches.h"
#include "ml/ExactKnn.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "ml/TrainSteps.h"
#include "TestSupport.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

/** A prepared demo dataset at 32 px, made once for the tests here. */
const PreparedDataset& demo()
{
    static TempDir dir;
    static const PreparedDataset data = [] {
        PrepareParams params;
        params.source = "demo:120";
        params.outDir = dir / "demo32";
        params.size = 32;
        PrepareJob(params).run();
        return PreparedDataset::open(params.outDir);
    }();
    return data;
}

/** The dataset's faces at `rows` as [N,S,S,3] bytes. */
torch::Tensor facesAt(const PreparedDataset& data, const std::vector<std::int64_t>& rows)
{
    const int s = data.imageSize();
    auto images = torch::empty({static_cast<int64_t>(rows.size()), s, s, 3}, torch::kUInt8);
    for (size_t i = 0; i < rows.size(); ++i)
        std::memcpy(images[static_cast<int64_t>(i)].data_ptr(), data.image(static_cast<size_t>(rows[i])),
                    data.imageBytes());
    return images;
}

} // namespace

TEST(WindowCallsTest, AFacesAttentionIsTheMapOfItsImageOverTheFace)
{
    const PreparedDataset& data = demo();
    torch::manual_seed(3);
    FaceModel model = createModel(ModelKind::Age, 32);
    model->eval();
    const AttentionParams gradCam{AttentionMethod::GradCam, "", -1};
    const AttentionPicture picture = faceAttention(*model, data, 5, gradCam);
    const AttentionMap direct = attentionMap(*model, imageTensor(data.image(5), 32), gradCam);
    ASSERT_EQ(picture.side, 32);
    ASSERT_EQ(picture.values.size(), 32u * 32u);
    const auto expected = direct.map.contiguous();
    for (size_t i = 0; i < picture.values.size(); i += 37)
        EXPECT_FLOAT_EQ(picture.values[i], expected.data_ptr<float>()[i]);
    EXPECT_EQ(picture.background, std::vector<std::uint8_t>(data.image(5), data.image(5) + data.imageBytes()));
    EXPECT_EQ(picture.layer, direct.layer);
    EXPECT_TRUE(picture.isSigned);
    EXPECT_FLOAT_EQ(picture.predictedAge, direct.predictedAge);
    EXPECT_THROW(faceAttention(*model, data, data.count(), gradCam), Error);
}

TEST(WindowCallsTest, AClustersAttentionIsOverItsAverageFace)
{
    const PreparedDataset& data = demo();
    torch::manual_seed(4);
    FaceModel model = createModel(ModelKind::Age, 32);
    model->eval();
    const std::vector<std::int64_t> members{0, 3, 7, 11};
    const AttentionPicture picture = clusterAttention(*model, data, members, "conv4");
    const auto images = facesAt(data, members);
    const auto mean = images.to(torch::kFloat).mean(0).round().to(torch::kUInt8).contiguous();
    ASSERT_EQ(picture.background.size(), data.imageBytes());
    EXPECT_TRUE(std::equal(picture.background.begin(), picture.background.end(), mean.data_ptr<std::uint8_t>()));
    const AttentionMap direct =
        averageGradCam(*model, images.permute({0, 3, 1, 2}).to(torch::kFloat).div(255), "conv4");
    const auto expected = direct.map.contiguous();
    ASSERT_EQ(picture.values.size(), static_cast<size_t>(expected.numel()));
    for (size_t i = 0; i < picture.values.size(); i += 29)
        EXPECT_NEAR(picture.values[i], expected.data_ptr<float>()[i], 1e-5);
    EXPECT_EQ(picture.layer, "conv4");
    EXPECT_THROW(clusterAttention(*model, data, {}, "conv4"), Error);
    EXPECT_THROW(clusterAttention(*model, data, {0, static_cast<std::int64_t>(data.count())}, "conv4"), Error);
}

TEST(WindowCallsTest, TheDecodedMeanCodeIsTheMeanOfTheRowsDecoded)
{
    TempDir dir;
    TrainParams p;
    p.model = ModelKind::Autoencoder;
    p.data = demo().dir();
    p.runDir = dir / "ae";
    p.epochs = 1;
    p.batch = 16;
    p.device = "cpu";
    p.listInWorkspace = false;
    TrainJob(p).run();
    encodeDataset(dir / "ae", demo().dir(), dir / "codes", "cpu");
    const Codes codes = Codes::open(dir / "codes");
    LoadedModel ae = loadRunModel(dir / "ae");
    const std::vector<std::int64_t> rows{1, 4, 9, -1, 100000}; // the last two are not rows: skipped
    const std::vector<std::uint8_t> rgb = decodeMeanCode(*ae.model, codes, &rows);
    ASSERT_EQ(rgb.size(), 32u * 32u * 3u);
    const auto all = codes.tensor();
    const auto mean = (all[1] + all[4] + all[9]).div(3).unsqueeze(0);
    const auto decoded = decodeCodes(*ae.model, mean);
    const auto expected = (decoded[0].clamp(0, 1) * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    int differing = 0;
    for (size_t i = 0; i < rgb.size(); ++i)
        differing += std::abs(int(rgb[i]) - int(expected.data_ptr<std::uint8_t>()[i])) > 1;
    EXPECT_EQ(differing, 0);
    EXPECT_EQ(decodeMeanCode(*ae.model, codes, nullptr).size(), rgb.size()); // every row
    const std::vector<std::int64_t> none{-5, 1000000};
    EXPECT_TRUE(decodeMeanCode(*ae.model, codes, &none).empty());
}

TEST(WindowCallsTest, AVectorSetFindsWhatNearestFinds)
{
    torch::manual_seed(5);
    const auto values = torch::randn({300, 12});
    const VectorSet set(values);
    EXPECT_EQ(set.count(), 300);
    EXPECT_EQ(set.dim(), 12);
    const Neighbours byRow = set.nearestToRow(42, 24);
    const Neighbours direct = nearest(values, values[42], 24, 42);
    EXPECT_EQ(byRow.indices, direct.indices);
    std::vector<float> query(12);
    for (int d = 0; d < 12; ++d)
        query[static_cast<size_t>(d)] = values[7][d].item<float>();
    const Neighbours byVector = set.nearestTo(query, 5);
    EXPECT_EQ(byVector.indices.front(), 7);
    EXPECT_NEAR(byVector.distances.front(), 0.0, 1e-5);
    // Fewer rows than asked for: all of them (less the query's own row).
    const VectorSet few(torch::randn({4, 3}));
    EXPECT_EQ(few.nearestToRow(0, 24).indices.size(), 3u);
    EXPECT_EQ(few.nearestTo({0.f, 0.f, 0.f}, 24).indices.size(), 4u);
    EXPECT_THROW(set.nearestTo(std::vector<float>(11), 5), Error);
    EXPECT_THROW(set.nearestToRow(300, 5), Error);
    EXPECT_THROW(VectorSet(torch::randn({5})), Error);
    EXPECT_TRUE(VectorSet().empty());
}

TEST(WindowCallsTest, BatchNormsTakeTheStatisticsOfTheFacesGivenAndKeepTheirMomentum)
{
    const PreparedDataset& data = demo();
    torch::manual_seed(6);
    FaceModel model = createModel(ModelKind::Age, 32);
    std::vector<std::uint32_t> order(data.trainIndices().begin(), data.trainIndices().end());
    ASSERT_GE(order.size(), 48u);
    ASSERT_TRUE(refreshBatchNorms(*model, data, order, 48, 16, torch::kCPU, {}));
    // bn1's running mean is the mean of conv1's output over exactly the first 48 faces, unaugmented.
    torch::NoGradGuard noGrad;
    const std::vector<std::int64_t> rows(order.begin(), order.begin() + 48);
    const auto images = facesAt(data, rows).permute({0, 3, 1, 2}).to(torch::kFloat).div(255);
    torch::nn::Conv2d conv1{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr};
    for (const auto& child : model->named_children()) {
        if (child.key() == "conv1")
            conv1 = torch::nn::Conv2d(std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(child.value()));
        if (child.key() == "bn1")
            bn1 = torch::nn::BatchNorm2d(std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(child.value()));
    }
    ASSERT_TRUE(conv1 && bn1);
    const auto buffers = model->named_buffers();
    const auto normalised = (images - *buffers.find("input_mean")) / *buffers.find("input_std");
    const auto expected = conv1(normalised).mean({0, 2, 3});
    EXPECT_TRUE(torch::allclose(bn1->running_mean, expected, 1e-4, 1e-4))
        << bn1->running_mean.slice(0, 0, 4) << expected.slice(0, 0, 4);
    EXPECT_EQ(bn1->num_batches_tracked.item<int64_t>(), 3);
    ASSERT_TRUE(bn1->options.momentum().has_value());
    EXPECT_DOUBLE_EQ(*bn1->options.momentum(), 0.1);
    // A model without batch norms is left as it is.
    FaceModel ae = createModel(ModelKind::Autoencoder, 32);
    EXPECT_FALSE(refreshBatchNorms(*ae, data, order, 48, 16, torch::kCPU, {}));
}
