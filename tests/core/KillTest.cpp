// Kills faceatlas-cli with SIGKILL at random moments of prepare, train, encode and cluster, then checks
// that nothing looks finished that is not, and that running the command again recovers.
// FACEATLAS_KILL_SEED=N replays one sequence of delays (each run prints its seed).
#include "data/PreparedDataset.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "TestSupport.h"
#include "util/FileUtil.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace faceatlas;
using faceatlas::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::mt19937& rng()
{
    static std::mt19937 generator = [] {
        const char* fixed = std::getenv("FACEATLAS_KILL_SEED");
        const unsigned seed = fixed ? static_cast<unsigned>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
        std::printf("kill test seed: %u (FACEATLAS_KILL_SEED=%u replays it)\n", seed, seed);
        return std::mt19937(seed);
    }();
    return generator;
}

class KillTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ::setenv("FACEATLAS_CACHE_DIR", (m_dir / "cache").c_str(), 1);
        ::setenv("FACEATLAS_WORKSPACE", (m_dir / "ws").c_str(), 1);
    }

    pid_t spawn(const std::vector<std::string>& args)
    {
        const pid_t pid = ::fork();
        if (pid == 0) {
            const int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(null, 2);
            std::vector<char*> argv{const_cast<char*>(FACEATLAS_CLI)};
            for (const auto& a : args)
                argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(FACEATLAS_CLI, argv.data());
            ::_exit(127);
        }
        return pid;
    }

    /** Runs to the end; the exit code, and how long it took in seconds. */
    int run(const std::vector<std::string>& args, double* seconds = nullptr)
    {
        const auto start = std::chrono::steady_clock::now();
        int status = 0;
        ::waitpid(spawn(args), &status, 0);
        if (seconds)
            *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    /** Starts the command and SIGKILLs it after `seconds`; false when it had already finished. */
    bool killAfter(const std::vector<std::string>& args, double seconds)
    {
        const pid_t pid = spawn(args);
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid)
            return false;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return WIFSIGNALED(status);
    }

    double delay(double from, double to) { return std::uniform_real_distribution<double>(from, to)(rng()); }

    /**
     * Attempt `i` of a kill loop: `draws` attempts at a random moment of a full run, then, only while
     * none has been killed before the end (a full run measured under load can be slower than the
     * ones that follow), one more at an early moment, so that each test kills at least once.
     */
    bool moreAttempts(int i, int draws, int killed) const { return i < draws || (killed == 0 && i == draws); }
    double killDelay(int i, int draws, double fullRun) { return i < draws ? delay(0.02, fullRun) : 0.05; }

    static int temporaries(const fs::path& dir)
    {
        int n = 0;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec))
            n += isTemporaryName(e.path().filename().string());
        return n;
    }

    /** A prepared demo folder, an autoencoder run and its codes, made once per test. */
    void makeBase(double* prepareSeconds = nullptr, double* trainSeconds = nullptr, double* encodeSeconds = nullptr)
    {
        ASSERT_EQ(run({"prepare", "--source", "demo:300", "--out", (m_dir / "D").string(), "--size", "32",
                       "--min-image-size", "0"},
                      prepareSeconds),
                  0);
        ASSERT_EQ(run(trainArgs(m_dir / "RUN", false), trainSeconds), 0);
        ASSERT_EQ(run({"encode", "--run", (m_dir / "RUN").string(), "--data", (m_dir / "D").string(), "--out",
                       (m_dir / "C").string(), "--device", "cpu"},
                      encodeSeconds),
                  0);
    }

    std::vector<std::string> trainArgs(const fs::path& runDir, bool resume)
    {
        std::vector<std::string> a{"train", "--model",       "autoencoder", "--data", (m_dir / "D").string(),
                                   "--out", runDir.string(), "--epochs",    "2",      "--batch",
                                   "32",    "--device",      "cpu"};
        if (resume)
            a.push_back("--resume");
        return a;
    }

    TempDir m_dir;
};

} // namespace

TEST_F(KillTest, PrepareKilledNeverLooksFinishedAndPreparesAgain)
{
    double seconds = 0;
    ASSERT_EQ(run({"prepare", "--source", "demo:300", "--out", (m_dir / "full").string(), "--size", "32",
                   "--min-image-size", "0"},
                  &seconds),
              0);
    const size_t count = PreparedDataset::open(m_dir / "full").count();
    int killed = 0;
    for (int i = 0; moreAttempts(i, 4, killed); ++i) {
        const fs::path out = m_dir / ("P" + std::to_string(i));
        const std::vector<std::string> args{"prepare", "--source", "demo:300",         "--out", out.string(),
                                            "--size",  "32",       "--min-image-size", "0"};
        // A cache of its own, so each killed prepare decodes its images as the first one did.
        ::setenv("FACEATLAS_CACHE_DIR", (m_dir / ("cache" + std::to_string(i))).c_str(), 1);
        const double d = killDelay(i, 4, seconds);
        killed += killAfter(args, d);
        if (fs::exists(out / PreparedDataset::kManifest)) { // it says finished: then it is
            EXPECT_NO_THROW(EXPECT_EQ(PreparedDataset::open(out).count(), count)) << "killed after " << d << " s";
        }
        ASSERT_EQ(run(args), 0) << "prepare again after a kill at " << d << " s";
        EXPECT_EQ(PreparedDataset::open(out).count(), count);
    }
    std::printf("prepare: %d of 4 killed before the end (a full run: %.2f s)\n", killed, seconds);
    EXPECT_GT(killed, 0);
}

