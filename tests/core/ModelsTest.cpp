#include "ml/Models.h"
#include "ml/ModelKinds.h"

#include <gtest/gtest.h>
#include <map>
#include <string>

using namespace faceatlas;

namespace {

std::vector<ModelKind> everyKind()
{
    std::vector<ModelKind> kinds;
    for (const ModelKindInfo& k : modelKinds())
        kinds.push_back(k.kind);
    return kinds;
}

std::vector<int64_t> paramsOf(ModelKind kind, int size)
{
    std::vector<int64_t> counts;
    for (const auto& row : summarize(kind, size))
        if (row.parameters > 0)
            counts.push_back(row.parameters);
    return counts;
}

} // namespace

TEST(ModelsTest, CapstoneParameterCountsMatchTheSlides)
{
    EXPECT_EQ(paramsOf(ModelKind::AgeCapstone, 150), (std::vector<int64_t>{1792, 36928, 43655296, 129}));
    EXPECT_EQ(paramsOf(ModelKind::Autoencoder, 150), (std::vector<int64_t>{896, 4624, 1160, 584, 1168, 4640, 867}));
    const auto rows = summarize(ModelKind::AgeCapstone, 150);
    EXPECT_EQ(rows[4].name, "flatten");
    EXPECT_EQ(rows[4].shape, std::vector<int64_t>{341056});
    // Other sizes scale the flatten width: 64 -> 64 x 30 x 30.
    EXPECT_EQ(paramsOf(ModelKind::AgeCapstone, 64)[2], 64 * 30 * 30 * 128 + 128);
    EXPECT_NEAR(forwardFlops(ModelKind::AgeCapstone, 150), 1.7346e9, 1e6);
}

TEST(ModelsTest, AutoencoderCodeShapes)
{
    EXPECT_EQ(autoencoderCodeShape(150), (std::vector<int64_t>{8, 19, 19}));
    EXPECT_EQ(autoencoderCodeShape(64), (std::vector<int64_t>{8, 8, 8}));
    const auto rows = summarize(ModelKind::Autoencoder, 150);
    EXPECT_EQ(rows[5].shape, (std::vector<int64_t>{8, 19, 19}));
    EXPECT_EQ(rows[11].shape, (std::vector<int64_t>{32, 152, 152}));
}

TEST(ModelsTest, OutputShapesAt64And150)
{
    torch::manual_seed(0);
    for (int size : {64, 150}) {
        for (ModelKind kind : everyKind()) {
            SCOPED_TRACE(std::string(modelKindName(kind)) + " at " + std::to_string(size));
            FaceModel model = createModel(kind, size);
            model->eval();
            torch::NoGradGuard noGrad;
            const auto out = model->run(torch::rand({2, 3, size, size}));
            if (kind == ModelKind::Autoencoder) {
                EXPECT_EQ(out.output.sizes(), (std::vector<int64_t>{2, 3, size, size}));
                EXPECT_GE(out.output.min().item<float>(), 0.0f);
                EXPECT_LE(out.output.max().item<float>(), 1.0f);
                EXPECT_EQ(out.features.at(0).first, "code");
            } else {
                EXPECT_EQ(out.output.sizes(), (std::vector<int64_t>{2}));
                EXPECT_EQ(out.features.size(), model->featureLayers().size());
            }
        }
    }
    FaceModel age = createModel(ModelKind::Age, 64);
    age->eval();
    const auto out = age->run(torch::rand({3, 3, 64, 64}));
    EXPECT_EQ(out.raw.sizes(), (std::vector<int64_t>{3, kAgeBins}));
    // DEX: the prediction is the expected value of the age distribution, so it stays in 0..100.
    EXPECT_GE(out.output.min().item<float>(), 0.0f);
    EXPECT_LE(out.output.max().item<float>(), 100.0f);
}

