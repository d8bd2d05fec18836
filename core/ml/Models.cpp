#include "ml/Models.h"

#include "ml/AgeNet.h"
#include "ml/ModelKinds.h"

#include "util/Error.h"

namespace faceatlas {

namespace F = torch::nn::functional;
using torch::nn::Conv2dOptions;

int64_t parameterCount(const torch::nn::Module& module)
{
    int64_t n = 0;
    for (const auto& p : module.parameters())
        n += p.numel();
    return n;
}

torch::Tensor traced(std::vector<LayerRow>* trace, const char* name, const char* type, const torch::Tensor& t,
                     const torch::nn::Module* module)
{
    if (trace) {
        const auto sizes = t.sizes();
        trace->push_back(
            {name, type, std::vector<int64_t>(sizes.begin() + 1, sizes.end()), module ? parameterCount(*module) : 0});
    }
    return t;
}

AgePrediction distributionMoments(const torch::Tensor& p, const torch::Tensor& bins)
{
    const auto mean = (p * bins).sum(1);
    const auto var = (p * (bins.unsqueeze(0) - mean.unsqueeze(1)).pow(2)).sum(1);
    return {mean, var.clamp_min(0).sqrt()};
}

namespace {

int ceilHalf(int v)
{
    return (v + 1) / 2;
}

/** The capstone's age CNN: two valid 3x3 convs, max-pool, dropout, dense 128, dropout, dense 1. */
class AgeCapstoneImpl : public FaceModelImpl {
public:
    explicit AgeCapstoneImpl(int size)
        : FaceModelImpl(ModelKind::AgeCapstone, size)
    {
        if (size < 8)
            throw Error("age-capstone needs images of at least 8x8, got " + std::to_string(size));
        const int64_t pooled = (size - 4) / 2;
        m_conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(3, 64, 3)));
        m_conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(64, 64, 3)));
        m_dense1 = register_module("dense1", torch::nn::Linear(64 * pooled * pooled, 128));
        m_dense2 = register_module("dense2", torch::nn::Linear(128, 1));
        registerStats();
    }

    // [N,3,S,S] -> age [N]
    ModelOutput run(const torch::Tensor& images, std::vector<LayerRow>* trace) override
    {
        ModelOutput out;
        auto x = traced(trace, "conv1", "Conv2D", torch::relu(m_conv1(normalise(images))), m_conv1.get());
        out.features.emplace_back("conv1", x);
        x = traced(trace, "conv2", "Conv2D", torch::relu(m_conv2(x)), m_conv2.get());
        out.features.emplace_back("conv2", x);
        x = traced(trace, "max_pooling", "MaxPooling2D", F::max_pool2d(x, F::MaxPool2dFuncOptions(2)));
        x = traced(trace, "dropout_1", "Dropout",
                   F::dropout(x, F::DropoutFuncOptions().p(0.25).training(is_training())));
        x = traced(trace, "flatten", "Flatten", x.flatten(/*start_dim=*/1));
        x = traced(trace, "dense1", "Dense", torch::relu(m_dense1(x)), m_dense1.get());
        x = traced(trace, "dropout_2", "Dropout",
                   F::dropout(x, F::DropoutFuncOptions().p(0.5).training(is_training())));
        x = traced(trace, "dense2", "Dense", m_dense2(x), m_dense2.get());
        out.raw = x.squeeze(1);
        out.output = out.raw * m_ageStd + m_ageMean;
        out.spread = torch::ones_like(out.output); // one spread for every face: the calibration sizes it
        return out;
    }

    torch::Tensor loss(const ModelOutput& out, const torch::Tensor&, const torch::Tensor& ages) override
    {
        return F::mse_loss(out.raw, (ages - m_ageMean) / m_ageStd); // MSE on the standardised age
    }

    std::vector<std::string> featureLayers() const override { return {"conv1", "conv2"}; }

private:
    torch::nn::Conv2d m_conv1{nullptr}, m_conv2{nullptr};
    torch::nn::Linear m_dense1{nullptr}, m_dense2{nullptr};
};

