// faceatlas-cli: the headless front end of FaceAtlas's core jobs.
#include "cli/CliSupport.h"
#include "cli/Commands.h"
#include "cli/reference/CommandSpec.h"
#include "cli/reference/ReferenceLists.h"
#include "data/ImageCache.h"
#include "ml/Distributed.h"
#include "ml/Runtime.h"

#include <cstdio>
#include <exception>
#include <map>

namespace {

/** Whether the words ask for the command's help. */
bool asksForHelp(const std::vector<std::string>& words)
{
    for (const std::string& word : words)
        if (word == "--help" || word == "-h")
            return true;
    return false;
}

} // namespace

int main(int argc, char** argv)
{
    using namespace faceatlas::cli;
    using Words = std::vector<std::string>;
    struct Runner {
        int (*run)(const Words&);
        std::string (*moreHelp)(const Words&) = nullptr; // added to the table's help, from the words given
    };
    const std::map<std::string, Runner> commands = {
        {"inspect", {runInspect}},
        {"prepare", {runPrepare}},
        {"train", {runTrain}},
        {"evaluate", {runEvaluate}},
        {"predict", {runPredict}},
        {"encode", {runEncode}},
        {"summary", {runSummary}},
        {"runs", {runRuns}},
        {"cluster", {runCluster}},
        {"attention", {runAttention}},
        {"demo", {runDemo}},
        {"convert-checkpoint", {runConvertCheckpoint}},
        {"map", {runMap}},
        {"similar", {runSimilar}},
        {"audit", {runAudit}},
        {"export", {runExport}},
        {"history", {runHistory}},
        {"diff", {runDiff}},
        {"slices", {runSlices, slicesHelpColumns}},
        {"cluster-name", {runClusterName}},
        {"review-queue", {runReviewQueue}},
    };
    const std::string command = argc > 1 ? argv[1] : "";
    if (command.empty() || command == "--help" || command == "-h" || command == "help") {
        std::fputs(programHelp().c_str(), command.empty() ? stderr : stdout);
        return command.empty() ? 2 : 0;
    }
    if (command == "--version") {
        std::printf("faceatlas-cli %s, %s\n%s\n%s\n", FACEATLAS_VERSION, faceatlas::torchDescription().c_str(),
                    faceatlas::blasDescription().c_str(),
                    faceatlas::distributedAvailable() ? "several processes: c10d with Gloo (train --nproc)"
                                                      : "one process only (built without c10d's Gloo headers)");
        return 0;
    }
    const auto it = commands.find(command);
    const CommandSpec* spec = findCommand(command);
    if (it == commands.end() || !spec) {
        std::fprintf(stderr, "faceatlas-cli: unknown command '%s' (see faceatlas-cli --help)\n", command.c_str());
        return 2;
    }
    const Words words(argv + 2, argv + argc);
    if (asksForHelp(words)) {
        std::fputs(commandHelp(*spec, referenceLists()).c_str(), stdout);
        if (it->second.moreHelp)
            std::fputs(it->second.moreHelp(words).c_str(), stdout);
        return 0;
    }
    try {
        faceatlas::configureAllocator();
        // The compute budget, once, before any worker starts (a command's --threads may set it again).
        faceatlas::configureTorchThreads();
        faceatlas::configureOpenCvThreads();
        return it->second.run(words);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "faceatlas-cli %s: %s\n", command.c_str(), e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "faceatlas-cli %s: error: %s\n", command.c_str(), e.what());
        return 1;
    }
}
