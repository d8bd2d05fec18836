// The output-folder contract and writes that never destroy, clobber or mix a file (issue 24, findings
// F01, F03-F06, F10-F13, F19 of ../shared/findings/round3): each test breaks the rule on purpose.
#include "util/OutputFolder.h"
#include "analysis/AuditFiles.h"
#include "analysis/AuditJob.h"
#include "data/ClusterAssignments.h"
#include "data/CsvExport.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/MapJob.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/MappedFile.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace faceatlas;
using faceatlas::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

/** A user's folder with a file and a sub-folder in it. */
void makeUserFolder(const fs::path& dir)
{
    test::writeBytes(dir / "thesis.txt", "my thesis");
    test::writeBytes(dir / "sub" / "y.txt", "x");
}

void expectUserFolderIntact(const fs::path& dir)
{
    EXPECT_EQ(readFile(dir / "thesis.txt"), "my thesis");
    EXPECT_EQ(readFile(dir / "sub" / "y.txt"), "x");
}

PrepareParams demoPrepare(const fs::path& out, int faces = 120)
{
    PrepareParams p;
    p.source = "demo:" + std::to_string(faces);
    p.outDir = out;
    p.size = 32;
    return p;
}

/** A prepared demo folder, a one-epoch autoencoder and its codes under `dir`. */
void makeCodes(const fs::path& dir)
{
    PrepareJob(demoPrepare(dir / "data")).run();
    TrainParams train;
    train.model = ModelKind::Autoencoder;
    train.data = dir / "data";
    train.runDir = dir / "ae";
    train.epochs = 1;
    train.device = "cpu";
    TrainJob(train).run();
    encodeDataset(dir / "ae", dir / "data", dir / "codes", "cpu");
}

} // namespace

TEST(OutputFolderTest, PrepareRefusesAFolderThatIsNotAPreparationAndDeletesNothing)
{
    TempDir dir;
    makeUserFolder(dir / "docs");
    const std::string e = errorOf([&] { PrepareJob(demoPrepare(dir / "docs")).run(); });
    EXPECT_NE(e.find("not a FaceAtlas folder"), std::string::npos) << e;
    EXPECT_NE(e.find("docs"), std::string::npos) << e;
    expectUserFolderIntact(dir / "docs");
    // --force replaces FaceAtlas folders of another kind, never a folder of the user's.
    PrepareParams forced = demoPrepare(dir / "docs");
    forced.force = true;
    EXPECT_THROW(PrepareJob(forced).run(), Error);
    expectUserFolderIntact(dir / "docs");
    // A file in the folder's place.
    test::writeBytes(dir / "afile", "data");
    EXPECT_THROW(PrepareJob(demoPrepare(dir / "afile")).run(), Error);
    EXPECT_EQ(readFile(dir / "afile"), "data");
    // Nothing was left beside them either.
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_TRUE(entry.path().filename() == "docs" || entry.path().filename() == "afile"
                    || entry.path().filename().string().find(".lock") != std::string::npos)
            << entry.path();
}

TEST(OutputFolderTest, PrepareRefusesTheSourceFolderAndAnyFolderHoldingIt)
{
    TempDir dir;
    const fs::path photos = dir / "photos";
    for (int i = 0; i < 3; ++i)
        test::writeBytes(photos / ("p" + std::to_string(i) + ".jpg"), test::makeJpeg(64, 64, i));
    for (const fs::path& out : {photos, dir.path()}) {
        PrepareParams p;
        p.source = "folder:" + photos.string();
        p.outDir = out;
        p.size = 32;
        p.force = true;
        const std::string e = errorOf([&] { PrepareJob(p).run(); });
        EXPECT_NE(e.find("input"), std::string::npos) << out << ": " << e;
    }
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(fs::exists(photos / ("p" + std::to_string(i) + ".jpg")));
}

