#include "data/EncodeImage.h"

#include "data/ImageIO.h"
#include "ml/Batches.h"
#include "ml/Models.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstdint>
#include <string>

namespace faceatlas {

std::vector<float> encodeImageFile(FaceModelImpl& model, const std::filesystem::path& file)
{
    if (model.kind() != ModelKind::Autoencoder)
        throw Error("encoding " + displayPath(file) + " needs an autoencoder, not a " + modelKindName(model.kind())
                    + " model");
    const int s = model.imageSize();
    const std::string bytes = readFile(file); // its Error names the file
    std::vector<std::uint8_t> rgb(static_cast<size_t>(s) * s * 3);
    std::string problem;
    if (!decodeSquareRgb(bytes, s, rgb.data(), problem))
        throw Error(displayPath(file) + ": " + problem);
    torch::InferenceMode inference;
    model.eval();
    const torch::Device device = model.parameters().front().device();
    const auto code = autoencoderEncode(model, imageTensor(rgb.data(), s).unsqueeze(0).to(device))
                          .reshape({-1})
                          .to(torch::kCPU, torch::kFloat)
                          .contiguous();
    return std::vector<float>(code.data_ptr<float>(), code.data_ptr<float>() + code.numel());
}

} // namespace faceatlas
