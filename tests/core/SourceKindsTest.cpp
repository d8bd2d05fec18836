// The table of source kinds (data/SourceKinds) against the readers, the SPEC parser and the path guess
// that read it.
#include "TestSupport.h"

#include "data/MetadataChecks.h"
#include "data/Readers.h"
#include "data/SourceKinds.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace faceatlas;
using faceatlas::test::TempDir;

TEST(SourceKindsTest, EveryKindHasOneRowAndItsNameReadsBack)
{
    std::set<std::string> names;
    std::set<int> kinds;
    for (const SourceKindInfo& s : sourceKinds()) {
        EXPECT_TRUE(names.insert(s.name).second) << s.name;
        EXPECT_TRUE(kinds.insert(static_cast<int>(s.kind)).second) << s.name;
        EXPECT_STREQ(sourceKindName(s.kind), s.name);
        EXPECT_EQ(parseSourceKind(s.name), s.kind);
        EXPECT_EQ(&sourceKindInfo(s.kind), &s);
        EXPECT_NE(std::string(s.description), "");
        // A kind opened from the File menu has a dialog; one without an entry (the demo) has its own action.
        EXPECT_EQ(*s.menuText != 0, *s.dialogTitle != 0) << s.name;
        EXPECT_FALSE(*s.fileFilter && s.pathIsFolder) << s.name << ": a folder is not chosen with a file filter";
    }
    for (const SourceKind k :
         {SourceKind::ImdbWiki, SourceKind::UtkFace, SourceKind::Csv, SourceKind::Folder, SourceKind::Demo})
        EXPECT_EQ(kinds.count(static_cast<int>(k)), 1u) << static_cast<int>(k);
    EXPECT_EQ(sourceSpecList(), "imdb-wiki:PATH.mat, utkface:DIR, csv:FILE, folder:DIR or demo[:N]");
}

TEST(SourceKindsTest, AnUnknownKindNamesEveryKindAndAMissingPathGivesTheKindsExample)
{
    try {
        openSource("flickr:/photos");
        FAIL() << "an unknown kind opened";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown kind 'flickr'"), std::string::npos) << e.what();
        for (const SourceKindInfo& s : sourceKinds())
            EXPECT_NE(std::string(e.what()).find(sourceSpecForm(s)), std::string::npos) << e.what();
    }
    for (const SourceKindInfo& s : sourceKinds()) {
        if (s.kind == SourceKind::Demo)
            continue;
        try {
            openSource(std::string(s.name) + ":");
            FAIL() << s.name << " opened without a path";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(std::string(s.name) + ":" + s.example), std::string::npos) << e.what();
        }
    }
}

TEST(SourceKindsTest, EachReaderGivesItsKindAndTheSourceFolderFollowsTheTable)
{
    TempDir dir;
    test::writeBytes(dir / "utk" / "25_0_0_20170116174525125.jpg.chip.jpg", "x");
    test::writeBytes(dir / "photos" / "a.jpg", "x");
    test::writeBytes(dir / "faces.csv", "path,age\nphotos/a.jpg,30\n");
    const std::string root = dir.path().string();
    for (const auto& [spec, kind] : {std::pair{"utkface:" + root + "/utk", SourceKind::UtkFace},
                                     std::pair{"folder:" + root + "/photos", SourceKind::Folder},
                                     std::pair{"csv:" + root + "/faces.csv", SourceKind::Csv}}) {
        const LoadedDataset d = openSource(spec);
        EXPECT_EQ(d.kind, kind) << spec;
        EXPECT_EQ(d.records.size(), 1u) << spec;
        EXPECT_EQ(sourceKindOfSpec(spec)->kind, kind);
    }
    EXPECT_EQ(sourceFolder("utkface:" + root + "/utk"), dir / "utk");
    EXPECT_EQ(sourceFolder("csv:" + root + "/faces.csv"), dir.path());
    EXPECT_EQ(sourceFolder("imdb-wiki:" + root + "/wiki.mat"), dir.path());
    EXPECT_EQ(sourceFolder("demo:40"), std::filesystem::path());
    EXPECT_EQ(sourceFolder("nope:" + root), std::filesystem::path());
}

TEST(SourceKindsTest, APathOpensAsTheKindTheTableGuesses)
{
    TempDir dir;
    test::writeBytes(dir / "utk" / "1_0_0_20161219140623097.jpg.chip.jpg", "x");
    test::writeBytes(dir / "utk" / "notes.txt", "x");
    test::writeBytes(dir / "photos" / "a.jpg", "x");
    test::writeBytes(dir / "wiki.MAT", "x");
    test::writeBytes(dir / "faces.csv", "path\n");
    test::writeBytes(dir / "notes.txt", "x");
    const std::string root = dir.path().string();
    EXPECT_EQ(guessSourceSpec(root + "/utk"), "utkface:" + root + "/utk");
    EXPECT_EQ(guessSourceSpec(root + "/photos/"), "folder:" + root + "/photos");
    EXPECT_EQ(guessSourceSpec(root + "/wiki.MAT"), "imdb-wiki:" + root + "/wiki.MAT");
    EXPECT_EQ(guessSourceSpec(root + "/faces.csv"), "csv:" + root + "/faces.csv");
    // Not a kind's file, a SPEC, or nothing at all: passed on for openSource to judge.
    EXPECT_EQ(guessSourceSpec(root + "/notes.txt"), root + "/notes.txt");
    EXPECT_EQ(guessSourceSpec("csv:" + root + "/faces.csv"), "csv:" + root + "/faces.csv");
    EXPECT_EQ(guessSourceSpec(root + "/gone"), root + "/gone");
    EXPECT_EQ(guessSourceSpec("demo"), "demo");
}