TEST(OutputFolderTest, KindsAreRecognisedAndForceReplacesOnlyFaceAtlasFolders)
{
    TempDir dir;
    PrepareJob(demoPrepare(dir / "prep")).run();
    EXPECT_TRUE(inspectOutputFolder(dir / "prep", OutputKind::Prepared).sameKind);
    const OutputFolderState asMap = inspectOutputFolder(dir / "prep", OutputKind::Map);
    EXPECT_TRUE(asMap.otherKind);
    EXPECT_EQ(asMap.other, OutputKind::Prepared);
    const std::string e = errorOf([&] { checkOutputFolder(dir / "prep", OutputKind::Map, {}); });
    EXPECT_NE(e.find("--force"), std::string::npos) << e;
    EXPECT_NO_THROW(checkOutputFolder(dir / "prep", OutputKind::Map, {true, {}}));
    fs::create_directories(dir / "empty");
    EXPECT_NO_THROW(checkOutputFolder(dir / "empty", OutputKind::Codes, {}));
    EXPECT_NO_THROW(checkOutputFolder(dir / "new", OutputKind::Codes, {}));
    // An older FaceAtlas's unfinished codes (no manifest yet): its own names, and a record file's magic.
    test::writeBytes(dir / "old" / "codes.f32", "1234");
    test::writeBytes(dir / "old" / "records.bin", "FAREC003 and the rest");
    EXPECT_TRUE(inspectOutputFolder(dir / "old", OutputKind::Codes).sameKind);
    // Names alone never make a folder FaceAtlas's: a user's galleries, metrics.csv or folds are refused.
    test::writeBytes(dir / "pictures" / "galleries" / "holiday.png", "png");
    test::writeBytes(dir / "sheet" / "metrics.csv", "my,numbers\n");
    test::writeBytes(dir / "notes" / ".notes.txt.tmp-1-2", "mine");
    for (const char* folder : {"pictures", "sheet", "notes"})
        for (const OutputKind kind : {OutputKind::Clustering, OutputKind::Run, OutputKind::Audit, OutputKind::Map}) {
            const OutputFolderState state = inspectOutputFolder(dir / folder, kind);
            EXPECT_FALSE(state.sameKind || state.otherKind) << folder;
            EXPECT_THROW(checkOutputFolder(dir / folder, kind, {true, {}}), Error) << folder;
        }
    EXPECT_EQ(readFile(dir / "pictures" / "galleries" / "holiday.png"), "png");
    // A link in the output's place is refused, and so is its target left alone.
    fs::create_symlink(dir / "prep", dir / "link");
    EXPECT_THROW(checkOutputFolder(dir / "link", OutputKind::Prepared, {}), Error);
    EXPECT_THROW(StagedFolder(dir / "link", OutputKind::Prepared), Error);
    EXPECT_NO_THROW(PreparedDataset::open(dir / "prep"));
}

TEST(OutputFolderTest, ForceReplacesAFolderOfAnotherKindWholeAndKeepsOnlyTheUsersFiles)
{
    TempDir dir;
    {
        StagedFolder map(dir / "out", OutputKind::Map);
        test::writeBytes(map.work() / "map.csv", "path,x,y\n");
        test::writeBytes(map.work() / "map.json", R"({"format":"faceatlas-map"})");
        map.commit();
    }
    test::writeBytes(dir / "out" / "notes.txt", "mine");
    EXPECT_THROW(StagedFolder(dir / "out", OutputKind::Codes), Error); // another kind, no --force
    {
        StagedFolder codes(dir / "out", OutputKind::Codes, {true, {}});
        test::writeBytes(codes.work() / "codes.json", R"({"format":"faceatlas-codes"})");
        codes.commit();
    }
    // The map's files went with the map; the user's note stayed; the folder is one kind now.
    EXPECT_FALSE(fs::exists(dir / "out" / "map.csv"));
    EXPECT_FALSE(fs::exists(dir / "out" / "map.json"));
    EXPECT_EQ(readFile(dir / "out" / "notes.txt"), "mine");
    EXPECT_TRUE(inspectOutputFolder(dir / "out", OutputKind::Codes).sameKind);
    EXPECT_FALSE(inspectOutputFolder(dir / "out", OutputKind::Map).sameKind);
}