/** The capstone's convolutional autoencoder: 3 conv+pool stages to an 8-channel code, 3 conv+upsample back. */
class ConvAutoencoderImpl : public FaceModelImpl {
public:
    explicit ConvAutoencoderImpl(int size)
        : FaceModelImpl(ModelKind::Autoencoder, size)
    {
        if (size < 8)
            throw Error("autoencoder needs images of at least 8x8, got " + std::to_string(size));
        const auto conv = [](int64_t in, int64_t out, int64_t pad) {
            return torch::nn::Conv2d(Conv2dOptions(in, out, 3).padding(pad));
        };
        m_enc1 = register_module("enc1", conv(3, 32, 1));
        m_enc2 = register_module("enc2", conv(32, 16, 1));
        m_enc3 = register_module("enc3", conv(16, 8, 1));
        m_dec1 = register_module("dec1", conv(8, 8, 1));
        m_dec2 = register_module("dec2", conv(8, 16, 1));
        m_dec3 = register_module("dec3", conv(16, 32, 1));
        // The decoder upsamples the code x8 (152 at S = 150); the last conv is 'valid' there
        // (152 -> 150, as in the capstone) and 'same' where 8 x code == S (64 -> 64).
        const int upsampled = 8 * autoencoderCodeShape(size)[1];
        m_lastPad = upsampled - size >= 2 ? 0 : 1;
        m_dec4 = register_module("dec4", conv(32, 3, m_lastPad));
        registerStats();
    }

    // [N,3,S,S] -> code [N,8,s,s]
    torch::Tensor encode(const torch::Tensor& images, std::vector<LayerRow>* trace = nullptr)
    {
        const auto pool = [](const torch::Tensor& t) {
            return F::max_pool2d(t, F::MaxPool2dFuncOptions(2).ceil_mode(true)); // Keras padding='same'
        };
        auto x = traced(trace, "enc1", "Conv2D", torch::relu(m_enc1(convInput(images))), m_enc1.get());
        x = traced(trace, "pool1", "MaxPooling2D", pool(x));
        x = traced(trace, "enc2", "Conv2D", torch::relu(m_enc2(x)), m_enc2.get());
        x = traced(trace, "pool2", "MaxPooling2D", pool(x));
        x = traced(trace, "enc3", "Conv2D", torch::relu(m_enc3(x)), m_enc3.get());
        return traced(trace, "pool3 (code)", "MaxPooling2D", pool(x));
    }

