#pragma once

#include <memory>
#include <string>
#include <vector>

namespace faceatlas {

/** The model kinds; defined with their networks in ml/Models.h (with LibTorch). This header has none. */
enum class ModelKind;
class FaceModelImpl;

/** Makes a new, untrained model of `kind` for S x S images (a row's factory; createModel() calls it). */
using ModelFactory = std::shared_ptr<FaceModelImpl> (*)(ModelKind kind, int size);

/** What a model is for: the pages and commands ask for a role, never for a kind by name. */
enum class ModelRole { AgeModel, Autoencoder };

/** How a kind trains unless told otherwise (see README). */
struct ModelDefaults {
    int batch;
    double learningRate;
    double weightDecay;
    bool cosineSchedule;
    bool augment;
};

/**
 * One row per model kind: the only place that names them. The CLI's help and errors, the man page,
 * the Train page's choice, the Attention page's runs and the Runs page's columns read this table, so
 * a new kind is its own file in ml/kinds/ (its network and factory) and one row here (with its
 * factory's declaration). Torch-free, so the window can list the kinds without LibTorch's headers.
 */
struct ModelKindInfo {
    const char* name; // as the CLI, run.json and checkpoints spell it
    ModelRole role;
    const char* title;       // a few words for a menu: "the age model that works"
    const char* description; // a sentence for the help and the man page
    ModelDefaults defaults;
    ModelFactory make; // the network, defined in ml/Models.cpp or in the kind's own file in ml/kinds/
    ModelKind kind{};  // the row's place in the table, filled in by modelKinds()
};

/** Every kind, in the order menus list them (the default of each role first). */
const std::vector<ModelKindInfo>& modelKinds();
/** The row of `name`, or nullptr for a name this version does not know. */
const ModelKindInfo* findModelKind(const std::string& name);
/** The row of `kind` (every kind has one). */
const ModelKindInfo& modelKindInfo(ModelKind kind);
/** Whether `name` is a kind of that role; false for an unknown name. */
bool modelHasRole(const std::string& name, ModelRole role);
/** The kinds of a role, in table order. */
std::vector<std::string> modelNamesOf(ModelRole role);
/** The default kind of a role: its first row ("age" for age models). */
const char* defaultModelName(ModelRole role);
/** "age, age-capstone or autoencoder": for help texts and errors. */
std::string modelNameList();

} // namespace faceatlas
