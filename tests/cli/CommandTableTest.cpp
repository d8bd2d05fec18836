// The command table (app/cli/reference) against the parser that reads it and against core's own
// defaults: the CLI, its help, the man page and the README are made from the table, so the table is
// what has to be right.
#include "cli/CliSupport.h"
#include "cli/reference/CommandSpec.h"
#include "cli/reference/ReferenceLists.h"

#include "analysis/AuditJob.h"
#include "data/FaceQuality.h"
#include "data/PrepareJob.h"
#include "ml/ClusterJob.h"
#include "ml/Distributed.h"
#include "ml/MapJob.h"
#include "ml/ModelKinds.h"
#include "ml/Projections.h"
#include "ml/TrainJob.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <stdexcept>
#include <string>

using namespace faceatlas;
using namespace faceatlas::cli;

namespace {

/** Runs of spaces and line breaks as one space: a wrapped help reads as one line. */
std::string oneLine(const std::string& text)
{
    std::string out;
    for (const char ch : text)
        if (!(std::isspace(static_cast<unsigned char>(ch)) && !out.empty() && out.back() == ' '))
            out += std::isspace(static_cast<unsigned char>(ch)) ? ' ' : ch;
    return out;
}

/** As the man page writes it: every '-' as '\-'. */
std::string dashed(const std::string& text)
{
    std::string out;
    for (const char ch : text)
        out += ch == '-' ? std::string("\\-") : std::string(1, ch);
    return out;
}

std::string fallbackOf(const std::string& command, const std::string& option)
{
    const OptionSpec* o = findOption(commandSpec(command), option);
    if (!o)
        throw std::logic_error(command + " has no --" + option);
    return o->fallback;
}

} // namespace

TEST(CommandTable, NamesEachCommandAndEachOptionOnce)
{
    std::set<std::string> commands;
    for (const CommandSpec& c : commandSpecs()) {
        EXPECT_TRUE(commands.insert(c.name).second) << c.name << " twice";
        EXPECT_FALSE(c.summary.empty()) << c.name;
        EXPECT_FALSE(c.description.empty()) << c.name;
        std::set<std::string> options;
        for (const OptionSpec& o : c.options) {
            EXPECT_TRUE(options.insert(o.name).second) << c.name << " --" << o.name << " twice";
            EXPECT_FALSE(o.help.empty()) << c.name << " --" << o.name;
            EXPECT_NE(o.help.back(), '.') << c.name << " --" << o.name << ": the renderer adds the full stop";
            EXPECT_EQ(o.help.find("(default "), std::string::npos)
                << c.name << " --" << o.name << ": a single default belongs in `fallback`";
            EXPECT_FALSE(o.required && !o.fallback.empty()) << c.name << " --" << o.name;
            EXPECT_NE(o.name, "help") << c.name << ": --help is every command's";
        }
    }
    EXPECT_EQ(commands.size(), 21u);
}

TEST(CommandTable, EveryRenderingCarriesEveryOptionAndItsDefault)
{
    const ReferenceLists lists = referenceLists();
    const std::string man = manCommands(lists), synopsis = markdownSynopsis(), program = programHelp();
    for (const CommandSpec& c : commandSpecs()) {
        const std::string help = commandHelp(c, lists);
        EXPECT_EQ(help.rfind("usage: faceatlas-cli " + c.name + " ", 0), 0u) << help;
        EXPECT_NE(program.find("  " + c.name + " "), std::string::npos) << c.name;
        EXPECT_NE(man.find(".SS " + dashed(c.name) + " "), std::string::npos) << c.name;
        EXPECT_NE(synopsis.find("faceatlas-cli " + c.name), std::string::npos) << c.name;
        for (const OptionSpec& o : c.options) {
            EXPECT_NE(help.find("--" + o.name + " "), std::string::npos) << c.name << " --" << o.name;
            EXPECT_NE(synopsis.find("--" + o.name), std::string::npos) << c.name << " --" << o.name;
            EXPECT_NE(man.find(dashed("--" + o.name)), std::string::npos) << c.name << " --" << o.name;
            if (!o.fallback.empty()) {
                EXPECT_NE(oneLine(help).find("default " + o.fallback), std::string::npos) << c.name << " --" << o.name;
            }
        }
    }
    // The lists come from core's registries, not from copies.
    EXPECT_NE(commandHelp(commandSpec("train"), lists).find("age-capstone"), std::string::npos);
}

