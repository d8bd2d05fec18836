#include "ModelKinds.h"

#include "Models.h"
#include "util/Error.h"

namespace faceatlas {

const std::vector<ModelKindInfo>& modelKinds()
{
    static const std::vector<ModelKindInfo> table = {
        {ModelKind::Age, "age", ModelRole::AgeModel, "the age model that works",
         "a residual CNN with a softmax over ages 0-100 (DEX), trained with augmentation; the default age model"},
        {ModelKind::AgeCapstone, "age-capstone", ModelRole::AgeModel, "the capstone's CNN",
         "the capstone's small CNN regressing the age, kept as the baseline it was"},
        {ModelKind::Autoencoder, "autoencoder", ModelRole::Autoencoder, "the capstone's autoencoder",
         "the capstone's convolutional autoencoder (150x150x3 to a 19x19x8 code at 150 px); its codes are "
         "clustered and mapped"},
    };
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
    for (const ModelKindInfo& info : modelKinds())
        if (info.kind == kind)
            return info;
    throw Error("a model kind without its row in modelKinds()");
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
