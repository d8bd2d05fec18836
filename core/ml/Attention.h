#pragma once

#include "data/PreparedDataset.h"
#include "ml/Models.h"

#include <cstdint>
#include <string>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

enum class AttentionMethod { Code, Features, GradCam };
AttentionMethod parseAttentionMethod(const std::string& name);

struct AttentionParams {
    AttentionMethod method = AttentionMethod::GradCam;
    std::string layer; // empty: "code" for the autoencoder, the last conv layer otherwise
    int channel = -1;  // Features: one channel, or -1 for the mean over channels
};

/** A map over the image: [S, S] float, in 0..1, or in -1..1 when signed (Grad-CAM for age). */
struct AttentionMap {
    torch::Tensor map;
    bool isSigned = false;
    std::string layer;
    float predictedAge = std::numeric_limits<float>::quiet_NaN();
};

/**
 * Computes an attention map for one image ([3,S,S] in 0-1, the model's size):
 *  - Code: per-position L2 magnitude of the autoencoder's code (the capstone's map);
 *  - Features: a conv layer's activation, one channel or the channel mean (the capstone's second map);
 *  - GradCam: signed Grad-CAM for the predicted age (gradient x activation per position, summed
 *    over channels): positive where the layer pushes the age up, negative where it pulls it down.
 * Maps are upsampled (bilinear) to S x S, finite, and scaled by their largest magnitude.
 */
AttentionMap attentionMap(FaceModelImpl& model, const torch::Tensor& image, const AttentionParams& params);

/** Signed Grad-CAM averaged over several images ([N,3,S,S]), e.g. a cluster. */
AttentionMap averageGradCam(FaceModelImpl& model, const torch::Tensor& images, const std::string& layer = {});

/**
 * What a window draws for an attention map, without tensors: the map as S x S values row by row,
 * over its background (S x S RGB bytes: the face, or a cluster's average face).
 */
struct AttentionPicture {
    std::vector<float> values;
    std::vector<std::uint8_t> background;
    int side = 0;
    bool isSigned = false;
    std::string layer;
    float predictedAge = std::numeric_limits<float>::quiet_NaN();
};

/** attentionMap() of one face of `data` (the model's image size; checked by the caller). */
AttentionPicture faceAttention(FaceModelImpl& model, const PreparedDataset& data, size_t face,
                               const AttentionParams& params);

/** averageGradCam() of several faces of `data` (a cluster), over their average image. */
AttentionPicture clusterAttention(FaceModelImpl& model, const PreparedDataset& data,
                                  const std::vector<std::int64_t>& members, const std::string& layer);

} // namespace faceatlas
