// `age-adaptive`: a model kind in one file (its row is in ml/ModelKinds.cpp).
#include "ml/AgeNet.h"

#include <memory>

namespace faceatlas {

namespace {

/**
 * The DEX head trained against label distributions whose width grows with the age: sigma is
 * --label-sigma years (2) or a tenth of the true age, whichever is wider, so a 20-year-old's label
 * is as sharp as `age`'s and an 80-year-old's spreads over 8 years. People's ages are harder to tell
 * when they are older (annotators and models disagree more), which a fixed width ignores (DLDL-v2
 * and mean-variance learning make the same point by learning the width). Same backbone, head, L1
 * term and spread as `age`.
 */
class AgeAdaptiveImpl : public AgeDexImpl {
public:
    static constexpr double kWidthPerYear = 0.1;

    AgeAdaptiveImpl(ModelKind kind, int size)
        : AgeDexImpl(size, kind)
    {
    }

    torch::Tensor loss(const ModelOutput& out, const torch::Tensor&, const torch::Tensor& ages) override
    {
        const auto sigma = (ages * kWidthPerYear).clamp_min(m_sigma); // [N] years
        const auto target =
            torch::softmax(-(m_bins.unsqueeze(0) - ages.unsqueeze(1)).pow(2) / (2 * sigma.pow(2)).unsqueeze(1),
                           /*dim=*/1);
        const auto ce = -(target * torch::log_softmax(out.raw, /*dim=*/1)).sum(1).mean();
        return ce + 0.05 * torch::nn::functional::l1_loss(out.output, ages);
    }
};

} // namespace

FaceModel makeAgeAdaptive(ModelKind kind, int size)
{
    return std::make_shared<AgeAdaptiveImpl>(kind, size);
}

} // namespace faceatlas
