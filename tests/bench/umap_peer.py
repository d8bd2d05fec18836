#!/usr/bin/env python3
"""umap-learn (Debian's `umap-learn` package) on the codes MapBench drew, as the peer of
faceatlas_bench_map: its time and the same neighbour recall@10 on a seeded sample of 1,000 faces
(exact neighbours in both spaces, the face itself left out).

    build/tests/bench/faceatlas_bench_map 175000 /tmp/map-codes.f32
    python3 tests/bench/umap_peer.py /tmp/map-codes.f32 [--neighbors 15] [--epochs N] [--seed S]
    python3 tests/bench/umap_peer.py CODES/codes.f32 --ours MAPDIR...   # FaceAtlas's maps, same sample

--ours scores map.csv files that `faceatlas-cli map` wrote for the same codes with this script's
recall (the same 1,000 faces), instead of running umap-learn.
"""
import csv
import argparse
import time

import numpy as np


def knn_rows(data, rows, k):
    """Indices of the k nearest rows of data to each row in rows (itself excluded), exactly."""
    norms = (data.astype(np.float64) ** 2).sum(1)
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), 256):
        block = rows[start:start + 256]
        q = data[block].astype(np.float64)
        d = norms[None, :] - 2 * q @ data.T.astype(np.float64) + norms[block][:, None]
        d[np.arange(len(block)), block] = np.inf
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.take_along_axis(d, part, 1).argsort(1)
        out[start:start + len(block)] = np.take_along_axis(part, order, 1)
    return out


def recall(high, low, sample, k=10, seed=1):
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(high), size=min(sample, len(high)), replace=False))
    a, b = knn_rows(high, rows, k), knn_rows(low, rows, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("codes", help="N x 512 float32 file written by faceatlas_bench_map")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--neighbors", type=int, default=15)
    ap.add_argument("--epochs", type=int, default=None, help="umap-learn's default when omitted")
    ap.add_argument("--min-dist", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=None, help="umap-learn's random_state (sequential when given)")
    ap.add_argument("--ours", nargs="+", default=None, help="map folders of faceatlas-cli map to score instead")
    args = ap.parse_args()
    x = np.fromfile(args.codes, dtype=np.float32).reshape(-1, args.dim)
    if args.ours:
        for folder in args.ours:
            with open(folder + "/map.csv", newline="") as f:
                rows = list(csv.DictReader(f))
            if len(rows) != len(x):
                raise SystemExit(f"{folder}/map.csv has {len(rows)} rows for {len(x)} codes")
            emb = np.array([[float(r["x"]), float(r["y"])] for r in rows], dtype=np.float32)
            print(f"FaceAtlas {folder}: recall@10 on 1000 faces: {recall(x, emb, 1000):.3f}")
        return
    import umap  # after the data, so an import failure is quick to see

    start = time.perf_counter()
    model = umap.UMAP(n_neighbors=args.neighbors, min_dist=args.min_dist, n_epochs=args.epochs, random_state=args.seed,
                      init="spectral", low_memory=True)
    emb = model.fit_transform(x)
    seconds = time.perf_counter() - start
    print(f"umap-learn {umap.__version__ if hasattr(umap, '__version__') else ''}: {len(x)} x {args.dim} "
          f"in {seconds:.1f} s (n_neighbors {args.neighbors}, min_dist {args.min_dist}, includes numba compilation)")
    print(f"umap-learn recall@10 on 1000 faces: {recall(x, emb.astype(np.float32), 1000):.3f}")


if __name__ == "__main__":
    main()