TEST(OutputFolderTest, WhatAnInterruptedSwapLeftBesideIsEmptiedButTheUsersFilesAreKept)
{
    TempDir dir;
    const long child = test::deadProcessId(); // a process id that is no longer alive
    // A killed commit(): the old result with a file of the user's, beside the folder, its process gone.
    const fs::path stale = dir / (".out.tmp-" + std::to_string(child) + "-0");
    test::writeBytes(stale / "map.csv", "old");
    test::writeBytes(stale / "notes.txt", "mine");
    const fs::path work = dir / (".out.tmp-" + std::to_string(child) + "-1");
    test::writeBytes(work / "map.csv", "half");
    {
        StagedFolder next(dir / "out", OutputKind::Map);
        test::writeBytes(next.work() / "map.json", R"({"format":"faceatlas-map"})");
        next.commit();
    }
    EXPECT_FALSE(fs::exists(work));
    EXPECT_FALSE(fs::exists(stale));
    int kept = 0;
    for (const auto& entry : fs::directory_iterator(dir.path()))
        if (entry.path().filename().string().rfind("out.kept-", 0) == 0) {
            ++kept;
            EXPECT_EQ(readFile(entry.path() / "notes.txt"), "mine");
            EXPECT_FALSE(fs::exists(entry.path() / "map.csv"));
        }
    EXPECT_EQ(kept, 1);
}

TEST(OutputFolderTest, AReplacedResultKeepsTheUsersOwnFilesAndRemovesOnlyItsOwn)
{
    TempDir dir;
    {
        StagedFolder first(dir / "out", OutputKind::Map);
        test::writeBytes(first.work() / "map.csv", "path,x,y\n");
        test::writeBytes(first.work() / "map.json", R"({"format":"faceatlas-map"})");
        first.commit();
    }
    test::writeBytes(dir / "out" / "notes.txt", "mine");
    {
        StagedFolder second(dir / "out", OutputKind::Map);
        EXPECT_TRUE(second.replacing());
        test::writeBytes(second.work() / "map.csv", "path,x,y\na,1,2\n");
        test::writeBytes(second.work() / "map.json", R"({"format":"faceatlas-map","n":2})");
        second.commit();
    }
    EXPECT_EQ(readFile(dir / "out" / "notes.txt"), "mine");
    EXPECT_EQ(readFile(dir / "out" / "map.csv"), "path,x,y\na,1,2\n");
    // Nothing left beside it but the lock.
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_TRUE(entry.path().filename() == "out" || entry.path().filename() == ".out.lock") << entry.path();
    // Dropped without commit(): only its own work folder goes.
    {
        StagedFolder third(dir / "out", OutputKind::Map);
        test::writeBytes(third.work() / "map.csv", "half");
    }
    EXPECT_EQ(readFile(dir / "out" / "map.csv"), "path,x,y\na,1,2\n");
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_TRUE(entry.path().filename() == "out" || entry.path().filename() == ".out.lock") << entry.path();
}

TEST(OutputFolderTest, StaleTemporaryCleanupNeverTouchesFilesOfTheUser)
{
    TempDir dir;
    const long child = test::deadProcessId(); // a process id that is no longer alive
    const std::string pid = std::to_string(child);
    const std::vector<std::string> users{"notes.tmp-2024-12", "report.tmp-1-1", "backup.tmp-" + pid + "-3",
                                         ".mine.txt.tmp-" + pid + "-1"};
    for (const auto& name : users)
        test::writeBytes(dir / name, "mine");
    const std::string ours = ".map.csv.tmp-" + pid + "-0";
    test::writeBytes(dir / ours, "half a map");
    const auto mapFiles = [](const std::string& name) { return name == "map.csv" || name == "map.json"; };
    EXPECT_EQ(removeStaleTemporaries(dir.path(), mapFiles), 1);
    EXPECT_FALSE(fs::exists(dir / ours));
    for (const auto& name : users)
        EXPECT_EQ(readFile(dir / name), "mine") << name;
}

