#include "analysis/EncodeImage.h"

#include "data/ImageIO.h"
#include "ml/Batches.h"
#include "ml/Inference.h"
#include "ml/Models.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstdint>
#include <string>

namespace faceatlas {

std::vector<float> embedImageFile(FaceModelImpl& model, Framing framing, const std::filesystem::path& file)
{
    const int s = model.imageSize();
    const std::string bytes = readFile(file); // its Error names the file
    std::vector<std::uint8_t> rgb(static_cast<size_t>(s) * s * 3);
    std::string problem;
    if (!decodeFramedFace(bytes, s, framing, rgb.data(), nullptr, problem))
        throw Error(displayPath(file) + ": " + problem);
    torch::InferenceMode inference;
    model.eval();
    const torch::Device device = model.parameters().front().device();
    const auto v = embedImages(model, imageTensor(rgb.data(), s).unsqueeze(0).to(device))
                       .reshape({-1})
                       .to(torch::kCPU, torch::kFloat)
                       .contiguous();
    return std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
}

} // namespace faceatlas
