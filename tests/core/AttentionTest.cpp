#include "ml/Attention.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using namespace faceatlas;

namespace {

/** An age-capstone model at 32 px whose dense layer only sees the top-left quarter of the feature map. */
FaceModel topLeftOnlyModel()
{
    torch::manual_seed(7);
    FaceModel model = createModel(ModelKind::AgeCapstone, 32);
    torch::NoGradGuard noGrad;
    for (auto& p : model->named_parameters()) {
        if (p.key() == "dense1.weight") {
            // Flatten order is [64 channels][14 rows][14 cols]; keep rows and cols < 7 only.
            auto w = p.value().view({128, 64, 14, 14});
            w.slice(2, 7, 14).zero_();
            w.slice(3, 7, 14).zero_();
        }
    }
    model->eval();
    return model;
}

} // namespace

TEST(AttentionTest, GradCamConcentratesWhereTheModelLooks)
{
    FaceModel model = topLeftOnlyModel();
    torch::manual_seed(8);
    const auto image = torch::rand({3, 32, 32});
    const AttentionMap map = attentionMap(*model, image, {AttentionMethod::GradCam, "conv2", -1});
    ASSERT_EQ(map.map.sizes(), (std::vector<int64_t>{32, 32}));
    EXPECT_TRUE(map.isSigned);
    EXPECT_TRUE(torch::isfinite(map.map).all().item<bool>());
    const auto a = map.map.abs();
    const double inside = a.slice(0, 0, 16).slice(1, 0, 16).sum().item<double>();
    const double total = a.sum().item<double>();
    EXPECT_GT(inside / total, 0.85) << "Grad-CAM must sit in the top-left quarter";
    EXPECT_TRUE(std::isfinite(map.predictedAge));
    const AttentionMap avg = averageGradCam(*model, torch::rand({5, 3, 32, 32}), "conv2");
    EXPECT_GT(avg.map.abs().slice(0, 0, 16).slice(1, 0, 16).sum().item<double>() / avg.map.abs().sum().item<double>(),
              0.85);
}

TEST(AttentionTest, FeatureAndCodeMapsHaveTheImageSizeAndAreFinite)
{
    FaceModel age = createModel(ModelKind::Age, 32);
    const auto image = torch::rand({3, 32, 32});
    const AttentionMap mean = attentionMap(*age, image, {AttentionMethod::Features, "conv1", -1});
    EXPECT_EQ(mean.map.sizes(), (std::vector<int64_t>{32, 32}));
    EXPECT_LE(mean.map.max().item<float>(), 1.0f);
    const AttentionMap channel = attentionMap(*age, image, {AttentionMethod::Features, "conv3", 5});
    EXPECT_TRUE(torch::isfinite(channel.map).all().item<bool>());
    EXPECT_THROW(attentionMap(*age, image, {AttentionMethod::Features, "conv3", 500}), Error);
    EXPECT_THROW(attentionMap(*age, image, {AttentionMethod::Features, "conv99", -1}), Error);
    EXPECT_THROW(attentionMap(*age, image, {AttentionMethod::Code, "", -1}), Error);

    FaceModel ae = createModel(ModelKind::Autoencoder, 32);
    const AttentionMap code = attentionMap(*ae, image, {AttentionMethod::Code, "", -1});
    EXPECT_EQ(code.map.sizes(), (std::vector<int64_t>{32, 32}));
    EXPECT_GE(code.map.min().item<float>(), 0.0f);
    EXPECT_NEAR(code.map.max().item<float>(), 1.0f, 1e-5);
    EXPECT_THROW(attentionMap(*ae, image, {AttentionMethod::GradCam, "", -1}), Error);
}
