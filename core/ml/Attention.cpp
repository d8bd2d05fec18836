#include "ml/Attention.h"

#include "ml/Batches.h"
#include "util/Error.h"

#include <algorithm>
#include <cstring>

namespace faceatlas {

namespace F = torch::nn::functional;

namespace {

torch::Tensor upsample(const torch::Tensor& map, int size) // [N,1,h,w] -> [N,S,S]
{
    return F::interpolate(map, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{size, size})
                                   .mode(torch::kBilinear)
                                   .align_corners(false))
        .squeeze(1);
}

torch::Tensor scaleByMax(const torch::Tensor& map)
{
    const float peak = map.abs().max().item<float>();
    return peak > 0 ? map / peak : map;
}

std::string resolveLayer(const FaceModelImpl& model, const std::string& layer)
{
    const auto layers = model.featureLayers();
    if (layer.empty())
        return layers.back();
    if (std::find(layers.begin(), layers.end(), layer) == layers.end()) {
        std::string names;
        for (const auto& l : layers)
            names += (names.empty() ? "" : ", ") + l;
        throw Error("the " + std::string(modelKindName(model.kind())) + " model has no layer '" + layer + "' (it has "
                    + names + ")");
    }
    return layer;
}

torch::Tensor feature(const ModelOutput& out, const std::string& layer)
{
    for (const auto& [name, t] : out.features)
        if (name == layer)
            return t;
    throw Error("internal: layer '" + layer + "' was not returned");
}

/** Grad-CAM maps [N,S,S] (signed, unscaled) of a batch, and the predicted ages. */
torch::Tensor gradCam(FaceModelImpl& model, const torch::Tensor& images, const std::string& layer, torch::Tensor& ages)
{
    if (!model.isAgeModel())
        throw Error("Grad-CAM for age needs an age model (age or age-capstone), not the autoencoder");
    torch::AutoGradMode grad(true);
    model.eval();
    const auto out = model.run(images);
    const auto activations = feature(out, layer);
    const auto gradients = torch::autograd::grad({out.output.sum()}, {activations})[0];
    // Element-wise gradient x activation summed over channels (the LayerCAM form of Grad-CAM,
    // without its ReLU): each position's first-order contribution to the predicted age, in
    // years, so the sign says up or down. Classic Grad-CAM averages the gradient over the whole
    // map per channel and so cannot say *where* a channel matters; this can.
    const auto cam = (gradients * activations).sum(1, /*keepdim=*/true);
    ages = out.output.detach();
    return upsample(cam.detach(), model.imageSize());
}

} // namespace

AttentionMethod parseAttentionMethod(const std::string& name)
{
    if (name == "code")
        return AttentionMethod::Code;
    if (name == "features")
        return AttentionMethod::Features;
    if (name == "gradcam")
        return AttentionMethod::GradCam;
    throw Error("unknown attention method '" + name + "' (use code, features or gradcam)");
}

AttentionMap attentionMap(FaceModelImpl& model, const torch::Tensor& image, const AttentionParams& params)
{
    if (image.dim() != 3 || image.size(0) != 3 || image.size(1) != model.imageSize()
        || image.size(2) != model.imageSize())
        throw Error("attention: the image must be 3 x " + std::to_string(model.imageSize()) + " x "
                    + std::to_string(model.imageSize()));
    const auto batch = image.unsqueeze(0).to(model.parameters().front().device());
    AttentionMap result;
    if (params.method == AttentionMethod::GradCam) {
        result.layer = resolveLayer(model, params.layer);
        torch::Tensor ages;
        result.map = scaleByMax(gradCam(model, batch, result.layer, ages)[0]).cpu();
        result.isSigned = true;
        result.predictedAge = ages[0].item<float>();
        return result;
    }
    torch::NoGradGuard noGrad;
    model.eval();
    if (params.method == AttentionMethod::Code && model.kind() != ModelKind::Autoencoder)
        throw Error("the code-layer map needs an autoencoder run; use features or gradcam for age models");
    result.layer = params.method == AttentionMethod::Code ? "code" : resolveLayer(model, params.layer);
    const auto out = model.run(batch);
    const auto activation = feature(out, result.layer); // [1,C,h,w]
    torch::Tensor map;
    if (params.method == AttentionMethod::Code) {
        map = activation.pow(2).sum(1, /*keepdim=*/true).sqrt();
    } else if (params.channel >= 0) {
        if (params.channel >= activation.size(1))
            throw Error("layer '" + result.layer + "' has " + std::to_string(activation.size(1)) + " channels; channel "
                        + std::to_string(params.channel) + " does not exist");
        map = activation.narrow(1, params.channel, 1);
    } else {
        map = activation.mean(1, /*keepdim=*/true);
    }
    if (model.isAgeModel())
        result.predictedAge = out.output[0].item<float>();
    result.map = scaleByMax(upsample(map, model.imageSize())[0]).clamp(-1, 1).cpu();
    result.isSigned = result.map.min().item<float>() < 0;
    return result;
}