TEST(ModelsTest, GradientsReachEveryParameter)
{
    torch::manual_seed(1);
    for (ModelKind kind : everyKind()) {
        SCOPED_TRACE(modelKindName(kind));
        FaceModel model = createModel(kind, 32);
        model->train();
        const auto images = torch::rand({4, 3, 32, 32});
        const auto ages = torch::tensor({20.0f, 35.0f, 50.0f, 64.0f});
        const auto out = model->run(images);
        model->loss(out, images, ages).backward();
        for (const auto& p : model->named_parameters()) {
            ASSERT_TRUE(p.value().grad().defined()) << p.key();
            EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.0f) << p.key();
        }
    }
}

TEST(ModelsTest, UnknownModelAndTooSmallImagesAreErrors)
{
    EXPECT_THROW(parseModelKind("resnet"), std::exception);
    EXPECT_THROW(createModel(ModelKind::Age, 8), std::exception);
    EXPECT_EQ(parseModelKind("age-capstone"), ModelKind::AgeCapstone);
}

TEST(ModelsTest, ChannelsLastLayoutGivesTheSameCodesAsPlainConvolutions)
{
    // The models hand their first convolution channels-last input on the CPU (faster); the codes must
    // be what the same layers give on plain NCHW tensors, read back in logical order.
    torch::manual_seed(3);
    FaceModel model = createModel(ModelKind::Autoencoder, 64);
    model->eval();
    torch::NoGradGuard noGrad;
    const auto images = torch::rand({4, 3, 64, 64});
    std::map<std::string, torch::Tensor> p;
    for (const auto& item : model->named_parameters())
        p[item.key()] = item.value().detach().contiguous();
    const auto stage = [&](const torch::Tensor& x, const std::string& name) {
        const auto y = torch::relu(torch::conv2d(x.contiguous(), p[name + ".weight"], p[name + ".bias"], 1, 1));
        return torch::max_pool2d(y, 2, 2, 0, 1, /*ceil_mode=*/true).contiguous();
    };
    const auto expected = stage(stage(stage(images, "enc1"), "enc2"), "enc3");
    const auto codes = autoencoderEncode(*model, images);
    ASSERT_EQ(codes.sizes(), expected.sizes());
    EXPECT_TRUE(codes.is_contiguous(torch::MemoryFormat::ChannelsLast)) << "the fast layout is no longer used";
    EXPECT_TRUE(torch::allclose(codes.contiguous(), expected, 1e-4, 1e-5));
    // Flattened as encode writes them: logical order, not the memory order of the layout.
    EXPECT_TRUE(torch::allclose(codes.reshape({4, -1}), expected.reshape({4, -1}), 1e-4, 1e-5));
}

TEST(ModelsTest, EveryAgeHeadPredictsAnAgeAndAPositiveSpread)
{
    torch::manual_seed(4);
    torch::NoGradGuard noGrad;
    for (const ModelKindInfo& k : modelKinds()) {
        if (k.role != ModelRole::AgeModel)
            continue;
        SCOPED_TRACE(k.name);
        FaceModel model = createModel(k.kind, 32);
        model->setAgeStats(40, 12);
        model->eval();
        const auto images = torch::rand({5, 3, 32, 32});
        const auto out = model->run(images);
        ASSERT_EQ(out.spread.sizes(), (std::vector<int64_t>{5}));
        EXPECT_TRUE(torch::isfinite(out.spread).all().item<bool>());
        EXPECT_GT(out.spread.min().item<float>(), 0.0f);
        // The heads on the six-stage network mix the face and its mirror image: the mean of the ages,
        // the spread of the mixture of the two distributions. The capstone's CNN predicts as it did.
        const auto mirror = model->run(images.flip({3}));
        const AgePrediction p = model->predictAge(images);
        const bool mixes = k.kind != ModelKind::AgeCapstone;
        EXPECT_TRUE(torch::allclose(p.age, mixes ? 0.5 * (out.output + mirror.output) : out.output, 1e-4, 1e-4));
        const auto mixture =
            (0.5 * (out.spread.pow(2) + mirror.spread.pow(2)) + 0.25 * (out.output - mirror.output).pow(2)).sqrt();
        EXPECT_TRUE(torch::allclose(p.sd, mixes ? mixture : out.spread, 1e-4, 1e-4));
        // Untrained, every head starts near the training ages, not at 0 or 100.
        EXPECT_NEAR(p.age.mean().item<float>(), 40.0f, 25.0f);
    }
    FaceModel autoencoder = createModel(ModelKind::Autoencoder, 32);
    EXPECT_THROW(autoencoder->predictAge(torch::rand({1, 3, 32, 32})), std::exception);
}