TEST(CommandTable, PrepareDefaultsAreTheCoresOwn)
{
    const PrepareParams p;
    const CleaningOptions& c = p.cleaning;
    EXPECT_EQ(std::stoi(fallbackOf("prepare", "size")), p.size);
    EXPECT_DOUBLE_EQ(std::stod(fallbackOf("prepare", "min-face-score")), c.minFaceScore);
    EXPECT_DOUBLE_EQ(std::stod(fallbackOf("prepare", "min-detector-score")), c.minDetectorScore);
    EXPECT_EQ(std::stoi(fallbackOf("prepare", "age-min")), c.ageMin);
    EXPECT_EQ(std::stoi(fallbackOf("prepare", "age-max")), c.ageMax);
    EXPECT_EQ(std::stoi(fallbackOf("prepare", "min-image-size")), c.minImageSize);
    EXPECT_DOUBLE_EQ(std::stod(fallbackOf("prepare", "max-yaw")), c.maxYaw);
    EXPECT_EQ(std::stoi(fallbackOf("prepare", "min-face-size")), c.minFaceSize);
    EXPECT_DOUBLE_EQ(std::stod(fallbackOf("prepare", "val-fraction")), c.valFraction);
    EXPECT_EQ(std::stoull(fallbackOf("prepare", "seed")), c.seed);
    EXPECT_EQ(fallbackOf("prepare", "balance"), c.balanceAges ? "age" : "none");
    for (const QualityStep& step : qualitySteps())
        EXPECT_NE(findOption(commandSpec("prepare"), step.option), nullptr) << step.option;
    for (const char* command : {"train", "encode", "cluster"})
        EXPECT_EQ(std::stoi(fallbackOf(command, "dist-timeout")), DistConfig().timeoutSeconds) << command;
}

TEST(CommandTable, TrainAuditAndClusterDefaultsAreTheCoresOwn)
{
    const TrainParams train;
    EXPECT_EQ(std::stoi(fallbackOf("train", "epochs")), train.epochs);
    EXPECT_EQ(std::stoull(fallbackOf("train", "seed")), train.seed);
    const AuditParams audit;
    EXPECT_EQ(fallbackOf("audit", "model"), defaultModelName(ModelRole::AgeModel));
    EXPECT_EQ(fallbackOf("audit", "model"), modelKindInfo(audit.model).name);
    EXPECT_EQ(std::stoi(fallbackOf("audit", "folds")), audit.folds);
    EXPECT_EQ(std::stoi(fallbackOf("audit", "epochs")), audit.epochs);
    EXPECT_EQ(std::stoull(fallbackOf("audit", "seed")), audit.seed);
    EXPECT_EQ(std::stoi(fallbackOf("audit", "near-distance")), audit.nearDistance);
    EXPECT_DOUBLE_EQ(std::stod(fallbackOf("audit", "min-correlation")), audit.minCorrelation);
    EXPECT_EQ(std::stoi(fallbackOf("audit", "feature-neighbours")), audit.featureNeighbours);
    EXPECT_EQ(fallbackOf("map", "method"), MapParams().method);
    EXPECT_EQ(fallbackOf("map", "method"), projections().front().name);
    const ClusterParams cluster;
    EXPECT_EQ(std::stoi(fallbackOf("cluster", "restarts")), cluster.restarts);
    EXPECT_EQ(std::stoi(fallbackOf("cluster", "max-iter")), cluster.maxIterations);
    EXPECT_EQ(std::stoull(fallbackOf("cluster", "seed")), cluster.seed);
}

TEST(CommandTable, TheParserTakesOnlyWhatTheTableDeclares)
{
    const CommandSpec& prepare = commandSpec("prepare");
    EXPECT_THROW(Args({"--sizee", "3"}, prepare), UsageError);
    try {
        Args({"--age-mx", "50"}, prepare);
        ADD_FAILURE() << "a mistyped option was taken";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("did you mean --age-max?"), std::string::npos) << e.what();
    }
    try {
        Args({"--colour", "x"}, prepare);
        ADD_FAILURE() << "an unknown option was taken";
    } catch (const UsageError& e) {
        EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what(); // nothing near
    }
    EXPECT_THROW(Args({"--json=yes"}, prepare), UsageError); // a flag takes no value
    EXPECT_THROW(Args({"--size"}, prepare), UsageError);     // a value is missing
    EXPECT_THROW(Args({"stray"}, prepare), UsageError);

    const Args none({}, prepare);
    EXPECT_FALSE(none.has("size"));
    EXPECT_EQ(none.value("size"), std::optional<std::string>("64")); // the table's default
    EXPECT_EQ(none.intValue("size"), 64);
    EXPECT_FALSE(none.value("review"));
    EXPECT_THROW(none.intValue("val-count"), std::logic_error); // no default, not given: ours to check first
    EXPECT_THROW(none.has("epochs"), std::logic_error);         // another command's option

    const Args given({"--size=96", "--json", "--val-count", "40"}, prepare);
    EXPECT_TRUE(given.has("size"));
    EXPECT_EQ(given.intValue("size"), 96);
    EXPECT_EQ(given.longValue("val-count"), 40);
    EXPECT_THROW(given.rejectUnknown(), UsageError); // --json was given but not read
    EXPECT_TRUE(given.has("json"));
    EXPECT_NO_THROW(given.rejectUnknown());
    EXPECT_THROW(Args({"--size", "big"}, prepare).intValue("size"), UsageError);
}