TEST(OutputFolderTest, ALinkPlantedAtTheTemporaryNameIsNeverFollowed)
{
    TempDir dir;
    test::writeBytes(dir / "victim.txt", "precious");
    fs::create_directories(dir / "shared");
    // Every name the next writes of this process could take.
    for (int n = 0; n < 200; ++n)
        fs::create_symlink(dir / "victim.txt",
                           dir / "shared" / (".out.csv.tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n)));
    writeFileAtomic(dir / "shared" / "out.csv", "a,b\n");
    EXPECT_EQ(readFile(dir / "shared" / "out.csv"), "a,b\n");
    EXPECT_EQ(readFile(dir / "victim.txt"), "precious");
    // The lock file beside a staged folder is never opened through a link either.
    fs::create_symlink(dir / "victim.txt", dir / "shared" / ".m.lock");
    EXPECT_THROW(StagedFolder(dir / "shared" / "m", OutputKind::Map), Error);
    EXPECT_EQ(readFile(dir / "victim.txt"), "precious");
}

TEST(OutputFolderTest, AnOutputFileThatIsALinkOrADeviceIsRefusedAndKept)
{
    TempDir dir;
    test::writeBytes(dir / "real.csv", "old");
    fs::create_symlink(dir / "real.csv", dir / "link.csv");
    const std::string e = errorOf([&] { writeFileAtomic(dir / "link.csv", "new"); });
    EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
    EXPECT_TRUE(fs::is_symlink(dir / "link.csv"));
    EXPECT_EQ(readFile(dir / "real.csv"), "old");
    EXPECT_THROW(checkOutputFile("/dev/null"), Error);
    EXPECT_NO_THROW(checkOutputFile(dir / "real.csv"));
    EXPECT_NO_THROW(checkOutputFile(dir / "new.csv"));
    // Nothing left behind by the refused write.
    int entries = 0;
    for (const auto& entry : fs::directory_iterator(dir.path()))
        entries += entry.path().filename().string()[0] == '.';
    EXPECT_EQ(entries, 0);
}

TEST(OutputFolderTest, CodesAreNeverRewrittenUnderAReaderAndAFailedEncodeKeepsThem)
{
    TempDir dir;
    makeCodes(dir.path());
    const Codes before = Codes::open(dir / "codes");
    const std::string bytes(reinterpret_cast<const char*>(before.tensor().data_ptr<float>()),
                            before.count() * before.dim() * sizeof(float));
    struct stat old {};
    ASSERT_EQ(::stat((dir / "codes" / "codes.f32").c_str(), &old), 0);
    // Encoding again while `before` maps the codes: a new file is swapped in (another inode), and the
    // mapping keeps the old bytes.
    encodeDataset(dir / "ae", dir / "data", dir / "codes", "cpu");
    struct stat now {};
    ASSERT_EQ(::stat((dir / "codes" / "codes.f32").c_str(), &now), 0);
    EXPECT_NE(now.st_ino, old.st_ino);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(before.tensor().data_ptr<float>()), bytes.size()), bytes);
    EXPECT_EQ(Codes::open(dir / "codes").count(), before.count());
    // A failed encode (the run is no autoencoder's) and a cancelled one leave the codes as they were.
    const std::string manifest = readFile(dir / "codes" / "codes.json");
    EXPECT_THROW(encodeDataset(dir / "data", dir / "data", dir / "codes", "cpu"), Error);
    CancelToken cancel;
    cancel.requestCancel();
    encodeDataset(dir / "ae", dir / "data", dir / "codes", "cpu", cancel);
    // A failure after the codes began to be written (the progress callback throws after the first batch).
    EXPECT_THROW(encodeDataset(dir / "ae", dir / "data", dir / "codes", "cpu", {},
                               [](const JobProgress&) { throw Error("stopped half way"); }),
                 Error);
    EXPECT_EQ(readFile(dir / "codes" / "codes.json"), manifest);
    EXPECT_EQ(Codes::open(dir / "codes").count(), before.count());
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_EQ(entry.path().filename().string().find(".codes.tmp"), std::string::npos) << entry.path();
    // Codes written into the prepared folder or the run are refused, whatever --force says.
    EXPECT_THROW(encodeDataset(dir / "ae", dir / "data", dir / "data", "cpu", {}, {}, /*force=*/true), Error);
    EXPECT_THROW(encodeDataset(dir / "ae", dir / "data", dir.path(), "cpu", {}, {}, /*force=*/true), Error);
    EXPECT_NO_THROW(PreparedDataset::open(dir / "data"));
}

