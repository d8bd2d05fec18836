#pragma once

#include <limits>
#include <memory>
#include <string>
#include <torch/torch.h>
#include <utility>
#include <vector>

namespace faceatlas {

/**
 * A model kind is its row's place in ml/ModelKinds.cpp's table. The names here are the rows the code
 * asks for by name, in the table's order (ModelsTest checks it); a kind added later needs no name.
 */
enum class ModelKind { Age, AgeMeanVariance, AgeOrdinal, AgeGaussian, AgeCapstone, Autoencoder };

/** The kind's name in ml/ModelKinds.cpp's table: "age", "age-capstone", "autoencoder", ... */
const char* modelKindName(ModelKind kind);
/** Parses a model name; throws Error listing the valid names. */
ModelKind parseModelKind(const std::string& name);

/** One row of a Keras-style summary: layer name and type, output shape (without batch), parameters. */
struct LayerRow {
    std::string name;
    std::string type;
    std::vector<int64_t> shape;
    int64_t parameters = 0;
};

/** What a forward pass returns: the result, and the activations attention maps need. */
struct ModelOutput {
    torch::Tensor output; // age models: predicted age in years [N]; autoencoder: reconstruction [N,3,S,S] in 0-1
    torch::Tensor raw;    // what the loss sees: standardised age [N], the head's logits [N,B], or the reconstruction
    torch::Tensor spread; // age models: the spread of the prediction in years [N], before calibration
    std::vector<std::pair<std::string, torch::Tensor>>
        features; // conv activations by layer name; "code" for the autoencoder
};

/**
 * An age model's prediction per face, both [N] in years: the age, and the spread the model gives it
 * (the standard deviation of its predicted distribution, or its learnt one) before calibration.
 */
struct AgePrediction {
    torch::Tensor age;
    torch::Tensor sd;
};

/**
 * Base of the models. Inputs are RGB images scaled to 0-1, [N,3,S,S]; the models normalise
 * internally with buffers saved in the checkpoint, so a checkpoint works on any image alone.
 */
class FaceModelImpl : public torch::nn::Module {
public:
    FaceModelImpl(ModelKind kind, int size)
        : m_kind(kind)
        , m_size(size)
    {
    }
    ModelKind kind() const { return m_kind; }
    int imageSize() const { return m_size; }
    bool isAgeModel() const { return m_kind != ModelKind::Autoencoder; }

    /** Forward pass; appends a LayerRow per layer to `trace` when given. */
    virtual ModelOutput run(const torch::Tensor& images, std::vector<LayerRow>* trace = nullptr) = 0;
    /** Training loss; `ages` [N] for age models, ignored by the autoencoder (it reconstructs `images`). */
    virtual torch::Tensor loss(const ModelOutput& out, const torch::Tensor& images, const torch::Tensor& ages) = 0;
    /**
     * Predicted ages and their spread [N] for evaluation (no gradients needed); the age heads
     * average the face and its mirror image. `unflipped`, when given, is run(images) already done by
     * the caller, and is reused. Throws Error for the autoencoder.
     */
    virtual AgePrediction predictAge(const torch::Tensor& images, const ModelOutput* unflipped = nullptr);
    /** predictAge()'s ages alone. */
    torch::Tensor predictAges(const torch::Tensor& images, const ModelOutput* unflipped = nullptr)
    {
        return predictAge(images, unflipped).age;
    }
    /** The width (years) of the label distribution the DEX heads learn from; ignored by the others. */
    virtual void setLabelSigma(double /*years*/) {}

    /**
     * The calibration of the spread: predictAge()'s sd times this is the calibrated standard
     * deviation, whose +-1.2816 band held 80% of the validation faces. NaN: not calibrated (a run from
     * before calibration, or one without validation faces). Kept in the checkpoint's metadata.
     */
    double spreadScale() const { return m_spreadScale; }
    void setSpreadScale(double scale) { m_spreadScale = scale; }
    /** Names of the conv layers whose activations run() returns, in order. */
    virtual std::vector<std::string> featureLayers() const = 0;

    /** Sets the input normalisation (per-channel mean and std of the training images, 0-1 scale). */
    void setInputStats(const std::vector<float>& mean, const std::vector<float>& stddev);
    /** Sets the age statistics of the training set (used to standardise the regression target). */
    void setAgeStats(float mean, float stddev);
    /**
     * Copies the matching convolutions of a trained autoencoder's encoder into this age model's
     * first layers (same shape, in order, stopping at the first that differs), with the input
     * normalisation folded in. Returns "conv1 <- enc1 (32x3x3x3)" per layer taken; empty when none.
     */
    virtual std::vector<std::string> initFromEncoder(const FaceModelImpl& autoencoder);

protected:
    torch::Tensor normalise(const torch::Tensor& images) const
    {
        return convInput((images - m_inputMean) / m_inputStd);
    }
    /**
     * The layout the first convolution gets: channels-last on the CPU, where oneDNN's convolutions
     * and everything after them run 1.2-1.8x faster in training and 1.8-3x in inference than on
     * NCHW input (`faceatlas_bench_train`); unchanged on a GPU, where it was not measured. Results
     * differ from NCHW only by float rounding; readers of outputs use logical indexing or
     * contiguous().
     */
    static torch::Tensor convInput(const torch::Tensor& images)
    {
        return images.dim() == 4 && images.device().is_cpu() ? images.contiguous(torch::MemoryFormat::ChannelsLast)
                                                             : images;
    }
    torch::Tensor m_inputMean;
    torch::Tensor m_inputStd;
    torch::Tensor m_ageMean;
    torch::Tensor m_ageStd;
    void registerStats();
    /** Called by setAgeStats() after the statistics changed: heads that start from them (the ordinal thresholds). */
    virtual void ageStatsChanged() {}

private:
    ModelKind m_kind;
    int m_size;
    double m_spreadScale = std::numeric_limits<double>::quiet_NaN();
};

using FaceModel = std::shared_ptr<FaceModelImpl>;

/** Builds a model for S x S images; throws Error when S is too small for it. */
FaceModel createModel(ModelKind kind, int size);

/**
 * Parameters of a model at size S, computed without building it where it grows with S (the
 * capstone's dense layer), so a checkpoint claiming a huge size is refused before allocating.
 */
int64_t modelParameterCount(ModelKind kind, int size);

/** The layer table of a model at size S (a forward pass on zeros). */
std::vector<LayerRow> summarize(ModelKind kind, int size);

/** Forward FLOPs per image (2 x multiply-adds of conv and dense layers), as the peers count them. */
double forwardFlops(ModelKind kind, int size);

/** Code shape of the autoencoder at size S: {8, s, s}. */
std::vector<int64_t> autoencoderCodeShape(int size);

/** The autoencoder's halves, for encoding and decoding codes outside training. */
torch::Tensor autoencoderEncode(FaceModelImpl& model, const torch::Tensor& images);
torch::Tensor autoencoderDecode(FaceModelImpl& model, const torch::Tensor& codes);

constexpr int kAgeBins = 101; // the age heads' classes: 0..100 years

} // namespace faceatlas