AttentionMap averageGradCam(FaceModelImpl& model, const torch::Tensor& images, const std::string& layer)
{
    AttentionMap result;
    result.layer = resolveLayer(model, layer);
    result.isSigned = true;
    torch::Tensor sum;
    torch::Tensor ages;
    float ageSum = 0;
    const auto device = model.parameters().front().device();
    for (int64_t start = 0; start < images.size(0); start += 64) {
        const auto block = images.narrow(0, start, std::min<int64_t>(64, images.size(0) - start)).to(device);
        const auto maps = gradCam(model, block, result.layer, ages).sum(0);
        sum = sum.defined() ? sum + maps : maps;
        ageSum += ages.sum().item<float>();
    }
    result.map = scaleByMax(sum / images.size(0)).cpu();
    result.predictedAge = ageSum / images.size(0);
    return result;
}

namespace {

AttentionPicture pictureOf(const AttentionMap& map, std::vector<std::uint8_t> background, int side)
{
    AttentionPicture p;
    const auto values = map.map.to(torch::kFloat).contiguous().cpu();
    p.values.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
    p.background = std::move(background);
    p.side = side;
    p.isSigned = map.isSigned;
    p.layer = map.layer;
    p.predictedAge = map.predictedAge;
    return p;
}

} // namespace

AttentionPicture faceAttention(FaceModelImpl& model, const PreparedDataset& data, size_t face,
                               const AttentionParams& params)
{
    if (face >= data.count())
        throw Error("face " + std::to_string(face) + " is not in a dataset of " + std::to_string(data.count()));
    const int s = data.imageSize();
    const std::uint8_t* rgb = data.image(face);
    return pictureOf(attentionMap(model, imageTensor(rgb, s), params), {rgb, rgb + data.imageBytes()}, s);
}

AttentionPicture clusterAttention(FaceModelImpl& model, const PreparedDataset& data,
                                  const std::vector<std::int64_t>& members, const std::string& layer)
{
    if (members.empty())
        throw Error("a cluster without faces has no attention map");
    const int s = data.imageSize();
    auto images = torch::empty({static_cast<int64_t>(members.size()), s, s, 3}, torch::kUInt8);
    for (size_t i = 0; i < members.size(); ++i) {
        if (members[i] < 0 || static_cast<size_t>(members[i]) >= data.count())
            throw Error("face " + std::to_string(members[i]) + " is not in a dataset of "
                        + std::to_string(data.count()));
        std::memcpy(images[static_cast<int64_t>(i)].data_ptr(), data.image(static_cast<size_t>(members[i])),
                    data.imageBytes());
    }
    const auto batch = images.permute({0, 3, 1, 2}).to(torch::kFloat).div(255);
    const AttentionMap map = averageGradCam(model, batch, layer);
    const auto mean = images.to(torch::kFloat).mean(0).round().to(torch::kUInt8).contiguous();
    return pictureOf(map, {mean.data_ptr<std::uint8_t>(), mean.data_ptr<std::uint8_t>() + mean.numel()}, s);
}

} // namespace faceatlas