TEST(OutputFolderTest, AFullDiskIsAnErrorAndKeepsTheEarlierCodes)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to mount a small tmpfs";
    TempDir dir;
    const fs::path small = dir / "small";
    fs::create_directories(small);
    if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m") != 0)
        GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    struct Unmount {
        fs::path p;
        ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
    } unmount{small};
    makeCodes(dir.path());
    encodeDataset(dir / "ae", dir / "data", small / "codes", "cpu");
    const std::string manifest = readFile(small / "codes" / "codes.json");
    // Fill the disk, then encode again: an Error that names the folder and the bytes needed, no SIGBUS.
    {
        const int fd = ::open((small / "filler").c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_GE(fd, 0);
        const std::string block(1 << 16, 'x');
        while (::write(fd, block.data(), block.size()) > 0) {
        }
        ::close(fd);
    }
    const std::string e = errorOf([&] { encodeDataset(dir / "ae", dir / "data", small / "codes", "cpu"); });
    EXPECT_NE(e.find("disk space"), std::string::npos) << e;
    EXPECT_EQ(readFile(small / "codes" / "codes.json"), manifest);
    EXPECT_NO_THROW(Codes::open(small / "codes"));
    // A mapped file that cannot have its blocks is refused before any write through it.
    const std::string m = errorOf([&] { MappedFile::create(small / "big.bin", 64u << 20); });
    EXPECT_NE(m.find("needs 64.0 MB"), std::string::npos) << m;
    EXPECT_FALSE(fs::exists(small / "big.bin"));
}

TEST(OutputFolderTest, ClusterAndMapRefuseForeignFoldersAndReplaceTheirOwnWhole)
{
    TempDir dir;
    makeCodes(dir.path());
    makeUserFolder(dir / "mine");
    MapParams map;
    map.codes = dir / "codes";
    map.outDir = dir / "mine";
    map.method = "pca";
    map.device = "cpu";
    EXPECT_THROW(computeMap(map), Error);
    expectUserFolderIntact(dir / "mine");
    ClusterParams cluster;
    cluster.codes = dir / "codes";
    cluster.outDir = dir / "mine";
    cluster.k = 2;
    cluster.device = "cpu";
    EXPECT_THROW(ClusterJob(cluster).run(), Error);
    expectUserFolderIntact(dir / "mine");
    // The codes folder itself is an input: never an output.
    cluster.outDir = dir / "codes";
    cluster.force = true;
    EXPECT_THROW(ClusterJob(cluster).run(), Error);
    EXPECT_NO_THROW(Codes::open(dir / "codes"));
    // Into its own folder twice: the second replaces the first whole.
    cluster.outDir = dir / "k";
    cluster.force = false;
    cluster.k = 3;
    ClusterJob(cluster).run();
    EXPECT_TRUE(fs::exists(dir / "k" / "centroids" / "2.png"));
    cluster.k = 2;
    ClusterJob(cluster).run();
    EXPECT_FALSE(fs::exists(dir / "k" / "centroids" / "2.png")); // none of the k = 3 clustering is left
    EXPECT_TRUE(fs::exists(dir / "k" / "centroids" / "1.png"));
    EXPECT_EQ(readAssignments(dir / "k", Codes::open(dir / "codes").records()).size(),
              Codes::open(dir / "codes").count());
}

TEST(OutputFolderTest, APreparedFolderIsReadFromOneFolderEvenWhenAnotherIsSwappedIn)
{
    TempDir dir;
    PrepareJob(demoPrepare(dir / "a", 60)).run();
    PrepareJob(demoPrepare(dir / "b", 90)).run();
    const OpenFolder folder(dir / "a");
    const std::string manifest = folder.read(PreparedDataset::kManifest);
    // b swapped into a's place while a is open: the open folder still reads a's files, and knows it moved.
    ASSERT_EQ(::renameat2(AT_FDCWD, (dir / "b").c_str(), AT_FDCWD, (dir / "a").c_str(), RENAME_EXCHANGE), 0);
    EXPECT_FALSE(folder.stillAtPath());
    EXPECT_EQ(folder.read(PreparedDataset::kManifest), manifest);
    EXPECT_NE(readFile(dir / "a" / PreparedDataset::kManifest), manifest);
    // Opened by path, the folder now there is opened whole: records and images of the same preparation.
    const PreparedDataset now = PreparedDataset::open(dir / "a");
    EXPECT_EQ(now.manifestJson(), readFile(dir / "a" / PreparedDataset::kManifest));
    EXPECT_EQ(now.count(), nlohmann::json::parse(now.manifestJson()).at("count").get<size_t>());
    // A file that is a link is never read through the folder.
    fs::create_symlink(dir / "a" / PreparedDataset::kManifest, dir / "b" / "link.json");
    const OpenFolder b(dir / "b");
    EXPECT_THROW(b.read("link.json"), Error);
}

