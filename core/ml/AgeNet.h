#pragma once

// The age network's backbone and its DEX head, for the age-model kinds built on them: the heads of
// ml/Models.cpp and the kinds in ml/kinds/ (a kind there is its file plus its row in ml/ModelKinds.cpp).

#include "ml/Models.h"
#include "util/Error.h"

#include <torch/torch.h>

namespace faceatlas {

/** The number of parameters of a module and its children. */
int64_t parameterCount(const torch::nn::Module& module);
/** Records a layer in the trace (when tracing) and passes the tensor on. */
torch::Tensor traced(std::vector<LayerRow>* trace, const char* name, const char* type, const torch::Tensor& t,
                     const torch::nn::Module* module = nullptr);
/** The spread of distributions over the ages 0-100 [N,B]: their mean and standard deviation. */
AgePrediction distributionMoments(const torch::Tensor& p, const torch::Tensor& bins);

/**
 * The backbone of the age models that work: six conv-BN-ReLU stages with max-pooling and global
 * average pooling instead of a huge dense layer (192 features per face). The heads below differ
 * in what they predict from those features and how they learn it; every one gives an age and a
 * spread. Layer names are those of the first `age` checkpoints, which still load.
 */
class AgeNetBase : public FaceModelImpl {
public:
    static constexpr int64_t kFeatures = 192;

    AgeNetBase(ModelKind kind, int size)
        : FaceModelImpl(kind, size)
    {
        if (size < 16)
            throw Error(std::string(modelKindName(kind)) + " needs images of at least 16x16, got "
                        + std::to_string(size));
        const int64_t widths[] = {32, 48, 64, 96, 128, kFeatures};
        int64_t in = 3;
        for (int i = 0; i < 6; ++i) {
            const std::string n = std::to_string(i + 1);
            m_convs.push_back(register_module(
                "conv" + n, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, widths[i], 3).padding(1).bias(false))));
            m_norms.push_back(register_module("bn" + n, torch::nn::BatchNorm2d(widths[i])));
            in = widths[i];
        }
        m_bins = register_buffer("age_bins", torch::arange(kAgeBins, torch::kFloat));
        registerStats();
    }

    // [N,3,S,S] -> age [N]; the stages run at S, S/2, S/4, S/8 (conv1 stride 1, pool after conv1, 2, 4)
    ModelOutput run(const torch::Tensor& images, std::vector<LayerRow>* trace) override
    {
        ModelOutput out;
        auto x = normalise(images);
        for (size_t i = 0; i < m_convs.size(); ++i) {
            const std::string name = "conv" + std::to_string(i + 1);
            x = torch::relu(m_norms[i](m_convs[i](x)));
            traced(trace, name.c_str(), "Conv2D+BN", x, nullptr);
            if (trace)
                trace->back().parameters = parameterCount(*m_convs[i]) + parameterCount(*m_norms[i]);
            out.features.emplace_back(name, x);
            if (i == 0 || i == 1 || i == 3) {
                x = torch::nn::functional::max_pool2d(x, torch::nn::functional::MaxPool2dFuncOptions(2));
                traced(trace, ("pool" + std::to_string(i + 1)).c_str(), "MaxPooling2D", x);
            }
        }
        x = traced(trace, "global_pool", "GlobalAveragePooling2D", x.mean({2, 3}));
        x = torch::nn::functional::dropout(x,
                                           torch::nn::functional::DropoutFuncOptions().p(0.2).training(is_training()));
        out.raw = traced(trace, "head", "Dense", head(x), headModule());
        const AgePrediction p = interpret(out.raw);
        out.output = p.age;
        out.spread = p.sd;
        return out;
    }

    // Test-time augmentation: a face and its mirror image are the same age. Their predictions are
    // mixed: the mean of the two ages, and the spread of the mixture of the two distributions.
    AgePrediction predictAge(const torch::Tensor& images, const ModelOutput* unflipped) override
    {
        const ModelOutput direct = unflipped ? *unflipped : run(images, nullptr);
        const ModelOutput mirror = run(images.flip({3}), nullptr);
        const auto age = 0.5 * (direct.output + mirror.output);
        const auto var =
            0.5 * (direct.spread.pow(2) + mirror.spread.pow(2)) + 0.25 * (direct.output - mirror.output).pow(2);
        return {age, var.sqrt()};
    }

    std::vector<std::string> featureLayers() const override
    {
        return {"conv1", "conv2", "conv3", "conv4", "conv5", "conv6"};
    }

    std::vector<std::string> initFromEncoder(const FaceModelImpl& autoencoder) override
    {
        // The encoder's convolutions in order (enc1, enc2, ...), each with its weight.
        std::vector<std::pair<std::string, torch::Tensor>> encoder;
        for (const auto& item : autoencoder.named_parameters(/*recurse=*/true))
            if (item.key().rfind("enc", 0) == 0 && item.key().size() > 7
                && item.key().compare(item.key().size() - 7, 7, ".weight") == 0)
                encoder.emplace_back(item.key().substr(0, item.key().size() - 7), item.value());
        std::vector<std::string> taken;
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < encoder.size() && i < m_convs.size(); ++i) {
            const auto& from = encoder[i].second;
            auto& to = m_convs[i]->weight;
            if (from.sizes() != to.sizes())
                break;
            auto w = from.to(to.device(), to.scalar_type()).clone();
            // The autoencoder reads 0-1 pixels, this model normalised ones ((x - mean) / std): the
            // same response on normalised input needs the weights times each channel's std (the
            // mean's shift is a constant per filter, which batch normalisation removes).
            if (i == 0)
                w *= m_inputStd.view({1, 3, 1, 1}).to(w.device());
            to.copy_(w);
            std::string shape;
            for (auto d : from.sizes())
                shape += (shape.empty() ? "" : "x") + std::to_string(d);
            taken.push_back("conv" + std::to_string(i + 1) + " <- " + encoder[i].first + " (" + shape + ")");
        }
        return taken;
    }

