// faceatlas-cli: the headless front end of FaceAtlas's core jobs.
#include "cli/CliSupport.h"
#include "cli/Commands.h"
#include "data/ImageCache.h"
#include "ml/Distributed.h"
#include "ml/Runtime.h"

#include <cstdio>
#include <exception>
#include <map>

namespace {

const char* kUsage = R"(usage: faceatlas-cli COMMAND [options]     (COMMAND --help for its options)

Explore face-image datasets with deep learning.

commands:
  demo       the whole pipeline on the built-in synthetic faces
  inspect    read a dataset's metadata and show its first records
  prepare    clean, split and resample a dataset and cache its images for training
  train      train an age model or the autoencoder on a prepared dataset
  evaluate   an age model's MAE beside the always-the-median baseline
  predict    predicted ages as CSV
  encode     autoencoder codes of a prepared dataset
  summary    a model's layer table
  runs       the training runs of the workspace
  convert-checkpoint  convert a trusted checkpoint of an earlier FaceAtlas
  cluster    k-means on codes: galleries, decoded centroids, quality against labels
  cluster-name  list a clustering's cluster labels and summaries, or name a cluster
  attention  an attention map over a face (code layer, feature maps, signed Grad-CAM)
  map        a 2-D map of codes (neighbour embedding or PCA) with its neighbour recall
  similar    the nearest faces to a face of the codes or to an image file
  audit      suspect labels, duplicates and leaks: out-of-fold predictions and metadata checks
  review-queue  an audit's review queue by score, uncertainty or most informative first
  export     the cleaned dataset as CSV (the csv: source format)
  slices     an age model's error by slice (gender, race, age decade, ...) with bootstrap intervals
  history    the versions (preparations) of a dataset's source, the disk each holds; removes one
  diff       the faces removed, added or relabelled between two preparations, and by what

  --version  print the version, the LibTorch version and whether CUDA is available
)";

} // namespace

int main(int argc, char** argv)
{
    using namespace faceatlas::cli;
    const std::map<std::string, int (*)(const std::vector<std::string>&)> commands = {
        {"inspect", runInspect},
        {"prepare", runPrepare},
        {"train", runTrain},
        {"evaluate", runEvaluate},
        {"predict", runPredict},
        {"encode", runEncode},
        {"summary", runSummary},
        {"runs", runRuns},
        {"cluster", runCluster},
        {"attention", runAttention},
        {"demo", runDemo},
        {"convert-checkpoint", runConvertCheckpoint},
        {"map", runMap},
        {"similar", runSimilar},
        {"audit", runAudit},
        {"export", runExport},
        {"history", runHistory},
        {"diff", runDiff},
        {"slices", runSlices},
        {"cluster-name", runClusterName},
        {"review-queue", runReviewQueue},
    };
    const std::string command = argc > 1 ? argv[1] : "";
    if (command.empty() || command == "--help" || command == "-h" || command == "help") {
        std::fputs(kUsage, command.empty() ? stderr : stdout);
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
    if (it == commands.end()) {
        std::fprintf(stderr, "faceatlas-cli: unknown command '%s' (see faceatlas-cli --help)\n", command.c_str());
        return 2;
    }
    try {
        faceatlas::configureAllocator();
        // The compute budget, once, before any worker starts (a command's --threads may set it again).
        faceatlas::configureTorchThreads();
        faceatlas::configureOpenCvThreads();
        return it->second(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const UsageError& e) {
        std::fprintf(stderr, "faceatlas-cli %s: %s\n", command.c_str(), e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "faceatlas-cli %s: error: %s\n", command.c_str(), e.what());
        return 1;
    }
}