    // code [N,8,s,s] -> [N,3,S,S] in 0-1
    torch::Tensor decode(const torch::Tensor& code, std::vector<LayerRow>* trace = nullptr)
    {
        const auto up = [](const torch::Tensor& t) {
            return F::interpolate(
                t, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
        };
        auto x = traced(trace, "dec1", "Conv2D", torch::relu(m_dec1(convInput(code))), m_dec1.get());
        x = traced(trace, "up1", "UpSampling2D", up(x));
        x = traced(trace, "dec2", "Conv2D", torch::relu(m_dec2(x)), m_dec2.get());
        x = traced(trace, "up2", "UpSampling2D", up(x));
        x = traced(trace, "dec3", "Conv2D", torch::relu(m_dec3(x)), m_dec3.get());
        x = traced(trace, "up3", "UpSampling2D", up(x));
        x = torch::sigmoid(m_dec4(x));
        const int size = imageSize();
        if (x.size(2) != size) { // sizes where 8 x code - S > 2: centre-crop to S
            const int64_t off = (x.size(2) - size) / 2;
            x = x.narrow(2, off, size).narrow(3, off, size);
        }
        return traced(trace, "dec4", "Conv2D", x, m_dec4.get());
    }

    ModelOutput run(const torch::Tensor& images, std::vector<LayerRow>* trace) override
    {
        ModelOutput out;
        const auto code = encode(images, trace);
        out.features.emplace_back("code", code);
        out.output = decode(code, trace);
        out.raw = out.output;
        return out;
    }

    torch::Tensor loss(const ModelOutput& out, const torch::Tensor& images, const torch::Tensor&) override
    {
        return F::mse_loss(out.raw, images);
    }

    std::vector<std::string> featureLayers() const override { return {"code"}; }

private:
    torch::nn::Conv2d m_enc1{nullptr}, m_enc2{nullptr}, m_enc3{nullptr};
    torch::nn::Conv2d m_dec1{nullptr}, m_dec2{nullptr}, m_dec3{nullptr}, m_dec4{nullptr};
    int m_lastPad = 1;
};

/**
 * `age-mv`: the DEX head trained with the mean-variance loss (Pan et al., CVPR 2018): cross-entropy
 * against the label distribution, plus the squared error of the distribution's mean and its
 * variance, so the distribution is pulled onto the age and kept as narrow as the face allows.
 */
class AgeMeanVarianceImpl : public AgeDexImpl {
public:
    explicit AgeMeanVarianceImpl(int size)
        : AgeDexImpl(size, ModelKind::AgeMeanVariance)
    {
        m_sigma = 1.0;
    }
    torch::Tensor loss(const ModelOutput& out, const torch::Tensor&, const torch::Tensor& ages) override
    {
        const auto ce = -(labelDistribution(ages, m_sigma) * torch::log_softmax(out.raw, 1)).sum(1).mean();
        const auto meanLoss = 0.5 * (out.output - ages).pow(2).mean();
        const auto varianceLoss = out.spread.pow(2).mean();
        return ce + 0.02 * meanLoss + 0.005 * varianceLoss;
    }
};

/**
 * `age-ordinal`: CORAL (Cao, Mirjalili and Raschka, 2020), 100 binary questions "older than k?"
 * for k = 0..99 sharing one weight vector with a threshold each, which keeps the answers
 * rank-consistent. The age is the sum of the answers' probabilities; the spread is that of the
 * distribution they imply (P(age = k) = P(> k-1) - P(> k)).
 */
class AgeOrdinalImpl : public AgeNetBase {
public:
    explicit AgeOrdinalImpl(int size)
        : AgeNetBase(ModelKind::AgeOrdinal, size)
    {
        m_head = register_module("head", std::make_shared<CoralHead>(kFeatures));
        ageStatsChanged();
    }

