#pragma once

#include <string>
#include <vector>

namespace faceatlas::cli {

// Each command takes the words after its name and returns the process exit code.
int runInspect(const std::vector<std::string>& words);
int runPrepare(const std::vector<std::string>& words);
int runTrain(const std::vector<std::string>& words);
int runEvaluate(const std::vector<std::string>& words);
int runPredict(const std::vector<std::string>& words);
int runEncode(const std::vector<std::string>& words);
int runSummary(const std::vector<std::string>& words);
int runRuns(const std::vector<std::string>& words);
int runConvertCheckpoint(const std::vector<std::string>& words);
int runCluster(const std::vector<std::string>& words);
int runClusterName(const std::vector<std::string>& words);
int runAttention(const std::vector<std::string>& words);
int runDemo(const std::vector<std::string>& words);
int runMap(const std::vector<std::string>& words);
int runSimilar(const std::vector<std::string>& words);
int runAudit(const std::vector<std::string>& words);
int runReviewQueue(const std::vector<std::string>& words);
int runExport(const std::vector<std::string>& words);
int runSlices(const std::vector<std::string>& words);
int runHistory(const std::vector<std::string>& words);
int runDiff(const std::vector<std::string>& words);

/** What `slices --help --data PREPARED` adds to the table's help: the preparation's CSV columns. */
std::string slicesHelpColumns(const std::vector<std::string>& words);

} // namespace faceatlas::cli
