#pragma once

#include "data/FaceAlign.h"

#include <filesystem>
#include <vector>

namespace faceatlas {

class FaceModelImpl;

/**
 * One image file as a model sees it (embedImages): the file decoded and framed as the model's
 * training faces were (`framing`, see checkpointFraming: aligned to the template, or the centred
 * square), then the autoencoder's code or an age model's features. Throws Error naming the file
 * and the problem (not an image, say).
 */
std::vector<float> embedImageFile(FaceModelImpl& model, Framing framing, const std::filesystem::path& file);

} // namespace faceatlas
