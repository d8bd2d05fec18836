#pragma once
// The kinds of dataset source, in one table: what the CLI's help, the man page, the window's File
// menu, the path guess of a dropped file and the cleaning steps know about each. A new kind of
// source is a row here, its reader (data/Readers.h) and its row in openSource's reader table.

#include "data/Record.h"

#include <filesystem>
#include <string>
#include <vector>

namespace faceatlas {

struct SourceKindInfo {
    SourceKind kind;
    const char* name;        // the SPEC's prefix, as run.json and prepared.json spell it: "imdb-wiki"
    const char* argument;    // what follows "NAME:" in a SPEC ("PATH.mat", "DIR"); the demo's is optional
    const char* example;     // a path for messages: "wiki_crop/wiki.mat"
    const char* description; // a sentence for the help and the man page
    /** The window's File menu: the entry ("Open &UTKFace folder...", '&' before its key) and its
     *  shortcut ("Ctrl+U", or ""). The dialog chooses a folder when `fileFilter` is empty. */
    const char* menuText;
    const char* shortcut;
    const char* dialogTitle;
    const char* fileFilter;    // "MAT-files (*.mat)"
    const char* fileExtension; // a file with it opens as this kind (".mat"); "" for folders
    const char* folderMarker;  // a folder holding a file named "*MARKER" opens as this kind; "" any folder
    bool pathIsFolder;         // the path names a folder of images (else a file beside its images)
    bool metadataFaceScores;   // the records carry the source's own face scores (else, aligned, the detector's)
    bool alreadyFramed;        // the images are framed faces already: centre-crop by default, no detection
};

/** Every kind, in the order menus and help list them. */
const std::vector<SourceKindInfo>& sourceKinds();
/** The row of `kind` (every kind has one). */
const SourceKindInfo& sourceKindInfo(SourceKind kind);
/** The row called `name`, or nullptr. */
const SourceKindInfo* findSourceKind(const std::string& name);
/** The row of a SPEC's prefix ("utkface:/data" -> utkface, "demo" -> demo), or nullptr. */
const SourceKindInfo* sourceKindOfSpec(const std::string& spec);
/** A kind's SPEC as help shows it: "utkface:DIR", "demo[:N]". */
std::string sourceSpecForm(const SourceKindInfo& kind);
/** "imdb-wiki:PATH.mat, utkface:DIR, csv:FILE, folder:DIR or demo[:N]": for errors and help. */
std::string sourceSpecList();
/**
 * The SPEC a path opens as, by the table: a file by its extension, a folder by a marker file in it
 * (UTKFace's "*.jpg.chip.jpg"), else a folder of images. A path that exists as neither, or a file
 * of no kind, is returned as it is (openSource then says what is wrong with it).
 */
std::string guessSourceSpec(const std::string& path);

} // namespace faceatlas
