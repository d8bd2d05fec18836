#pragma once

#include <filesystem>
#include <vector>

namespace faceatlas {

class FaceModelImpl;

/**
 * The code of one image file under an autoencoder: the file decoded and framed as prepare frames
 * faces (squashed to the model's image size), then encoded. Throws Error naming the file (or the
 * model) and the problem: not an image, not an autoencoder.
 */
std::vector<float> encodeImageFile(FaceModelImpl& autoencoder, const std::filesystem::path& file);

} // namespace faceatlas