TEST(OutputFolderTest, PathsWithCommasQuotesAndLineBreaksSurviveAssignmentsAndExport)
{
    TempDir dir;
    std::vector<Record> records(4);
    records[0].path = "/faces/plain.jpg";
    records[1].path = "/faces/a,b.jpg";
    records[2].path = "/faces/say \"hi\".jpg";
    records[3].path = "/faces/two\nlines.jpg";
    test::writeBytes(dir / "k" / "assignments.csv", assignmentsCsv(records, {0, 1, -1, 2}));
    EXPECT_EQ(readAssignments(dir / "k", records), (std::vector<int>{0, 1, -1, 2}));
    // Another preparation's records are refused, naming the file.
    records[1].path = "/faces/other.jpg";
    const std::string e = errorOf([&] { readAssignments(dir / "k", records); });
    EXPECT_NE(e.find("assignments.csv"), std::string::npos) << e;
    // The csv: source reads back what export writes, line breaks in names included: a preparation of
    // pictures so named, exported, then read as a csv: source.
    const fs::path photos = dir / "photos";
    const std::vector<std::string> names{"two\nlines.jpg", "a,b.jpg", "say \"hi\".jpg", "plain.jpg"};
    for (size_t i = 0; i < names.size(); ++i)
        test::writeBytes(photos / names[i], test::makeJpeg(64, 64, static_cast<int>(i)));
    PrepareParams prep;
    prep.source = "folder:" + photos.string();
    prep.outDir = dir / "prepared";
    prep.size = 32;
    prep.framing = Framing::CentreCrop;
    prep.cleaning.minImageSize = 0;
    PrepareJob(prep).run();
    const PreparedDataset prepared = PreparedDataset::open(dir / "prepared");
    ASSERT_EQ(prepared.count(), names.size());
    exportCsvDataset(prepared, {}, dir / "export.csv");
    const LoadedDataset loaded = readCsv(dir / "export.csv");
    EXPECT_EQ(loaded.malformed, 0u);
    ASSERT_EQ(loaded.records.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i)
        EXPECT_EQ(loaded.records[i].path, prepared.records()[i].path);
    // An unterminated quote costs its own line only.
    const LoadedDataset damaged = parseCsv("path,age\n\"open.jpg,20\nnext.jpg,30\n", dir.path(), "faces.csv");
    EXPECT_EQ(damaged.malformed, 1u);
    ASSERT_EQ(damaged.records.size(), 1u);
    EXPECT_EQ(damaged.records[0].path, (dir / "next.jpg").string());
}

TEST(OutputFolderTest, AnAuditIsNeverReadAsAMixOfTwoAndRefusesFoldersNotItsOwn)
{
    TempDir dir;
    PrepareJob(demoPrepare(dir / "data", 150)).run();
    makeUserFolder(dir / "docs");
    AuditParams p;
    p.data = dir / "data";
    p.out = dir / "docs";
    p.predict = false;
    EXPECT_THROW(AuditJob(p).run(), Error);
    expectUserFolderIntact(dir / "docs");
    p.out = dir / "a";
    AuditJob(p).run();
    EXPECT_NO_THROW(readAudit(dir / "a"));
    p.out = dir / "b";
    p.nearDistance = 0;
    AuditJob(p).run();
    // Another audit's table beside this audit.json (an audit interrupted between its renames): refused.
    if (readFile(dir / "a" / "duplicates.csv") != readFile(dir / "b" / "duplicates.csv")) {
        fs::copy_file(dir / "b" / "duplicates.csv", dir / "a" / "duplicates.csv", fs::copy_options::overwrite_existing);
        const std::string e = errorOf([&] { readAudit(dir / "a"); });
        EXPECT_NE(e.find("not the ones audit.json was written with"), std::string::npos) << e;
    } else {
        test::writeBytes(dir / "a" / "suspects.csv", readFile(dir / "a" / "suspects.csv") + "\n");
        EXPECT_THROW(readAudit(dir / "a"), Error);
    }
}
