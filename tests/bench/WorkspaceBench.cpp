// How long the workspace index takes to scan a workspace (issue 23): the first scan reads every
// manifest; a scan with nothing changed reads none; one new artifact reads one. The window scans
// again when a job ends and when the workspace's folders change, on the GUI thread.
// usage: faceatlas_bench_workspace [ARTIFACTS_PER_KIND]   (default 200: 1,000 artifacts)
#include "data/WorkspaceIndex.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using faceatlas::WorkspaceIndex;

namespace {

void write(const fs::path& file, const std::string& text)
{
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
}

/** One artifact of each kind, as FaceAtlas writes their manifests (a run's run.json is the largest). */
void makeArtifacts(const fs::path& ws, int i)
{
    const std::string n = std::to_string(i), fp = "\"data_fingerprint\": \"fp" + std::to_string(i % 7) + "\"";
    write(ws / "runs" / ("age-" + n) / "run.json",
          "{\"format\": \"faceatlas-run\", \"model\": \"age\", \"size\": 64, \"status\": \"finished\", " + fp
              + ", \"cleaning\": {\"age_min\": 15, \"age_max\": 65}, \"history\": \"" + std::string(2000, 'x') + "\"}");
    write(ws / "codes" / ("c-" + n) / "codes.json", "{\"format\": \"faceatlas-codes\", \"size\": 64, " + fp + "}");
    write(ws / "codes" / ("c-" + n) / "codes.f32", "");
    write(ws / "codes" / ("c-" + n) / "records.bin", "");
    write(ws / "clusters" / ("k-" + n) / "metrics.json", "{\"format\": \"faceatlas-clustering\", " + fp + "}");
    write(ws / "clusters" / ("k-" + n) / "assignments.csv", "");
    write(ws / "clusters" / ("k-" + n) / "clusters.json", "");
    write(ws / "maps" / ("m-" + n) / "map.json", "{\"format\": \"faceatlas-map\", " + fp + "}");
    write(ws / "maps" / ("m-" + n) / "map.csv", "");
    write(ws / "audits" / ("a-" + n) / "audit.json", "{\"format\": \"faceatlas-audit\", " + fp + "}");
    write(ws / "audits" / ("a-" + n) / "suspects.csv", "");
}

double millisecondsOf(WorkspaceIndex& index)
{
    const auto start = std::chrono::steady_clock::now();
    index.refresh();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv)
{
    const int perKind = argc > 1 ? std::max(1, std::atoi(argv[1])) : 200;
    const fs::path ws = fs::temp_directory_path() / ("faceatlas-bench-workspace-" + std::to_string(::getpid()));
    for (int i = 0; i < perKind; ++i)
        makeArtifacts(ws, i);
    WorkspaceIndex index(ws);
    const double first = millisecondsOf(index);
    const double same = millisecondsOf(index);
    makeArtifacts(ws, perKind); // one more of each kind
    const double oneMore = millisecondsOf(index);
    std::printf("workspace index, %zu artifacts: first scan %.1f ms, again with nothing changed %.2f ms, "
                "after 5 new artifacts %.2f ms\n",
                index.artifacts().size(), first, same, oneMore);
    fs::remove_all(ws);
    return 0;
}
