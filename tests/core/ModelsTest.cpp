#include "ml/Models.h"

#include <gtest/gtest.h>
#include <map>
#include <string>

using namespace faceatlas;

namespace {

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
        for (ModelKind kind : {ModelKind::AgeCapstone, ModelKind::Age, ModelKind::Autoencoder}) {
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
    for (ModelKind kind : {ModelKind::AgeCapstone, ModelKind::Age, ModelKind::Autoencoder}) {
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