TEST(ModelsTest, TheOrdinalHeadsAgeIsItsAnswersSumAndItsThresholdsStartAtTheTrainingAges)
{
    torch::NoGradGuard noGrad;
    FaceModel model = createModel(ModelKind::AgeOrdinal, 32);
    model->setAgeStats(30, 10);
    const auto thresholds = model->named_parameters()["head.thresholds"];
    ASSERT_EQ(thresholds.numel(), kAgeBins - 1);
    // P(age > k) starts as a logistic around the training mean: above one half below 30, below above it.
    EXPECT_GT(thresholds[20].item<float>(), 0.0f);
    EXPECT_LT(thresholds[40].item<float>(), 0.0f);
    model->eval();
    const auto out = model->run(torch::rand({3, 3, 32, 32}));
    EXPECT_TRUE(torch::allclose(out.output, torch::sigmoid(out.raw).sum(1), 1e-4, 1e-4));
}

TEST(ModelsTest, AnAgeHeadStartsFromTheAutoencodersMatchingLayersWithTheNormalisationFolded)
{
    torch::manual_seed(5);
    FaceModel autoencoder = createModel(ModelKind::Autoencoder, 32);
    FaceModel age = createModel(ModelKind::Age, 32);
    age->setInputStats({0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.5f});
    const auto taken = age->initFromEncoder(*autoencoder);
    // Only the first convolution has the encoder's shape (32 filters of 3x3x3); enc2 has 16, conv2 48.
    ASSERT_EQ(taken, (std::vector<std::string>{"conv1 <- enc1 (32x3x3x3)"}));
    const auto from = autoencoder->named_parameters()["enc1.weight"];
    const auto to = age->named_parameters()["conv1.weight"];
    EXPECT_TRUE(torch::allclose(to.select(1, 2), from.select(1, 2) * 0.5f));
    EXPECT_TRUE(torch::allclose(to.select(1, 0), from.select(1, 0) * 0.2f));
    // The capstone's CNN and the autoencoder itself take nothing.
    EXPECT_TRUE(createModel(ModelKind::AgeCapstone, 32)->initFromEncoder(*autoencoder).empty());
}

TEST(ModelsTest, EachRowMakesItsOwnKindAndTheNamedKindsAreTheirRows)
{
    // ModelKind's names stand for the table's first rows, in order: a row moved breaks this.
    const std::map<ModelKind, std::string> named = {
        {ModelKind::Age, "age"},
        {ModelKind::AgeMeanVariance, "age-mv"},
        {ModelKind::AgeOrdinal, "age-ordinal"},
        {ModelKind::AgeGaussian, "age-gaussian"},
        {ModelKind::AgeCapstone, "age-capstone"},
        {ModelKind::Autoencoder, "autoencoder"},
    };
    for (const auto& [kind, name] : named)
        EXPECT_EQ(modelKindName(kind), name);
    for (size_t i = 0; i < modelKinds().size(); ++i) {
        const ModelKindInfo& row = modelKinds()[i];
        SCOPED_TRACE(row.name);
        EXPECT_EQ(static_cast<size_t>(row.kind), i);
        ASSERT_NE(row.make, nullptr);
        const FaceModel model = createModel(row.kind, 64);
        EXPECT_EQ(model->kind(), row.kind);
        EXPECT_EQ(model->isAgeModel(), row.role == ModelRole::AgeModel);
        EXPECT_EQ(parseModelKind(row.name), row.kind);
    }
    EXPECT_THROW(modelKindInfo(static_cast<ModelKind>(modelKinds().size())), std::exception);
}
