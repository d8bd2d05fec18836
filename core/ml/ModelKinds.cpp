#include "ModelKinds.h"

#include "Models.h"
#include "util/Error.h"

namespace faceatlas {

// Each row's factory, defined with its network: ml/Models.cpp, or the kind's own file in ml/kinds/.
FaceModel makeAgeDex(ModelKind kind, int size);
FaceModel makeAgeMeanVariance(ModelKind kind, int size);
FaceModel makeAgeOrdinal(ModelKind kind, int size);
FaceModel makeAgeGaussian(ModelKind kind, int size);
FaceModel makeAgeCapstone(ModelKind kind, int size);
FaceModel makeAutoencoder(ModelKind kind, int size);
FaceModel makeAgeAdaptive(ModelKind kind, int size);

namespace {

std::vector<ModelKindInfo> kindTable()
{
    // The age heads share one backbone and its training settings (batch 64, AdamW 3e-3 with weight
    // decay 0.05, warm-up and cosine, augmentation); the capstone's models train as the capstone did.
    // The first rows are ModelKind's named kinds, in its order; a later row is a kind by its place.
    constexpr ModelDefaults agenet{64, 3e-3, 0.05, true, true};
    std::vector<ModelKindInfo> table = {
        {"age", ModelRole::AgeModel, "the age model that works (DEX head)",
         "a six-stage CNN with a softmax over ages 0-100 (DEX, label distribution of --label-sigma years), "
         "trained with augmentation; the default age model",
         agenet, makeAgeDex},
        {"age-mv", ModelRole::AgeModel, "DEX head, mean-variance loss",
         "the same network and head trained with the mean-variance loss, which also narrows each face's "
         "distribution",
         agenet, makeAgeMeanVariance},
        {"age-ordinal", ModelRole::AgeModel, "ordinal head (CORAL)",
         "the same network with a rank-consistent ordinal head: 100 questions 'older than k?'", agenet, makeAgeOrdinal},
        {"age-gaussian", ModelRole::AgeModel, "regression with a learnt spread",
         "the same network regressing the age with a learnt variance (Gaussian likelihood)", agenet, makeAgeGaussian},
        {"age-capstone",
         ModelRole::AgeModel,
         "the capstone's CNN",
         "the capstone's small CNN regressing the age, kept as the baseline it was",
         {32, 1e-4, 0.0, false, false},
         makeAgeCapstone},
        {"autoencoder",
         ModelRole::Autoencoder,
         "the capstone's autoencoder",
         "the capstone's convolutional autoencoder (150x150x3 to a 19x19x8 code at 150 px); its codes are "
         "clustered and mapped",
         {32, 1e-3, 0.0, false, false},
         makeAutoencoder},
        {"age-adaptive", ModelRole::AgeModel, "DEX head, label width growing with age",
         "the DEX head learning from label distributions that widen with age (--label-sigma years, or a "
         "tenth of the age when that is wider), as people's ages are harder to tell when older",
         agenet, makeAgeAdaptive},
    };
    for (size_t i = 0; i < table.size(); ++i)
        table[i].kind = static_cast<ModelKind>(i);
    return table;
}

} // namespace

const std::vector<ModelKindInfo>& modelKinds()
{
    static const std::vector<ModelKindInfo> table = kindTable();
    return table;
}

const ModelKindInfo* findModelKind(const std::string& name)
{
    for (const ModelKindInfo& info : modelKinds())
        if (name == info.name)
            return &info;
    return nullptr;
}

const ModelKindInfo& modelKindInfo(ModelKind kind)
{
    const auto& table = modelKinds();
    const auto row = static_cast<size_t>(kind);
    if (row >= table.size())
        throw Error("a model kind without its row in modelKinds()");
    return table[row];
}

bool modelHasRole(const std::string& name, ModelRole role)
{
    const ModelKindInfo* info = findModelKind(name);
    return info && info->role == role;
}

std::vector<std::string> modelNamesOf(ModelRole role)
{
    std::vector<std::string> names;
    for (const ModelKindInfo& info : modelKinds())
        if (info.role == role)
            names.emplace_back(info.name);
    return names;
}

std::string modelNameList()
{
    std::string list;
    const auto& kinds = modelKinds();
    for (size_t i = 0; i < kinds.size(); ++i)
        list += (i == 0 ? "" : i + 1 == kinds.size() ? " or " : ", ") + std::string(kinds[i].name);
    return list;
}

const char* defaultModelName(ModelRole role)
{
    for (const auto& info : modelKinds())
        if (info.role == role)
            return info.name;
    throw Error("a model role without a kind in modelKinds()");
}

const char* modelKindName(ModelKind kind)
{
    return modelKindInfo(kind).name;
}

ModelKind parseModelKind(const std::string& name)
{
    if (const ModelKindInfo* info = findModelKind(name))
        return info->kind;
    throw Error("unknown model '" + name + "' (use " + modelNameList() + ")");
}

} // namespace faceatlas