    torch::Tensor loss(const ModelOutput& out, const torch::Tensor&, const torch::Tensor& ages) override
    {
        const auto older = (ages.unsqueeze(1) > m_bins.narrow(0, 0, kAgeBins - 1).unsqueeze(0)).to(out.raw.dtype());
        const auto bce = F::binary_cross_entropy_with_logits(
            out.raw, older, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
        return bce.sum(1).mean() / 10.0; // about the size of the other heads' losses
    }

protected:
    /** One weight vector shared by every question, and a threshold per question. */
    struct CoralHead : torch::nn::Module {
        explicit CoralHead(int64_t features)
        {
            const double bound = 1.0 / std::sqrt(static_cast<double>(features)); // as torch::nn::Linear
            weight = register_parameter("weight", torch::empty({1, features}).uniform_(-bound, bound));
            thresholds = register_parameter("thresholds", torch::zeros({kAgeBins - 1}));
        }
        torch::Tensor weight, thresholds;
    };

    torch::Tensor head(const torch::Tensor& features) override
    {
        return torch::matmul(features, m_head->weight.t()) + m_head->thresholds;
    }
    const torch::nn::Module* headModule() const override { return m_head.get(); }
    AgePrediction interpret(const torch::Tensor& raw) override
    {
        const auto older = torch::sigmoid(raw); // [N, B-1]: P(age > k)
        const auto n = older.size(0);
        const auto atLeast = torch::cat({torch::ones({n, 1}, older.options()), older}, 1); // P(age >= k)
        const auto beyond = torch::cat({older, torch::zeros({n, 1}, older.options())}, 1); // P(age > k)
        auto p = (atLeast - beyond).clamp_min(0);
        p = p / p.sum(1, /*keepdim=*/true).clamp_min(1e-12);
        return {older.sum(1), distributionMoments(p, m_bins).sd};
    }
    // Thresholds start where the training ages put them (a normal of the training mean and spread),
    // so the first epochs learn faces, not the age range.
    void ageStatsChanged() override
    {
        if (!m_head)
            return;
        torch::NoGradGuard noGrad;
        const auto k = m_bins.narrow(0, 0, kAgeBins - 1) + 0.5;
        m_head->thresholds.copy_((m_ageMean - k) / m_ageStd * 1.7);
    }

private:
    std::shared_ptr<CoralHead> m_head;
};

/**
 * `age-gaussian`: the capstone's regression made honest: the age (standardised) and the log of a
 * learnt variance, trained by the Gaussian negative log-likelihood weighted by the predicted
 * variance to the power 1/2 (beta-NLL, Seitzer et al. 2022), so hard faces do not stop the mean
 * from learning.
 */
class AgeGaussianImpl : public AgeNetBase {
public:
    explicit AgeGaussianImpl(int size)
        : AgeNetBase(ModelKind::AgeGaussian, size)
    {
        m_head = register_module("head", torch::nn::Linear(kFeatures, 2));
    }
    torch::Tensor loss(const ModelOutput& out, const torch::Tensor&, const torch::Tensor& ages) override
    {
        const auto mean = out.raw.select(1, 0), logVar = out.raw.select(1, 1).clamp(-8.0, 4.0);
        const auto target = (ages - m_ageMean) / m_ageStd;
        const auto nll = 0.5 * (logVar + (target - mean).pow(2) / logVar.exp());
        return (nll * logVar.exp().sqrt().detach()).mean();
    }

protected:
    torch::Tensor head(const torch::Tensor& features) override { return m_head(features); }
    const torch::nn::Module* headModule() const override { return m_head.get(); }
    AgePrediction interpret(const torch::Tensor& raw) override
    {
        const auto logVar = raw.select(1, 1).clamp(-8.0, 4.0);
        return {raw.select(1, 0) * m_ageStd + m_ageMean, (0.5 * logVar).exp() * m_ageStd};
    }

private:
    torch::nn::Linear m_head{nullptr};
};

} // namespace

void FaceModelImpl::registerStats()
{
    m_inputMean = register_buffer("input_mean", torch::full({1, 3, 1, 1}, 0.5f));
    m_inputStd = register_buffer("input_std", torch::full({1, 3, 1, 1}, 0.25f));
    m_ageMean = register_buffer("age_mean", torch::full({}, 35.0f));
    m_ageStd = register_buffer("age_std", torch::full({}, 12.0f));
}

void FaceModelImpl::setInputStats(const std::vector<float>& mean, const std::vector<float>& stddev)
{
    torch::NoGradGuard noGrad;
    for (int c = 0; c < 3; ++c) {
        m_inputMean[0][c].fill_(mean.at(c));
        m_inputStd[0][c].fill_(std::max(stddev.at(c), 1e-3f));
    }
}

void FaceModelImpl::setAgeStats(float mean, float stddev)
{
    {
        torch::NoGradGuard noGrad;
        m_ageMean.fill_(mean);
        m_ageStd.fill_(std::max(stddev, 1.0f));
    }
    ageStatsChanged();
}

AgePrediction FaceModelImpl::predictAge(const torch::Tensor& images, const ModelOutput* unflipped)
{
    if (!isAgeModel())
        throw Error("the " + std::string(modelKindName(kind())) + " predicts no age");
    const ModelOutput out = unflipped ? *unflipped : run(images);
    return {out.output, out.spread};
}

std::vector<std::string> FaceModelImpl::initFromEncoder(const FaceModelImpl&)
{
    return {};
}

// The factories of the kinds whose networks are in this file; their rows in ml/ModelKinds.cpp name them.
FaceModel makeAgeCapstone(ModelKind, int size)
{
    return std::make_shared<AgeCapstoneImpl>(size);
}
FaceModel makeAgeDex(ModelKind kind, int size)
{
    return std::make_shared<AgeDexImpl>(size, kind);
}
FaceModel makeAgeMeanVariance(ModelKind, int size)
{
    return std::make_shared<AgeMeanVarianceImpl>(size);
}
FaceModel makeAgeOrdinal(ModelKind, int size)
{
    return std::make_shared<AgeOrdinalImpl>(size);
}
FaceModel makeAgeGaussian(ModelKind, int size)
{
    return std::make_shared<AgeGaussianImpl>(size);
}
FaceModel makeAutoencoder(ModelKind, int size)
{
    return std::make_shared<ConvAutoencoderImpl>(size);
}

FaceModel createModel(ModelKind kind, int size)
{
    return modelKindInfo(kind).make(kind, size);
}

int64_t modelParameterCount(ModelKind kind, int size)
{
    if (kind == ModelKind::AgeCapstone) {
        if (size < 8)
            throw Error("age-capstone needs images of at least 8x8, got " + std::to_string(size));
        const int64_t pooled = (size - 4) / 2;
        return (3 * 64 * 9 + 64) + (64 * 64 * 9 + 64) + (64 * pooled * pooled * 128 + 128) + (128 + 1);
    }
    // The age network and the autoencoder are convolutional with a global pool: their size does not grow with S.
    return parameterCount(*createModel(kind, size));
}

std::vector<LayerRow> summarize(ModelKind kind, int size)
{
    torch::NoGradGuard noGrad;
    FaceModel model = createModel(kind, size);
    model->eval();
    std::vector<LayerRow> rows;
    model->run(torch::zeros({1, 3, size, size}), &rows);
    return rows;
}

double forwardFlops(ModelKind kind, int size)
{
    torch::NoGradGuard noGrad;
    FaceModel model = createModel(kind, size);
    model->eval();
    std::vector<LayerRow> rows;
    model->run(torch::zeros({1, 3, size, size}), &rows);
    // Conv: 2 x outputs x (in_channels x 3 x 3); dense: 2 x weights. Both read off the parameter
    // count: weights = params - biases (or BN's 4 per channel for the age model's bias-free convs).
    double flops = 0;
    for (const auto& r : rows) {
        if (r.parameters == 0)
            continue;
        int64_t outputs = 1;
        for (auto d : r.shape)
            outputs *= d;
        const int64_t channels = r.shape.empty() ? 1 : r.shape[0];
        if (r.type == "Dense") {
            flops += 2.0 * (r.parameters - channels);
        } else {
            const int64_t perChannelExtra = r.type == "Conv2D+BN" ? 2 : 1; // BN weight+bias, or conv bias
            const double weightsPerOutputChannel =
                static_cast<double>(r.parameters - perChannelExtra * channels) / channels;
            flops += 2.0 * outputs * weightsPerOutputChannel;
        }
    }
    return flops;
}

std::vector<int64_t> autoencoderCodeShape(int size)
{
    const int s = ceilHalf(ceilHalf(ceilHalf(size)));
    return {8, s, s};
}

torch::Tensor autoencoderEncode(FaceModelImpl& model, const torch::Tensor& images)
{
    auto* ae = dynamic_cast<ConvAutoencoderImpl*>(&model);
    if (!ae)
        throw Error("encoding needs an autoencoder run, not " + std::string(modelKindName(model.kind())));
    return ae->encode(images);
}

torch::Tensor autoencoderDecode(FaceModelImpl& model, const torch::Tensor& codes)
{
    auto* ae = dynamic_cast<ConvAutoencoderImpl*>(&model);
    if (!ae)
        throw Error("decoding needs an autoencoder run, not " + std::string(modelKindName(model.kind())));
    return ae->decode(codes);
}

} // namespace faceatlas