protected:
    virtual torch::Tensor head(const torch::Tensor& features) = 0;
    virtual const torch::nn::Module* headModule() const = 0;
    /** The age and spread the head's raw output stands for. */
    virtual AgePrediction interpret(const torch::Tensor& raw) = 0;
    /** A Gaussian of width sigma around each true age over the bins [N,B]: the DLDL target. */
    torch::Tensor labelDistribution(const torch::Tensor& ages, double sigma) const
    {
        return torch::softmax(-(m_bins.unsqueeze(0) - ages.unsqueeze(1)).pow(2) / (2 * sigma * sigma), 1);
    }
    torch::Tensor m_bins;

private:
    std::vector<torch::nn::Conv2d> m_convs;
    std::vector<torch::nn::BatchNorm2d> m_norms;
};

/**
 * `age`: a DEX head, a softmax over ages 0-100 whose expected value is the prediction, trained
 * against a Gaussian label distribution (sigma 2 years, --label-sigma) plus a small L1 term on
 * the expectation (DLDL-v2). Its spread is the softmax's standard deviation.
 */
class AgeDexImpl : public AgeNetBase {
public:
    explicit AgeDexImpl(int size, ModelKind kind = ModelKind::Age)
        : AgeNetBase(kind, size)
    {
        m_head = register_module("head", torch::nn::Linear(kFeatures, kAgeBins));
    }
    void setLabelSigma(double years) override { m_sigma = std::max(0.25, years); }

    torch::Tensor loss(const ModelOutput& out, const torch::Tensor&, const torch::Tensor& ages) override
    {
        const auto ce = -(labelDistribution(ages, m_sigma) * torch::log_softmax(out.raw, 1)).sum(1).mean();
        return ce + 0.05 * torch::nn::functional::l1_loss(out.output, ages);
    }

protected:
    torch::Tensor head(const torch::Tensor& features) override { return m_head(features); }
    const torch::nn::Module* headModule() const override { return m_head.get(); }
    AgePrediction interpret(const torch::Tensor& raw) override
    {
        return distributionMoments(torch::softmax(raw, /*dim=*/1), m_bins);
    }
    torch::nn::Linear m_head{nullptr};
    double m_sigma = 2.0;
};

} // namespace faceatlas
