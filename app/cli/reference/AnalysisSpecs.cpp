// The analysis commands: cluster, cluster-name, attention, map, similar, slices.
#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

namespace {

CommandSpec cluster()
{
    CommandSpec c{
        "cluster",
        "k-means on codes: galleries, decoded centroids, quality against labels",
        "--codes CODES --out DIR (--k K | --k-range A:B) [options]",
        "",
        "k-means on autoencoder codes (k-means++ seeding, restarts, CUDA when available). DIR receives "
        "assignments.csv (path,cluster), clusters.json (size, age statistics and gender mix per cluster), "
        "cluster_names.json (the companion of assignments.csv: per cluster a summary - size, median age and "
        "quartiles, gender and race shares, the audit's flagged share, the framing groups - an automatic label from "
        "the two largest deviations from the whole clustering (such as older and mostly female), and the name given "
        "with cluster-name), metrics.json (inertia, silhouette, Davies-Bouldin, NMI and ARI "
        "against age decades and gender, the sweep when a range was given), centroids.f32 (the k centres, k x D "
        "float32), centroids/<c>.png (the decoded mean code of each cluster), medoids/<c>.png, galleries/<c>.png "
        "(centroid and nearest members; the farthest below), interpolation.png (between the two largest clusters; "
        "the desktop application joins any two) and age_direction.png (the mean face moved along the direction "
        "from the youngest tenth to the oldest).",
        {
            {"codes", "CODES", "a codes folder written by encode", "", true},
            {"out", "DIR", "the clustering's folder: new, empty or an earlier clustering", "", true},
            {"k", "K", "the number of clusters (not with --k-range)"},
            {"k-range", "A:B", "sweep k = A..B and keep the k with the highest silhouette"},
            {"restarts", "R", "k-means++ starts; the lowest inertia wins", "1"},
            {"max-iter", "N", "Lloyd iterations at most", "100"},
            {"seed", "N", "the seed of k-means++ and of the silhouette's sample", "1"},
            deviceOption("where k-means runs"),
            {"audit", "DIR",
             "count the faces this label audit (of the same preparation) flags in each cluster's summary"},
            jsonOption("print metrics.json"),
            forceOption(),
            threadsOption("CPU threads"),
        },
        ""};
    const auto dist = distributedOptions(
        "Lloyd's iterations on N processes of this machine: each assigns its share of the codes and the sums are "
        "added over the processes (the same centres as one process, up to the order of float sums); rank 0 writes "
        "DIR");
    c.options.insert(c.options.end(), dist.begin(), dist.end());
    return c;
}

CommandSpec clusterName()
{
    return {"cluster-name",
            "list a clustering's cluster labels and summaries, or name a cluster",
            "--clusters DIR [--cluster N --name TEXT] [options]",
            "",
            "Lists the clusters of the clustering in DIR with their summaries (size, median age and quartiles, "
            "gender and race shares, the share the label audit flags, the framing groups), automatic labels (from "
            "the two largest deviations from the whole clustering, such as older and mostly female) and names; with "
            "--cluster and --name, names cluster N (--name \"\" gives it back its automatic label). Names are kept "
            "in DIR/cluster_names.json (written whole and renamed into place; a file that is not JSON, holds another "
            "number of clusters or a name with line breaks is an error naming it, and is left as it is) and shown "
            "by the desktop application's Clusters page, map legend and grid filter. A clustering made before "
            "FaceAtlas kept names gets its summaries from its preparation (metrics.json's data) when it is first "
            "named.",
            {
                {"clusters", "DIR", "a folder written by cluster", "", true},
                {"cluster", "N", "the cluster to name, 0 to k-1"},
                {"name", "TEXT", "its name: at most 120 bytes of text, no line breaks"},
                jsonOption("print cluster_names.json"),
            },
            ""};
}

CommandSpec attention()
{
    return {"attention",
            "an attention map over a face (code layer, feature maps, signed Grad-CAM)",
            "",
            "",
            "Lays an attention map over a face, by one of three methods (--method):\n\n"
            "  code      the autoencoder's code layer: where the 8 x s x s code is large (the capstone's map)\n"
            "  features  a conv layer's activations (--layer; --channel, or the mean of the channels)\n"
            "  gradcam   signed Grad-CAM for the predicted age: red pushes the age up, blue pulls it down",
            {
                {"run", "RUN", "the run folder of the model", "", true},
                {"image", "FILE", "the image file of the face", "", true},
                {"method", "code|features|gradcam", "the map, as above", "", true},
                {"out", "FILE.png", "the picture to write", "", true},
                {"layer", "L", "conv1, conv2, ... (default: the last conv layer)"},
                {"channel", "C", "one channel of the layer, for features (default: the mean of all channels)"},
                {"opacity", "X", "the map's opacity, 0 to 1", "0.5"},
                {"colormap", "jet|viridis|inferno", "the colour map of unsigned maps", "jet"},
                {"size", "P", "the side of the written image in pixels, 16 to 4096", "256"},
            },
            ""};
}

CommandSpec map()
{
    return {"map",
            "a 2-D map of codes (neighbour embedding or PCA) with its neighbour recall",
            "",
            "",
            "A 2-D map of the codes. DIR receives map.csv (path,x,y,preserved: one row per code, in code order, the "
            "path as the codes hold it; preserved is the share of the face's 10 nearest codes that are among its 10 "
            "nearest points on the map) and map.json (method, every setting, seconds, the mean preservation, and the "
            "neighbour recall on a seeded sample of 1,000 faces, computed exactly on both sides).\n\n"
            "METHOD is one of:\n\n"
            "{projections}",
            {
                {"codes", "CODES", "a codes folder written by encode", "", true},
                {"out", "DIR", "the map's folder: new, empty or an earlier map", "", true},
                {"method", "METHOD", "the projection, one of the list above", "neighbors"},
                {"neighbors", "K",
                 "the neighbourhood's size, 2 to 200; as umap-learn's n_neighbors it counts the face itself, so the "
                 "graph holds K-1 other faces",
                 "15"},
                {"min-dist", "D", "how tightly neighbours may pack on the map, 0 to 1 (UMAP's min_dist)", "0.1"},
                {"epochs", "E",
                 "the layout's epochs, 1 to 5000 (default: 500 up to 10,000 faces, 200 up to 100,000, then 120)"},
                {"knn", "exact|hnsw|auto",
                 "the neighbour graph: exact (blocked matrix products), hnsw (approximate, an HNSW index; map.json "
                 "records its recall against the exact search on a sample) or auto (hnsw from 50,000 faces)",
                 "auto"},
                {"knn-dims", "auto|all|N",
                 "the space the graph is searched in: all (every dimension of the codes), N (the top N principal "
                 "components) or auto (with hnsw, the top 64 when they hold 95% of the variance, else all); map.json "
                 "records the dimensions searched and the share of the variance they hold",
                 "auto"},
                {"seed", "S", "the layout's seed: the same codes and seed give the same map", "1"},
                {"threads", "T",
                 "threads for the neighbour search and the layout, 1 to 64 (with 1 the same seed gives the same map; "
                 "more is faster, about 1.7x on two cores, but the map then differs a little from run to run)",
                 "1"},
                deviceOption("where the matrix products run (the layout runs on the CPU)"),
                jsonOption("print map.json"),
                forceOption(),
            },
            ""};
}

CommandSpec similar()
{
    return {"similar",
            "the nearest faces to a face of the codes or to an image file",
            "--codes CODES (--path P | --image FILE) [options]",
            "",
            "The K nearest faces in code space (Euclidean distance), nearest first, as path,distance lines after a "
            "header, by one brute-force pass over all the codes.",
            {
                {"codes", "CODES", "a codes folder written by encode", "", true},
                {"path", "P",
                 "a face of the codes, as its path appears in map.csv or assignments.csv; it is left out of its own "
                 "list"},
                {"image", "FILE",
                 "any image file, framed as the run's training faces were (aligned or centre-cropped) and encoded "
                 "with the codes' autoencoder run"},
                {"k", "K", "how many faces", "10"},
                jsonOption("one JSON object: the query and the faces with their distances"),
            },
            ""};
}

CommandSpec slices()
{
    return {"slices",
            "an age model's error by slice (gender, race, age decade, ...) with bootstrap intervals",
            "",
            "",
            "An age model's error by slice: for each group of faces, the number of faces, the mean absolute error "
            "(MAE) and the signed bias (mean of predicted minus true; negative: read too young), each with a 95% "
            "percentile-bootstrap interval (each slice resampled within itself, seeded), the MAE of always predicting "
            "the training set's median age on that slice (the baseline), and the MAE with every age-year cell of the "
            "slice weighted equally (as NIST's age-estimation evaluation reports it). Slices under --min-n faces are "
            "flagged \"small\", never hidden. Also, per grouping, the gap between the best and the worst slice with "
            "its interval. DIR (new, empty or an earlier slice report) receives slices.csv (by, slice, n, mae, "
            "mae_lo, mae_hi, bias, bias_lo, bias_hi, baseline_mae, equal_weight_mae, flag, audit_flagged, "
            "audit_share; the last two empty without --audit) and slices.json (the run, the data's fingerprint, the "
            "settings, the rows, the gaps and the audit).\n\n"
            "The attributes a grouping names:\n\n"
            "{slice-attributes}\n\n"
            "  cluster        the face's cluster in --clusters DIR (outside its clustered faces: unknown)\n"
            "  COLUMN         a further column of a CSV source that PREPARED kept, as text (a --by that names\n"
            "                 no attribute lists PREPARED's columns)\n\n"
            "and each quality column, by the quartile of the face's value among PREPARED's faces (q1 lowest .. q4 "
            "highest), as prepare measured it on the stored face (see 'export --quality'):\n\n"
            "{quality-columns}",
            {
                {"run", "RUN", "the age model's run folder", "", true},
                {"data", "PREPARED", "a prepared dataset folder", "", true},
                {"out", "DIR", "the report's folder: new, empty or an earlier slice report", "", true},
                {"by", "A[,B]",
                 "a grouping: one attribute, or two joined by a comma for their intersections; repeat --by for "
                 "several (default: gender, race and age_decade, each alone)"},
                {"split", "val|all", "val (the faces the model did not train on) or all", "val"},
                {"boot", "N", "bootstrap resamples (0: no intervals)", "1000"},
                {"seed", "S", "the seed of the resampling", "1"},
                {"min-n", "N", "flag slices with fewer faces", "30"},
                {"clusters", "DIR",
                 "a clustering of PREPARED (faceatlas-cli cluster --out DIR): makes --by cluster possible (one slice "
                 "per cluster); a clustering of another preparation is refused (one made before FaceAtlas recorded "
                 "which preparation it clustered: matched by paths, with a note)"},
                {"audit", "DIR",
                 "a label audit of PREPARED (faceatlas-cli audit --out DIR): per slice, how many of its faces the "
                 "audit flags and their share (audit_flagged, audit_share), so that a slice's error can be told apart "
                 "from its labels'; an audit of another preparation is refused"},
                deviceOption("where the model runs"),
                jsonOption("print slices.json on stdout as well"),
            },
            ""};
}

} // namespace

std::vector<CommandSpec> analysisCommands()
{
    return {cluster(), clusterName(), attention(), map(), similar(), slices()};
}

} // namespace faceatlas::cli
