// The dataset commands: inspect, prepare, export, history, diff.
#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

namespace {

const char* const kSourceHelp =
    "the dataset, as KIND:PATH, one of the kinds above (a PATH starting with ~ starts in $HOME)";
const char* const kSources = "SPEC is one of:\n\n{sources}";

CommandSpec inspect()
{
    return {
        "inspect",
        "read a dataset's metadata and show its first records",
        "",
        "",
        std::string("Reads a dataset's metadata (no images) and prints the record count and the first N records.\n\n")
            + kSources,
        {
            {"source", "SPEC", kSourceHelp, "", true},
            {"head", "N", "records to show", "10"},
            jsonOption("one JSON object for the dataset, then one per record (JSON lines); scores that are not "
                       "finite are written as the strings \"-inf\" and \"nan\", as in IMDB-WIKI"),
        },
        ""};
}

std::vector<OptionSpec> prepareOptions()
{
    return {
        {"source", "SPEC", kSourceHelp, "", true},
        {"out", "DIR",
         "the prepared dataset folder: new, empty, or an earlier preparation (written beside it and swapped in; "
         "its images are reused when they match)",
         "", true},
        forceOption(),
        {"size", "S", "image side in pixels; 150 reproduces the capstone", "64"},
        {"framing", "aligned|centre-crop",
         "how faces become squares. aligned (the default; the demo's drawn faces: centre-crop) finds each face "
         "with dlib's HOG detector and its 68-point landmark model (Debian's libdlib-data) and turns, scales and "
         "shifts it so that the eyes, nose and mouth land on one template, never changing the aspect ratio; a face "
         "not found is centre-cropped and its face score is -Inf. What the detector found (faces, score, box, roll, "
         "yaw) joins each record, its landmarks go to DIR/landmarks.f32, and findings are cached, so a second "
         "preparation detects nothing again. centre-crop takes the centred square without detection"},
        {"faces", "best|every",
         "aligned, for photos (not IMDB-WIKI): the best face of each picture, or every face found, each a record of "
         "its own, so that a folder of group photos becomes a dataset of faces. A picture's labels go to its best "
         "face only; files name the faces PATH#faceN",
         "best"},
        {"min-face-score", "X",
         "drop IMDB-WIKI faces scored below X by its metadata (-Inf, no face found, is always dropped)", "1.0"},
        {"min-detector-score", "X",
         "for other sources, aligned: drop faces the detector found with a confidence below X (dlib's HOG, about "
         "0-3; 0 drops only images where no face was found)",
         "0"},
        {"no-face-score-filter", "", "keep every face score (even -Inf: faces not found are then centre-cropped)"},
        {"keep-multiple-faces", "",
         "keep images in which a second face was found (IMDB-WIKI's metadata, else the aligned framing's detector)"},
        {"age-min", "A", "keep ages from A", "15"},
        {"age-max", "B", "keep ages up to B", "65"},
        {"no-age-filter", "", "keep every age"},
        {"min-image-size", "P", "drop images smaller than P x P pixels (0 keeps all)", "90"},
        {"max-yaw", "D",
         "drop faces turned further than D degrees by the detector's rough yaw estimate, which tops out near 34 for "
         "a profile (0 keeps all)",
         "25"},
        {"min-face-size", "P", "drop faces whose box is narrower than P pixels of their picture (0 keeps all)", "32"},
        {"val-fraction", "F", "the validation share (not with --val-count)", "0.2"},
        {"val-count", "N", "an exact validation size instead of a share"},
        {"balance", "age|none", "resample the training set so that every age has the same share, or not", "age"},
        {"balance-size", "N", "training set size after resampling (default: unchanged)"},
        {"seed", "N", "split and resampling seed", "42"},
        threadsOption("decoding threads"),
        {"review", "FILE",
         "apply a review file (path,action,old,new,reason,time; actions keep, age, gender, exclude and undo, which "
         "takes the decision back; the last decision for a path wins): its excluded faces are the cleaning step "
         "\"excluded in review\" with its own removed and remaining counts, its corrected ages and genders replace "
         "the source's labels, and the report's review object counts each"},
        {"min-sharpness", "X",
         "a quality step, off by default, after the others: drop stored faces whose sharpness (the variance of the "
         "Laplacian, measured on the stored face; see 'export --quality') is below X"},
        {"min-brightness", "X", "a quality step: drop stored faces whose mean grey level is below X"},
        {"max-brightness", "X", "a quality step: drop stored faces whose mean grey level is above X"},
        {"min-contrast", "X", "a quality step: drop stored faces whose RMS contrast is below X"},
        {"max-brisque", "X", "a quality step: drop stored faces whose BRISQUE score (higher: worse) is above X"},
        {"keep-earlier", "",
         "keep the preparation DIR holds as a version when this one replaces it: in versions/NAME-CREATED beside "
         "DIR, as hard links, removed again when this preparation is the same one. 'history' lists the versions, "
         "'diff' compares two, 'history --remove' removes one"},
        jsonOption("print the report as one JSON object (records_read, steps, train, val, age_histogram_before, "
                   "age_histogram_after, skipped_files, ...)"),
    };
}

CommandSpec prepare()
{
    return {"prepare",
            "clean, split and resample a dataset and cache its images for training",
            "",
            "",
            "Runs the capstone's cleaning steps in order, each reporting what it removed and what remains (missing "
            "or unreadable image, more than one face, face score below the threshold, age outside the range, image "
            "too small, face turned too far, face too small, then the quality steps asked for), splits the records "
            "into training and validation sets with a seed, resamples the training set so that every age has the "
            "same share (the validation set is never resampled), and stores every kept image resized to S x S as "
            "uint8 in DIR/images.u8, a memory-mapped cache that training reads without decoding. Corrupt, empty, "
            "truncated and missing images are skipped and listed. Running it again on the same files and size "
            "reuses the images.\n\n"
                + std::string(kSources),
            prepareOptions(),
            ""};
}

CommandSpec exportCommand()
{
    return {"export",
            "the cleaned dataset as CSV (the csv: source format)",
            "",
            "",
            "Writes the cleaned dataset as CSV in the format of the csv: source (path,age,gender,split, and a last "
            "column face, which face of its photo, when the preparation took every face of each photo), one row per "
            "face the prepared folder holds, with the labels a review corrected. Any tool that reads CSV reads it, "
            "and 'faceatlas-cli prepare --source csv:FILE.csv' prepares it again.",
            {
                {"data", "PREPARED", "a prepared dataset folder", "", true},
                {"out", "FILE.csv", "the CSV file to write (a link or a device is refused)", "", true},
                {"quality", "",
                 "add the quality columns prepare measured on each stored face (the aligned S x S face, so a value "
                 "does not depend on the picture's size): sharpness (variance of the Laplacian), brightness (mean "
                 "grey level), contrast (RMS), colourfulness (Hasler and Suesstrunk) and brisque (OpenCV's BRISQUE "
                 "with the LIVE model from Debian's opencv-data; higher is worse). A preparation made before "
                 "FaceAtlas measured them is refused with a message"},
            },
            ""};
}

CommandSpec history()
{
    return {"history",
            "the versions (preparations) of a dataset's source, the disk each holds; removes one",
            "",
            "",
            "Lists the versions of the source PREPARED was prepared from, oldest first: every preparation of that "
            "source beside PREPARED (the workspace's prepared/ folder) and the earlier ones kept in its versions/ "
            "folder (the window keeps a preparation it replaces; 'prepare --keep-earlier' does too): when, the "
            "settings, the review decisions applied, the counts, and the disk each holds (files shared with another "
            "version, an image cache a later one reused, are freed with the last).",
            {
                {"data", "PREPARED", "a prepared dataset folder", "", true},
                {"remove", "DIR",
                 "remove the preparation in DIR (one of the list, or any FaceAtlas preparation): only the files "
                 "FaceAtlas wrote there, then the folder if nothing else is in it. Refused, naming the folder, for a "
                 "folder that is not a FaceAtlas preparation and for PREPARED itself"},
                jsonOption("one JSON object: {\"versions\": [...]} (and \"removed\" with --remove)"),
            },
            ""};
}

CommandSpec diff()
{
    return {"diff",
            "the faces removed, added or relabelled between two preparations, and by what",
            "",
            "A B",
            "Which faces were removed, added or relabelled from preparation A to preparation B of one source (two "
            "prepared dataset folders; see 'history'), and by what: a review decision (an exclusion, a corrected age "
            "or gender), a cleaning step (the step and its setting), or the source itself. Faces are matched by "
            "their source path (PATH#faceN for one of several faces of a photo). The review decisions a preparation "
            "applied are the rows of its review file written up to its creation time. Prints a summary. Folders "
            "that are not two preparations of one source are refused, naming the file.",
            {
                {"out", "DIR",
                 "write diff.csv (path,change,cause,detail,old_age,new_age,old_gender,new_gender) and diff.json "
                 "(both versions, counts by change and cause, every change): a new or empty folder, or an earlier "
                 "diff"},
                jsonOption("print diff.json instead of the summary"),
            },
            ""};
}

} // namespace

std::vector<CommandSpec> dataCommands()
{
    return {inspect(), prepare(), exportCommand(), history(), diff()};
}

} // namespace faceatlas::cli