TEST_F(KillTest, TrainKilledKeepsCheckpointAndRecordsInStepAndResumes)
{
    double trainSeconds = 0;
    makeBase(nullptr, &trainSeconds);
    int killed = 0;
    for (int i = 0; moreAttempts(i, 4, killed); ++i) {
        const fs::path runDir = m_dir / ("R" + std::to_string(i));
        const double d = killDelay(i, 4, trainSeconds);
        killed += killAfter(trainArgs(runDir, false), d);
        if (fs::exists(runDir / "last.pt")) {
            LoadedModel last;
            ASSERT_NO_THROW(last = loadCheckpoint(runDir / "last.pt")) << "killed after " << d << " s";
            const json meta = json::parse(last.metaJson);
            const int epoch = meta.at("epoch").get<int>();
            const auto ownHistory = parseMetricsCsv(meta.at("history").get<std::string>());
            EXPECT_EQ(static_cast<int>(ownHistory.size()), epoch);
            if (fs::exists(runDir / "metrics.csv")) {
                const auto history = parseMetricsCsv(readFile(runDir / "metrics.csv"));
                // last.pt, then metrics.csv, then run.json: each at most one epoch behind the one before.
                EXPECT_TRUE(static_cast<int>(history.size()) == epoch || static_cast<int>(history.size()) == epoch - 1)
                    << history.size() << " rows, checkpoint of epoch " << epoch << ", killed after " << d << " s";
                for (size_t e = 0; e < history.size() && e < ownHistory.size(); ++e)
                    EXPECT_EQ(history[e].epoch, ownHistory[e].epoch);
                if (fs::exists(runDir / "run.json")) {
                    const int done = json::parse(readFile(runDir / "run.json")).at("epochs_done").get<int>();
                    EXPECT_TRUE(done == static_cast<int>(history.size())
                                || done + 1 == static_cast<int>(history.size()))
                        << done << " epochs in run.json, " << history.size() << " in metrics.csv";
                }
            }
            if (fs::exists(runDir / "best.pt")) {
                EXPECT_NO_THROW(loadCheckpoint(runDir / "best.pt"));
            }
            ASSERT_EQ(run(trainArgs(runDir, true)), 0) << "resume after a kill at " << d << " s";
        } else {
            ASSERT_EQ(run(trainArgs(runDir, false)), 0) << "train again after a kill at " << d << " s";
        }
        // Recovered: all three agree on two epochs, and no temporaries are left.
        EXPECT_EQ(json::parse(loadCheckpoint(runDir / "last.pt").metaJson).at("epoch"), 2);
        EXPECT_EQ(parseMetricsCsv(readFile(runDir / "metrics.csv")).size(), 2u);
        const json record = json::parse(readFile(runDir / "run.json"));
        EXPECT_EQ(record["epochs_done"], 2);
        EXPECT_EQ(record["status"], "finished");
        EXPECT_EQ(temporaries(runDir), 0);
    }
    std::printf("train: %d of 4 killed before the end (a full run: %.2f s)\n", killed, trainSeconds);
    EXPECT_GT(killed, 0);
}

TEST_F(KillTest, EncodeAndClusterKilledNeverLookFinishedAndRunAgain)
{
    double encodeSeconds = 0;
    makeBase(nullptr, nullptr, &encodeSeconds);
    const size_t count = PreparedDataset::open(m_dir / "D").count();
    int killed = 0;
    for (int i = 0; moreAttempts(i, 3, killed); ++i) {
        const fs::path out = m_dir / ("C" + std::to_string(i));
        const std::vector<std::string> args{
            "encode",   "--run", (m_dir / "RUN").string(), "--data", (m_dir / "D").string(), "--out", out.string(),
            "--device", "cpu"};
        const double d = killDelay(i, 3, encodeSeconds);
        killed += killAfter(args, d);
        if (fs::exists(out / "codes.json")) {
            EXPECT_NO_THROW(EXPECT_EQ(Codes::open(out).count(), count)) << "killed after " << d << " s";
        }
        ASSERT_EQ(run(args), 0) << "encode again after a kill at " << d << " s";
        EXPECT_EQ(Codes::open(out).count(), count);
        EXPECT_EQ(temporaries(out), 0);
    }
    std::printf("encode: %d of 3 killed before the end (a full run: %.2f s)\n", killed, encodeSeconds);
    EXPECT_GT(killed, 0);
    killed = 0;
    double clusterSeconds = 0;
    const auto clusterArgs = [&](const fs::path& out) {
        return std::vector<std::string>{
            "cluster", "--codes", (m_dir / "C").string(), "--out", out.string(), "--k", "3", "--device", "cpu"};
    };
    ASSERT_EQ(run(clusterArgs(m_dir / "K"), &clusterSeconds), 0);
    for (int i = 0; moreAttempts(i, 3, killed); ++i) {
        const fs::path out = m_dir / ("K" + std::to_string(i));
        const double d = killDelay(i, 3, clusterSeconds);
        killed += killAfter(clusterArgs(out), d);
        if (fs::exists(out / "metrics.json")) {
            for (int c = 0; c < 3; ++c)
                for (const char* sub : {"centroids", "medoids", "galleries"})
                    EXPECT_TRUE(fs::exists(out / sub / (std::to_string(c) + ".png"))) << sub << c;
            EXPECT_NO_THROW(CentroidPaths::open(out)) << "killed after " << d << " s";
        }
        ASSERT_EQ(run(clusterArgs(out)), 0) << "cluster again after a kill at " << d << " s";
        EXPECT_NO_THROW(CentroidPaths::open(out));
        EXPECT_EQ(temporaries(out), 0);
    }
    std::printf("cluster: %d of 3 killed before the end (a full run: %.2f s)\n", killed, clusterSeconds);
    EXPECT_GT(killed, 0);
}
