"""Writes the k-means benchmark data of ../shared/peers/kmeans.py (same generator, same seed) as raw
float32, so FaceAtlas and scikit-learn cluster the very same matrix and their inertias compare.
Usage: /usr/bin/python3 kmeans_data.py OUT.f32 [N]"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "peers"))
from kmeans import make_data  # noqa: E402

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 175000
make_data(n).tofile(out)
print(f"wrote {n} x 2888 float32 to {out}")
