#pragma once

#include <filesystem>
#include <vector>

namespace faceatlas {

class FaceModelImpl;

/**
 * One image file as a model sees it (embedImages): the file decoded and framed as prepare frames
 * faces (squashed to the model's image size), then the autoencoder's code or an age model's
 * features. Throws Error naming the file and the problem (not an image, say).
 */
std::vector<float> embedImageFile(FaceModelImpl& model, const std::filesystem::path& file);

} // namespace faceatlas
